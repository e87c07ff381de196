"""Checks for the conv layers of today's networks (problem set 6): a depthwise-separable block,
a transposed convolution and batch normalisation in train and eval mode.

They diagnose the mistakes these layers invite: ``groups`` on the wrong conv or a depthwise conv
that changes the channel count (wrong weight shape), ``output_padding`` off by one, the weight of a
transposed conv read with the conv's axis order, batch statistics used at eval time, running
statistics not updated in place or updated with the biased variance.

References are plain numpy, written here (shapes as in ``torch.nn.functional``):

- depthwise-separable block: ``x (N, C_in, H, W) -> (N, C_out, H_out, W_out)``;
- transposed conv: ``x (N, C_in, H, W)``, ``w (C_in, C_out, KH, KW)`` ->
  ``(N, C_out, (H - 1)*stride - 2*padding + KH + output_padding, ...)``;
- batch norm: ``x (N, C, H, W)``, ``gamma, beta, running_mean, running_var (C,)`` -> ``(N, C, H, W)``.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np

from .diagnose import Case, as_array, close, describe_shape, run_cases
from .feedback import Diagnosis, fail, not_implemented, passed

__all__ = [
    "check_depthwise_separable", "check_conv_transpose2d", "check_batch_norm2d",
    "reference_conv_transpose2d", "reference_batch_norm2d",
]


# ------------------------------------------------------------------------------ references
def reference_conv_transpose2d(x, w, stride: int = 1, padding: int = 0, output_padding: int = 0) -> np.ndarray:
    """x (N, C_in, H, W), w (C_in, C_out, KH, KW) -> (N, C_out, H_out, W_out), as F.conv_transpose2d.

    Every input value stamps ``x[n, c, i, j] * w[c]`` into the output at ``(i*stride, j*stride)``;
    the stamped canvas is ``(H - 1)*stride + KH + output_padding`` high (the extra rows at the bottom
    and right), and ``padding`` rows and columns are cropped from each side:
    ``H_out = (H - 1)*stride - 2*padding + KH + output_padding``.
    """
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    n, _, h, wd = x.shape
    _, c_out, kh, kw = w.shape
    canvas = np.zeros((n, c_out, (h - 1) * stride + kh + output_padding, (wd - 1) * stride + kw + output_padding))
    for i in range(h):
        for j in range(wd):
            canvas[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw] += np.einsum("nc,cokl->nokl", x[:, :, i, j], w)
    h_out = (h - 1) * stride - 2 * padding + kh + output_padding
    w_out = (wd - 1) * stride - 2 * padding + kw + output_padding
    return canvas[:, :, padding:padding + h_out, padding:padding + w_out]


def _batch_stats(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and biased variance over (N, H, W)."""
    return x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3))


def _normalise(x, mean, var, gamma, beta, eps):
    def col(v):
        v = np.asarray(v, dtype=np.float64)
        return v[None, :, None, None] if v.ndim else v
    return (x - col(mean)) / np.sqrt(col(var) + eps) * col(gamma) + col(beta)


def reference_batch_norm2d(x, gamma, beta, running_mean, running_var, training: bool,
                           momentum: float = 0.1, eps: float = 1e-5):
    """Batch norm as F.batch_norm; returns ``(y, new_running_mean, new_running_var)`` (inputs untouched).

    Training: normalise with the batch mean and biased variance over (N, H, W); the running
    statistics move by ``momentum`` towards the batch mean and the *unbiased* batch variance
    (``var * m / (m - 1)`` with ``m = N*H*W``). Eval: normalise with the running statistics.
    """
    x = np.asarray(x, dtype=np.float64)
    rm, rv = np.array(running_mean, dtype=np.float64), np.array(running_var, dtype=np.float64)
    if not training:
        return _normalise(x, rm, rv, gamma, beta, eps), rm, rv
    mean, var = _batch_stats(x)
    m = x.size // x.shape[1]
    y = _normalise(x, mean, var, gamma, beta, eps)
    return y, (1 - momentum) * rm + momentum * mean, (1 - momentum) * rv + momentum * var * m / (m - 1)


def _depthwise_separable_reference(x, dw, bn1, pw, bn2, stride: int, padding: int) -> np.ndarray:
    """Eval-mode block: relu(bn2(pointwise(relu(bn1(depthwise(x)))))); bn = (mean, var, gamma, beta, eps)."""
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    kh, kw = dw.shape[2:]
    win = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(2, 3))[:, :, ::stride, ::stride]
    h = np.maximum(_normalise(np.einsum("nchwij,cij->nchw", win, dw[:, 0]), *bn1), 0)
    return np.maximum(_normalise(np.einsum("nchw,oc->nohw", h, pw[:, :, 0, 0]), *bn2), 0)


# ------------------------------------------------------------------- depthwise-separable block
def _build(block_cls, check_id: str, *args, **kwargs):
    import torch

    call = f"{getattr(block_cls, '__name__', 'block')}({', '.join(map(repr, args))}{''.join(f', {k}={v!r}' for k, v in kwargs.items())})"
    if isinstance(block_cls, torch.nn.Module):
        fail(check_id, Diagnosis("not_a_class", "Pass the class itself (DepthwiseSeparable), not an instance: the check builds blocks of several sizes."))
    try:
        block = block_cls(*args, **kwargs)
    except NotImplementedError:
        not_implemented(check_id, call.split("(")[0])
    except Exception as exc:  # noqa: BLE001
        extra = (" torch requires in_channels and out_channels to be multiples of groups: a depthwise conv has "
                 "groups = in_channels = out_channels = c_in.") if "groups" in str(exc) else ""
        fail(check_id, Diagnosis("raised", f"{call} raised {type(exc).__name__}: {exc}.{extra}",
                                 ("Depthwise: nn.Conv2d(c_in, c_in, 3, stride, padding=1, groups=c_in, bias=False); "
                                  "pointwise: nn.Conv2d(c_in, c_out, 1, bias=False).",)))
    if not isinstance(block, torch.nn.Module):
        fail(check_id, Diagnosis("not_a_module", f"{call} returned a {type(block).__name__}; expected an nn.Module."))
    return block, call


def _conv_layers(block, call: str, c_in: int, c_out: int, check_id: str):
    """The depthwise and pointwise Conv2d of the block, with the structural diagnoses."""
    import torch

    convs = [m for m in block.modules() if isinstance(m, torch.nn.Conv2d)]
    shapes = ", ".join(describe_shape(tuple(m.weight.shape)) for m in convs) or "none"
    if len(convs) != 2:
        fail(check_id, Diagnosis("conv_count", f"{call} has {len(convs)} Conv2d layer(s) (weights {shapes}); a depthwise-separable "
                                 "block has two: a depthwise 3x3 conv, then a pointwise 1x1 conv.",
                                 ("One full 3x3 conv mixes space and channels at once; the separable block splits the two jobs.",)))
    dw, pw = convs
    if dw.kernel_size == (1, 1) and pw.kernel_size != (1, 1):
        fail(check_id, Diagnosis("pointwise_first", f"{call}: the 1x1 conv comes first. The block is depthwise 3x3 first "
                                 "(filter each channel in space), then pointwise 1x1 (mix the channels).",
                                 ("Create (and call) the depthwise conv before the pointwise one.",)))
    expected_dw = (c_in, 1, 3, 3)
    if dw.groups == 1 and pw.groups > 1:
        fail(check_id, Diagnosis("groups_on_pointwise", f"{call}: groups={pw.groups} is set on the 1x1 conv and the 3x3 conv has groups=1 "
                                 f"(weight {describe_shape(tuple(dw.weight.shape))}, a full conv). groups belongs on the 3x3 conv, "
                                 f"whose weight must be {describe_shape(expected_dw)}; the 1x1 conv must see every channel (groups=1).",))
    if tuple(dw.weight.shape) != expected_dw:
        got = tuple(dw.weight.shape)
        if dw.groups == 1:
            key, why = "depthwise_groups_missing", (f"it has groups=1, so each of its filters reads all {c_in} input channels: that "
                                                    f"is a full conv. Set groups=c_in={c_in} for one 3x3 filter per channel.")
        elif got[0] != c_in:
            key, why = "depthwise_changes_channels", (f"it makes {got[0]} channels from {c_in}. A depthwise conv keeps one filter "
                                                      "per input channel (out_channels = c_in); the pointwise 1x1 conv changes the count.")
        else:
            key, why = "depthwise_wrong_shape", f"groups={dw.groups}; a depthwise conv has groups = c_in = {c_in} and a 3x3 kernel."
        fail(check_id, Diagnosis(key, f"{call}: the depthwise conv's weight is {describe_shape(got)}, expected "
                                 f"{describe_shape(expected_dw)} (C_out, C_in // groups, KH, KW): {why}",
                                 ("nn.Conv2d(c_in, c_in, kernel_size=3, stride=stride, padding=1, groups=c_in, bias=False)",)))
    if tuple(pw.weight.shape) != (c_out, c_in, 1, 1) or pw.groups != 1:
        fail(check_id, Diagnosis("pointwise_wrong_shape", f"{call}: the pointwise conv's weight is {describe_shape(tuple(pw.weight.shape))} "
                                 f"with groups={pw.groups}; expected {describe_shape((c_out, c_in, 1, 1))} with groups=1: every output "
                                 "channel mixes all input channels at one pixel.",
                                 ("nn.Conv2d(c_in, c_out, kernel_size=1, bias=False)",)))
    if pw.stride != (1, 1):
        fail(check_id, Diagnosis("stride_on_pointwise", f"{call}: the stride is on the 1x1 conv. The depthwise conv then computes "
                                 "every position and the 1x1 conv throws three quarters of them away: put stride on the depthwise conv.",))
    if dw.bias is not None or pw.bias is not None:
        fail(check_id, Diagnosis("bias_before_batchnorm", f"{call}: a conv has a bias although batch norm follows it; the batch "
                                 "norm subtracts the mean (the bias cancels) and adds its own beta. Use bias=False.",))
    return dw, pw


def _batchnorms(block, call: str, c_in: int, c_out: int, check_id: str):
    import torch

    bns = [m for m in block.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    sizes = [m.num_features for m in bns]
    if sizes != [c_in, c_out]:
        fail(check_id, Diagnosis("batchnorm_missing", f"{call} has BatchNorm2d layers with num_features {sizes}; expected "
                                 f"[{c_in}, {c_out}]: one after the depthwise conv ({c_in} channels) and one after the pointwise conv "
                                 f"({c_out} channels).",))
    return bns


def _randomise(block, seed: int) -> None:
    """Random weights and running statistics, so every layer leaves its mark on the output."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in block.modules():
            if isinstance(m, torch.nn.Conv2d):
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen) * 0.5)
            elif isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.3)
                m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
                m.weight.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(m.num_features, generator=gen) * 0.3)


def check_depthwise_separable(block_cls, check_id: str = "depthwise_separable") -> None:
    """block_cls(c_in, c_out, stride=1): depthwise 3x3 conv (padding 1, groups=c_in, no bias) -> BN -> ReLU
    -> pointwise 1x1 conv (no bias) -> BN -> ReLU; x (N, c_in, H, W) -> (N, c_out, ceil(H / stride), ceil(W / stride))."""
    import torch

    cases = [(4, 8, 1, (2, 4, 6, 6)), (3, 5, 2, (1, 3, 7, 7)), (6, 6, 1, (2, 6, 5, 4))]
    for index, (c_in, c_out, stride, shape) in enumerate(cases):
        block, call = _build(block_cls, check_id, c_in, c_out, stride=stride)
        dw, pw = _conv_layers(block, call, c_in, c_out, check_id)
        bn1, bn2 = _batchnorms(block, call, c_in, c_out, check_id)
        if dw.stride != (stride, stride) or dw.padding != (1, 1):
            fail(check_id, Diagnosis("depthwise_geometry", f"{call}: the depthwise conv has stride {dw.stride} and padding {dw.padding}; "
                                     f"expected stride ({stride}, {stride}) and padding (1, 1), so a 3x3 window keeps H x W at stride 1 "
                                     "and halves it (rounding up) at stride 2.",))
        _randomise(block, 100 + index)
        x = np.random.default_rng(200 + index).standard_normal(shape)
        block.eval()
        try:
            with torch.no_grad():
                out = block(torch.tensor(x, dtype=torch.float32))
        except NotImplementedError:
            not_implemented(check_id, f"{type(block).__name__}.forward")
        except Exception as exc:  # noqa: BLE001
            fail(check_id, Diagnosis("raised", f"{call}.forward on x of shape {shape} raised {type(exc).__name__}: {exc}.",
                                     ("Print h.shape after every layer in forward().",)))
        got = as_array(out)
        size = -(-shape[2] // stride), -(-shape[3] // stride)
        expected_shape = (shape[0], c_out, *size)
        if got is None or got.shape != expected_shape:
            fail(check_id, Diagnosis("wrong_shape", f"{call} maps x of shape {describe_shape(shape)} to "
                                     f"{None if got is None else describe_shape(got.shape)}; expected {describe_shape(expected_shape)}.",))

        def bn(m):
            return (m.running_mean.numpy().astype(np.float64), m.running_var.numpy().astype(np.float64),
                    m.weight.detach().numpy().astype(np.float64), m.bias.detach().numpy().astype(np.float64), m.eps)
        wd, wp = dw.weight.detach().numpy().astype(np.float64), pw.weight.detach().numpy().astype(np.float64)
        expected = _depthwise_separable_reference(x, wd, bn(bn1), wp, bn(bn2), stride, 1)
        if close(got, expected, 1e-4, 1e-4):
            continue
        xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
        win = np.lib.stride_tricks.sliding_window_view(xp, (3, 3), axis=(2, 3))[:, :, ::stride, ::stride]
        no_inner_relu = np.maximum(_normalise(np.einsum("nchw,oc->nohw", _normalise(np.einsum("nchwij,cij->nchw", win, wd[:, 0]), *bn(bn1)),
                                                        wp[:, :, 0, 0]), *bn(bn2)), 0)
        if close(got, no_inner_relu, 1e-4, 1e-4):
            fail(check_id, Diagnosis("relu_missing", f"{call}: the output matches the block without the ReLU after the first batch norm.",
                                     ("forward: relu(bn1(depthwise(x))), then relu(bn2(pointwise(h))).",)))
        fail(check_id, Diagnosis("wrong_values", f"{call} has the right layers and output shape but its forward pass gives other values "
                                 "than depthwise -> BN -> ReLU -> pointwise -> BN -> ReLU (compared in eval mode).",
                                 ("Call every layer in forward, in that order, each on the previous layer's output.",)))
    passed(check_id, f"the block has the right layers (depthwise weight (C_in, 1, 3, 3), pointwise (C_out, C_in, 1, 1)) "
           f"and forward pass on {len(cases)} configurations.")


# --------------------------------------------------------------------------- transposed conv
def _transpose_shape(fn_name: str):
    def diagnose(case: Case, got: tuple) -> Diagnosis:
        x, w = case.args
        s, p, op = (case.kwargs.get(k, 0) for k in ("stride", "padding", "output_padding"))
        s = s or 1
        exp = case.expected.shape
        msg = f"{fn_name} returned shape {describe_shape(got)}, expected {describe_shape(exp)} on {case.label}."
        formula = "H_out = (H - 1)*stride - 2*padding + KH + output_padding"
        if len(got) != 4:
            return Diagnosis("wrong_ndim", msg + " The output keeps the batch axis: (N, C_out, H_out, W_out).")
        if got[1] == w.shape[0] and got[1] != w.shape[1]:
            return Diagnosis("weight_layout", msg + f" It has {got[1]} channels = w.shape[0]. A transposed conv's weight is (C_in, C_out, KH, KW),"
                             " the conv's layout with its first two axes swapped: output channels are w.shape[1].",
                             ("Stamp x[n, c, i, j] * w[c] (shape (C_out, KH, KW)) into the output.",))
        dh = got[2] - exp[2]
        if op and dh == -op:
            return Diagnosis("output_padding_ignored", msg + f" You left out output_padding={op}: {formula}. The extra "
                             "row and column go at the bottom and right (they pick the larger of the input sizes a stride-"
                             f"{s} conv maps to the same size).", ("Stamp into a canvas (H - 1)*stride + KH + output_padding high, then crop padding from each side.",))
        if op and dh == op:
            return Diagnosis("output_padding_twice", msg + f" output_padding={op} was added on both sides; it adds {op} row(s) at the "
                             f"bottom and {op} column(s) at the right only: {formula}.",)
        if dh == 2 * p and p:
            return Diagnosis("padding_not_cropped", msg + f" You did not crop padding={p}: a transposed conv removes `padding` rows "
                             f"and columns from each side of the stamped output ({formula}).",)
        if got[2] == (x.shape[2] + 2 * p - w.shape[2]) // s + 1:
            return Diagnosis("forward_size", msg + f" That is a forward conv's output size; a transposed conv goes the other way: {formula}.",)
        return Diagnosis("wrong_shape", msg + f" {formula} (same for W).",)
    return diagnose


def check_conv_transpose2d(fn: Callable, check_id: str = "conv_transpose2d") -> None:
    """fn(x, w, stride=1, padding=0, output_padding=0): x (N, C_in, H, W), w (C_in, C_out, KH, KW)
    -> (N, C_out, (H - 1)*stride - 2*padding + KH + output_padding, ...), as F.conv_transpose2d."""
    rng = np.random.default_rng(12)
    specs = [((1, 1, 2, 2), (1, 1, 3, 3), 2, 0, 0, True), ((2, 2, 3, 3), (2, 2, 3, 3), 2, 1, 1, False),
             ((2, 2, 3, 3), (2, 3, 3, 3), 2, 1, 1, False),
             ((1, 3, 4, 3), (3, 2, 4, 4), 2, 1, 0, False), ((2, 2, 3, 4), (2, 2, 3, 3), 3, 1, 2, False),
             ((1, 2, 5, 5), (2, 4, 3, 2), 1, 0, 0, False)]
    cases = []
    for i, (xs, ws, s, p, op, example) in enumerate(specs):
        x = np.array([[[[1.0, 2.0], [3.0, 4.0]]]]) if example else rng.standard_normal(xs)
        w = np.arange(1.0, 10.0).reshape(ws) if example else rng.standard_normal(ws)
        kwargs = {"stride": s, "padding": p, "output_padding": op}
        alternatives = {"flipped": reference_conv_transpose2d(x, w[:, :, ::-1, ::-1], s, p, op)}
        if ws[0] == ws[1]:
            alternatives["weight_layout"] = reference_conv_transpose2d(x, w.transpose(1, 0, 2, 3), s, p, op)
        if op and p >= op:  # extra row and column placed at the top and left instead of the bottom and right
            full = reference_conv_transpose2d(x, w, s, 0, op)
            alternatives["output_padding_front"] = full[:, :, p - op:full.shape[2] - p - op, p - op:full.shape[3] - p - op]
        label = "the notebook's example" if example else (f"random input #{i} (x {xs}, w {ws}, stride {s}, padding {p}, "
                                                          f"output_padding {op})")
        cases.append(Case((x, w), reference_conv_transpose2d(x, w, s, p, op), label, kwargs, alternatives, example))
    mistakes = {
        "flipped": Diagnosis("flipped_kernel", "Your output is the right one with the kernel rotated by 180 degrees. Stamping "
                             "x[n, c, i, j] * w[c] at (i*stride, j*stride) needs no flip (the flip appears only when you write it "
                             "as a convolution over the zero-stuffed input).",),
        "weight_layout": Diagnosis("weight_layout", "You read w as (C_out, C_in, KH, KW), the conv's layout. A transposed conv's "
                                   "weight is (C_in, C_out, KH, KW): w[c] is the stamp of input channel c.",),
        "output_padding_front": Diagnosis("output_padding_front", "The extra output_padding row and column are at the top and "
                                          "left; they belong at the bottom and right (crop `padding` from the start, and the end is "
                                          "`padding - output_padding` short of the canvas edge).",),
    }
    run_cases(check_id, fn, cases, mistakes, _transpose_shape("conv_transpose2d"), name="conv_transpose2d")
    passed(check_id, f"conv_transpose2d matches F.conv_transpose2d's arithmetic on {len(cases)} inputs "
           "(stride, padding, output_padding, C_in != C_out).")


# --------------------------------------------------------------------------------- batch norm
def _bn_inputs(seed: int):
    rng = np.random.default_rng(seed)
    out = []
    for shape in [(4, 3, 2, 2), (2, 2, 3, 3), (3, 4, 2, 3)]:
        c = shape[1]
        x = rng.standard_normal(shape) * rng.uniform(0.5, 3.0, c)[None, :, None, None] + rng.normal(0, 2, c)[None, :, None, None]
        x[:, 0] *= 0.01  # a channel with a tiny variance: eps matters there
        out.append((x, rng.uniform(0.5, 2.0, c), rng.normal(0, 1, c), rng.normal(0, 1, c), rng.uniform(0.5, 2.0, c)))
    return out


def _call_bn(fn, check_id, x, gamma, beta, rm, rv, training, momentum):
    try:
        return fn(x.copy(), gamma.copy(), beta.copy(), rm, rv, training=training, momentum=momentum, eps=1e-5)
    except NotImplementedError:
        not_implemented(check_id, "batch_norm2d")
    except Exception as exc:  # noqa: BLE001
        fail(check_id, Diagnosis("raised", f"batch_norm2d(training={training}) raised {type(exc).__name__}: {exc} on x of shape "
                                 f"{describe_shape(x.shape)}.", ("Keep the statistics per channel: shape (C,), reshaped to (1, C, 1, 1) to broadcast.",)))


def _bn_output(check_id, raw, x, expected, alternatives: dict, where: str):
    got = as_array(raw)
    if got is None or got.shape != x.shape:
        fail(check_id, Diagnosis("wrong_shape", f"batch_norm2d returned {None if got is None else describe_shape(got.shape)} {where}; "
                                 f"the output has the shape of x, {describe_shape(x.shape)}.",))
    if close(got, expected, 1e-6, 1e-7):
        return
    for diagnosis, alternative in alternatives.items():
        if close(got, alternative, 1e-6, 1e-7):
            fail(check_id, diagnosis)
    fail(check_id, Diagnosis("wrong_values", f"batch_norm2d gives wrong values {where}.",
                             ("y = (x - mean) / sqrt(var + eps) * gamma + beta, per channel, with mean and var of shape (C,).",)))


def check_batch_norm2d(fn: Callable, check_id: str = "batch_norm2d") -> None:
    """fn(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5) -> y like x; in training
    mode it also updates running_mean and running_var in place (unbiased variance), in eval mode it uses them."""
    eps, momentum = 1e-5, 0.1
    for index, (x, gamma, beta, rm0, rv0) in enumerate(_bn_inputs(13)):
        where = f"in training mode on x of shape {describe_shape(x.shape)}"
        rm, rv = rm0.copy(), rv0.copy()
        raw = _call_bn(fn, check_id, x, gamma, beta, rm, rv, True, momentum)
        y, rm_exp, rv_exp = reference_batch_norm2d(x, gamma, beta, rm0, rv0, True, momentum, eps)
        running = Diagnosis("running_stats_in_training", f"You normalised with the running statistics {where}; training mode uses "
                            "the batch's own mean and variance (and only updates the running ones).",)
        mean, var = _batch_stats(x)
        m = x.size // x.shape[1]
        per_sample = (x - x.mean(axis=(2, 3), keepdims=True)) / np.sqrt(x.var(axis=(2, 3), keepdims=True) + eps) * gamma[None, :, None, None] + beta[None, :, None, None]
        _bn_output(check_id, raw, x, y, {
            running: _normalise(x, rm0, rv0, gamma, beta, eps),
            dataclasses.replace(running, message=running.message + " (here even after updating them)"): _normalise(x, rm_exp, rv_exp, gamma, beta, eps),
            Diagnosis("unbiased_in_normalisation", f"You normalised with the unbiased variance {where}. Like torch, normalise with "
                      "the biased batch variance (divide by N*H*W); only the running update uses the unbiased one.",):
                _normalise(x, mean, var * m / (m - 1), gamma, beta, eps),
            Diagnosis("per_sample_statistics", f"You took the mean and variance of each sample separately {where} (that is instance "
                      "norm). Batch norm averages each channel over the batch and the positions: axis=(0, 2, 3).",): per_sample,
            Diagnosis("eps_outside_sqrt", f"eps is added outside the square root {where}: divide by sqrt(var + eps).",):
                (x - mean[None, :, None, None]) / (np.sqrt(var)[None, :, None, None] + eps) * gamma[None, :, None, None] + beta[None, :, None, None],
            Diagnosis("gamma_beta_missing", f"The output is normalised but gamma and beta are not applied {where}: y = x_hat * gamma + beta.",):
                _normalise(x, mean, var, 1, 0, eps),
        }, where)
        if np.array_equal(rm, rm0) or np.array_equal(rv, rv0):
            which = "running_mean and running_var were" if np.array_equal(rm, rm0) and np.array_equal(rv, rv0) else (
                "running_mean was" if np.array_equal(rm, rm0) else "running_var was")
            fail(check_id, Diagnosis("running_not_updated", f"{which} not updated {where}. Update the arrays you were given in place "
                                     "(running_var *= 1 - momentum; running_var += momentum * var_unbiased, or running_var[:] = ...): "
                                     "`running_var = ...` only rebinds your local name and the caller's array stays as it was.",
                                     ("Eval mode normalises with these arrays: if they never move, the network is evaluated with "
                                      "mean 0 and variance 1 whatever it learnt.",)))
        if not close(rm, rm_exp, 1e-6, 1e-9):
            key, msg = ("momentum_reversed", "running_mean moved by 1 - momentum instead of momentum: running = (1 - momentum) * running + "
                        "momentum * batch_mean (torch's convention).") if close(rm, momentum * rm0 + (1 - momentum) * mean, 1e-6, 1e-9) else (
                "running_mean_wrong", "running_mean = (1 - momentum) * running_mean + momentum * batch_mean, per channel.")
            fail(check_id, Diagnosis(key, f"{msg} ({where})"))
        if not close(rv, rv_exp, 1e-6, 1e-9):
            if close(rv, (1 - momentum) * rv0 + momentum * var, 1e-6, 1e-9):
                fail(check_id, Diagnosis("running_var_biased", f"running_var was updated with the biased batch variance {where}. The running "
                                         f"estimate uses the unbiased one: var * m / (m - 1) with m = N*H*W = {m} values per channel.",
                                         ("np.var(..., ddof=1), or multiply the biased variance by m / (m - 1).",)))
            key = "momentum_reversed" if close(rv, momentum * rv0 + (1 - momentum) * var * m / (m - 1), 1e-6, 1e-9) else "running_var_wrong"
            fail(check_id, Diagnosis(key, f"running_var = (1 - momentum) * running_var + momentum * unbiased batch variance, per channel "
                                     f"({where}).",))
        # eval mode: the running statistics, and they stay as they are
        where = f"in eval mode on x of shape {describe_shape(x.shape)}"
        rm_e, rv_e = rm0.copy(), rv0.copy()
        raw = _call_bn(fn, check_id, x, gamma, beta, rm_e, rv_e, False, momentum)
        if not (np.array_equal(rm_e, rm0) and np.array_equal(rv_e, rv0)):
            fail(check_id, Diagnosis("running_updated_in_eval", f"The running statistics changed {where}; only training updates them: "
                                     "in eval mode the layer is a fixed per-channel affine map.",))
        batch_y = _normalise(x, mean, var, gamma, beta, eps)
        _bn_output(check_id, raw, x, reference_batch_norm2d(x, gamma, beta, rm0, rv0, False, momentum, eps)[0], {
            Diagnosis("batch_stats_in_eval", f"You normalised with the batch statistics {where}. At eval time a batch may be one image "
                      "and predictions must not depend on the other images in it: use running_mean and running_var.",
                      ("if not training: mean, var = running_mean, running_var",)): batch_y,
        }, where)
    passed(check_id, "batch_norm2d normalises with batch statistics in training, updates the running mean and unbiased "
           "variance in place, and uses them in eval mode.")
