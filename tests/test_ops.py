"""Every backend of course_lib.ops agrees with torch.nn.functional (values and all gradients).

Property-based (hypothesis): random batch size, channels, sizes, kernel, stride, padding mode
(int, per-dimension tuple, (before, after) pairs, "valid", "same"), dilation, float32/float64.
The reference gradients come from torch autograd on ``F.conv1d``/``F.conv2d``.
The loops backend only sees tiny inputs.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from course_lib import ops

TOL = {np.float32: 1e-4, np.float64: 1e-5}
# derandomize: the same examples on every run and machine (reproducible CI); no example database
_COMMON = dict(deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])
FAST = settings(max_examples=30, **_COMMON)
TINY = settings(max_examples=20, **_COMMON)


def assert_close(got, ref, dtype, what=""):
    """Max-norm relative error <= TOL[dtype] (entries near zero judged against the largest one)."""
    got = got.detach().cpu().numpy() if isinstance(got, torch.Tensor) else np.asarray(got)
    ref = ref.detach().cpu().numpy() if isinstance(ref, torch.Tensor) else np.asarray(ref)
    assert got.shape == ref.shape, f"{what}: shape {got.shape} != reference {ref.shape}"
    scale = max(float(np.abs(ref).max(initial=0.0)), 1e-30)
    err = float(np.abs(got.astype(np.float64) - ref.astype(np.float64)).max(initial=0.0)) / scale
    assert err <= TOL[dtype], f"{what}: relative error {err:.3g} > {TOL[dtype]}"


def torch_pad_amounts(pairs):
    """((pt, pb), (pl, pr)) -> F.pad's flat list (last dimension first)."""
    flat = []
    for before, after in reversed(pairs):
        flat += [before, after]
    return flat


def pairs_of(padding, n, kernel, dilation):
    """Our padding argument as explicit (before, after) pairs (what torch must be given)."""
    if padding == "valid":
        return ((0, 0),) * n
    if padding == "same":
        return tuple((d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2) for k, d in zip(kernel, dilation))
    if isinstance(padding, int):
        return ((padding, padding),) * n
    if isinstance(padding[0], tuple):
        return padding
    return tuple((p, p) for p in padding)


@st.composite
def conv_case(draw, n_spatial, tiny=False):
    """A random, valid convolution problem: shapes, stride, padding, dilation, dtype, arrays."""
    big = 3 if tiny else 4
    N = draw(st.integers(1, 2 if tiny else 3))
    c_in = draw(st.integers(1, 2 if tiny else 4))
    c_out = draw(st.integers(1, 2 if tiny else 4))
    size = tuple(draw(st.integers(1, 6 if tiny else 10)) for _ in range(n_spatial))
    kernel = tuple(draw(st.integers(1, big)) for _ in range(n_spatial))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(n_spatial))
    mode = draw(st.sampled_from(["int", "tuple", "pairs", "valid", "same"]))
    stride = (1,) * n_spatial if mode == "same" else tuple(draw(st.integers(1, 3)) for _ in range(n_spatial))
    padding = {
        "int": lambda: draw(st.integers(0, 2)),
        "tuple": lambda: tuple(draw(st.integers(0, 2)) for _ in range(n_spatial)),
        "pairs": lambda: tuple((draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in range(n_spatial)),
        "valid": lambda: "valid",
        "same": lambda: "same",
    }[mode]()
    pairs = pairs_of(padding, n_spatial, kernel, dilation)
    for n, k, d, (pb, pa) in zip(size, kernel, dilation, pairs):
        assume(d * (k - 1) + 1 <= n + pb + pa)
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    with_bias = draw(st.booleans())
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, c_in, *size)).astype(dtype)
    w = rng.standard_normal((c_out, c_in, *kernel)).astype(dtype)
    b = rng.standard_normal(c_out).astype(dtype) if with_bias else None
    return dict(x=x, w=w, b=b, stride=stride, padding=padding, pairs=pairs, dilation=dilation,
                dtype=dtype, rng=rng)


def torch_reference(case, n_spatial):
    """Forward output and (dx, dw, db) from torch autograd, for a random upstream gradient dy."""
    conv = F.conv1d if n_spatial == 1 else F.conv2d
    x = torch.from_numpy(case["x"]).requires_grad_(True)
    w = torch.from_numpy(case["w"]).requires_grad_(True)
    b = None if case["b"] is None else torch.from_numpy(case["b"]).requires_grad_(True)
    y = conv(F.pad(x, torch_pad_amounts(case["pairs"])), w, b, case["stride"], 0, case["dilation"])
    dy = case["rng"].standard_normal(tuple(y.shape)).astype(case["dtype"])
    y.backward(torch.from_numpy(dy))
    db = b.grad if b is not None else torch.from_numpy(dy).sum(dim=(0, *range(2, dy.ndim)))
    return y.detach(), dy, (x.grad, w.grad, db)


def check_conv(case, n_spatial, backend, as_tensors=False):
    forward = ops.conv1d if n_spatial == 1 else ops.conv2d
    backward = ops.conv1d_backward if n_spatial == 1 else ops.conv2d_backward
    y_ref, dy, grads_ref = torch_reference(case, n_spatial)
    x, w, b = case["x"], case["w"], case["b"]
    if as_tensors:
        x, w, dy = torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(dy)
        b = None if b is None else torch.from_numpy(b)
    kw = dict(stride=case["stride"], padding=case["padding"], dilation=case["dilation"], backend=backend)
    y = forward(x, w, b, **kw)
    assert isinstance(y, torch.Tensor) == as_tensors, "result kind must follow the input kind"
    assert_close(y, y_ref, case["dtype"], f"{backend} forward")
    grads = backward(dy, x, w, **kw)
    for name, got, ref in zip(("dx", "dw", "db"), grads, grads_ref):
        assert_close(got, ref, case["dtype"], f"{backend} {name}")
        assert got.dtype == (torch.from_numpy(np.zeros(0, case["dtype"])).dtype if as_tensors else case["dtype"])


@FAST
@given(case=conv_case(2))
def test_conv2d_numpy_matches_torch(case):
    check_conv(case, 2, "numpy")


@FAST
@given(case=conv_case(2))
def test_conv2d_torch_backend_matches_torch(case):
    check_conv(case, 2, "torch", as_tensors=True)


@TINY
@given(case=conv_case(2, tiny=True))
def test_conv2d_loops_matches_torch(case):
    check_conv(case, 2, "loops")


@FAST
@given(case=conv_case(1))
def test_conv1d_numpy_matches_torch(case):
    check_conv(case, 1, "numpy")


@FAST
@given(case=conv_case(1))
def test_conv1d_torch_backend_matches_torch(case):
    check_conv(case, 1, "torch", as_tensors=True)


@TINY
@given(case=conv_case(1, tiny=True))
def test_conv1d_loops_matches_torch(case):
    check_conv(case, 1, "loops")


@pytest.mark.parametrize("backend", ["numpy", "loops", "auto"])
def test_tensor_inputs_give_tensor_outputs_on_any_backend(backend):
    rng = np.random.default_rng(1)
    case = dict(x=rng.standard_normal((2, 2, 5, 6)), w=rng.standard_normal((3, 2, 2, 3)),
                b=rng.standard_normal(3), stride=(1, 2), padding=1, pairs=((1, 1), (1, 1)),
                dilation=(1, 1), dtype=np.float64, rng=rng)
    check_conv(case, 2, backend, as_tensors=True)


def test_torch_backend_accepts_numpy_and_returns_numpy():
    rng = np.random.default_rng(2)
    x, w = rng.standard_normal((1, 2, 6, 6)), rng.standard_normal((4, 2, 3, 3))
    y = ops.conv2d(x, w, backend="torch")
    assert isinstance(y, np.ndarray)
    np.testing.assert_allclose(y, ops.conv2d(x, w, backend="numpy"), rtol=1e-12, atol=1e-12)


def test_integer_inputs_are_promoted_to_float():
    x = np.arange(16).reshape(1, 1, 4, 4)
    w = np.ones((1, 1, 2, 2), dtype=np.int32)
    y = ops.conv2d(x, w)
    assert y.dtype == np.float64
    assert y[0, 0, 0, 0] == 0 + 1 + 4 + 5


def test_same_padding_with_even_kernel_puts_extra_zero_after():
    """'same' with kernel 2: one zero after, none before (PyTorch's convention)."""
    x = np.arange(1.0, 5.0).reshape(1, 1, 4)
    w = np.ones((1, 1, 2))
    for backend in ("loops", "numpy", "torch"):
        y = ops.conv1d(x, w, padding="same", backend=backend)
        np.testing.assert_array_equal(y.ravel(), [3.0, 5.0, 7.0, 4.0])


def test_numpy_backend_result_feeds_the_next_layer():
    """The numpy backend returns channels-first views of channel-last memory; they must chain."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 8, 8)).astype(np.float32)
    w1 = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    w2 = rng.standard_normal((5, 4, 3, 3)).astype(np.float32)
    y = ops.conv2d(ops.conv2d(x, w1, padding=1), w2, stride=2)
    ref = F.conv2d(F.conv2d(torch.from_numpy(x), torch.from_numpy(w1), padding=1), torch.from_numpy(w2), stride=2)
    assert_close(y, ref, np.float32, "chained")


# --------------------------------------------------------------------------------- pooling
@st.composite
def pool_case(draw, tiny=False):
    N = draw(st.integers(1, 2))
    C = draw(st.integers(1, 3))
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    # stride independent of the kernel: overlapping windows (stride < kernel) and gaps (stride > kernel)
    stride = draw(st.one_of(st.none(), st.tuples(st.integers(1, 4), st.integers(1, 4))))
    padding = (draw(st.integers(0, kernel[0] // 2)), draw(st.integers(0, kernel[1] // 2)))
    size = tuple(draw(st.integers(k, (6 if tiny else 10))) for k in kernel)
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    return dict(x=rng.standard_normal((N, C, *size)).astype(dtype), kernel=kernel, stride=stride,
                padding=padding, dtype=dtype, rng=rng)


def check_pool(case, backend, kind):
    ours_f = {"max": ops.max_pool2d, "avg": ops.avg_pool2d}[kind]
    ours_b = {"max": ops.max_pool2d_backward, "avg": ops.avg_pool2d_backward}[kind]
    ref_f = {"max": F.max_pool2d, "avg": F.avg_pool2d}[kind]
    args = (case["kernel"], case["stride"], case["padding"])
    xt = torch.from_numpy(case["x"]).requires_grad_(True)
    y_ref = ref_f(xt, *args)
    dy = case["rng"].standard_normal(tuple(y_ref.shape)).astype(case["dtype"])
    y_ref.backward(torch.from_numpy(dy))
    assert_close(ours_f(case["x"], *args, backend=backend), y_ref, case["dtype"], f"{kind} forward")
    assert_close(ours_b(dy, case["x"], *args, backend=backend), xt.grad, case["dtype"], f"{kind} backward")


@FAST
@given(case=pool_case())
@pytest.mark.parametrize("backend", ["numpy", "torch"])
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pooling_matches_torch(case, backend, kind):
    check_pool(case, backend, kind)


@TINY
@given(case=pool_case(tiny=True))
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pooling_loops_matches_torch(case, kind):
    check_pool(case, "loops", kind)


@pytest.mark.parametrize("backend", ["loops", "numpy", "torch"])
def test_max_pool_overlapping_windows_accumulate_gradient(backend):
    """One big value inside 4 overlapping 3x3 windows (stride 1) collects all 4 gradients."""
    x = np.zeros((1, 1, 4, 4))
    x[0, 0, 1, 2] = 10.0
    dy = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    dx = ops.max_pool2d_backward(dy, x, 3, stride=1, backend=backend)
    expected = np.zeros_like(x)
    expected[0, 0, 1, 2] = 1 + 2 + 3 + 4
    np.testing.assert_array_equal(dx, expected)
    np.testing.assert_array_equal(ops.max_pool2d(x, 3, stride=1, backend=backend), np.full((1, 1, 2, 2), 10.0))


@pytest.mark.parametrize("backend", ["loops", "numpy", "torch"])
def test_pool_stride_larger_than_kernel_skips_inputs(backend):
    """kernel 2, stride 3: rows/columns 2, 5 are never in a window, so they get no gradient."""
    x = np.random.default_rng(4).standard_normal((1, 1, 8, 8))
    dx = ops.avg_pool2d_backward(np.ones((1, 1, 3, 3)), x, 2, stride=3, backend=backend)
    assert np.all(dx[0, 0, [2, 5], :] == 0) and np.all(dx[0, 0, :, [2, 5]] == 0)
    np.testing.assert_allclose(dx.sum(), 9.0)


# ---------------------------------------------------------------------- locally connected
def locally_connected_reference(x, w, b, stride):
    """Explicit reference: output position i is an ordinary conv1d of its own input slice
    with its own kernel w[i] (torch autograd gives the gradients)."""
    L_out, _, _, K = w.shape
    columns = [F.conv1d(x[:, :, i * stride:i * stride + K], w[i]) for i in range(L_out)]  # (N, C_out, 1) each
    y = torch.cat(columns, dim=2)
    return y if b is None else y + b


@st.composite
def lc_case(draw, tiny=False):
    top = 2 if tiny else 3
    N, c_in, c_out = draw(st.integers(1, top)), draw(st.integers(1, top)), draw(st.integers(1, top))
    K = draw(st.integers(1, 4))
    L = draw(st.integers(K, 8 if tiny else 14))
    stride = draw(st.integers(1, 3))
    L_out = (L - K) // stride + 1
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    bias = draw(st.booleans())
    return dict(x=rng.standard_normal((N, c_in, L)).astype(dtype),
                w=rng.standard_normal((L_out, c_out, c_in, K)).astype(dtype),
                b=rng.standard_normal((c_out, L_out)).astype(dtype) if bias else None,
                dy=rng.standard_normal((N, c_out, L_out)).astype(dtype), stride=stride, dtype=dtype)


@FAST
@given(case=lc_case())
@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_locally_connected_matches_explicit_reference(case, backend):
    check_locally_connected(case, backend)


@TINY
@given(case=lc_case(tiny=True))
def test_locally_connected_loops_matches_explicit_reference(case):
    check_locally_connected(case, "loops")


def check_locally_connected(case, backend):
    x, w = (torch.from_numpy(case[k]).requires_grad_(True) for k in ("x", "w"))
    b = None if case["b"] is None else torch.from_numpy(case["b"]).requires_grad_(True)
    y_ref = locally_connected_reference(x, w, b, case["stride"])
    y_ref.backward(torch.from_numpy(case["dy"]))
    y = ops.locally_connected1d(case["x"], case["w"], case["b"], case["stride"], backend=backend)
    assert_close(y, y_ref, case["dtype"], "lc forward")
    dx, dw, db = ops.locally_connected1d_backward(case["dy"], case["x"], case["w"], case["stride"], backend=backend)
    assert_close(dx, x.grad, case["dtype"], "lc dx")
    assert_close(dw, w.grad, case["dtype"], "lc dw")
    assert_close(db, case["dy"].sum(axis=0), case["dtype"], "lc db")


def test_locally_connected_with_identical_kernels_is_a_convolution():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 3, 12))
    kernel = rng.standard_normal((4, 3, 5))
    w = np.broadcast_to(kernel, (4, 4, 3, 5)).copy()     # L_out = (12 - 5) // 2 + 1 = 4 copies
    np.testing.assert_allclose(ops.locally_connected1d(x, w, stride=2), ops.conv1d(x, kernel, stride=2),
                               rtol=1e-12, atol=1e-12)


# ----------------------------------------------------------------------------------- dense
@FAST
@given(N=st.integers(1, 4), d_in=st.integers(1, 7), d_out=st.integers(1, 5), bias=st.booleans(),
       dtype=st.sampled_from([np.float32, np.float64]), seed=st.integers(0, 2**31 - 1))
@pytest.mark.parametrize("backend", ["loops", "numpy", "torch"])
def test_dense_matches_torch_linear(backend, N, d_in, d_out, bias, dtype, seed):
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal((N, d_in)).astype(dtype), rng.standard_normal((d_out, d_in)).astype(dtype)
    b = rng.standard_normal(d_out).astype(dtype) if bias else None
    dy = rng.standard_normal((N, d_out)).astype(dtype)
    xt, wt = torch.from_numpy(x).requires_grad_(True), torch.from_numpy(w).requires_grad_(True)
    y_ref = F.linear(xt, wt, None if b is None else torch.from_numpy(b))
    y_ref.backward(torch.from_numpy(dy))
    assert_close(ops.dense(x, w, b, backend=backend), y_ref, dtype, "dense forward")
    dx, dw, db = ops.dense_backward(dy, x, w, backend=backend)
    assert_close(dx, xt.grad, dtype, "dense dx")
    assert_close(dw, wt.grad, dtype, "dense dw")
    assert_close(db, dy.sum(axis=0), dtype, "dense db")


@pytest.mark.parametrize("backend", ["loops", "numpy", "torch"])
def test_max_pool_ties_send_the_gradient_to_the_first_maximum(backend):
    """Like PyTorch: when several entries of a window tie, the first (row-major) one wins."""
    x = np.ones((1, 1, 4, 4))
    dy = np.arange(1.0, 5.0).reshape(1, 1, 2, 2)
    xt = torch.from_numpy(x).requires_grad_(True)
    F.max_pool2d(xt, 2).backward(torch.from_numpy(dy))
    dx = ops.max_pool2d_backward(dy, x, 2, backend=backend)
    np.testing.assert_array_equal(dx, xt.grad.numpy())
    assert dx[0, 0, 0, 0] == 1.0 and dx[0, 0, 0, 1] == 0.0


def test_torch_backend_never_leaves_the_tensors_device():
    """Run every op on the 'meta' device (shapes only, no data): any hidden .cpu()/.numpy() or
    CPU-allocated temporary in the torch backend would fail here, so the backend is device-agnostic
    (the same code path runs on CUDA or MPS)."""
    meta = dict(device="meta")
    x, w, b = torch.empty(2, 3, 8, 8, **meta), torch.empty(4, 3, 3, 3, **meta), torch.empty(4, **meta)
    y = ops.conv2d(x, w, b, stride=2, padding=((1, 0), (0, 1)))
    assert y.device.type == "meta" and tuple(y.shape) == (2, 4, 4, 4)
    grads = ops.conv2d_backward(torch.empty(y.shape, **meta), x, w, stride=2, padding=((1, 0), (0, 1)))
    assert [tuple(g.shape) for g in grads] == [(2, 3, 8, 8), (4, 3, 3, 3), (4,)]
    assert all(g.device.type == "meta" for g in grads)
    y1 = ops.conv1d(x[:, :, 0], w[:, :, 0], padding="same", dilation=2)
    assert y1.device.type == "meta" and tuple(y1.shape) == (2, 4, 8)
    pooled = ops.max_pool2d(x, 3, 2, 1)
    assert ops.max_pool2d_backward(torch.empty(pooled.shape, **meta), x, 3, 2, 1).device.type == "meta"
    x1, w_lc = torch.empty(2, 3, 10, **meta), torch.empty(8, 4, 3, 3, **meta)
    lc_grads = ops.locally_connected1d_backward(torch.empty(2, 4, 8, **meta), x1, w_lc)
    assert all(g.device.type == "meta" for g in lc_grads)
    assert ops.dense(torch.empty(2, 5, **meta), torch.empty(3, 5, **meta)).device.type == "meta"


@pytest.mark.parametrize("threads", ["1", "2"])
def test_numpy_backend_chunked_and_threaded_paths_agree_with_torch(monkeypatch, threads):
    """Big batches are cut into cache-sized chunks (run in a thread pool); force tiny chunks so
    the tests cover that path, with and without threads, including stride and dilation."""
    from course_lib.ops import numpy_backend

    monkeypatch.setattr(numpy_backend, "_CHUNK_BYTES", 2048)
    monkeypatch.setattr(numpy_backend, "_PARALLEL_MIN_ELEMENTS", 1)
    monkeypatch.setattr(numpy_backend, "_PARALLEL_MIN_BYTES", 1)
    monkeypatch.setenv("COURSE_LIB_NUMPY_THREADS", threads)
    rng = np.random.default_rng(6)
    for stride, padding, dilation in [(1, 1, 1), (2, (0, 1), (1, 2)), (1, "same", 2)]:
        case = dict(x=rng.standard_normal((7, 3, 9, 8)).astype(np.float32),
                    w=rng.standard_normal((5, 3, 3, 2)).astype(np.float32),
                    b=rng.standard_normal(5).astype(np.float32), stride=stride, padding=padding,
                    dilation=dilation, dtype=np.float32, rng=rng)
        case["pairs"] = pairs_of(padding, 2, (3, 2), (dilation,) * 2 if isinstance(dilation, int) else dilation)
        check_conv(case, 2, "numpy")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork (e.g. DataLoader workers on Linux)")
def test_numpy_backend_thread_pool_survives_fork(monkeypatch):
    """A forked child (a DataLoader worker, say) gets a fresh pool instead of hanging on dead threads."""
    import multiprocessing

    from course_lib.ops import numpy_backend

    monkeypatch.setattr(numpy_backend, "_CHUNK_BYTES", 2048)
    monkeypatch.setattr(numpy_backend, "_PARALLEL_MIN_ELEMENTS", 1)
    monkeypatch.setattr(numpy_backend, "_PARALLEL_MIN_BYTES", 1)
    monkeypatch.setenv("COURSE_LIB_NUMPY_THREADS", "2")
    x = np.random.default_rng(8).standard_normal((6, 3, 9, 9)).astype(np.float32)
    w = np.ones((4, 3, 3, 3), np.float32)
    expected = ops.conv2d(x, w)          # starts the pool in this process
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=lambda: queue.put(np.asarray(ops.conv2d(x, w))))
    child.start()
    got = queue.get(timeout=60)
    child.join(timeout=60)
    np.testing.assert_array_equal(got, expected)
