"""Hostile arguments to ops and shapes (issue 14, class 4): None arrays, meta and bfloat16 tensors
on the numpy and loops backends, sizes too big to index, NaN in max pooling, empty channels and
kernels, and specs that are not specs. Every answer is a ValueError/TypeError naming the argument,
or the same result on every backend."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib import ops, shapes

BACKENDS = ("loops", "numpy", "torch")
rng = np.random.default_rng(0)
X1, W1, B1 = rng.standard_normal((2, 3, 9)), rng.standard_normal((4, 3, 3)), rng.standard_normal(4)
X2, W2, B2 = rng.standard_normal((2, 3, 6, 6)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
WL = rng.standard_normal((7, 4, 3, 3))


def calls():
    """(name, function, args) for every public op with valid arrays."""
    dy1 = np.ones((2, 4, 7))
    dy2 = np.ones((2, 4, 4, 4))
    return [
        ("conv1d", ops.conv1d, [X1, W1, B1]),
        ("conv2d", ops.conv2d, [X2, W2, B2]),
        ("conv1d_backward", ops.conv1d_backward, [dy1, X1, W1]),
        ("conv2d_backward", ops.conv2d_backward, [dy2, X2, W2]),
        ("max_pool2d", lambda x, **k: ops.max_pool2d(x, 2, **k), [X2]),
        ("avg_pool2d", lambda x, **k: ops.avg_pool2d(x, 2, **k), [X2]),
        ("max_pool2d_backward", lambda dy, x, **k: ops.max_pool2d_backward(dy, x, 2, **k), [np.ones((2, 3, 3, 3)), X2]),
        ("avg_pool2d_backward", lambda dy, x, **k: ops.avg_pool2d_backward(dy, x, 2, **k), [np.ones((2, 3, 3, 3)), X2]),
        ("locally_connected1d", ops.locally_connected1d, [X1, WL]),
        ("locally_connected1d_backward", ops.locally_connected1d_backward, [np.ones((2, 4, 7)), X1, WL]),
        ("dense", ops.dense, [rng.standard_normal((2, 5)), rng.standard_normal((3, 5))]),
        ("dense_backward", ops.dense_backward, [np.ones((2, 3)), rng.standard_normal((2, 5)), rng.standard_normal((3, 5))]),
    ]


NONE_CASES = [(name, fn, args, i) for name, fn, args in calls() for i in range(len(args)) if not (i == 2 and "backward" not in name)]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name, fn, args, i", NONE_CASES, ids=[f"{c[0]}-arg{c[3]}" for c in NONE_CASES])
def test_none_for_a_required_array_names_it(name, fn, args, i, backend):
    bad = list(args)
    bad[i] = None
    with pytest.raises(TypeError, match="must be a numpy array or torch tensor; got None"):
        fn(*bad, backend=backend)


@pytest.mark.parametrize("backend", ["loops", "numpy"])
@pytest.mark.parametrize("name, fn, args", calls(), ids=[c[0] for c in calls()])
def test_meta_tensors_on_the_numpy_and_loops_backends(name, fn, args, backend):
    meta = [torch.as_tensor(a).to("meta") for a in args]
    with pytest.raises(ValueError, match="meta device"):
        fn(*meta, backend=backend)


@pytest.mark.parametrize("backend", ["loops", "numpy"])
@pytest.mark.parametrize("name, fn, args", calls(), ids=[c[0] for c in calls()])
def test_bfloat16_tensors_compute_on_every_backend(name, fn, args, backend):
    tensors = [torch.as_tensor(a).to(torch.bfloat16) for a in args]
    got = fn(*tensors, backend=backend)
    want = fn(*tensors, backend="torch")
    for g, w in zip(got if isinstance(got, tuple) else (got,), want if isinstance(want, tuple) else (want,)):
        assert g.dtype == torch.bfloat16 and g.shape == w.shape
        assert torch.allclose(g.float(), w.float(), rtol=0.05, atol=0.1)


HUGE = [10**20, 2**31, 2**63, (1, 10**20)]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("arg", ["stride", "padding", "dilation"])
@pytest.mark.parametrize("value", HUGE)
def test_sizes_too_big_to_index_are_refused_by_conv(backend, arg, value):
    x, w = (X2, W2) if isinstance(value, tuple) else (X1, W1)
    fn = ops.conv2d if isinstance(value, tuple) else ops.conv1d
    with pytest.raises(ValueError, match=rf"{arg} must be <= 2147483647"):
        fn(x, w, **{arg: value}, backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("arg", ["kernel_size", "stride", "padding"])
def test_sizes_too_big_to_index_are_refused_by_pooling(backend, arg):
    kwargs = {"kernel_size": 2, arg: 10**20}
    with pytest.raises(ValueError, match=rf"{arg} must be <= 2147483647"):
        ops.max_pool2d(X2, **kwargs, backend=backend)


def test_sizes_too_big_for_locally_connected_but_fine_for_the_formula():
    with pytest.raises(ValueError, match="stride must be <= 2147483647"):
        ops.locally_connected1d(X1, WL, stride=10**20)
    assert shapes.conv_output_size(10, 3, stride=10**20) == 1  # pure arithmetic: Python ints do not overflow


@settings(max_examples=60)
@given(data=st.data())
def test_max_pool_propagates_nan_like_torch_on_every_backend(data):
    shape = (1, data.draw(st.integers(1, 3)), data.draw(st.integers(2, 6)), data.draw(st.integers(2, 6)))
    x = np.random.default_rng(data.draw(st.integers(0, 10**6))).standard_normal(shape)
    nan_at = data.draw(st.lists(st.tuples(*[st.integers(0, s - 1) for s in shape]), min_size=1, max_size=4))
    for index in nan_at:
        x[index] = np.nan
    k = data.draw(st.integers(1, min(shape[2:])))
    s = data.draw(st.integers(1, 3))
    want = F.max_pool2d(torch.from_numpy(x), k, s).numpy()
    for backend in BACKENDS:
        got = ops.max_pool2d(x, k, stride=s, backend=backend)
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want), err_msg=backend)
        np.testing.assert_allclose(got[~np.isnan(got)], want[~np.isnan(want)])


def test_max_pool_backward_sends_the_gradient_to_the_nan_on_loops_and_numpy():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    x[0, 0, 0, 1] = np.nan
    for backend in ("loops", "numpy"):
        dx = ops.max_pool2d_backward(np.ones((1, 1, 2, 2)), x, 2, backend=backend)
        assert dx[0, 0, 0, 1] == 1 and dx[0, 0, :2, :2].sum() == 1, backend


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("shape", [(2, 0, 4, 4), (0, 3, 4, 4)])
@pytest.mark.parametrize("op", [ops.max_pool2d, ops.avg_pool2d])
def test_pooling_empty_channels_or_batch_is_refused_on_every_backend(backend, shape, op):
    with pytest.raises(ValueError, match="empty input"):
        op(np.zeros(shape), 2, backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("w_shape", [(9, 4, 3, 0), (7, 0, 3, 3), (0, 4, 3, 3)])
def test_locally_connected_empty_kernel_is_refused_like_conv1d(backend, w_shape):
    with pytest.raises(ValueError, match="empty input"):
        ops.locally_connected1d(X1, np.zeros(w_shape), backend=backend)
    with pytest.raises(ValueError, match="empty input"):
        ops.conv1d(X1, np.zeros((4, 3, 0)), backend=backend)


@pytest.mark.parametrize("backend", [3, None, ["numpy"], "NUMPY"])
def test_backend_must_be_a_known_name(backend):
    with pytest.raises(ValueError, match="backend must be one of"):
        ops.conv1d(X1, W1, backend=backend)


# -- shapes ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("layers", [None, 3, "33", {"k": 3}, 2.5])
def test_receptive_field_of_a_non_list(layers):
    with pytest.raises(TypeError, match="layers must be a list"):
        shapes.receptive_field(layers)


@pytest.mark.parametrize("layers", [[None], [(3,)], [(3, 1, 1, 1, 1)], [(3, None)], [(True, 1)], [(3, 1.5)], [(0, 1)]])
def test_receptive_field_bad_layers(layers):
    with pytest.raises((TypeError, ValueError), match=r"layers\[0\]"):
        shapes.receptive_field(layers)


@pytest.mark.parametrize("kind", [["conv"], {"conv": 1}, {1, 2}, None, 3])
@pytest.mark.parametrize("fn", [shapes.param_count, shapes.flop_count])
def test_a_spec_kind_that_is_not_a_name(fn, kind):
    with pytest.raises(ValueError, match="unknown kind"):
        fn({"kind": kind, "c_in": 1})


@pytest.mark.parametrize("cls", [torch.nn.Conv2d, torch.nn.Linear, torch.nn.Module])
def test_a_module_class_instead_of_an_instance(cls):
    with pytest.raises(TypeError, match=f"got the class {cls.__name__}"):
        shapes.param_count(cls)
