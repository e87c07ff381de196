"""Time nbgrader autograding of a generated class: 30 students x 7 assignments.

Builds a temporary course folder from this repo (nbgrader_config.py + solutions/), generates the
release with `nbgrader generate_assignment`, writes one submission per student and assignment from
the release notebooks (mostly right, some with typical mistakes, some unanswered or crashing), then
times `nbgrader autograde` per assignment and reports the total and the per-notebook rate.

    python benchmarks/bench_grading.py                 # 30 students, 2 parallel workers
    python benchmarks/bench_grading.py --students 6 --jobs 1 --keep /tmp/class

With --jobs 2 each assignment is graded by two `nbgrader autograde` processes at once, one for the
even-numbered and one for the odd-numbered students (a --student glob), sharing one gradebook.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_grading_support import (  # noqa: E402
    ASSIGNMENTS, VENV_BIN, autograded_cells, filled, make_course, nbgrader_env, run_nbgrader, scores, submit,
)

# Typical mistakes per assignment: answer cell id -> wrong source.
MISTAKES = {
    "ps1": {"q1-answer": "def dense_params(n_in, n_out, bias=True):\n    return n_in * n_out\n",
            "q5-answer": "def dense_forward(x, w, b):\n    return x @ w.T\n"},
    "ps2": {"q2-answer": ("def conv1d(x, w, b=None, stride=1):\n"
                          "    y = np.stack([sum(np.convolve(x[c], w[o, c], mode='valid') for c in range(x.shape[0]))"
                          " for o in range(w.shape[0])])[:, ::stride]\n"
                          "    return y + (b[:, None] if b is not None else 0)\n")},
    "ps3": {"q1-answer": "n1 = 8\nn2 = 4\nrf2 = 100\n"},
    "ps4": {"q3-answer": ("def max_pool2d(x, kernel_size, stride=None):\n    s = stride or kernel_size\n"
                          "    v = np.lib.stride_tricks.sliding_window_view(x, (kernel_size, kernel_size), axis=(2, 3))\n"
                          "    return v[:, :, ::s, ::s].mean(axis=(4, 5))\n\n"
                          "def max_pool2d_backward(dy, x, kernel_size, stride=None):\n    raise ValueError('todo')\n")},
    "ps5": {"q1-answer": ("def numerical_gradient(f, x, eps=1e-6):\n    grad = np.zeros_like(x, dtype=float)\n"
                          "    base = f()\n    for idx in np.ndindex(x.shape):\n        old = x[idx]\n        x[idx] = old + eps\n"
                          "        grad[idx] = (f() - base) / eps\n        x[idx] = old\n    return grad\n")},
    "ps6": {"q2-answer": ("def conv_transpose2d(x, w, stride=1, padding=0, output_padding=0):\n"
                          "    raise ValueError('todo')\n"),
            "q4-answer": "sep_params = 512 * 512 * 9\nsep_macs = 2 * 14 * 14 * 512 * 512 * 9\nir_params = 8208\nir_macs = 25740288\n"},
    "ps7": {"q3-answer": "params_rgb_conv = 1728\n", "q5-answer": "rf_three_3x3 = 9\n"},
}


def submission(release, ps: str, kind: str):
    if kind == "right":
        return filled(release, ps)
    if kind == "mistakes":
        return filled(release, ps, MISTAKES[ps])
    if kind == "crash":  # every answer cell raises
        return filled(release, ps, {k: "raise RuntimeError('crash')" for k in MISTAKES[ps]})
    return release  # "blank": handed in unchanged


def build_class(course: Path, n_students: int, seed: int) -> dict[str, dict[str, str]]:
    rng = random.Random(seed)
    kinds = {}
    for ps in ASSIGNMENTS:
        release = nbformat.read(course / "exercises" / ps / f"{ps}.ipynb", as_version=4)
        for i in range(n_students):
            student = f"s{i:03d}"
            kind = rng.choices(["right", "mistakes", "crash", "blank"], weights=[6, 2, 1, 1])[0]
            kinds.setdefault(student, {})[ps] = kind
            submit(course, student, ps, submission(release, ps, kind))
    return kinds


def autograde_parallel(course: Path, ps: str, jobs: int) -> None:
    if jobs <= 1:
        run_nbgrader(["autograde", ps, "--force"], course, timeout=3600)
        return
    globs = ["s*[02468]", "s*[13579]"] if jobs == 2 else [f"s*{d}" for d in range(10)]
    procs, pending = [], list(globs)
    while pending or procs:
        while pending and len(procs) < jobs:
            pattern = pending.pop(0)
            procs.append(subprocess.Popen([str(VENV_BIN / "nbgrader"), "autograde", ps, "--force", f"--student={pattern}"],
                                          cwd=course, env=nbgrader_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True))
        time.sleep(0.2)
        for p in list(procs):
            if p.poll() is not None:
                procs.remove(p)
                if p.returncode != 0:
                    raise RuntimeError(f"autograde {ps} failed: {p.stderr.read()[-3000:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--jobs", type=int, default=2, help="parallel autograde processes per assignment (1, 2 or 10)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=Path, help="build the class here and keep it")
    args = parser.parse_args()

    root = args.keep or Path(tempfile.mkdtemp(prefix="bench-grading-"))
    if args.keep and root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True)
    try:
        course = make_course(root)
        t0 = time.perf_counter()
        run_nbgrader(["generate_assignment", "*", "--force"], course)
        t_generate = time.perf_counter() - t0
        kinds = build_class(course, args.students, args.seed)
        print(f"class: {args.students} students x {len(ASSIGNMENTS)} assignments = {args.students * len(ASSIGNMENTS)} notebooks "
              f"(release generated in {t_generate:.0f} s); jobs={args.jobs}")
        load_start = os.getloadavg()[0]
        total = 0.0
        for ps in ASSIGNMENTS:
            t = time.perf_counter()
            autograde_parallel(course, ps, args.jobs)
            dt = time.perf_counter() - t
            total += dt
            table = scores(course, ps)
            full = sum(autograded_cells(ps).values())
            graded = len(table)
            right = [s for s, k in kinds.items() if k[ps] == "right"]
            ok = all(sum(v or 0 for v in table[s].values()) == full for s in right)
            print(f"  {ps}: {graded} notebooks in {dt:6.1f} s ({dt / max(graded, 1):.1f} s each); "
                  f"every correct submission at full marks: {ok}")
            if graded != args.students or not ok:
                raise SystemExit(f"{ps}: grading incomplete or wrong")
        n = args.students * len(ASSIGNMENTS)
        print(f"machine: {os.cpu_count()} CPUs; 1-min load average {load_start:.1f} at start, {os.getloadavg()[0]:.1f} at end "
              "(other work on the machine slows grading)")
        print(f"total autograde time: {total:.0f} s = {total / 60:.1f} min for {n} notebooks "
              f"({total / n:.1f} s per notebook); target < 10 min: {'met' if total < 600 else 'NOT met'}")
        run_nbgrader(["export", "--to", str(root / "grades.csv")], course)
        print(f"grades exported: {root / 'grades.csv'}")
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
