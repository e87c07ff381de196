"""TensorBoard logging for :func:`course_lib.train.fit` (``tensorboard_dir=...``), as a fit callback.

A callback has three methods that ``fit`` calls: ``on_batch(x)`` after every training batch
(``x`` the batch the model saw), ``on_epoch_end(history, epoch)`` and ``close()``.
"""

from __future__ import annotations

import warnings

import torch
from torch import nn

__all__ = ["TensorBoardLog", "first_layer_weight", "filters_as_images"]


def first_layer_weight(model: nn.Module) -> torch.Tensor | None:
    """The weight (C_out, C_in, K) or (C_out, C_in, KH, KW) of the first conv layer of ``model``, on the CPU."""
    for module in model.modules():
        w = getattr(module, "weight", None)
        if isinstance(w, torch.Tensor) and w.dim() in (3, 4):
            return w.detach().cpu()
    return None


def filters_as_images(w: torch.Tensor) -> tuple[torch.Tensor, str]:
    """Conv weights scaled to [0, 1] for TensorBoard: 2-D kernels as NCHW (C_out, 1, KH, KW), 1-D kernels
    as one HW image (C_out, K)."""
    w = (w - w.min()) / (w.max() - w.min() + 1e-12)
    if w.dim() == 4:  # (C_out, C_in, kh, kw): one grey image per filter, first input channel
        return w[:, :1], "NCHW"
    return w[:, 0, :], "HW"  # (C_out, K): one row per filter


class TensorBoardLog:
    """Scalars (loss, accuracy, lr) per epoch, the model graph (traced on the first batch) and the
    first layer's filters, written to ``log_dir``."""

    def __init__(self, log_dir, model: nn.Module):
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir=str(log_dir))
        self.model = model
        self.traced = False

    def on_batch(self, x: torch.Tensor) -> None:
        if self.traced:
            return
        self.traced = True
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self.writer.add_graph(self.model, x[:2])
        except Exception as exc:  # tracing can fail for exotic modules; the scalars still matter
            warnings.warn(f"TensorBoard: could not trace the model graph ({exc})", stacklevel=3)
        self.model.train()
        self.log_filters(0)

    def log_filters(self, step: int) -> None:
        w = first_layer_weight(self.model)
        if w is not None:
            img, fmt = filters_as_images(w)
            if fmt == "NCHW":
                self.writer.add_images("filters/first_layer", img, step, dataformats=fmt)
            else:
                self.writer.add_image("filters/first_layer", img, step, dataformats=fmt)

    def on_epoch_end(self, history, epoch: int) -> None:
        self.writer.add_scalar("loss/train", history.train_loss[-1], epoch)
        self.writer.add_scalar("accuracy/train", history.train_acc[-1], epoch)
        if history.val_loss:
            self.writer.add_scalar("loss/val", history.val_loss[-1], epoch)
            self.writer.add_scalar("accuracy/val", history.val_acc[-1], epoch)
        self.writer.add_scalar("lr", history.lr[-1], epoch)
        self.log_filters(epoch)
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()
