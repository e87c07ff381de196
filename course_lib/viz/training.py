"""Training curves: loss and accuracy per epoch, for training and validation data."""

from __future__ import annotations

__all__ = ["plot_history", "LivePlot"]

# grey-scale friendly: the two series differ in line style and marker, not only in colour
_STYLES = {
    "train": dict(color="black", linestyle="-", marker="o", label="training"),
    "val": dict(color="0.45", linestyle="--", marker="s", label="validation"),
}


def plot_history(history, title: str | None = None, figsize=(9.0, 3.6)):
    """Plot ``history`` (a ``course_lib.train.History`` or a dict of lists) as loss and accuracy panels.

    Returns the matplotlib ``Figure`` (two axes: loss on the left, accuracy on the right).
    """
    import matplotlib.pyplot as plt

    data = history.as_dict() if hasattr(history, "as_dict") else dict(history)
    for key in ("train_loss", "train_acc"):
        if key not in data:
            raise ValueError(f"history: expected keys train_loss and train_acc (and optionally val_*), missing {key!r}")
    n = len(data["train_loss"])
    if n == 0:
        raise ValueError("history: expected at least one epoch, got an empty history")
    epochs = list(range(1, n + 1))
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=figsize)
    for ax, metric, ylabel in ((ax_loss, "loss", "loss (lower is better)"), (ax_acc, "acc", "accuracy")):
        for split in ("train", "val"):
            values = data.get(f"{split}_{metric}") or []
            if values:
                ax.plot(epochs[: len(values)], values, **_STYLES[split])
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
        ax.grid(True, color="0.85")
        ax.legend()
        if n <= 20:
            ax.set_xticks(epochs)
    ax_loss.set_title("Loss per epoch")
    ax_acc.set_title("Accuracy per epoch")
    if data.get("val_acc"):
        best = max(data["val_acc"])
        ax_acc.axhline(best, color="0.6", linestyle=":", linewidth=1)
        ax_acc.annotate(f"best validation {best:.1%}", xy=(1, best), xytext=(2, -12), textcoords="offset points",
                        fontsize=8, color="0.3")  # fmt: skip
    fig.suptitle(title if title is not None else "Training history")
    fig.tight_layout()
    return fig


class LivePlot:
    """A :func:`course_lib.train.fit` callback (``live_plot=True``): redraws the training curves in the
    notebook output after every epoch; does nothing outside IPython."""

    def __init__(self):
        self.handle = None
        try:
            from IPython import get_ipython

            self.active = get_ipython() is not None
        except ImportError:  # pragma: no cover - IPython comes with Jupyter
            self.active = False

    def on_batch(self, x) -> None:
        """Nothing per batch."""

    def on_epoch_end(self, history, epoch: int) -> None:
        if not self.active:
            return
        import matplotlib.pyplot as plt
        from IPython.display import display

        fig = plot_history(history)
        if self.handle is None:
            self.handle = display(fig, display_id=True)
        else:
            self.handle.update(fig)
        plt.close(fig)

    def close(self) -> None:
        """Nothing to release (the last figure stays in the output)."""
