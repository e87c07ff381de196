"""Public batch normalisation (as ``torch.nn.functional.batch_norm``) and its backward.

For each channel ``c``, over the ``M = N*H*W`` values ``x[:, c, :, :]``::

    training:  mean_c, var_c = the batch mean and (biased) variance of those values
               running_mean <- (1 - momentum)*running_mean + momentum*mean_c
               running_var  <- (1 - momentum)*running_var  + momentum*var_c * M/(M - 1)   (unbiased)
    eval:      mean_c, var_c = running_mean[c], running_var[c]

    y[n, c, i, j] = gamma[c] * (x[n, c, i, j] - mean_c) / sqrt(var_c + eps) + beta[c]

Backward (training mode, the batch statistics depend on x), with xhat = (x - mean)/sqrt(var + eps)::

    dbeta[c]  = sum dy[:, c]
    dgamma[c] = sum dy[:, c] * xhat[:, c]
    dx[:, c]  = gamma[c] / sqrt(var_c + eps) * (dy - dbeta[c]/M - xhat * dgamma[c]/M)
"""

from __future__ import annotations

import numbers

from ._args import check_ndim, check_shape, is_tensor, prepare, shape_of
from ._dispatch import backend_module as _module


def _check_number(op, name, value, low, high, low_open=False):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{op}: {name} must be a real number; got {type(value).__name__} {value!r}")
    too_low = value <= low if low_open else value < low
    if too_low or value > high:
        interval = f"{'(' if low_open else '['}{low}, {high}]"
        raise ValueError(f"{op}: {name} must be in {interval}; got {value!r}")
    return float(value)


def _check_channels(op, x, **per_channel):
    check_ndim(op, "x", x, 4, "(N, C, H, W)")
    C = shape_of(x)[1]
    for name, value in per_channel.items():
        if value is not None:
            check_ndim(op, name, value, 1, "(C,)")
            check_shape(op, name, value, (C,), f"(C,): one value per channel of x.shape={shape_of(x)}")
    return C


def _write_back(target, value):
    """Store ``value`` into the caller's running array ``target`` in place (numpy or torch)."""
    if is_tensor(target):
        import torch

        with torch.no_grad():
            target.copy_(value if is_tensor(value) else torch.from_numpy(value))
    else:
        target[...] = value.detach().cpu().numpy() if is_tensor(value) else value


def batch_norm2d(x, gamma, beta, running_mean=None, running_var=None, training=True, momentum=0.1,
                 eps=1e-5, backend: str = "auto"):
    """Batch normalisation of a (N, C, H, W) batch, as ``torch.nn.functional.batch_norm``.

    Args:
        x: (N, C, H, W).
        gamma, beta: (C,) scale and shift (``None``: 1 and 0).
        running_mean, running_var: (C,) running statistics or None; in training mode they are
            updated *in place* (unbiased variance); eval mode (``training=False``) needs both.
        training: normalise with the batch statistics (True) or the running ones (False).
        momentum: weight of the new batch in the running averages, in [0, 1].
        eps: > 0, added to the variance before the square root.

    Returns:
        y: (N, C, H, W).
    """
    op = "batch_norm2d"
    prep = prepare(op, backend, x=x, gamma=gamma, beta=beta, running_mean=running_mean, running_var=running_var)
    a = prep.arrays
    C = _check_channels(op, a["x"], gamma=a["gamma"], beta=a["beta"], running_mean=a["running_mean"],
                        running_var=a["running_var"])
    momentum = _check_number(op, "momentum", momentum, 0.0, 1.0)
    eps = _check_number(op, "eps", eps, 0.0, float("inf"), low_open=True)
    if not isinstance(training, (bool,)):
        raise TypeError(f"{op}: training must be True or False; got {type(training).__name__} {training!r}")
    if (running_mean is None) != (running_var is None):
        raise ValueError(f"{op}: give both running_mean and running_var or neither; got "
                         f"running_mean={'None' if running_mean is None else 'an array'}, "
                         f"running_var={'None' if running_var is None else 'an array'}")
    N, _, H, W = shape_of(a["x"])
    if training and N * H * W < 2:
        raise ValueError(f"{op}: training mode needs more than 1 value per channel; got x.shape="
                         f"{shape_of(a['x'])} (N*H*W = {N * H * W}); expected N*H*W >= 2")
    if not training and running_mean is None:
        raise ValueError(f"{op}: eval mode (training=False) normalises with running_mean and running_var; "
                         f"got None; expected two (C,) = ({C},) arrays")
    fn = _module(prep.backend).batch_norm2d
    y, new_mean, new_var = fn(a["x"], a["gamma"], a["beta"], a["running_mean"], a["running_var"],
                              training, momentum, eps)
    if training and running_mean is not None:
        _write_back(running_mean, new_mean)
        _write_back(running_var, new_var)
    return prep.give_back(y)


def batch_norm2d_backward(dy, x, gamma, eps=1e-5, backend: str = "auto"):
    """Gradients of :func:`batch_norm2d` in training mode (batch statistics).

    Args:
        dy: (N, C, H, W) gradient of the loss with respect to y.
        x: (N, C, H, W) the forward input; gamma: (C,) or None (= 1).
        eps: as in the forward call.

    Returns:
        (dx (N, C, H, W), dgamma (C,), dbeta (C,)).
    """
    op = "batch_norm2d_backward"
    prep = prepare(op, backend, dy=dy, x=x, gamma=gamma)
    a = prep.arrays
    _check_channels(op, a["x"], gamma=a["gamma"])
    check_shape(op, "dy", a["dy"], shape_of(a["x"]), "(N, C, H, W), the shape of x")
    eps = _check_number(op, "eps", eps, 0.0, float("inf"), low_open=True)
    N, _, H, W = shape_of(a["x"])
    if N * H * W < 2:
        raise ValueError(f"{op}: training mode needs more than 1 value per channel; got x.shape="
                         f"{shape_of(a['x'])} (N*H*W = {N * H * W}); expected N*H*W >= 2")
    dx, dgamma, dbeta = _module(prep.backend).batch_norm2d_backward(a["dy"], a["x"], a["gamma"], eps)
    return prep.give_back(dx), prep.give_back(dgamma), prep.give_back(dbeta)
