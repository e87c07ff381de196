"""Checks for the networks learners build in PyTorch (EKG net, MNIST CNN)."""

from __future__ import annotations

import numpy as np

from .feedback import Diagnosis, fail, not_implemented, passed
from .outputs import describe_exception, real_array

__all__ = ["check_ekgnet", "check_classifier_output"]


def _forward(model, x, check_id, name):
    import torch

    model.eval()
    try:
        with torch.no_grad():
            return model(x)
    except NotImplementedError:
        not_implemented(check_id, f"{name}.forward")
    except Exception as exc:  # noqa: BLE001
        fail(check_id, Diagnosis("raised", f"{name} raised {describe_exception(exc)} on input of shape {tuple(x.shape)}.",
                                 ("Print x.shape after every layer in forward() to see where the sizes stop matching.",)))


def check_ekgnet(model, check_id: str = "ekgnet") -> None:
    """The EKG network of lesson 03: input (N, 1, 100); a Conv1d with kernel 20 and stride 10
    (9 positions); a second Conv1d whose neurons each see 5 adjacent layer-1 outputs; output
    (N, 1) or (N,) probabilities from a final sigmoid."""
    import torch

    name = type(model).__name__
    if not isinstance(model, torch.nn.Module):
        fail(check_id, Diagnosis("not_a_module", f"Expected an nn.Module instance, got {name}: pass EKGNet(), not EKGNet."))
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv1d)]
    if len(convs) < 2:
        fail(check_id, Diagnosis("missing_conv", f"{name} has {len(convs)} Conv1d layer(s); the spec has two convolutional layers.",
                                 ("Layer 1: nn.Conv1d(1, C1, kernel_size=20, stride=10); layer 2: nn.Conv1d(C1, C2, kernel_size=5).",)))
    first, second = convs[0], convs[1]
    if first.in_channels != 1:
        fail(check_id, Diagnosis("in_channels", f"The first Conv1d expects {first.in_channels} input channels; an EKG window has 1 channel (shape (N, 1, 100)).",))
    if first.kernel_size != (20,) or first.stride != (10,):
        fail(check_id, Diagnosis("layer1_spec", f"Layer 1 has kernel_size={first.kernel_size[0]}, stride={first.stride[0]}; "
                                 "the spec is windows of 20 time steps, starting every 10 steps (kernel_size=20, stride=10).",
                                 ("Neuron 1 sees steps 1-20, neuron 2 sees 11-30: the window is 20 long and moves by 10.",)))
    if first.padding not in ((0,), "valid"):
        fail(check_id, Diagnosis("layer1_padding", f"Layer 1 uses padding={first.padding}; the spec uses no padding (9 windows over 100 steps).",))
    if second.kernel_size != (5,):
        fail(check_id, Diagnosis("layer2_spec", f"Layer 2 has kernel_size={second.kernel_size[0]}; each of its neurons should see 5 adjacent layer-1 outputs.",))
    if second.in_channels != first.out_channels:
        fail(check_id, Diagnosis("layer2_channels", f"Layer 2 expects {second.in_channels} input channels but layer 1 produces {first.out_channels}.",))
    torch.manual_seed(0)
    x = torch.randn(6, 1, 100)
    y = _forward(model, x, check_id, name)
    if not isinstance(y, torch.Tensor):
        fail(check_id, Diagnosis("not_a_tensor", f"{name}(x) returned {type(y).__name__}, expected a tensor."))
    if tuple(y.shape) not in ((6, 1), (6,)):
        fail(check_id, Diagnosis("output_shape", f"{name}(x) for x of shape (6, 1, 100) returned shape {tuple(y.shape)}; expected (6, 1) or (6,): one probability per window.",
                                 ("Flatten the layer-2 output with torch.flatten(h, 1) and end with nn.Linear(..., 1).",)))
    probs, problem = real_array(y)
    if probs is None:
        fail(check_id, Diagnosis("not_numeric", f"{name}(x) returned {problem}. Expected a float tensor of probabilities, shape (6, 1) or (6,)."))
    if not np.isfinite(probs).all():
        fail(check_id, Diagnosis("not_finite", f"{name}(x) returned NaN or inf for {int((~np.isfinite(probs)).sum())} of {probs.size} "
                                 "windows of random input: a probability is a number in [0, 1].",
                                 ("Look for a division by zero, a log of zero or weights that became NaN (print them).",)))
    if bool(((probs < 0) | (probs > 1)).any()):
        fail(check_id, Diagnosis("no_sigmoid", f"{name} outputs values outside [0, 1] (min {probs.min():.3g}, max {probs.max():.3g}): "
                                 "the last step is a sigmoid that turns the score into a probability.",
                                 ("return torch.sigmoid(self.head(h))",)))
    passed(check_id, f"{name} follows the spec: Conv1d(k=20, s=10) -> 9 positions -> Conv1d(k=5) -> sigmoid.")


def check_classifier_output(model, input_shape: tuple, n_classes: int, check_id: str = "classifier_output") -> None:
    """model(x) for x of ``input_shape`` (with the batch axis) must return logits (N, n_classes)."""
    import torch

    name = type(model).__name__
    if not isinstance(model, torch.nn.Module):
        fail(check_id, Diagnosis("not_a_module", f"Expected an nn.Module instance, got {name}."))
    torch.manual_seed(0)
    x = torch.rand(*input_shape)
    y = _forward(model, x, check_id, name)
    expected = (input_shape[0], n_classes)
    if not isinstance(y, torch.Tensor) or tuple(y.shape) != expected:
        got = tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__
        fail(check_id, Diagnosis("output_shape", f"{name}(x) for x of shape {tuple(input_shape)} returned {got}; expected {expected}: one score per class.",
                                 ("After the conv/pool blocks, flatten with torch.flatten(h, 1) and use nn.Linear(features, n_classes); "
                                  "compute `features` with the output-size formula or by running a dummy input.",)))
    passed(check_id, f"{name} maps {tuple(input_shape)} to logits {expected}.")
