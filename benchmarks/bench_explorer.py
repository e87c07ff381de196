"""Benchmark: how long one ConvExplorer control move costs in the kernel.

A move is what a slider or dropdown change does in a notebook: the observer recomputes the
feature maps, rewrites the formula, redraws the figure and encodes the PNG that the Image
widget sends to the browser. Each control is swept back and forth over its range (the other
controls at the explorer's defaults) and every single move is timed. Target (issue 10):
median <= 40 ms and p90 <= 80 ms per control.

    python benchmarks/bench_explorer.py [--moves 60] [--mode 2d|1d|both]

Wall-clock times depend on what else the machine runs; the CPU columns (this process's CPU time
per move) are steadier on a shared machine. 2d: the default 12x12 image (lessons 02 and 05); 1d: a 100-step signal with EKG-sized windows
(lesson 03). The browser round trip (slider moved -> new image shown) is measured by
tests/browser/test_lessons_lab.py::test_conv_explorer_reacts_to_its_slider.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from course_lib.widgets.conv_explorer import ConvExplorer


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def sweep(values):
    """Back and forth over ``values``: a, b, c, b, a, b, ... (every step is a real change)."""
    values = list(values)
    return values + values[-2:0:-1] if len(values) > 1 else values


def build(mode):
    if mode == "2d":
        return ConvExplorer()
    return ConvExplorer(np.sin(np.arange(100) / 4.0) + 0.2 * np.cos(np.arange(100) / 1.3),
                        kernel_size=20, stride=10, n_filters=2)


def controls(explorer, mode):
    """(name, widget, values to sweep) for every control."""
    kernels = range(1, 8) if mode == "2d" else range(5, 26, 3)
    strides = range(1, 5) if mode == "2d" else range(1, 26, 4)
    return [
        ("kernel size", explorer.kernel, kernels),
        ("filters", explorer.filters, range(1, 5)),
        ("stride", explorer.stride, strides),
        ("dilation", explorer.dilation, range(1, 4)),
        ("padding", explorer.padding, ["valid", "same", 0, 1, 2, 3]),
        ("activation", explorer.activation, ["relu", "sigmoid", "tanh", "none"]),
        ("output unit", explorer.position, None),
    ]


def time_moves(explorer, widget, values, moves):
    """(wall seconds, CPU seconds of this process) per move, for ``moves`` moves of ``widget`` over
    ``values`` (cycled). CPU time is what the move costs the kernel whatever else the machine runs."""
    start_value = widget.value
    if values is None:  # the output-unit slider: its range depends on the other settings
        values = range(widget.min, widget.max + 1)
    path = sweep(values)
    if path[0] == widget.value:
        path = path[1:] + path[:1]
    timings = []
    for i in range(moves):
        value = path[i % len(path)]
        if value == widget.value:
            continue
        t0, c0 = time.perf_counter(), time.process_time()
        widget.value = value
        timings.append((time.perf_counter() - t0, time.process_time() - c0))
    widget.value = start_value
    return timings


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=60, help="moves per control (default 60)")
    parser.add_argument("--mode", choices=("2d", "1d", "both"), default="both")
    args = parser.parse_args(argv)
    modes = ("2d", "1d") if args.mode == "both" else (args.mode,)
    print(f"ConvExplorer: in-kernel cost of one control move ({args.moves} moves per control)")
    worst = []
    for mode in modes:
        explorer = build(mode)
        time_moves(explorer, explorer.kernel, [explorer.kernel.value + 1, explorer.kernel.value], 4)  # warm-up
        print(f"\n{mode}: {'control':<12} {'median ms':>10} {'p90 ms':>8} {'max ms':>8}   "
              f"{'CPU median':>10} {'CPU p90':>8}")
        for name, widget, values in controls(explorer, mode):
            pairs = time_moves(explorer, widget, values, args.moves)
            wall, cpu = [1000 * w for w, _ in pairs], [1000 * c for _, c in pairs]
            median, p90 = statistics.median(wall), percentile(wall, 90)
            worst.append((median, p90))
            print(f"{'':4}{name:<12} {median:10.1f} {p90:8.1f} {max(wall):8.1f}   "
                  f"{statistics.median(cpu):10.1f} {percentile(cpu, 90):8.1f}")
    print(f"\nworst control: median {max(m for m, _ in worst):.1f} ms, p90 {max(p for _, p in worst):.1f} ms "
          f"(target: median <= 40 ms, p90 <= 80 ms)")


if __name__ == "__main__":
    main()
