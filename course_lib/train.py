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
import warnings
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset

from .device import choose_device
from .validation import nonnegative_int, positive_int

__all__ = ["History", "fit", "evaluate", "seed_everything", "predict"]

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

    @property
    def n_items(self) -> int:
        return len(self.x)


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
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model: expected a torch.nn.Module, got {type(model).__name__}")
    device = _resolve_device(device, model)
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
    """Logits of ``model`` for inputs ``x`` (N, ...), computed in eval mode on CPU-returned tensor."""
    device = _resolve_device(device, model)
    model.eval()
    x = torch.as_tensor(np.ascontiguousarray(x)) if not isinstance(x, torch.Tensor) else x
    outs = [model(x[i : i + batch_size].float().to(device)).cpu() for i in range(0, len(x), batch_size)]
    return torch.cat(outs)


def _resolve_device(device, model: nn.Module | None = None) -> torch.device:
    if device is None:
        device = choose_device()
    elif isinstance(device, str):
        device = choose_device(device)
    if model is not None:
        model.to(device)
    return device


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


# ---------------------------------------------------------------- live views


class _LivePlot:
    """Redraws the training curves in a notebook output after every epoch (no-op elsewhere)."""

    def __init__(self):
        self.handle = None
        try:
            from IPython import get_ipython

            self.active = get_ipython() is not None
        except ImportError:  # pragma: no cover - IPython comes with Jupyter
            self.active = False

    def update(self, history: History) -> None:
        if not self.active:
            return
        import matplotlib.pyplot as plt
        from IPython.display import display

        from .viz.training import plot_history

        fig = plot_history(history)
        if self.handle is None:
            self.handle = display(fig, display_id=True)
        else:
            self.handle.update(fig)
        plt.close(fig)


def _first_layer_weight(model: nn.Module) -> torch.Tensor | None:
    for module in model.modules():
        w = getattr(module, "weight", None)
        if isinstance(w, torch.Tensor) and w.dim() in (3, 4):
            return w.detach().cpu()
    return None


def _filters_as_images(w: torch.Tensor) -> tuple[torch.Tensor, str]:
    """Conv weights scaled to [0, 1] for TensorBoard: 2-D kernels as NCHW, 1-D kernels as one HW image."""
    w = (w - w.min()) / (w.max() - w.min() + 1e-12)
    if w.dim() == 4:  # (C_out, C_in, kh, kw): one grey image per filter, first input channel
        return w[:, :1], "NCHW"
    return w[:, 0, :], "HW"  # (C_out, K): one row per filter


class _TensorBoard:
    def __init__(self, log_dir, model, example):
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir=str(log_dir))
        self.model = model
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self.writer.add_graph(model, example)
        except Exception as exc:  # tracing can fail for exotic modules; the scalars still matter
            warnings.warn(f"TensorBoard: could not trace the model graph ({exc})", stacklevel=3)
        self.log_filters(0)

    def log_filters(self, step: int) -> None:
        w = _first_layer_weight(self.model)
        if w is not None:
            img, fmt = _filters_as_images(w)
            if fmt == "NCHW":
                self.writer.add_images("filters/first_layer", img, step, dataformats=fmt)
            else:
                self.writer.add_image("filters/first_layer", img, step, dataformats=fmt)

    def log_epoch(self, history: History, step: int) -> None:
        self.writer.add_scalar("loss/train", history.train_loss[-1], step)
        self.writer.add_scalar("accuracy/train", history.train_acc[-1], step)
        if history.val_loss:
            self.writer.add_scalar("loss/val", history.val_loss[-1], step)
            self.writer.add_scalar("accuracy/val", history.val_acc[-1], step)
        self.writer.add_scalar("lr", history.lr[-1], step)
        self.log_filters(step)
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


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
    device = _resolve_device(device, model)
    train_batches = _as_batches(train, batch_size, shuffle=True, seed=seed, name="train")
    val_batches = None if val is None else _as_batches(val, 1000, shuffle=False, seed=None, name="val")
    augment_fn = _make_augment(augment)
    opt = _make_optimizer(optimizer, model.parameters(), lr, weight_decay, momentum)
    steps_per_epoch = len(train_batches)
    if steps_per_epoch == 0:
        raise ValueError("train: expected at least one training example, got an empty data set")
    sched = _make_scheduler(scheduler, opt, lr, epochs * steps_per_epoch)

    history = History(device=str(device))
    live = _LivePlot() if live_plot else None
    board = None
    from tqdm.auto import tqdm

    bar = tqdm(total=epochs * steps_per_epoch, disable=not progress, unit="batch", leave=True)
    try:
        for epoch in range(1, epochs + 1):
            bar.set_description(f"epoch {epoch}/{epochs}")
            model.train()
            start = time.perf_counter()
            sum_loss, sum_correct, count = 0.0, 0, 0
            for xb, yb in train_batches:
                xb, yb = xb.to(device), yb.to(device)
                if augment_fn is not None:
                    xb = augment_fn(xb)
                if board is None and tensorboard_dir is not None:
                    board = _TensorBoard(tensorboard_dir, model, xb[:2])
                    model.train()
                logits = model(xb)
                task = _task_of(logits)
                loss, correct = _loss_and_correct(logits, yb, task, label_smoothing)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                if sched is not None:
                    sched.step()
                n = len(yb)
                sum_loss += float(loss.detach()) * n
                sum_correct += int(correct)
                count += n
                bar.update(1)
                bar.set_postfix(loss=f"{sum_loss / count:.4f}", acc=f"{sum_correct / count:.4f}", refresh=False)
            history.task = task
            history.train_loss.append(sum_loss / count)
            history.train_acc.append(sum_correct / count)
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
            if live is not None:
                live.update(history)
            if board is not None:
                board.log_epoch(history, epoch)
    finally:
        bar.close()
        if board is not None:
            board.close()
    model.eval()
    return history
