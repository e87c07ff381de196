"""The maths of the course: convolution (grouped, depthwise, transposed), im2col, batch norm,
pooling, locally connected and dense layers.

Every op comes in three backends that compute the same numbers:

- ``"loops"``: the formula written as nested loops (slow; read it, run it on tiny inputs);
- ``"numpy"``: vectorized CPU version (channel-last im2col + one GEMM, forward and backward);
- ``"torch"``: torch tensors on any device (``torch.nn.functional`` / ``torch.nn.grad``);
- ``"auto"`` (default): ``"torch"`` for torch tensors, ``"numpy"`` for numpy arrays.

The result has the caller's kind: numpy in, numpy out; tensor in, tensor out (on the same
device), whichever backend ran.  Layout and semantics follow ``torch.nn.functional``:
channels first, cross-correlation (the kernel is not flipped).

Output size along each spatial dimension (``n`` input size, ``K`` kernel, ``s`` stride,
``d`` dilation, ``p_before``/``p_after`` zeros added)::

    n_out = floor((n + p_before + p_after - d*(K - 1) - 1) / s) + 1

``padding`` is an int, a tuple (one int per dimension, or one ``(before, after)`` pair per
dimension), ``"valid"`` (= 0) or ``"same"`` (``n_out = n``; needs stride 1, as in PyTorch;
with an even effective kernel the extra zero goes after).

Modules: ``conv``, ``transposed``, ``im2col``, ``batchnorm``, ``pooling``,
``locally_connected``, ``dense`` (the public functions:
argument checks, then dispatch); ``loops``, ``numpy_backend``, ``torch_backend`` (one
implementation of every op per backend); ``_args`` (validation and padding normalisation).

Example::

    >>> import numpy as np
    >>> from course_lib import ops
    >>> x = np.ones((1, 1, 5, 5)); w = np.ones((1, 1, 3, 3))
    >>> float(ops.conv2d(x, w, padding="same")[0, 0, 0, 0])   # corner: 4 of 9 taps see the image
    4.0
"""

from __future__ import annotations

from ._args import BACKENDS
from .batchnorm import batch_norm2d, batch_norm2d_backward
from .conv import conv1d, conv1d_backward, conv2d, conv2d_backward
from .dense import dense, dense_backward
from .im2col import col2im, im2col
from .locally_connected import locally_connected1d, locally_connected1d_backward
from .pooling import avg_pool2d, avg_pool2d_backward, max_pool2d, max_pool2d_backward
from .transposed import conv_transpose1d, conv_transpose1d_backward, conv_transpose2d, conv_transpose2d_backward

__all__ = [
    "BACKENDS",
    "conv1d", "conv2d", "conv1d_backward", "conv2d_backward",
    "conv_transpose1d", "conv_transpose2d", "conv_transpose1d_backward", "conv_transpose2d_backward",
    "im2col", "col2im", "batch_norm2d", "batch_norm2d_backward",
    "max_pool2d", "max_pool2d_backward", "avg_pool2d", "avg_pool2d_backward",
    "locally_connected1d", "locally_connected1d_backward",
    "dense", "dense_backward",
]
