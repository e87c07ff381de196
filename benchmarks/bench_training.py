"""Accuracy and wall time of the course's training recipes on this machine.

    python benchmarks/bench_training.py [--threads 2] [--only mnist|ekg]

Prints, for each recipe, held-out accuracy, training wall time, process CPU time and
the 1-minute load average when it started (other processes on a shared machine slow
every wall-clock figure; CPU seconds / threads is the time an idle machine would need
at best). Targets from the course issue:

- MnistCNN on the 5k subset: >= 98.0 % on the 1,000 held-out digits within 60 s (2 cores);
- EKGNet on the synthetic EKG: >= 99 % held-out with < 2,000 parameters, >= 5 points above
  the dense baseline, in under 10 s.
- ModernCNN (lesson 05: depthwise-separable residual blocks, BN, global average pooling) on the
  5k subset: >= 5x fewer multiply-adds and >= 10x fewer parameters than MnistCNN, held-out
  accuracy within 1 point of it.

The recipes below (``MNIST_FIT``, ``MODERN_FIT``, ``EKG_FIT``) are the exact ``fit`` settings the lessons use.
"""

from __future__ import annotations

import argparse
import os
import time

import torch

from course_lib.data import load_ekg, load_mnist
from course_lib.nn.models import DenseEKG, EKGNet, MnistCNN, MnistMLP, count_parameters
from course_lib.nn.counting import mult_adds
from course_lib.nn.modern import ModernCNN
from course_lib.train import evaluate, fit, seed_everything

#: MnistCNN() defaults (input normalisation, BatchNorm, dropout 0.25/0.5, dense 128) on load_mnist("5k")
MNIST_CNN = dict(hidden=128, batch_norm=True, dropout=0.25)
MNIST_FIT = dict(epochs=7, lr=2e-3, batch_size=64, optimizer="adamw", weight_decay=1e-4,
                 scheduler="onecycle", augment="shift", label_smoothing=0.1, seed=0)  # fmt: skip
#: ModernCNN() defaults on load_mnist("5k"): lesson 04's recipe with a larger learning rate (BN everywhere)
MODERN_FIT = dict(MNIST_FIT, lr=1e-2)
MLP_FIT = dict(epochs=6, lr=2e-3, batch_size=64, optimizer="adamw", weight_decay=1e-4,
               scheduler="onecycle", augment="shift", seed=0)  # fmt: skip
#: EKGNet() / DenseEKG() on load_ekg() (8,000 train / 2,000 test synthetic windows)
EKG_FIT = dict(epochs=20, lr=1e-2, batch_size=128, optimizer="adamw", weight_decay=1e-4,
               scheduler="onecycle", seed=0)  # fmt: skip


def _run(name, make_model, train, test, settings):
    seed_everything(0)
    model = make_model()
    load = os.getloadavg()[0]
    wall, cpu = time.perf_counter(), time.process_time()
    fit(model, train, None, progress=False, device="cpu", **settings)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    acc = evaluate(model, test, device="cpu")["accuracy"]
    print(
        f"{name:<10} params {count_parameters(model):>9,}  held-out acc {acc:7.2%}  "
        f"train wall {wall:6.1f} s  cpu {cpu:6.1f} s  (load avg {load:.1f})",
        flush=True,
    )
    return acc, wall


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="torch threads for MNIST (default 2)")
    parser.add_argument("--ekg-threads", type=int, default=None,
                        help="torch threads for the EKG models (default: --threads; 1 is often faster for "
                             "these tiny nets, since OpenMP hand-offs cost more than the arithmetic)")  # fmt: skip
    parser.add_argument("--only", choices=["mnist", "ekg"], default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs")
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])  # first optimiser imports torch._dynamo: not training time

    if args.only in (None, "ekg"):
        torch.set_num_threads(args.ekg_threads or args.threads)
        print(f"[EKG on {torch.get_num_threads()} thread(s)]")
        train, test = load_ekg(split="train"), load_ekg(split="test")
        print(f"\nSynthetic EKG: {len(train[1])} train / {len(test[1])} test windows of 100 samples")
        ekg_acc, ekg_time = _run("EKGNet", EKGNet, train, test, EKG_FIT)
        dense_acc, _ = _run("DenseEKG", DenseEKG, train, test, EKG_FIT)
        print(f"EKGNet - dense = {100 * (ekg_acc - dense_acc):+.1f} points;  targets: >= 99 %, >= +5 points, < 10 s: "
              f"{'met' if ekg_acc >= 0.99 and ekg_acc - dense_acc >= 0.05 and ekg_time < 10 else 'NOT met'}")  # fmt: skip

    if args.only in (None, "mnist"):
        torch.set_num_threads(args.threads)
        print(f"[MNIST on {torch.get_num_threads()} thread(s)]")
        train, test = load_mnist("5k", "train"), load_mnist("5k", "test")
        print(f"\nMNIST 5k: {len(train[1])} train / {len(test[1])} held-out digits")
        cnn_acc, cnn_time = _run("MnistCNN", lambda: MnistCNN(**MNIST_CNN), train, test, MNIST_FIT)
        modern_acc, _ = _run("ModernCNN", ModernCNN, train, test, MODERN_FIT)
        _run("MnistMLP", MnistMLP, train, test, MLP_FIT)
        print(f"MnistCNN targets: >= 98.0 % within 60 s: {'met' if cnn_acc >= 0.98 and cnn_time <= 60 else 'NOT met'}")
        cnn, modern = MnistCNN(**MNIST_CNN), ModernCNN()
        param_ratio = count_parameters(cnn) / count_parameters(modern)
        cnn_macs, modern_macs = mult_adds(cnn), mult_adds(modern)
        mac_ratio = cnn_macs / modern_macs
        print(f"ModernCNN vs MnistCNN: {param_ratio:.1f}x fewer parameters, {mac_ratio:.1f}x fewer multiply-adds "
              f"({modern_macs:,} vs {cnn_macs:,}), accuracy {100 * (modern_acc - cnn_acc):+.1f} points; "
              f"targets (>= 10x, >= 5x, within 1 point): "
              f"{'met' if param_ratio >= 10 and mac_ratio >= 5 and modern_acc >= cnn_acc - 0.01 else 'NOT met'}")


if __name__ == "__main__":
    main()
