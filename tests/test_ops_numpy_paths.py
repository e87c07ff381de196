"""Every code path of the numpy backend against torch, with the batch forced through all of them.

The numpy backend picks a path by shape (im2col + GEMM, the flipped-kernel dx, scatter-add
col2im, the depthwise einsum, the transposed conv split into stride phases) and cuts big
batches into jobs and GEMM or einsum blocks run on a thread pool.  Here the size limits are
shrunk so that even these small cases take several jobs and blocks, with one thread and with
two; each result and gradient is checked against torch.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from test_ops import assert_close

from course_lib import ops
from course_lib.ops import numpy_backend

CONV = {1: (ops.conv1d, ops.conv1d_backward, F.conv1d), 2: (ops.conv2d, ops.conv2d_backward, F.conv2d)}
CONV_T = {1: (ops.conv_transpose1d, ops.conv_transpose1d_backward, F.conv_transpose1d),
          2: (ops.conv_transpose2d, ops.conv_transpose2d_backward, F.conv_transpose2d)}

# (name, spatial size, C_in, C_out, kernel, geometry): each line takes a different path
CONVS = [
    ("flipped-kernel dx, C_in >= 8", (7, 6), 9, 4, (3, 3), dict(padding=1)),
    ("flipped-kernel dx, dilated, 'same'", (7, 8), 8, 5, (3, 2), dict(padding="same", dilation=(2, 1))),
    ("grouped, 8 channels per group", (6, 6), 16, 6, (3, 3), dict(padding=(1, 0), groups=2)),
    ("scatter-add dx, stride 2", (9, 8), 3, 5, (3, 2), dict(stride=2, padding=(0, 1), dilation=(1, 2))),
    ("depthwise, stride 1, dilated", (8, 7), 3, 3, (3, 3), dict(padding=(2, 1), dilation=(1, 2), groups=3)),
    ("depthwise, 1x3 kernel", (5, 7), 3, 3, (1, 3), dict(padding=(0, 1), groups=3)),
    ("depthwise, stride 2", (8, 9), 4, 4, (3, 3), dict(stride=2, padding=1, groups=4)),
    ("depthwise multiplier", (6, 6), 3, 6, (2, 3), dict(padding=1, groups=3)),
    ("1-D, 16 channels", (30,), 16, 16, (5,), dict(padding=2)),
    ("1-D, dilated, 'same'", (17,), 8, 12, (3,), dict(padding="same", dilation=3)),
    ("one-row kernel on 2-D", (4, 9), 8, 5, (1, 3), dict(padding=(1, 2), dilation=(1, 2))),
    ("1-D, strided", (40,), 1, 4, (20,), dict(stride=10)),
]
TRANSPOSED = [
    ("2x upsampling, 4x4", (5, 4), 6, 4, (4, 4), dict(stride=2, padding=1)),
    ("stride above the kernel: phases no tap reaches", (4, 3), 3, 2, (2, 2), dict(stride=3, output_padding=(2, 1))),
    ("grouped, output padding", (4, 5), 4, 6, (3, 3), dict(stride=2, padding=(1, 0), output_padding=1, groups=2)),
    ("dilated (scatter-add path)", (4, 4), 3, 2, (3, 2), dict(stride=2, dilation=2, output_padding=1)),
    ("stride 1", (5, 5), 9, 3, (3, 3), dict(padding=1)),
    ("1-D", (9,), 4, 3, (4,), dict(stride=2, padding=1)),
]


@pytest.fixture(params=["1", "2"], ids=["1 thread", "2 threads"])
def tiny_blocks(request, monkeypatch):
    for name, value in [("_CHUNK_BYTES", 2048), ("_GEMM_BYTES", 1024), ("_PARALLEL_MIN_BYTES", 1),
                        ("_PARALLEL_MIN_ELEMENTS", 1), ("_DEPTHWISE_BLOCK_BYTES", 4096)]:
        monkeypatch.setattr(numpy_backend, name, value)
    monkeypatch.setenv("COURSE_LIB_NUMPY_THREADS", request.param)


def _check(forward, backward, reference, x, w, b, geometry, what):
    xt, wt, bt = (torch.from_numpy(a).requires_grad_(True) for a in (x, w, b))
    y_ref = reference(xt, wt, bt, **geometry)
    dy = np.random.default_rng(1).standard_normal(tuple(y_ref.shape))
    y_ref.backward(torch.from_numpy(dy))
    assert_close(forward(x, w, b, **geometry, backend="numpy"), y_ref, np.float64, f"{what}: y")
    dx, dw, db = backward(dy, x, w, **geometry, backend="numpy")
    for got, ref, name in [(dx, xt.grad, "dx"), (dw, wt.grad, "dw"), (db, bt.grad, "db")]:
        assert_close(got, ref, np.float64, f"{what}: {name}")


CASES = [("conv", *case) for case in CONVS] + [("transposed", *case) for case in TRANSPOSED]


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("kind, name, size, c_in, c_out, kernel, geometry", CASES,
                         ids=[f"{case[0]}: {case[1]}" for case in CASES])
def test_every_path_matches_torch(tiny_blocks, kind, name, size, c_in, c_out, kernel, geometry):
    rng = np.random.default_rng(0)
    groups = geometry.get("groups", 1)
    w_shape = (c_out, c_in // groups, *kernel) if kind == "conv" else (c_in, c_out // groups, *kernel)
    x, w, b = (rng.standard_normal(s) for s in ((5, c_in, *size), w_shape, (c_out,)))
    _check(*(CONV if kind == "conv" else CONV_T)[len(size)], x, w, b, geometry, name)


def test_an_error_in_one_job_is_raised_and_the_pool_keeps_working(tiny_blocks):
    """A failing job stops the others taking new chunks, its error reaches the caller, and the
    next call runs normally (no worker is left blocked)."""
    started = []

    def job(chunk):
        started.append(chunk)
        if chunk == 1:
            raise ValueError("chunk 1 failed")
        return chunk

    with pytest.raises(ValueError, match="chunk 1 failed"):
        numpy_backend._run_chunks(job, list(range(50)))
    assert len(started) < 50
    assert numpy_backend._run_chunks(lambda c: 2 * c, list(range(7))) == [2 * c for c in range(7)]
