"""Grouped, depthwise and transposed convolutions: every backend agrees with torch.nn.functional
(values and every gradient), float32 and float64, property-based like tests/test_ops.py.

References come from torch autograd on ``F.conv{1,2}d(..., groups=g)`` and
``F.conv_transpose{1,2}d``.  The loops backend only sees tiny inputs.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given
from hypothesis import strategies as st
from test_ops import FAST, TINY, assert_close, pairs_of, torch_pad_amounts

from course_lib import ops

CONV = {1: (ops.conv1d, ops.conv1d_backward, F.conv1d), 2: (ops.conv2d, ops.conv2d_backward, F.conv2d)}
CONV_T = {1: (ops.conv_transpose1d, ops.conv_transpose1d_backward, F.conv_transpose1d),
          2: (ops.conv_transpose2d, ops.conv_transpose2d_backward, F.conv_transpose2d)}


def _arrays(draw, dtype, *shapes):
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    return rng, [rng.standard_normal(s).astype(dtype) for s in shapes]


# ---------------------------------------------------------------------------- grouped conv
@st.composite
def grouped_case(draw, n_spatial, tiny=False):
    """groups > 1 most of the time, several channels per group, depthwise (one per group) too."""
    groups = draw(st.integers(1, 3))
    kind = draw(st.sampled_from(["grouped", "depthwise", "depthwise_multiplier"]))
    per_in = 1 if kind != "grouped" else draw(st.integers(1, 2 if tiny else 3))
    per_out = {"grouped": draw(st.integers(1, 2 if tiny else 3)), "depthwise": 1,
               "depthwise_multiplier": draw(st.integers(2, 3))}[kind]
    N = draw(st.integers(1, 2))
    size = tuple(draw(st.integers(1, 5 if tiny else 9)) for _ in range(n_spatial))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(n_spatial))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(n_spatial))
    mode = draw(st.sampled_from(["int", "pairs", "same"]))
    stride = (1,) * n_spatial if mode == "same" else tuple(draw(st.integers(1, 3)) for _ in range(n_spatial))
    padding = {"int": lambda: draw(st.integers(0, 2)), "same": lambda: "same",
               "pairs": lambda: tuple((draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in range(n_spatial))}[mode]()
    pairs = pairs_of(padding, n_spatial, kernel, dilation)
    for n, k, d, (pb, pa) in zip(size, kernel, dilation, pairs):
        assume(d * (k - 1) + 1 <= n + pb + pa)
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    c_in, c_out = groups * per_in, groups * per_out
    rng, (x, w, b) = _arrays(draw, dtype, (N, c_in, *size), (c_out, per_in, *kernel), (c_out,))
    return dict(x=x, w=w, b=b if draw(st.booleans()) else None, stride=stride, padding=padding, pairs=pairs,
                dilation=dilation, groups=groups, dtype=dtype, rng=rng, n=n_spatial)


def check_grouped(case, backend, as_tensors=False):
    forward, backward, ref = CONV[case["n"]]
    xt, wt = (torch.from_numpy(case[k]).requires_grad_(True) for k in ("x", "w"))
    bt = None if case["b"] is None else torch.from_numpy(case["b"]).requires_grad_(True)
    y_ref = ref(F.pad(xt, torch_pad_amounts(case["pairs"])), wt, bt, case["stride"], 0, case["dilation"], case["groups"])
    dy = case["rng"].standard_normal(tuple(y_ref.shape)).astype(case["dtype"])
    y_ref.backward(torch.from_numpy(dy))
    x, w, b = case["x"], case["w"], case["b"]
    if as_tensors:
        x, w, b, dy = (None if a is None else torch.from_numpy(a) for a in (x, w, b, dy))
    kw = dict(stride=case["stride"], padding=case["padding"], dilation=case["dilation"], groups=case["groups"],
              backend=backend)
    assert_close(forward(x, w, b, **kw), y_ref, case["dtype"], f"{backend} grouped forward")
    dx, dw, db = backward(dy, x, w, **kw)
    assert_close(dx, xt.grad, case["dtype"], f"{backend} grouped dx")
    assert_close(dw, wt.grad, case["dtype"], f"{backend} grouped dw")
    assert_close(db, np.asarray(dy).sum(axis=(0, *range(2, np.ndim(dy)))), case["dtype"], f"{backend} grouped db")
    assert dx.dtype == x.dtype and dw.dtype == w.dtype


@FAST
@given(case=grouped_case(2))
@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_grouped_conv2d_matches_torch(case, backend):
    check_grouped(case, backend, as_tensors=backend == "torch")


@FAST
@given(case=grouped_case(1))
@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_grouped_conv1d_matches_torch(case, backend):
    check_grouped(case, backend, as_tensors=backend == "torch")


@TINY
@given(case=grouped_case(2, tiny=True))
def test_grouped_conv2d_loops_matches_torch(case):
    check_grouped(case, "loops")


@TINY
@given(case=grouped_case(1, tiny=True))
def test_grouped_conv1d_loops_matches_torch(case):
    check_grouped(case, "loops")


@pytest.mark.parametrize("backend", ["loops", "numpy", "torch"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_grouped_conv_with_stride_and_dilation_above_one(backend, dtype):
    """stride 2 with dilation 2 together, 3 groups of 2 input and 2 output channels, padding 1."""
    rng = np.random.default_rng(11)
    case = dict(x=rng.standard_normal((2, 6, 9, 8)).astype(dtype), w=rng.standard_normal((6, 2, 3, 2)).astype(dtype),
                b=rng.standard_normal(6).astype(dtype), stride=(2, 2), padding=1, pairs=((1, 1), (1, 1)),
                dilation=(2, 2), groups=3, dtype=dtype, rng=rng, n=2)
    check_grouped(case, backend)


def test_depthwise_conv_is_one_filter_per_channel():
    """groups = C_in: channel c of the output is channel c of the input filtered by w[c, 0] alone."""
    rng = np.random.default_rng(12)
    x, w = rng.standard_normal((2, 4, 7, 7)), rng.standard_normal((4, 1, 3, 3))
    y = ops.conv2d(x, w, padding=1, groups=4)
    for c in range(4):
        np.testing.assert_allclose(y[:, c], ops.conv2d(x[:, c:c + 1], w[c:c + 1], padding=1)[:, 0], rtol=1e-12, atol=1e-12)


def test_groups_one_is_the_default_and_unchanged():
    rng = np.random.default_rng(13)
    x, w = rng.standard_normal((2, 3, 6, 6)), rng.standard_normal((4, 3, 3, 3))
    np.testing.assert_array_equal(ops.conv2d(x, w, None, 1, 1, 1), ops.conv2d(x, w, padding=1, groups=1))


# -------------------------------------------------------------------------- transposed conv
@st.composite
def transposed_case(draw, n_spatial, tiny=False):
    groups = draw(st.integers(1, 3))
    per_in, per_out = draw(st.integers(1, 2)), draw(st.integers(1, 2 if tiny else 3))
    N = draw(st.integers(1, 2))
    size = tuple(draw(st.integers(1, 4 if tiny else 7)) for _ in range(n_spatial))
    kernel = tuple(draw(st.integers(1, 3 if tiny else 4)) for _ in range(n_spatial))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(n_spatial))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(n_spatial))
    # every valid output_padding: 0 .. max(stride, dilation) - 1
    output_padding = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation))
    padding = tuple(draw(st.integers(0, 2)) for _ in range(n_spatial))
    for n, k, s, d, p, op in zip(size, kernel, stride, dilation, padding, output_padding):
        assume((n - 1) * s - 2 * p + d * (k - 1) + op + 1 >= 1)
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    c_in, c_out = groups * per_in, groups * per_out
    rng, (x, w, b) = _arrays(draw, dtype, (N, c_in, *size), (c_in, per_out, *kernel), (c_out,))
    return dict(x=x, w=w, b=b if draw(st.booleans()) else None, stride=stride, padding=padding,
                output_padding=output_padding, dilation=dilation, groups=groups, dtype=dtype, rng=rng, n=n_spatial)


def check_transposed(case, backend, as_tensors=False):
    forward, backward, ref = CONV_T[case["n"]]
    geometry = dict(stride=case["stride"], padding=case["padding"], output_padding=case["output_padding"],
                    dilation=case["dilation"], groups=case["groups"])
    xt, wt = (torch.from_numpy(case[k]).requires_grad_(True) for k in ("x", "w"))
    bt = None if case["b"] is None else torch.from_numpy(case["b"]).requires_grad_(True)
    y_ref = ref(xt, wt, bt, **geometry)
    dy = case["rng"].standard_normal(tuple(y_ref.shape)).astype(case["dtype"])
    y_ref.backward(torch.from_numpy(dy))
    x, w, b = case["x"], case["w"], case["b"]
    if as_tensors:
        x, w, b, dy = (None if a is None else torch.from_numpy(a) for a in (x, w, b, dy))
    y = forward(x, w, b, **geometry, backend=backend)
    assert isinstance(y, torch.Tensor) == as_tensors
    assert_close(y, y_ref, case["dtype"], f"{backend} transposed forward")
    dx, dw, db = backward(dy, x, w, **geometry, backend=backend)
    assert_close(dx, xt.grad, case["dtype"], f"{backend} transposed dx")
    assert_close(dw, wt.grad, case["dtype"], f"{backend} transposed dw")
    assert_close(db, np.asarray(dy).sum(axis=(0, *range(2, np.ndim(dy)))), case["dtype"], f"{backend} transposed db")
    assert y.dtype == dx.dtype == dw.dtype == x.dtype


@FAST
@given(case=transposed_case(2))
@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_conv_transpose2d_matches_torch(case, backend):
    check_transposed(case, backend, as_tensors=backend == "torch")


@FAST
@given(case=transposed_case(1))
@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_conv_transpose1d_matches_torch(case, backend):
    check_transposed(case, backend, as_tensors=backend == "torch")


@TINY
@given(case=transposed_case(2, tiny=True))
def test_conv_transpose2d_loops_matches_torch(case):
    check_transposed(case, "loops")


@TINY
@given(case=transposed_case(1, tiny=True))
def test_conv_transpose1d_loops_matches_torch(case):
    check_transposed(case, "loops")


@pytest.mark.parametrize("backend", ["loops", "numpy", "torch"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv_transpose_output_padding_beyond_stride_with_dilation(backend, dtype):
    """output_padding may reach dilation - 1 when dilation > stride (torch allows it); padding > 0."""
    rng = np.random.default_rng(14)
    case = dict(x=rng.standard_normal((2, 4, 4, 3)).astype(dtype), w=rng.standard_normal((4, 3, 3, 2)).astype(dtype),
                b=rng.standard_normal(6).astype(dtype), stride=(1, 2), padding=(1, 2), output_padding=(2, 1),
                dilation=(3, 2), groups=2, dtype=dtype, rng=rng, n=2)
    check_transposed(case, backend)


@st.composite
def conv_geometry_case(draw):
    """A conv2d problem, plus the output_padding that makes its transposed conv give x's size back."""
    N, c_in, c_out = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    size = tuple(draw(st.integers(3, 8)) for _ in range(2))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(2))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(2))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(2))
    padding = tuple(draw(st.integers(0, 1)) for _ in range(2))
    for n, k, d, p in zip(size, kernel, dilation, padding):
        assume(d * (k - 1) + 1 <= n + 2 * p)
    out = [(n + 2 * p - d * (k - 1) - 1) // s + 1 for n, k, s, p, d in zip(size, kernel, stride, padding, dilation)]
    output_padding = tuple(n - ((o - 1) * s - 2 * p + d * (k - 1) + 1)
                           for n, o, k, s, p, d in zip(size, out, kernel, stride, padding, dilation))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    rng, (x, w, dy) = _arrays(draw, dtype, (N, c_in, *size), (c_out, c_in, *kernel), (N, c_out, *out))
    return dict(x=x, w=w, dy=dy, stride=stride, padding=padding, dilation=dilation,
                output_padding=output_padding, dtype=dtype)


@FAST
@given(case=conv_geometry_case())
@pytest.mark.parametrize("backend", ["loops", "numpy", "torch"])
def test_conv_transpose2d_is_the_input_gradient_of_conv2d(case, backend):
    """conv_transpose2d(dy, w) with conv2d's geometry is dx of conv2d(x, w): the same wiring, backwards."""
    geometry = dict(stride=case["stride"], padding=case["padding"], dilation=case["dilation"])
    dx, _, _ = ops.conv2d_backward(case["dy"], case["x"], case["w"], **geometry, backend=backend)
    up = ops.conv_transpose2d(case["dy"], case["w"], **geometry, output_padding=case["output_padding"], backend=backend)
    assert up.shape == case["x"].shape
    assert_close(up, dx, case["dtype"], "transposed conv vs conv input gradient")


def test_conv_transpose_upsamples_by_the_stride():
    """The benchmark's 2x upsampling: 14x14 -> 28x28 with a 4x4 kernel, stride 2, padding 1."""
    x = np.ones((1, 2, 14, 14), np.float32)
    w = np.ones((2, 3, 4, 4), np.float32)
    y = ops.conv_transpose2d(x, w, stride=2, padding=1)
    assert y.shape == (1, 3, 28, 28)
    # an interior output is covered by 2x2 stamps (kernel 4 / stride 2 per axis) from each of 2 channels
    assert y[0, 0, 10, 10] == 2 * 2 * 2


def test_torch_backend_new_ops_stay_on_the_tensors_device():
    """As in test_ops: run on the 'meta' device; any CPU round trip would fail."""
    meta = dict(device="meta")
    x, w = torch.empty(2, 4, 5, 5, **meta), torch.empty(4, 3, 4, 4, **meta)
    y = ops.conv_transpose2d(x, w, stride=2, padding=1, output_padding=1, groups=2)
    assert y.device.type == "meta" and tuple(y.shape) == (2, 6, 11, 11)
    grads = ops.conv_transpose2d_backward(torch.empty(y.shape, **meta), x, w, stride=2, padding=1,
                                          output_padding=1, groups=2)
    assert [tuple(g.shape) for g in grads] == [(2, 4, 5, 5), (4, 3, 4, 4), (6,)]
    assert all(g.device.type == "meta" for g in grads)
    yg = ops.conv2d(x, torch.empty(4, 1, 3, 3, **meta), groups=4)
    assert yg.device.type == "meta" and tuple(yg.shape) == (2, 4, 3, 3)


@pytest.mark.parametrize("n_spatial", [1, 2])
@pytest.mark.parametrize("padding, dilation", [(0, 1), (2, 1), ("same", 2), (((2, 0), (1, 3)), (1, 2)), (5, 1)])
def test_numpy_stride_one_input_gradient_by_flipped_correlation(n_spatial, padding, dilation):
    """With stride 1 and >= 8 input channels the numpy backend computes dx as a correlation of dy
    with the flipped kernel (padding (5, 5) exceeds the kernel's reach and takes the scatter path)."""
    rng = np.random.default_rng(15)
    size, kernel = (9, 7)[:n_spatial], (3, 2)[:n_spatial]
    if isinstance(padding, tuple) and n_spatial == 1:
        padding = padding[:1]
    dil = (dilation if isinstance(dilation, tuple) else (dilation,) * 2)[:n_spatial]
    case = dict(x=rng.standard_normal((3, 9, *size)), w=rng.standard_normal((5, 9, *kernel)), b=None,
                stride=(1,) * n_spatial, padding=padding, pairs=pairs_of(padding, n_spatial, kernel, dil),
                dilation=dil, groups=1, dtype=np.float64, rng=rng, n=n_spatial)
    check_grouped(case, "numpy")
