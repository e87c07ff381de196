"""fit / evaluate / seed_everything / History / plot_history / TensorBoard logging."""

import numpy as np
import pytest
import torch
from torch import nn

from course_lib.data import as_torch_dataset, load_ekg
from course_lib.nn.models import DenseEKG, EKGNet
from course_lib.train import History, evaluate, fit, predict, seed_everything
from course_lib.viz.training import plot_history


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny models train faster on one thread (no OpenMP hand-offs); restore the setting afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def ekg():
    return load_ekg(n=1024, seed=0, split="train"), load_ekg(n=256, seed=0, split="test")


def _blobs(n=240, k=3, seed=0):
    """k well-separated Gaussian blobs in 2-D: an easy multi-class problem."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % k
    centres = np.array([[np.cos(a), np.sin(a)] for a in 2 * np.pi * np.arange(k) / k]) * 4
    x = (centres[y] + rng.normal(size=(n, 2))).astype(np.float32)
    return x, y.astype(np.int64)


def _weights(model):
    return [p.detach().clone() for p in model.state_dict().values()]


def test_same_seed_same_data_same_weights_after_one_epoch(ekg):
    runs = []
    for _ in range(2):
        train = load_ekg(n=256, seed=5, split="train")
        seed_everything(7)
        model = EKGNet()
        history = fit(model, train, None, epochs=1, lr=1e-2, batch_size=32, seed=7, progress=False)
        runs.append((train, _weights(model), history.train_loss))
    (d1, w1, l1), (d2, w2, l2) = runs
    np.testing.assert_array_equal(d1[0], d2[0])
    assert all(torch.equal(a, b) for a, b in zip(w1, w2))
    assert l1 == l2
    # and a different fit seed (other shuffling) gives other weights
    seed_everything(7)
    other = EKGNet()
    fit(other, d1, None, epochs=1, lr=1e-2, batch_size=32, seed=8, progress=False)
    assert not all(torch.equal(a, b) for a, b in zip(w1, _weights(other)))


def test_mnist_cnn_one_epoch_is_reproducible_with_dropout_and_augmentation():
    from course_lib.nn.models import MnistCNN

    rng = np.random.default_rng(0)
    x = rng.random((64, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, 64)
    weights = []
    for _ in range(2):
        seed_everything(1)
        model = MnistCNN(hidden=16)
        fit(model, (x, y), None, epochs=1, batch_size=32, augment="shift", scheduler="onecycle", seed=1, progress=False)
        weights.append(_weights(model))
    assert all(torch.equal(a, b) for a, b in zip(*weights))


def test_binary_task_learns_and_history_is_complete(ekg):
    (x, y), val = ekg
    seed_everything(0)
    model = EKGNet()
    history = fit(model, (x, y), val, epochs=6, lr=1e-2, batch_size=64, scheduler="onecycle", progress=False)
    assert isinstance(history, History) and len(history) == 6 and history.task == "binary"
    for key in ("train_loss", "train_acc", "val_loss", "val_acc", "lr", "epoch_time"):
        assert len(getattr(history, key)) == 6
    assert history.train_loss[-1] < history.train_loss[0]
    assert history.val_acc[-1] > 0.68  # chance is 0.5; six short epochs on 1,024 windows are far from done
    result = evaluate(model, val)
    assert result["n"] == 256
    assert result["accuracy"] == pytest.approx(history.val_acc[-1])
    assert history.time == pytest.approx(sum(history.epoch_time)) and history.time > 0
    assert history.lr[-1] < 1e-3  # one-cycle ends far below its peak
    assert "6 epochs" in repr(history)


def test_multiclass_task_with_dataset_and_dataloader():
    x, y = _blobs()
    seed_everything(0)
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3))
    history = fit(model, as_torch_dataset(x, y), (x, y), epochs=5, lr=0.02, batch_size=32, progress=False)
    assert history.task == "multiclass" and history.val_acc[-1] > 0.95
    loader = torch.utils.data.DataLoader(as_torch_dataset(x, y), batch_size=50)
    assert evaluate(model, loader)["accuracy"] == pytest.approx(history.val_acc[-1])
    assert predict(model, x).shape == (240, 3)
    # a dataset with a per-item transform goes through a DataLoader
    fit(model, as_torch_dataset(x, y, transform=lambda t: t * 1.0), None, epochs=1, progress=False)


def test_evaluate_matches_a_hand_computed_loss():
    x, y = _blobs(n=30)
    model = nn.Linear(2, 3)
    logits = model(torch.tensor(x)).detach()
    expected = nn.functional.cross_entropy(logits, torch.tensor(y)).item()
    result = evaluate(model, (x, y), batch_size=7)
    assert result["loss"] == pytest.approx(expected, rel=1e-5)
    assert result["accuracy"] == pytest.approx((logits.argmax(1).numpy() == y).mean())


@pytest.mark.parametrize("scheduler", [None, "onecycle", "cosine"])
@pytest.mark.parametrize("optimizer", ["adam", "adamw", "sgd"])
def test_optimizers_and_schedules_run(scheduler, optimizer):
    x, y = _blobs(n=60)
    model = nn.Linear(2, 3)
    history = fit(model, (x, y), None, epochs=2, optimizer=optimizer, scheduler=scheduler, lr=0.05, progress=False)
    assert len(history) == 2 and np.isfinite(history.train_loss).all()


def test_progress_bar_shows_loss_and_accuracy(capsys):
    x, y = _blobs(n=60)
    fit(nn.Linear(2, 3), (x, y), (x, y), epochs=2, batch_size=30, progress=True)
    err = capsys.readouterr().err
    assert "epoch 2/2" in err and "val_acc=" in err and "loss=" in err


def test_tensorboard_logs_scalars_graph_and_filters(tmp_path, ekg):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    (x, y), val = ekg
    seed_everything(0)
    fit(EKGNet(), (x[:128], y[:128]), (val[0][:64], val[1][:64]), epochs=2, progress=False, tensorboard_dir=tmp_path)
    events = EventAccumulator(str(tmp_path))
    events.Reload()
    tags = events.Tags()
    assert {"loss/train", "loss/val", "accuracy/train", "accuracy/val", "lr"} <= set(tags["scalars"])
    assert [e.step for e in events.Scalars("loss/train")] == [1, 2]
    assert "filters/first_layer" in tags["images"]
    assert tags["graph"]


def test_live_plot_outside_a_notebook_is_harmless():
    x, y = _blobs(n=30)
    assert len(fit(nn.Linear(2, 3), (x, y), (x, y), epochs=1, live_plot=True, progress=False)) == 1


def test_plot_history_is_labelled():
    history = History(train_loss=[1.0, 0.5], train_acc=[0.5, 0.8], val_loss=[1.1, 0.7], val_acc=[0.45, 0.75])
    fig = plot_history(history)
    loss_ax, acc_ax = fig.axes
    assert loss_ax.get_xlabel() == "epoch" and "loss" in loss_ax.get_ylabel()
    assert acc_ax.get_title() == "Accuracy per epoch"
    styles = {line.get_label(): line.get_linestyle() for line in acc_ax.get_lines() if not line.get_label().startswith("_")}
    assert styles == {"training": "-", "validation": "--"}  # distinguishable in grey scale
    with pytest.raises(ValueError, match="history: expected at least one epoch"):
        plot_history(History())


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        (dict(epochs=0), ValueError, "epochs must be an int >= 1; got 0"),
        (dict(batch_size=0), ValueError, "batch_size must be an int >= 1"),
        (dict(lr=-1.0), ValueError, "lr: expected a positive number"),
        (dict(scheduler="step"), ValueError, "scheduler: expected one of"),
        (dict(optimizer="lbfgs"), ValueError, "optimizer: expected one of"),
        (dict(augment="rotate"), ValueError, "augment: expected None, 'shift'"),
        (dict(label_smoothing=1.5), ValueError, "label_smoothing: expected a number in"),
    ],
)
def test_bad_arguments(kwargs, error, words):
    x, y = _blobs(n=30)
    with pytest.raises(error, match=words):
        fit(nn.Linear(2, 3), (x, y), None, progress=False, **kwargs)


def test_bad_data_and_models():
    x, y = _blobs(n=30)
    with pytest.raises(TypeError, match="model: expected a torch.nn.Module, got str"):
        fit("net", (x, y))
    with pytest.raises(TypeError, match="train: expected a pair"):
        fit(nn.Linear(2, 3), x, progress=False)
    with pytest.raises(ValueError, match=r"train: expected \(x, y\) with x \(N, ...\) and y \(N,\), got x \(30, 2\) and y \(29,\)"):
        fit(nn.Linear(2, 3), (x, y[:-1]), progress=False)
    with pytest.raises(ValueError, match="seed must be an int >= 0"):
        seed_everything(-3)


def test_dense_baseline_is_a_plain_mlp(ekg):
    (x, y), _ = ekg
    model = DenseEKG()
    assert fit(model, (x, y), None, epochs=1, progress=False).task == "binary"
