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


def _real_outputs(y, check_id: str, name: str, expected: str) -> np.ndarray:
    """The model's output as a finite float64 array, or a failed check saying what it was."""
    values, problem = real_array(y)
    if values is None:
        fail(check_id, Diagnosis("not_numeric", f"{name}(x) returned {problem}. Expected a float tensor of {expected}."))
    if not np.isfinite(values).all():
        fail(check_id, Diagnosis("not_finite", f"{name}(x) returned NaN or inf in {int((~np.isfinite(values)).sum())} of "
                                 f"{values.size} outputs for random input; expected {expected}.",
                                 ("Look for a division by zero, a log of zero or weights that became NaN (print them).",)))
    return values


def check_ekgnet(model, check_id: str = "ekgnet") -> None:
    """The EKG network of lesson 03: input (N, 1, 100); a Conv1d with kernel 20 and stride 10
    (9 positions); a second Conv1d whose neurons each see 5 adjacent layer-1 outputs; forward
    returns (N, 1) or (N,) *logits* (the score before the sigmoid, as ``nn.EKGNet`` and
    ``train.fit`` expect), and ``predict_proba(x)`` returns sigmoid(logits), the probabilities."""
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
        fail(check_id, Diagnosis("output_shape", f"{name}(x) for x of shape (6, 1, 100) returned shape {tuple(y.shape)}; expected (6, 1) or (6,): one logit per window.",
                                 ("Flatten the layer-2 output with torch.flatten(h, 1) and end with nn.Linear(..., 1).",)))
    _real_outputs(y, check_id, name, "logits of shape (6, 1) or (6,): one finite score per window")
    y_big = _forward(model, 50.0 * x, check_id, name)  # a sigmoid inside forward keeps even huge scores in [0, 1]
    if bool(((y_big >= 0) & (y_big <= 1)).all()):
        fail(check_id, Diagnosis("sigmoid_in_forward", f"{name} outputs only values in [0, 1], even for inputs scaled by 50: "
                                 "forward looks like it ends with a sigmoid. forward returns the logit (the score); "
                                 "the loss (binary_cross_entropy_with_logits) applies the sigmoid in a numerically safe way.",
                                 ("return self.head(h).squeeze(1)   # no sigmoid here",
                                  "probabilities come from predict_proba: torch.sigmoid(self(x))")))
    if not callable(getattr(model, "predict_proba", None)):
        fail(check_id, Diagnosis("no_predict_proba", f"{name} has no predict_proba method; it turns logits into probabilities.",
                                 ("def predict_proba(self, x):\n    return torch.sigmoid(self(x))",)))
    try:
        with torch.no_grad():
            p = model.predict_proba(x)
    except NotImplementedError:
        not_implemented(check_id, f"{name}.predict_proba")
    except Exception as exc:  # noqa: BLE001
        fail(check_id, Diagnosis("predict_proba", f"{name}.predict_proba raised {type(exc).__name__}: {exc}.",
                                 ("return torch.sigmoid(self(x))",)))
    if not isinstance(p, torch.Tensor) or p.shape != y.shape or not torch.allclose(p, torch.sigmoid(y), atol=1e-6):
        fail(check_id, Diagnosis("predict_proba", f"{name}.predict_proba(x) is not sigmoid({name}(x)) with the same shape "
                                 f"{tuple(y.shape)}.", ("return torch.sigmoid(self(x))",)))
    passed(check_id, f"{name} follows the spec: Conv1d(k=20, s=10) -> 9 positions -> Conv1d(k=5) -> logit; "
                     "predict_proba gives the probability.")


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
    _real_outputs(y, check_id, name, f"logits of shape {expected}")
    passed(check_id, f"{name} maps {tuple(input_shape)} to logits {expected}.")
