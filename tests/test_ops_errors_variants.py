"""Bad arguments of the grouped / transposed convs, im2col/col2im and batch norm: ValueError or
TypeError naming the argument, what came and what was expected, on every backend (the checks
run before any backend)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from course_lib import ops

BACKENDS = ["loops", "numpy", "torch", "auto"]
rng = np.random.default_rng(0)
X = rng.standard_normal((2, 4, 6, 6))
X1 = rng.standard_normal((2, 4, 9))
W_T = rng.standard_normal((4, 3, 3, 3))         # transposed: (C_in, C_out // groups, KH, KW)
C = np.ones(4)

CASES = [
    ("groups does not divide C_in", lambda be: ops.conv2d(X, np.zeros((6, 1, 3, 3)), groups=3, backend=be),
     ValueError, r"conv2d: groups=3 must divide C_in=4 \(x\.shape=\(2, 4, 6, 6\)\); expected one of \[1, 2, 4\]"),
    ("groups does not divide C_out", lambda be: ops.conv1d(X1, np.zeros((3, 2, 3)), groups=2, backend=be),
     ValueError, r"conv1d: groups=2 must divide C_out=3 \(w\.shape=\(3, 2, 3\)\); expected one of \[1, 3\]"),
    ("weight axis 1 is not C_in // groups", lambda be: ops.conv2d(X, np.zeros((4, 4, 3, 3)), groups=2, backend=be),
     ValueError, r"w has 4 input channels per group but x has C_in=4 with groups=2.*expected w of shape \(4, 2, 3, 3\) \(C_out, C_in // groups = 2"),
    ("backward weight axis 1", lambda be: ops.conv2d_backward(np.zeros((2, 4, 4, 4)), X, np.zeros((4, 1, 3, 3)), groups=2, backend=be),
     ValueError, r"w has 1 input channels per group but x has C_in=4 with groups=2"),
    ("groups 0", lambda be: ops.conv2d(X, np.zeros((4, 4, 3, 3)), groups=0, backend=be),
     ValueError, r"conv2d: groups must be an int >= 1; got 0"),
    ("groups float", lambda be: ops.conv1d(X1, np.zeros((4, 2, 3)), groups=2.0, backend=be),
     TypeError, r"conv1d: groups must be an int >= 1; got float 2\.0"),
    ("transposed groups 0", lambda be: ops.conv_transpose2d(X, W_T, groups=0, backend=be),
     ValueError, r"conv_transpose2d: groups must be an int >= 1; got 0"),
    ("transposed groups does not divide C_in", lambda be: ops.conv_transpose2d(X, W_T, groups=3, backend=be),
     ValueError, r"conv_transpose2d: groups=3 must divide C_in=4"),
    ("transposed weight axis 0", lambda be: ops.conv_transpose2d(X, np.zeros((3, 3, 3, 3)), backend=be),
     ValueError, r"w has 3 input channels \(axis 0\) but x has 4.*expected w of shape \(4, 3, 3, 3\) \(C_in, C_out // groups, KH, KW\)"),
    ("output_padding equal to stride", lambda be: ops.conv_transpose2d(X, W_T, stride=2, output_padding=2, backend=be),
     ValueError, r"output_padding must be smaller than max\(stride, dilation\) = 2 along H; got output_padding=2"),
    ("output_padding above dilation", lambda be: ops.conv_transpose1d(X1, np.zeros((4, 2, 3)), dilation=2, output_padding=(2,), backend=be),
     ValueError, r"conv_transpose1d: output_padding must be smaller than max\(stride, dilation\) = 2 along L"),
    ("transposed negative output_padding", lambda be: ops.conv_transpose2d(X, W_T, output_padding=-1, backend=be),
     ValueError, r"output_padding must be >= 0 in every dimension; got -1"),
    ("transposed padding string", lambda be: ops.conv_transpose2d(X, W_T, padding="same", backend=be),
     TypeError, r"padding must be an int or a tuple of 2 ints.*got 'same'"),
    ("transposed padding crops everything", lambda be: ops.conv_transpose1d(X1[:, :, :1], np.zeros((4, 1, 1)), padding=1, backend=be),
     ValueError, r"padding=\(1,\) crops the whole output along L"),
    ("transposed bias length", lambda be: ops.conv_transpose2d(X, W_T, np.zeros(4), groups=2, backend=be),
     ValueError, r"b has shape \(4,\); expected \(6,\)"),
    ("transposed dy shape", lambda be: ops.conv_transpose2d_backward(np.zeros((2, 3, 9, 9)), X, W_T, backend=be),
     ValueError, r"dy has shape \(2, 3, 9, 9\); expected \(2, 3, 8, 8\)"),
    ("im2col kernel too big", lambda be: ops.im2col(X, 8, padding=0, backend=be),
     ValueError, r"im2col: kernel_size=\(8, 8\) \(effective 8 with dilation 1\) is larger than the padded input along H"),
    ("im2col wrong ndim", lambda be: ops.im2col(X1, 3, backend=be),
     ValueError, r"im2col: x must be 4-D \(N, C, H, W\); got shape \(2, 4, 9\)"),
    ("col2im wrong column count", lambda be: ops.col2im(np.zeros((2, 36, 15)), (6, 6), 3, backend=be),
     ValueError, r"col2im: cols has 15 columns but output_size=\(6, 6\).*has 4\*4 = 16 windows.*expected \(2, 36, 16\)"),
    ("col2im rows not a multiple", lambda be: ops.col2im(np.zeros((2, 10, 16)), (6, 6), 3, backend=be),
     ValueError, r"col2im: cols has 10 rows, not a positive multiple of KH\*KW = 9"),
    ("gamma length", lambda be: ops.batch_norm2d(X, np.ones(3), C, backend=be),
     ValueError, r"batch_norm2d: gamma has shape \(3,\); expected \(4,\) \(C,\): one value per channel"),
    ("beta length", lambda be: ops.batch_norm2d(X, C, np.ones(5), backend=be),
     ValueError, r"batch_norm2d: beta has shape \(5,\); expected \(4,\)"),
    ("running_mean length", lambda be: ops.batch_norm2d(X, C, C, np.zeros(2), np.ones(4), backend=be),
     ValueError, r"batch_norm2d: running_mean has shape \(2,\); expected \(4,\)"),
    ("running_var length", lambda be: ops.batch_norm2d(X, C, C, np.zeros(4), np.ones((4, 1)), backend=be),
     ValueError, r"batch_norm2d: running_var must be 1-D \(C,\); got shape \(4, 1\)"),
    ("backward gamma length", lambda be: ops.batch_norm2d_backward(X, X, np.ones(2), backend=be),
     ValueError, r"batch_norm2d_backward: gamma has shape \(2,\); expected \(4,\)"),
    ("eval without running stats", lambda be: ops.batch_norm2d(X, C, C, training=False, backend=be),
     ValueError, r"eval mode \(training=False\) normalises with running_mean and running_var; got None"),
    ("one running array only", lambda be: ops.batch_norm2d(X, C, C, np.zeros(4), backend=be),
     ValueError, r"give both running_mean and running_var or neither"),
    ("one value per channel", lambda be: ops.batch_norm2d(X[:1, :, :1, :1], C, C, backend=be),
     ValueError, r"training mode needs more than 1 value per channel; got x\.shape=\(1, 4, 1, 1\)"),
    ("momentum out of range", lambda be: ops.batch_norm2d(X, C, C, momentum=1.5, backend=be),
     ValueError, r"momentum must be in \[0\.0, 1\.0\]; got 1\.5"),
    ("eps zero", lambda be: ops.batch_norm2d_backward(X, X, C, eps=0, backend=be),
     ValueError, r"eps must be in \(0\.0, inf\]; got 0"),
    ("bn dy shape", lambda be: ops.batch_norm2d_backward(X[:1], X, C, backend=be),
     ValueError, r"dy has shape \(1, 4, 6, 6\); expected \(2, 4, 6, 6\)"),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("call, exc, pattern", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_argument_message(call, exc, pattern, backend):
    with pytest.raises(exc, match=pattern) as info:
        call(backend)
    assert re.search(r"^(conv|im2col|col2im|batch_norm)", str(info.value)), "message starts with the op name"


def test_running_arrays_untouched_when_the_call_is_refused():
    mean, var = np.zeros(4), np.ones(4)
    with pytest.raises(ValueError):
        ops.batch_norm2d(X, np.ones(3), C, mean, var)
    assert mean.tolist() == [0.0] * 4 and var.tolist() == [1.0] * 4
