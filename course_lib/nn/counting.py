"""Read a torch model as the layer specs of ``course_lib.shapes``, to count its parameters and multiply-adds.

One forward pass of a dummy input records, for every ``Conv2d`` and ``Linear`` layer, the spec that
``shapes.param_count`` and ``shapes.flop_count`` understand, with the output size the layer really
produced. Batch-norm, pooling and activations are not listed: their multiply-adds are negligible
(BN's parameters are counted by ``shapes.param_count(model)``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from torch import nn

from course_lib import shapes

__all__ = ["LayerRow", "layer_rows", "mult_adds"]


@dataclass(frozen=True)
class LayerRow:
    """One conv or dense layer: its name in the model, output shape without the batch axis, and its spec."""

    name: str
    output_shape: tuple[int, ...]
    spec: dict

    @property
    def parameters(self) -> int:
        return shapes.param_count(self.spec)

    @property
    def mult_adds(self) -> int:
        return shapes.flop_count(self.spec, unit="mac")


def _spec(module: nn.Module, output: torch.Tensor) -> dict:
    if isinstance(module, nn.Conv2d):
        return {"kind": "conv", "c_in": module.in_channels, "c_out": module.out_channels, "kernel": module.kernel_size,
                "groups": module.groups, "output_size": tuple(output.shape[2:]), "bias": module.bias is not None}
    return {"kind": "dense", "n_in": module.in_features, "n_out": module.out_features, "bias": module.bias is not None}


def layer_rows(model: nn.Module, input_shape: Sequence[int] = (1, 1, 28, 28)) -> list[LayerRow]:
    """The conv and dense layers of ``model`` in call order, from one forward pass of zeros of ``input_shape``.

    The model is put in eval mode for the pass (so BN and dropout do not change state) and left there.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model: expected a torch.nn.Module, got {type(model).__name__}")
    if (isinstance(input_shape, (str, bytes)) or not isinstance(input_shape, Sequence)
            or not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in input_shape)):
        raise ValueError(f"input_shape: expected a sequence of positive ints such as (1, 1, 28, 28), got {input_shape!r}")
    rows: list[LayerRow] = []

    def record(name):
        def hook(module, inputs, output):
            rows.append(LayerRow(name, tuple(output.shape[1:]), _spec(module, output)))
        return hook

    handles = [m.register_forward_hook(record(name)) for name, m in model.named_modules()
               if isinstance(m, (nn.Conv2d, nn.Linear))]
    model.eval()
    try:
        with torch.no_grad():
            model(torch.zeros(tuple(input_shape)))
    finally:
        for handle in handles:
            handle.remove()
    return rows


def mult_adds(model: nn.Module, input_shape: Sequence[int] = (1, 1, 28, 28)) -> int:
    """Multiply-adds of one forward pass (all conv and dense layers), the convention of torchvision's tables."""
    return sum(row.mult_adds for row in layer_rows(model, input_shape))
