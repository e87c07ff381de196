"""Training loop for the lessons: ``fit``, ``evaluate``, ``seed_everything``, ``History``.

``fit(model, train, val, epochs, ...)`` trains with Adam(W) or SGD, an optional
learning-rate schedule (one-cycle or cosine, stepped every batch), optional batch
augmentation, a notebook-aware tqdm progress bar with the running loss and accuracy,
an optional live plot of the curves and optional TensorBoard logs. It returns a
``History`` of per-epoch loss and accuracy for the training and validation sets.

Tasks: a model whose output is ``(N,)`` or ``(N, 1)`` is a binary classifier
(loss ``BCEWithLogitsLoss`` on the logit, accuracy of ``logit > 0``); a model whose
output is ``(N, K)`` with K >= 2 is a K-class classifier (``cross_entropy``, argmax).

Data: ``train`` / ``val`` may be a pair ``(x, y)`` of numpy arrays or tensors, a
``torch.utils.data.Dataset`` or a ``DataLoader``.

Reproducibility: ``seed_everything(seed)`` before building the model fixes the initial
weights; ``fit(..., seed=seed)`` then fixes shuffling, dropout and augmentation.
"""

from __future__ import annotations

import math
import os
import random
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset

from .device import choose_device
from .validation import nonnegative_int, positive_int

__all__ = ["History", "fit", "train_epoch", "evaluate", "seed_everything", "predict"]

_OPTIMIZERS = ("adam", "adamw", "sgd")
_SCHEDULERS = (None, "onecycle", "cosine")


def seed_everything(seed: int) -> int:
    """Seed Python's ``random``, NumPy's global RNG and torch (CPU and CUDA); return ``seed``.

    It also sets ``PYTHONHASHSEED`` for processes started afterwards (data-loader workers that spawn);
    string hashing in the running process was fixed at start-up and cannot change. Full bitwise
    reproducibility also needs the same thread count (``torch.set_num_threads``), as sums over
    threads are added in a different order.
    """
    seed = nonnegative_int(seed, "seed")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    return seed


@dataclass
class History:
    """Per-epoch record of a ``fit`` run (lists have one entry per epoch)."""

    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    epoch_time: list[float] = field(default_factory=list)
    task: str = "multiclass"
    device: str = "cpu"

    def __len__(self) -> int:
        return len(self.train_loss)

    @property
    def epochs(self) -> list[int]:
        """Epoch numbers 1..n."""
        return list(range(1, len(self) + 1))

    @property
    def time(self) -> float:
        """Total training time in seconds."""
        return float(sum(self.epoch_time))

    def as_dict(self) -> dict:
        return asdict(self)

    def __repr__(self) -> str:
        if not len(self):
            return "History(empty)"
        val = f", val_acc={self.val_acc[-1]:.4f}" if self.val_acc else ""
        return (
            f"History({len(self)} epochs, train_loss={self.train_loss[-1]:.4f}, "
            f"train_acc={self.train_acc[-1]:.4f}{val})"  # no timing: reprs stay reproducible for nbval
        )


# ---------------------------------------------------------------- data plumbing


class _TensorBatches:
    """Batches of in-memory tensors; shuffles with its own seeded generator."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, batch_size: int, shuffle: bool, seed: int | None):
        self.x, self.y, self.batch_size, self.shuffle = x, y, batch_size, shuffle
        self.generator = torch.Generator()
        if seed is not None:
            self.generator.manual_seed(seed)

    def __len__(self) -> int:
        return math.ceil(len(self.x) / self.batch_size)

    def __iter__(self):
        n = len(self.x)
        order = torch.randperm(n, generator=self.generator) if self.shuffle else torch.arange(n)
        for start in range(0, n, self.batch_size):
            idx = order[start : start + self.batch_size]
            yield self.x[idx], self.y[idx]


def _as_batches(data, batch_size: int, shuffle: bool, seed: int | None, name: str):
    """Turn (x, y) / Dataset / DataLoader into an iterable of (xb, yb) batches."""
    if isinstance(data, (DataLoader, _TensorBatches)):
        return data
    if isinstance(data, (tuple, list)) and len(data) == 2:
        x, y = data
        x = torch.as_tensor(np.ascontiguousarray(x)) if not isinstance(x, torch.Tensor) else x
        y = torch.as_tensor(np.ascontiguousarray(y)) if not isinstance(y, torch.Tensor) else y
        if x.shape[0] != y.shape[0] or y.dim() != 1:
            raise ValueError(
                f"{name}: expected (x, y) with x (N, ...) and y (N,), got x {tuple(x.shape)} and y {tuple(y.shape)}"
            )
        if x.is_floating_point():
            x = x.float()
        return _TensorBatches(x, y, batch_size, shuffle, seed)
    if isinstance(data, Dataset):
        if getattr(data, "transform", None) is None and hasattr(data, "tensors"):
            x, y = data.tensors
            return _TensorBatches(x, y, batch_size, shuffle, seed)
        generator = torch.Generator()
        if seed is not None:
            generator.manual_seed(seed)
        return DataLoader(data, batch_size=batch_size, shuffle=shuffle, generator=generator)
    raise TypeError(
        f"{name}: expected a pair (x, y) of arrays/tensors, a torch Dataset or a DataLoader, got {type(data).__name__}"
    )


# ---------------------------------------------------------------- loss and accuracy


def _task_of(logits: torch.Tensor) -> str:
    if logits.dim() == 1 or (logits.dim() == 2 and logits.shape[1] == 1):
        return "binary"
    if logits.dim() == 2:
        return "multiclass"
    raise ValueError(f"model output: expected logits (N,), (N, 1) or (N, K), got shape {tuple(logits.shape)}")


def _loss_and_correct(
    logits: torch.Tensor, y: torch.Tensor, task: str, label_smoothing: float = 0.0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean loss over the batch and the number of correct predictions."""
    if task == "binary":
        logits = logits.reshape(-1)
        target = y.reshape(-1).to(logits.dtype)
        loss = F.binary_cross_entropy_with_logits(logits, target)
        correct = ((logits > 0).to(target.dtype) == target).sum()
    else:
        loss = F.cross_entropy(logits, y.long(), label_smoothing=label_smoothing)
        correct = (logits.argmax(dim=1) == y).sum()
    return loss, correct


@torch.no_grad()
def evaluate(model: nn.Module, data, batch_size: int = 1000, device=None) -> dict:
    """Mean loss and accuracy of ``model`` on ``data`` (``(x, y)``, Dataset or DataLoader).

    Returns ``{"loss": float, "accuracy": float, "n": int}``; the model is left in eval mode.
    ``device``: None evaluates where the model's parameters are; a name or torch.device moves the model there.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model: expected a torch.nn.Module, got {type(model).__name__}")
    device = _model_device(model) if device is None else _resolve_device(device)
    model.to(device)
    model.eval()
    total_loss, total_correct, count = 0.0, 0, 0
    for xb, yb in _as_batches(data, batch_size, shuffle=False, seed=None, name="data"):
        xb, yb = xb.to(device), yb.to(device)
        logits = model(xb)
        loss, correct = _loss_and_correct(logits, yb, _task_of(logits))
        total_loss += float(loss) * len(yb)
        total_correct += int(correct)
        count += len(yb)
    if count == 0:
        raise ValueError("data: expected at least one item, got an empty data set")
    return {"loss": total_loss / count, "accuracy": total_correct / count, "n": count}


@torch.no_grad()
def predict(model: nn.Module, x, batch_size: int = 1000, device=None) -> torch.Tensor:
    """Logits (N, ...) of ``model`` for inputs ``x`` (N, ...), computed in eval mode, returned on the CPU.

    ``device``: None runs where the model's parameters are; a name or torch.device moves the model there.
    """
    device = _model_device(model) if device is None else _resolve_device(device)
    model.to(device)
    model.eval()
    x = torch.as_tensor(np.ascontiguousarray(x)) if not isinstance(x, torch.Tensor) else x
    outs = [model(x[i : i + batch_size].float().to(device)).cpu() for i in range(0, len(x), batch_size)]
    return torch.cat(outs)


def _resolve_device(device) -> torch.device:
    """``device`` (None, a name or a torch.device) as a torch.device; None picks CUDA -> MPS -> CPU."""
    if device is None or isinstance(device, str):
        return choose_device(device) if device is not None else choose_device()
    return device


def _model_device(model: nn.Module) -> torch.device:
    """Where ``model``'s first parameter lives (the CPU for a model without parameters)."""
    for p in model.parameters():
        return p.device
    return torch.device("cpu")


# ---------------------------------------------------------------- optimiser and schedule


def _make_optimizer(name, params, lr, weight_decay, momentum):
    if callable(name):
        return name(params)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay, nesterov=momentum > 0)
    raise ValueError(f"optimizer: expected one of {_OPTIMIZERS} or a callable(params) -> Optimizer, got {name!r}")


def _make_scheduler(name, optimizer, lr, total_steps):
    if name is None:
        return None
    if callable(name):
        return name(optimizer, total_steps)
    if name == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=total_steps)
    if name == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)
    raise ValueError(
        f"scheduler: expected one of {_SCHEDULERS} or a callable(optimizer, total_steps), got {name!r}"
    )


def _make_augment(augment):
    if augment is None or callable(augment):
        return augment
    if augment == "shift":
        from .data.augment import RandomShift

        return RandomShift(2)
    raise ValueError(f"augment: expected None, 'shift' or a callable(batch) -> batch, got {augment!r}")


# ---------------------------------------------------------------- fit


def fit(
    model: nn.Module,
    train,
    val=None,
    epochs: int = 5,
    *,
    lr: float = 1e-3,
    batch_size: int = 64,
    optimizer: str | Callable = "adam",
    weight_decay: float = 0.0,
    momentum: float = 0.9,
    scheduler: str | Callable | None = None,
    augment: str | Callable | None = None,
    label_smoothing: float = 0.0,
    device=None,
    progress: bool = True,
    live_plot: bool = False,
    tensorboard_dir=None,
    seed: int | None = 0,
) -> History:
    """Train ``model`` on ``train`` for ``epochs`` epochs; return a ``History``.

    model: a module mapping a batch (N, ...) to logits (N,) / (N, 1) [binary] or (N, K) [K classes].
    train, val: ``(x, y)`` arrays or tensors, a Dataset or a DataLoader (val may be None).
    lr: learning rate (the peak rate for ``scheduler="onecycle"``).
    optimizer: "adam", "adamw", "sgd" (Nesterov momentum ``momentum`` when > 0) or callable(params) -> Optimizer.
    scheduler: None (constant lr), "onecycle", "cosine", or callable(optimizer, total_steps);
        stepped after every batch.
    augment: None, "shift" (random +-2 px shifts of images) or callable(batch x) -> batch x,
        applied to training batches only.
    label_smoothing: for K-class tasks, the weight moved from the true class to a uniform target (0 = off).
    device: None -> ``course_lib.device.choose_device()`` (CUDA -> MPS -> CPU), or a name / torch.device.
    progress: show a tqdm bar (a widget in Jupyter) with live loss and accuracy.
    live_plot: in a notebook, redraw the loss/accuracy curves after each epoch.
    tensorboard_dir: if given, write TensorBoard logs there (scalars, graph, first-layer filters).
    seed: seeds shuffling, dropout and augmentation (``seed_everything(seed)`` at the start); None leaves RNGs alone.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model: expected a torch.nn.Module, got {type(model).__name__}")
    epochs = positive_int(epochs, "epochs")
    batch_size = positive_int(batch_size, "batch_size")
    if not (isinstance(lr, (int, float)) and lr > 0):
        raise ValueError(f"lr: expected a positive number, got {lr!r}")
    if not 0.0 <= float(label_smoothing) < 1.0:
        raise ValueError(f"label_smoothing: expected a number in [0, 1), got {label_smoothing!r}")
    if seed is not None:
        seed_everything(seed)
    device = _resolve_device(device)
    model.to(device)
    train_batches = _as_batches(train, batch_size, shuffle=True, seed=seed, name="train")
    val_batches = None if val is None else _as_batches(val, 1000, shuffle=False, seed=None, name="val")
    augment_fn = _make_augment(augment)
    opt = _make_optimizer(optimizer, model.parameters(), lr, weight_decay, momentum)
    steps_per_epoch = len(train_batches)
    if steps_per_epoch == 0:
        raise ValueError("train: expected at least one training example, got an empty data set")
    sched = _make_scheduler(scheduler, opt, lr, epochs * steps_per_epoch)

    history = History(device=str(device))
    callbacks = []
    if live_plot:
        from .viz.training import LivePlot

        callbacks.append(LivePlot())
    if tensorboard_dir is not None:
        from .tensorboard_log import TensorBoardLog

        callbacks.append(TensorBoardLog(tensorboard_dir, model))
    from tqdm.auto import tqdm

    bar = tqdm(total=epochs * steps_per_epoch, disable=not progress, unit="batch", leave=True)

    def on_batch(xb, mean_loss, accuracy):
        for callback in callbacks:
            callback.on_batch(xb)
        bar.update(1)
        bar.set_postfix(loss=f"{mean_loss:.4f}", acc=f"{accuracy:.4f}", refresh=False)

    try:
        for epoch in range(1, epochs + 1):
            bar.set_description(f"epoch {epoch}/{epochs}")
            start = time.perf_counter()
            result = train_epoch(model, train_batches, opt, scheduler=sched, device=device, augment=augment_fn,
                                 label_smoothing=label_smoothing, on_batch=on_batch)
            history.task = result["task"]
            history.train_loss.append(result["loss"])
            history.train_acc.append(result["accuracy"])
            history.lr.append(float(opt.param_groups[0]["lr"]))
            if val_batches is not None:
                result = evaluate(model, val_batches, device=device)
                history.val_loss.append(result["loss"])
                history.val_acc.append(result["accuracy"])
            history.epoch_time.append(time.perf_counter() - start)
            postfix = {"loss": f"{history.train_loss[-1]:.4f}", "acc": f"{history.train_acc[-1]:.4f}"}
            if history.val_acc:
                postfix.update(val_loss=f"{history.val_loss[-1]:.4f}", val_acc=f"{history.val_acc[-1]:.4f}")
            bar.set_postfix(postfix)
            for callback in callbacks:
                callback.on_epoch_end(history, epoch)
    finally:
        bar.close()
        for callback in callbacks:
            callback.close()
    model.eval()
    return history


def train_epoch(model: nn.Module, batches, optimizer, *, scheduler=None, device=None, augment=None,
                label_smoothing: float = 0.0, on_batch=None) -> dict:
    """One pass over ``batches`` (an iterable of ``(x (N, ...), y (N,))``) in training mode.

    Each batch: move to ``device`` (default: where the model is), ``augment`` it, forward,
    loss, backward, ``optimizer.step()`` and ``scheduler.step()`` (if given), then
    ``on_batch(x, mean_loss_so_far, accuracy_so_far)``.
    Returns ``{"loss": mean loss, "accuracy": float, "n": items seen, "task": "binary" | "multiclass"}``.
    """
    device = _model_device(model) if device is None else device
    model.train()
    sum_loss, sum_correct, count, task = 0.0, 0, 0, None
    for xb, yb in batches:
        xb, yb = xb.to(device), yb.to(device)
        if augment is not None:
            xb = augment(xb)
        logits = model(xb)
        task = _task_of(logits)
        loss, correct = _loss_and_correct(logits, yb, task, label_smoothing)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        n = len(yb)
        sum_loss += float(loss.detach()) * n
        sum_correct += int(correct)
        count += n
        if on_batch is not None:
            on_batch(xb, sum_loss / count, sum_correct / count)
    if count == 0:
        raise ValueError("batches: expected at least one batch, got none")
    return {"loss": sum_loss / count, "accuracy": sum_correct / count, "n": count, "task": task}
