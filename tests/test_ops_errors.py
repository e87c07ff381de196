"""Bad arguments raise ValueError/TypeError naming the argument, what came and what was expected.

Each case runs on every backend: checks happen before any backend runs, so no backend can
fail with an IndexError (or silently compute garbage) on them.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from course_lib import ops

BACKENDS = ["loops", "numpy", "torch", "auto"]
rng = np.random.default_rng(0)
X = rng.standard_normal((2, 3, 8, 8))
W = rng.standard_normal((4, 3, 3, 3))
X1 = rng.standard_normal((2, 3, 10))
W1 = rng.standard_normal((4, 3, 3))

CASES = [
    # (id, call, exception, regex the message must match)
    ("mismatched channels", lambda be: ops.conv2d(X, rng.standard_normal((4, 2, 3, 3)), backend=be),
     ValueError, r"w has 2 input channels but x has 3.*w\.shape=\(4, 2, 3, 3\).*x\.shape=\(2, 3, 8, 8\).*expected w of shape \(4, 3, 3, 3\)"),
    ("mismatched channels 1d", lambda be: ops.conv1d(X1, rng.standard_normal((4, 5, 3)), backend=be),
     ValueError, r"w has 5 input channels but x has 3.*expected w of shape \(4, 3, 3\)"),
    ("kernel larger than padded input", lambda be: ops.conv2d(X, rng.standard_normal((4, 3, 11, 3)), padding=1, backend=be),
     ValueError, r"kernel is larger than the padded input along H.*w\.shape=\(4, 3, 11, 3\).*effective kernel of 11.*x\.shape=\(2, 3, 8, 8\).*expected a kernel of at most 10"),
    ("dilated kernel larger than input", lambda be: ops.conv1d(X1, W1, dilation=5, backend=be),
     ValueError, r"effective kernel of 11 \(dilation 5\).*at most 10"),
    ("stride 0", lambda be: ops.conv2d(X, W, stride=0, backend=be),
     ValueError, r"stride must be >= 1.*got 0"),
    ("negative stride", lambda be: ops.conv1d(X1, W1, stride=-2, backend=be),
     ValueError, r"stride must be >= 1.*got -2"),
    ("stride tuple wrong length", lambda be: ops.conv2d(X, W, stride=(1, 2, 3), backend=be),
     TypeError, r"stride must be an int or a tuple of 2 ints; got \(1, 2, 3\)"),
    ("dilation 0", lambda be: ops.conv2d(X, W, dilation=0, backend=be),
     ValueError, r"dilation must be >= 1"),
    ("negative padding", lambda be: ops.conv2d(X, W, padding=-1, backend=be),
     ValueError, r"padding must be >= 0.*got -1"),
    ("x wrong ndim", lambda be: ops.conv2d(X[0], W, backend=be),
     ValueError, r"x must be 4-D \(N, C_in, H, W\); got shape \(3, 8, 8\)"),
    ("w wrong ndim", lambda be: ops.conv2d(X, W[0], backend=be),
     ValueError, r"w must be 4-D \(C_out, C_in, KH, KW\); got shape \(3, 3, 3\)"),
    ("conv1d given 2-d input", lambda be: ops.conv1d(X, W1, backend=be),
     ValueError, r"x must be 3-D \(N, C_in, L\); got shape \(2, 3, 8, 8\)"),
    ("bias wrong shape", lambda be: ops.conv2d(X, W, rng.standard_normal(3), backend=be),
     ValueError, r"b has shape \(3,\); expected \(4,\)"),
    ("unknown padding string", lambda be: ops.conv2d(X, W, padding="full", backend=be),
     ValueError, r"padding must be an int, a tuple of 2 ints, 'valid' or 'same'; got 'full'"),
    ("same with stride 2", lambda be: ops.conv2d(X, W, stride=2, padding="same", backend=be),
     ValueError, r"padding='same' needs stride=1.*got stride=\(2, 2\)"),
    ("padding of wrong type", lambda be: ops.conv2d(X, W, padding=1.5, backend=be),
     TypeError, r"padding must be an int.*got 1\.5"),
    ("string dtype", lambda be: ops.conv2d(X.astype(str), W, backend=be),
     TypeError, r"x must hold real numbers.*dtype <U"),
    ("object dtype", lambda be: ops.conv2d(X, W.astype(object), backend=be),
     TypeError, r"w must hold real numbers.*dtype object.*shape \(4, 3, 3, 3\)"),
    ("bool dtype", lambda be: ops.conv1d(X1 > 0, W1, backend=be),
     TypeError, r"x must hold real numbers.*dtype bool"),
    ("bool tensor", lambda be: ops.conv1d(torch.from_numpy(X1) > 0, torch.from_numpy(W1), backend=be),
     TypeError, r"x must hold real numbers.*torch\.bool"),
    ("mixed numpy and torch", lambda be: ops.conv2d(torch.from_numpy(X), W, backend=be),
     TypeError, r"mixed numpy/torch inputs: x is a torch\.Tensor but w is ndarray; expected all numpy arrays or all torch tensors"),
    ("mixed bias", lambda be: ops.conv2d(X, W, torch.zeros(4, dtype=torch.float64), backend=be),
     TypeError, r"mixed numpy/torch inputs: b is a torch\.Tensor"),
    ("unknown backend", lambda be: ops.conv2d(X, W, backend="cuda" if be == "auto" else "fortran"),
     ValueError, r"backend must be one of \('auto', 'loops', 'numpy', 'torch'\)"),
    ("dy wrong shape", lambda be: ops.conv2d_backward(np.zeros((2, 4, 7, 7)), X, W, backend=be),
     ValueError, r"dy has shape \(2, 4, 7, 7\); expected \(2, 4, 6, 6\)"),
    ("dy wrong shape with stride", lambda be: ops.conv1d_backward(np.zeros((2, 4, 8)), X1, W1, stride=2, backend=be),
     ValueError, r"dy has shape \(2, 4, 8\); expected \(2, 4, 4\)"),
    ("pool kernel too big", lambda be: ops.max_pool2d(X, 9, backend=be),
     ValueError, r"kernel_size=\(9, 9\) is larger than the padded input along H.*x\.shape=\(2, 3, 8, 8\).*at most 8"),
    ("pool stride 0", lambda be: ops.avg_pool2d(X, 2, stride=0, backend=be),
     ValueError, r"stride must be >= 1"),
    ("pool padding above half kernel", lambda be: ops.max_pool2d(X, 2, padding=2, backend=be),
     ValueError, r"padding must be symmetric and at most half the kernel.*expected at most \(1, 1\)"),
    ("pool wrong ndim", lambda be: ops.max_pool2d(X1, 2, backend=be),
     ValueError, r"x must be 4-D \(N, C, H, W\); got shape \(2, 3, 10\)"),
    ("pool dy wrong shape", lambda be: ops.max_pool2d_backward(np.zeros((2, 3, 3, 3)), X, 2, backend=be),
     ValueError, r"dy has shape \(2, 3, 3, 3\); expected \(2, 3, 4, 4\)"),
    ("lc wrong number of positions", lambda be: ops.locally_connected1d(X1, np.zeros((7, 4, 3, 3)), backend=be),
     ValueError, r"w has weights for 7 output positions but x of length 10 with kernel 3 and stride 1 has 8.*expected \(8, 4, 3, 3\)"),
    ("lc mismatched channels", lambda be: ops.locally_connected1d(X1, np.zeros((8, 4, 2, 3)), backend=be),
     ValueError, r"w has 2 input channels but x has 3.*expected w of shape \(8, 4, 3, 3\)"),
    ("lc bias shape", lambda be: ops.locally_connected1d(X1, np.zeros((8, 4, 3, 3)), np.zeros(4), backend=be),
     ValueError, r"b has shape \(4,\); expected \(4, 8\)"),
    ("lc kernel too big", lambda be: ops.locally_connected1d(X1, np.zeros((1, 4, 3, 11)), backend=be),
     ValueError, r"kernel is larger than the input.*K=11.*L=10; expected K <= 10"),
    ("dense mismatched", lambda be: ops.dense(np.zeros((5, 7)), np.zeros((3, 6)), backend=be),
     ValueError, r"w has 6 inputs per unit but x has D_in=7.*expected w of shape \(3, 7\)"),
    ("dense wrong ndim", lambda be: ops.dense(np.zeros((5, 7, 1)), np.zeros((3, 7)), backend=be),
     ValueError, r"x must be 2-D \(N, D_in\); got shape \(5, 7, 1\)"),
    ("dense dy shape", lambda be: ops.dense_backward(np.zeros((5, 4)), np.zeros((5, 7)), np.zeros((3, 7)), backend=be),
     ValueError, r"dy has shape \(5, 4\); expected \(5, 3\)"),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("call, exc, pattern", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_argument_message(call, exc, pattern, backend):
    with pytest.raises(exc, match=pattern) as info:
        call(backend)
    assert not isinstance(info.value, IndexError)
    assert re.search(r"^(conv|max_|avg_|locally|dense|im2col|col2im|batch_norm)", str(info.value)), \
        "message starts with the op name"


def test_tensors_on_different_devices_are_refused():
    """Simulated with a meta tensor (the only second device every machine has)."""
    x = torch.zeros(1, 1, 4, 4)
    w = torch.zeros(1, 1, 2, 2, device="meta")
    with pytest.raises(ValueError, match=r"different devices .*x on cpu, w on meta"):
        ops.conv2d(x, w)
