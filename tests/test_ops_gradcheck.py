"""Central-difference numerical gradient checks of the loops backend (CS231n style).

For a scalar loss ``L = sum(y * dy)`` the analytic gradients returned by the ``*_backward``
functions must equal ``(L(p + h) - L(p - h)) / (2h)`` for every entry ``p`` of every input.
This checks the teaching backend against calculus alone, independently of PyTorch.
"""

from __future__ import annotations

import numpy as np
import pytest

from course_lib import ops

H = 1e-6


def numerical_gradient(f, array):
    """d f() / d array by central differences, perturbing ``array`` in place one entry at a time."""
    grad = np.zeros_like(array)
    it = np.nditer(array, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = array[i]
        array[i] = old + H
        plus = f()
        array[i] = old - H
        minus = f()
        array[i] = old
        grad[i] = (plus - minus) / (2 * H)
    return grad


def relative_error(a, b):
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


CONV_CASES = [
    # (x shape, w shape, stride, padding, dilation)
    ((2, 2, 5, 6), (3, 2, 3, 2), 1, 1, 1),
    ((1, 2, 7, 7), (2, 2, 3, 3), 2, (1, 0), 1),
    ((1, 1, 7, 6), (2, 1, 2, 2), 1, "same", (2, 1)),
    ((1, 1, 7, 6), (2, 1, 2, 2), (1, 2), 1, (2, 1)),
    ((2, 1, 6, 6), (1, 1, 2, 3), 1, ((0, 2), (1, 0)), 1),
]


@pytest.mark.parametrize("x_shape, w_shape, stride, padding, dilation", CONV_CASES)
def test_conv2d_loops_gradients_match_central_differences(x_shape, w_shape, stride, padding, dilation):
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal(x_shape), rng.standard_normal(w_shape), rng.standard_normal(w_shape[0])
    kw = dict(stride=stride, padding=padding, dilation=dilation, backend="loops")
    dy = rng.standard_normal(ops.conv2d(x, w, b, **kw).shape)

    def loss():
        return float(np.sum(ops.conv2d(x, w, b, **kw) * dy))

    dx, dw, db = ops.conv2d_backward(dy, x, w, **kw)
    assert relative_error(dx, numerical_gradient(loss, x)) < 1e-6
    assert relative_error(dw, numerical_gradient(loss, w)) < 1e-6
    assert relative_error(db, numerical_gradient(loss, b)) < 1e-6


@pytest.mark.parametrize("stride, padding, dilation", [(1, 0, 1), (2, 2, 1), (1, "same", 2), (3, 1, 2)])
def test_conv1d_loops_gradients_match_central_differences(stride, padding, dilation):
    rng = np.random.default_rng(1)
    x, w, b = rng.standard_normal((2, 2, 9)), rng.standard_normal((3, 2, 3)), rng.standard_normal(3)
    kw = dict(stride=stride, padding=padding, dilation=dilation, backend="loops")
    dy = rng.standard_normal(ops.conv1d(x, w, b, **kw).shape)

    def loss():
        return float(np.sum(ops.conv1d(x, w, b, **kw) * dy))

    dx, dw, db = ops.conv1d_backward(dy, x, w, **kw)
    for analytic, param in ((dx, x), (dw, w), (db, b)):
        assert relative_error(analytic, numerical_gradient(loss, param)) < 1e-6


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("kernel, stride, padding", [(3, 1, 1), (2, 3, 0), ((3, 2), (2, 1), (1, 0))])
def test_pool_loops_gradients_match_central_differences(kind, kernel, stride, padding):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 2, 6, 7))
    forward = ops.max_pool2d if kind == "max" else ops.avg_pool2d
    backward = ops.max_pool2d_backward if kind == "max" else ops.avg_pool2d_backward
    dy = rng.standard_normal(forward(x, kernel, stride, padding, backend="loops").shape)

    def loss():
        return float(np.sum(forward(x, kernel, stride, padding, backend="loops") * dy))

    dx = backward(dy, x, kernel, stride, padding, backend="loops")
    assert relative_error(dx, numerical_gradient(loss, x)) < 1e-6


def test_locally_connected_and_dense_loops_gradients_match_central_differences():
    rng = np.random.default_rng(3)
    x, w, b = rng.standard_normal((2, 2, 9)), rng.standard_normal((3, 2, 2, 3)), rng.standard_normal((2, 3))
    dy = rng.standard_normal((2, 2, 3))

    def lc_loss():
        return float(np.sum(ops.locally_connected1d(x, w, b, stride=3, backend="loops") * dy))

    grads = ops.locally_connected1d_backward(dy, x, w, stride=3, backend="loops")
    for analytic, param in zip(grads, (x, w, b)):
        assert relative_error(analytic, numerical_gradient(lc_loss, param)) < 1e-6

    xd, wd, bd = rng.standard_normal((3, 5)), rng.standard_normal((4, 5)), rng.standard_normal(4)
    dyd = rng.standard_normal((3, 4))

    def dense_loss():
        return float(np.sum(ops.dense(xd, wd, bd, backend="loops") * dyd))

    for analytic, param in zip(ops.dense_backward(dyd, xd, wd, backend="loops"), (xd, wd, bd)):
        assert relative_error(analytic, numerical_gradient(dense_loss, param)) < 1e-6
