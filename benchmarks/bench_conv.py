"""Time course_lib's convolution backends against torch.nn.functional, in the same run.

    python benchmarks/bench_conv.py [--repeats 21] [--shapes 2d|1d|modern|all] [--dtype float32]
                                    [--threads N] [--stat median|min]

For each shape it prints forward and forward+backward times (medians over interleaved
repeats: every repeat times each backend once, in turn, so drifts in machine load hit all
of them alike; one sample is the mean of enough calls to last >= 30 ms), GFLOP/s and the
ratio to ``torch.nn.functional.conv1d/conv2d`` (``conv_transpose2d`` for the transposed shape;
grouped and depthwise shapes pass ``groups`` to both).
The "loops" backend (the teaching version) is far too slow for these shapes and is skipped.
On a machine shared with other jobs, ``--threads 1`` (one core each for torch and numpy)
gives the steadiest ratios: multi-threaded runs are then dominated by scheduling luck.

Before numpy and torch are imported the script sets (re-executing itself if needed):

- ``MALLOC_MMAP_THRESHOLD_`` / ``MALLOC_TRIM_THRESHOLD_``: keep freed big buffers in the heap
  so repeated convolutions do not page-fault fresh memory every call;
- ``OPENBLAS_THREAD_TIMEOUT``: numpy's OpenBLAS threads go to sleep soon after a GEMM instead
  of spinning and starving torch's threads on a 2-core machine.
"""

from __future__ import annotations

import os
import sys

_ENV = {
    "MALLOC_MMAP_THRESHOLD_": str(1 << 30),
    "MALLOC_TRIM_THRESHOLD_": str(1 << 31),
    "OPENBLAS_THREAD_TIMEOUT": "1",
}
if "--threads" in sys.argv[:-1]:      # BLAS thread counts are read when numpy/torch load
    _threads = sys.argv[sys.argv.index("--threads") + 1]
    _ENV.update(OPENBLAS_NUM_THREADS=_threads, OMP_NUM_THREADS=_threads, COURSE_LIB_NUMPY_THREADS=_threads)
if any(os.environ.get(k) != v for k, v in _ENV.items()) and "numpy" not in sys.modules:
    if os.environ.get("_BENCH_CONV_REEXEC") != "1":
        env = {**os.environ, **_ENV, "_BENCH_CONV_REEXEC": "1"}
        os.execve(sys.executable, [sys.executable, os.path.abspath(__file__), *sys.argv[1:]], env)

import argparse  # noqa: E402
import math  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from course_lib import ops, shapes  # noqa: E402

# (label, N, C_in, C_out, kernel, spatial size, stride, padding[, groups[, transposed]])
SHAPES_2D = [
    ("2d N=128 1->32 3x3 28x28", 128, 1, 32, 3, (28, 28), 1, 1),
    ("2d N=128 32->64 3x3 14x14", 128, 32, 64, 3, (14, 14), 1, 1),
    ("2d N=128 32->64 3x3 28x28", 128, 32, 64, 3, (28, 28), 1, 1),
]
SHAPES_1D = [
    ("1d N=256 1->16 K=20 s=10 L=100", 256, 1, 16, 20, (100,), 10, 0),
    ("1d N=256 16->16 K=5 L=100", 256, 16, 16, 5, (100,), 1, 2),
]
SHAPES_MODERN = [
    ("2d N=128 dw 32 3x3 28x28", 128, 32, 32, 3, (28, 28), 1, 1, 32),            # depthwise
    ("2d N=128 64->64 g=4 3x3 14x14", 128, 64, 64, 3, (14, 14), 1, 1, 4),       # grouped
    ("2d N=128 T 32->16 4x4 s2 14->28", 128, 32, 16, 4, (14, 14), 2, 1, 1, True),  # 2x upsampling
]


STAT = {"median": statistics.median, "min": min}
_stat = statistics.median


def _median_ms(samples: list[float]) -> float:
    """Milliseconds of the chosen statistic (median by default; ``--stat min`` on a busy machine)."""
    return 1e3 * _stat(samples)


def _problem(N, c_in, c_out, k, size, stride, padding, groups, transposed):
    """(ours forward, ours backward, torch forward, weight shape, output size, FLOPs, keyword args)."""
    n = len(size)
    kernel = (k,) * n
    if transposed:
        out = tuple(shapes.conv_transpose_output_size(s, k, stride, padding) for s in size)
        flops = shapes.conv_transpose_flops(c_in, c_out, kernel, size, batch=N, groups=groups)
        return (ops.conv_transpose2d, ops.conv_transpose2d_backward, F.conv_transpose2d,
                (c_in, c_out // groups, *kernel), out, flops, dict(groups=groups))
    out = tuple(shapes.conv_output_size(s, k, stride, padding) for s in size)
    flops = shapes.conv_flops(c_in, c_out, kernel, out, batch=N, groups=groups)
    conv, conv_bwd, tconv = ((ops.conv1d, ops.conv1d_backward, F.conv1d) if n == 1
                             else (ops.conv2d, ops.conv2d_backward, F.conv2d))
    return conv, conv_bwd, tconv, (c_out, c_in // groups, *kernel), out, flops, dict(groups=groups)


def bench_shape(label, N, c_in, c_out, k, size, stride, padding, groups=1, transposed=False, *, repeats, dtype):
    rng = np.random.default_rng(0)
    conv, conv_bwd, tconv, w_shape, out, flops, kw = _problem(N, c_in, c_out, k, size, stride, padding,
                                                             groups, transposed)
    x = rng.standard_normal((N, c_in, *size)).astype(dtype)
    w = (rng.standard_normal(w_shape) / np.sqrt(np.prod(w_shape[1:]))).astype(dtype)
    b = rng.standard_normal(c_out).astype(dtype)
    dy = rng.standard_normal((N, c_out, *out)).astype(dtype)
    xt, wt, bt, dyt = (torch.from_numpy(a) for a in (x, w, b, dy))
    xg, wg, bg = (t.clone().requires_grad_(True) for t in (xt, wt, bt))
    geometry = dict(stride=stride, padding=padding, **kw)

    def torch_fwd():
        with torch.no_grad():
            tconv(xt, wt, bt, **geometry)

    def torch_fwd_bwd():
        xg.grad = wg.grad = bg.grad = None
        tconv(xg, wg, bg, **geometry).backward(dyt)

    def ours(backend, arrays):
        xa, wa, ba, dya = arrays

        def fwd():
            conv(xa, wa, ba, **geometry, backend=backend)

        def fwd_bwd():
            conv(xa, wa, ba, **geometry, backend=backend)
            conv_bwd(dya, xa, wa, **geometry, backend=backend)
        return fwd, fwd_bwd

    runs = {
        "torch.nn.functional": (torch_fwd, torch_fwd_bwd),
        "ops torch": ours("torch", (xt, wt, bt, dyt)),
        "ops numpy": ours("numpy", (x, w, b, dy)),
    }
    # correctness guard: a fast wrong answer is worthless
    y_np = conv(x, w, b, **geometry, backend="numpy")
    err = float(np.abs(y_np - tconv(xt, wt, bt, **geometry).numpy()).max())
    assert err < 1e-3, f"numpy backend disagrees with torch on {label}: max error {err}"

    # warm-up (allocator, thread pools), then choose how many calls make one sample (>= 30 ms)
    inner = {}
    for name, fns in runs.items():
        for slot, fn in enumerate(fns):
            fn()
            t0 = time.perf_counter()
            fn()
            inner[name, slot] = max(1, math.ceil(0.03 / max(time.perf_counter() - t0, 1e-6)))
    times = {name: ([], []) for name in runs}
    for _ in range(repeats):                    # interleaved: each repeat runs every backend once
        for name, fns in runs.items():
            for slot, fn in enumerate(fns):
                count = inner[name, slot]
                time.sleep(0.02)                # let the previous backend's worker threads go idle
                t0 = time.perf_counter()
                for _ in range(count):
                    fn()
                times[name][slot].append((time.perf_counter() - t0) / count)
    ref_f, ref_fb = (_median_ms(times["torch.nn.functional"][i]) for i in (0, 1))
    rows = []
    for name in runs:
        f_ms, fb_ms = (_median_ms(times[name][i]) for i in (0, 1))
        rows.append((label, name, f_ms, flops / f_ms / 1e6, f_ms / ref_f,
                     fb_ms, 3 * flops / fb_ms / 1e6, fb_ms / ref_fb))
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=21)
    parser.add_argument("--shapes", choices=("2d", "1d", "modern", "all"), default="all")
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads for torch and numpy's BLAS (default: their own choice)")
    parser.add_argument("--stat", choices=tuple(STAT), default="median",
                        help="statistic over the repeats (min is robust when other jobs share the CPUs)")
    args = parser.parse_args(argv)
    global _stat
    _stat = STAT[args.stat]
    if args.threads:
        torch.set_num_threads(args.threads)
    chosen = {"2d": SHAPES_2D, "1d": SHAPES_1D, "modern": SHAPES_MODERN,
              "all": SHAPES_2D + SHAPES_1D + SHAPES_MODERN}[args.shapes]
    print(f"torch {torch.__version__} ({torch.get_num_threads()} threads), numpy {np.__version__}, "
          f"{os.cpu_count()} CPUs, {args.dtype}, {args.stat} of {args.repeats} interleaved repeats, "
          f"load average {os.getloadavg()[0]:.1f}")
    print("env: " + ", ".join(f"{k}={os.environ.get(k)}" for k in _ENV))
    header = (f"{'shape':32} {'backend':20} {'fwd ms':>8} {'GFLOP/s':>8} {'x torch':>8}"
              f" {'fwd+bwd ms':>11} {'GFLOP/s':>8} {'x torch':>8}")
    print(header)
    print("-" * len(header))
    for spec in chosen:
        for label, name, f_ms, f_gf, f_ratio, fb_ms, fb_gf, fb_ratio in bench_shape(
                *spec, repeats=args.repeats, dtype=np.dtype(args.dtype)):
            print(f"{label:32} {name:20} {f_ms:8.2f} {f_gf:8.3g} {f_ratio:8.2f}"
                  f" {fb_ms:11.2f} {fb_gf:8.3g} {fb_ratio:8.2f}")
        sys.stdout.flush()
    print("x torch = time / time of torch.nn.functional in this run (lower is better); "
          "fwd+bwd FLOPs counted as 3x forward.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
