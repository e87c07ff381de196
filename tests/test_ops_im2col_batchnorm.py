"""im2col / col2im against F.unfold / F.fold, and batch_norm2d against F.batch_norm (output,
dx, dgamma, dbeta, both running arrays after one training call, eval mode), every backend,
float32 and float64, property-based like tests/test_ops.py."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given
from hypothesis import strategies as st
from test_ops import FAST, TINY, TOL, assert_close

from course_lib import ops


# --------------------------------------------------------------------------- im2col / col2im
@st.composite
def window_case(draw, tiny=False):
    N, C = draw(st.integers(1, 2)), draw(st.integers(1, 2 if tiny else 3))
    size = tuple(draw(st.integers(1, 5 if tiny else 9)) for _ in range(2))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(2))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(2))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(2))
    padding = tuple(draw(st.integers(0, 2)) for _ in range(2))
    for n, k, d, p in zip(size, kernel, dilation, padding):
        assume(d * (k - 1) + 1 <= n + 2 * p)
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    return dict(x=rng.standard_normal((N, C, *size)).astype(dtype), kernel=kernel, stride=stride,
                dilation=dilation, padding=padding, dtype=dtype, rng=rng)


def check_windows(case, backend):
    geometry = dict(stride=case["stride"], padding=case["padding"], dilation=case["dilation"])
    xt = torch.from_numpy(case["x"])
    ref = F.unfold(xt, case["kernel"], **geometry)
    cols = ops.im2col(case["x"], case["kernel"], **geometry, backend=backend)
    assert_close(cols, ref, case["dtype"], f"{backend} im2col")
    assert cols.dtype == case["dtype"]
    other = case["rng"].standard_normal(tuple(ref.shape)).astype(case["dtype"])
    size = case["x"].shape[2:]
    back = ops.col2im(other, size, case["kernel"], **geometry, backend=backend)
    assert_close(back, F.fold(torch.from_numpy(other), size, case["kernel"], **geometry), case["dtype"], f"{backend} col2im")
    # adjoint pair: <im2col(x), c> == <x, col2im(c)>
    lhs, rhs = float((cols.astype(np.float64) * other).sum()), float((case["x"].astype(np.float64) * back).sum())
    assert abs(lhs - rhs) <= 10 * TOL[case["dtype"]] * max(1.0, abs(lhs))


@FAST
@given(case=window_case())
@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_im2col_col2im_match_unfold_fold(case, backend):
    check_windows(case, backend)


@TINY
@given(case=window_case(tiny=True))
def test_im2col_col2im_loops_match_unfold_fold(case):
    check_windows(case, "loops")


@pytest.mark.parametrize("backend", ["loops", "numpy", "torch"])
def test_weight_matrix_times_im2col_is_conv2d(backend):
    """The lesson's identity: W.reshape(C_out, -1) @ im2col(x) reproduces conv2d (stride, padding, dilation)."""
    rng = np.random.default_rng(21)
    x, w = rng.standard_normal((2, 3, 7, 6)), rng.standard_normal((4, 3, 3, 2))
    geometry = dict(stride=(2, 1), padding=((1, 0), (1, 1)), dilation=(1, 2))
    y = ops.conv2d(x, w, **geometry, backend=backend)
    via_gemm = w.reshape(4, -1) @ ops.im2col(x, (3, 2), **geometry, backend=backend)
    np.testing.assert_allclose(via_gemm, y.reshape(2, 4, -1), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_col2im_of_ones_counts_the_windows_over_each_pixel(backend):
    x = np.ones((1, 1, 4, 4))
    counts = ops.col2im(ops.im2col(x, 3, padding=1, backend=backend), (4, 4), 3, padding=1, backend=backend)
    np.testing.assert_array_equal(counts[0, 0], [[4, 6, 6, 4], [6, 9, 9, 6], [6, 9, 9, 6], [4, 6, 6, 4]])


# ------------------------------------------------------------------------------ batch norm
def assert_sum_close(got, ref, abs_terms, dtype, what):
    """A per-channel sum: error <= TOL * (sum of |terms|), the size of float rounding in a sum
    (a relative test on the sum itself fails whenever the terms cancel out)."""
    got = got.detach().cpu().numpy() if isinstance(got, torch.Tensor) else np.asarray(got)
    bound = TOL[dtype] * abs_terms.sum(dim=(0, 2, 3)).double().numpy()
    err = np.abs(got.astype(np.float64) - ref.detach().double().numpy())
    assert got.shape == bound.shape and np.all(err <= bound), f"{what}: error {err} > {bound}"


@st.composite
def bn_case(draw, tiny=False):
    N, C = draw(st.integers(1, 3)), draw(st.integers(1, 2 if tiny else 4))
    size = tuple(draw(st.integers(1, 3 if tiny else 6)) for _ in range(2))
    # M = N*H*W >= 4: with 2 or 3 values per channel dx is a near-total cancellation (xhat is
    # almost +-1), conditioned too badly for a float32 comparison with anyone's implementation
    assume(N * size[0] * size[1] >= 4)
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    x = (rng.standard_normal((N, C, *size)) * rng.uniform(0.5, 3) + rng.uniform(-2, 2)).astype(dtype)
    affine = draw(st.booleans())
    gamma = rng.standard_normal(C).astype(dtype) if affine else None
    beta = rng.standard_normal(C).astype(dtype) if affine else None
    return dict(x=x, gamma=gamma, beta=beta, mean=rng.standard_normal(C).astype(dtype),
                var=rng.uniform(0.5, 2, C).astype(dtype), momentum=draw(st.sampled_from([0.1, 0.5, 1.0])),
                eps=draw(st.sampled_from([1e-5, 1e-3])), dtype=dtype, rng=rng)


def check_batch_norm(case, backend, as_tensors=False):
    dtype, momentum, eps = case["dtype"], case["momentum"], case["eps"]
    xt = torch.from_numpy(case["x"]).requires_grad_(True)
    gt = None if case["gamma"] is None else torch.from_numpy(case["gamma"]).requires_grad_(True)
    bt = None if case["beta"] is None else torch.from_numpy(case["beta"]).requires_grad_(True)
    rm_ref, rv_ref = torch.from_numpy(case["mean"].copy()), torch.from_numpy(case["var"].copy())
    y_ref = F.batch_norm(xt, rm_ref, rv_ref, gt, bt, True, momentum, eps)
    dy = case["rng"].standard_normal(tuple(y_ref.shape)).astype(dtype)
    y_ref.backward(torch.from_numpy(dy))

    convert = torch.from_numpy if as_tensors else (lambda a: a)
    x, gamma, beta, dy_in = (None if a is None else convert(a) for a in (case["x"], case["gamma"], case["beta"], dy))
    running_mean, running_var = convert(case["mean"].copy()), convert(case["var"].copy())
    y = ops.batch_norm2d(x, gamma, beta, running_mean, running_var, training=True, momentum=momentum, eps=eps,
                         backend=backend)
    assert isinstance(y, torch.Tensor) == as_tensors and y.dtype == x.dtype
    assert_close(y, y_ref, dtype, f"{backend} bn forward")
    assert_close(running_mean, rm_ref, dtype, f"{backend} running_mean (updated in place)")
    assert_close(running_var, rv_ref, dtype, f"{backend} running_var (updated in place, unbiased)")
    dx, dgamma, dbeta = ops.batch_norm2d_backward(dy_in, x, gamma, eps=eps, backend=backend)
    assert_close(dx, xt.grad, dtype, f"{backend} bn dx")
    ones = torch.ones(case["x"].shape[1], dtype=xt.dtype, requires_grad=True)
    zeros = torch.zeros_like(ones, requires_grad=True)
    if gt is None:      # dgamma, dbeta are still defined: the gradients at gamma = 1, beta = 0
        F.batch_norm(xt.detach(), None, None, ones, zeros, True, momentum, eps).backward(torch.from_numpy(dy))
        gt, bt = ones, zeros
    xhat = (xt.detach() - xt.detach().mean(dim=(0, 2, 3), keepdim=True)) * torch.rsqrt(
        xt.detach().var(dim=(0, 2, 3), unbiased=False, keepdim=True) + eps)
    assert_sum_close(dgamma, gt.grad, (torch.from_numpy(dy) * xhat).abs(), dtype, f"{backend} bn dgamma")
    assert_sum_close(dbeta, bt.grad, torch.from_numpy(dy).abs(), dtype, f"{backend} bn dbeta")
    # eval mode: the running statistics (now updated) normalise
    y_eval = ops.batch_norm2d(x, gamma, beta, running_mean, running_var, training=False, eps=eps, backend=backend)
    ref_eval = F.batch_norm(xt.detach(), rm_ref, rv_ref, None if gt is ones else gt.detach(),
                            None if bt is zeros else bt.detach(), False, momentum, eps)
    assert_close(y_eval, ref_eval, dtype, f"{backend} bn eval")
    assert_close(running_mean, rm_ref, dtype, "eval mode leaves running_mean alone")


@FAST
@given(case=bn_case())
@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_batch_norm_matches_torch(case, backend):
    check_batch_norm(case, backend, as_tensors=backend == "torch")


@TINY
@given(case=bn_case(tiny=True))
def test_batch_norm_loops_matches_torch(case):
    check_batch_norm(case, "loops")


@pytest.mark.parametrize("backend", ["loops", "numpy", "torch"])
def test_batch_norm_without_running_arrays_and_float32_running_with_float64_x(backend):
    rng = np.random.default_rng(22)
    x = rng.standard_normal((3, 2, 2, 2))
    y = ops.batch_norm2d(x, None, None, backend=backend)
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=(0, 2, 3)), 1, rtol=1e-4)
    running = np.zeros(2, np.float32), np.ones(2, np.float32)
    ops.batch_norm2d(x, None, None, *running, momentum=1.0, backend=backend)
    np.testing.assert_allclose(running[0], x.mean(axis=(0, 2, 3)), rtol=1e-6)
    np.testing.assert_allclose(running[1], x.var(axis=(0, 2, 3), ddof=1), rtol=1e-6)
    assert running[0].dtype == np.float32
