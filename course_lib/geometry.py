"""The sliding-window arithmetic, written once: effective kernel, output length, padding.

Along one spatial dimension, with input length ``n``, kernel size ``k``, stride ``s``,
dilation ``d`` and ``p_before``/``p_after`` zeros added::

    effective kernel (receptive field of one unit)  k_eff = d*(k - 1) + 1
    output length   n_out = floor((n + p_before + p_after - k_eff) / s) + 1
    'same' padding  d*(k - 1) zeros in total, the odd one after (as in PyTorch)

:mod:`course_lib.ops` (argument checks of every op), :mod:`course_lib.shapes` (the public
counting formulas), the figures and the widgets all call these functions; no other module
writes the formulas out.  Like :mod:`course_lib.validation`, this module sits at the bottom of
the package: it imports nothing but ``validation``.

>>> output_length(28, 5)                      # 28 - 5 + 1
24
>>> resolve_padding("same", (4,), (1,), (1,))  # kernel 4: one zero before, two after
((1, 2),)
"""

from __future__ import annotations

from typing import Any, Sequence

from .validation import int_tuple, prefix

__all__ = ["effective_kernel", "output_length", "transposed_output_length", "same_padding", "resolve_padding"]


def effective_kernel(kernel_size: int, dilation: int = 1) -> int:
    """Input steps one window spans along one dimension: ``dilation*(kernel_size - 1) + 1``."""
    return dilation * (kernel_size - 1) + 1


def output_length(n: int, kernel_size: int, stride: int = 1, padding: tuple[int, int] = (0, 0),
                  dilation: int = 1) -> int:
    """``floor((n + p_before + p_after - dilation*(kernel_size - 1) - 1) / stride) + 1``.

    ``padding`` is one ``(before, after)`` pair.  Arguments are not checked (the callers
    check them once); the result is ``<= 0`` when the window does not fit the padded input.
    """
    return (n + padding[0] + padding[1] - effective_kernel(kernel_size, dilation)) // stride + 1


def transposed_output_length(n: int, kernel_size: int, stride: int = 1, padding: tuple[int, int] = (0, 0),
                             output_padding: int = 0, dilation: int = 1) -> int:
    """Length after a transposed convolution: ``(n - 1)*stride + dilation*(kernel_size - 1) + 1
    + output_padding - p_before - p_after`` (input ``i`` stamps the kernel onto ``i*stride + m*dilation``;
    the padding is cut off the ends).  Unchecked, like :func:`output_length`."""
    return (n - 1) * stride + effective_kernel(kernel_size, dilation) + output_padding - padding[0] - padding[1]


def same_padding(kernel_size: int, dilation: int = 1) -> tuple[int, int]:
    """``(before, after)`` zeros that keep the length at stride 1: ``d*(k-1)`` in total, the odd one after."""
    total = dilation * (kernel_size - 1)
    return total // 2, total - total // 2


def resolve_padding(padding: Any, kernel_size: Sequence[int], stride: Sequence[int] | None,
                    dilation: Sequence[int], where: str = "") -> tuple[tuple[int, int], ...]:
    """Normalise ``padding`` to one ``(before, after)`` pair per spatial dimension.

    ``kernel_size``, ``dilation`` (and ``stride``) are tuples with one entry per dimension, already
    checked.  Accepted ``padding``: an int ``p`` (``p`` zeros on both sides of every dimension);
    a tuple of ints (one symmetric amount per dimension); a tuple of ``(before, after)`` pairs;
    ``"valid"`` (no padding); ``"same"`` (see :func:`same_padding`), which needs stride 1 as in
    PyTorch.  ``stride=None`` skips that check (the explorer keeps the 'same' zeros at any stride).
    """
    n = len(kernel_size)
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * n
        if padding == "same":
            if stride is not None and any(s != 1 for s in stride):
                shown = stride if n > 1 else stride[0]
                raise ValueError(
                    f"{prefix(where)}padding='same' needs stride=1 (as in PyTorch); got stride={shown}. "
                    f"Give an explicit padding instead, e.g. padding="
                    f"{tuple(d * (k - 1) // 2 for k, d in zip(kernel_size, dilation))}"
                )
            return tuple(same_padding(k, d) for k, d in zip(kernel_size, dilation))
        raise ValueError(
            f"{prefix(where)}padding must be an int, a tuple of {n} ints, 'valid' or 'same'; got {padding!r}"
        )
    if isinstance(padding, (tuple, list)) and len(padding) == n and all(isinstance(p, (tuple, list)) for p in padding):
        return tuple(int_tuple(tuple(p), 2, "padding", where, minimum=0) for p in padding)
    try:
        symmetric = int_tuple(padding, n, "padding", where, minimum=0)
    except TypeError:
        raise TypeError(
            f"{prefix(where)}padding must be an int, a tuple of {n} ints, a tuple of {n} (before, after) "
            f"pairs, 'valid' or 'same'; got {padding!r}"
        ) from None
    return tuple((p, p) for p in symmetric)
