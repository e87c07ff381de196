"""``python -m course_lib doctor``: check that this machine can run the course.

Each check returns a :class:`Finding`; the command prints them all and exits non-zero when a
required one failed, with a plain-language fix for each problem.
"""

from __future__ import annotations

import importlib
import importlib.metadata as metadata
import platform
import sys
from dataclasses import dataclass
from pathlib import Path

REQUIRED_PACKAGES = (
    "numpy", "torch", "matplotlib", "jupyterlab", "ipywidgets", "nbgrader",
    "tqdm", "pyyaml", "fsrs", "genanki", "wfdb", "mlxtend", "platformdirs",
)
WIDGET_EXTENSION = "@jupyter-widgets/jupyterlab-manager"
KEYBOARD_EXTENSION = "ipyevents"  # the flashcards' keyboard shortcuts; optional
INSTALL_FIX = 'run `pip install -e .` in the course folder (inside the virtual environment you use for Jupyter)'


@dataclass
class Finding:
    """One line of the doctor's report: what was checked, whether it is fine, and how to fix it."""

    name: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = True


def check_python() -> Finding:
    version = platform.python_version()
    ok = sys.version_info >= (3, 10)
    return Finding("python", ok, f"{version} at {sys.executable}", "install Python 3.10 or newer (3.11 is tested)")


def check_packages(names=REQUIRED_PACKAGES) -> list[Finding]:
    findings = []
    for name in names:
        try:
            findings.append(Finding(name, True, metadata.version(name)))
        except metadata.PackageNotFoundError:
            findings.append(Finding(name, False, "not installed", INSTALL_FIX))
    return findings


def check_device() -> Finding:
    try:
        from course_lib.device import ENV_VAR, DeviceChoiceError, describe_device
    except Exception as error:  # torch missing or broken
        return Finding("device", False, f"cannot choose a device: {error}", INSTALL_FIX)
    try:
        return Finding("device", True, describe_device())
    except DeviceChoiceError as error:  # a setting, not a broken install
        return Finding("device", False, str(error),
                       f"unset ${ENV_VAR} (the course then picks CUDA, Apple MPS or the CPU by itself) "
                       "or set it to one of the available devices")
    except Exception as error:  # torch broken
        return Finding("device", False, f"cannot choose a device: {error}", INSTALL_FIX)


def _try(name: str, load) -> Finding:
    try:
        return Finding(name, True, load())
    except Exception as error:
        return Finding(name, False, f"{type(error).__name__}: {error}",
                       "the embedded data ships with the installed packages; " + INSTALL_FIX)


def check_embedded_data() -> list[Finding]:
    def mnist():
        from course_lib.data import load_mnist

        x, y = load_mnist(subset="5k", split="test")
        return f"MNIST 5k subset loads: {x.shape[0]} test images of shape {tuple(x.shape[1:])}"

    def ekg():
        from course_lib.data import load_ekg

        x, y = load_ekg(source="synthetic", n=64, seed=0)
        return f"synthetic EKG loads: {x.shape[0]} windows of {x.shape[-1]} samples"

    return [_try("MNIST (embedded)", mnist), _try("EKG (synthetic)", ekg)]


def labextension_dirs() -> list[Path]:
    """Folders where JupyterLab looks for prebuilt extensions (jupyter_core's data path)."""
    from jupyter_core.paths import jupyter_path

    return [Path(p) / "labextensions" for p in jupyter_path()]


def _installed_in(dirs: list[Path], extension: str) -> Path | None:
    """The first of ``dirs`` holding the prebuilt JupyterLab ``extension``, or None."""
    return next((d for d in dirs if (d / extension / "package.json").is_file()), None)


def check_jupyterlab() -> list[Finding]:
    findings = []
    try:
        lab = importlib.import_module("jupyterlab")
        findings.append(Finding("JupyterLab", True, f"{lab.__version__}"))
    except ImportError:
        findings.append(Finding("JupyterLab", False, "not installed", INSTALL_FIX))
        return findings
    dirs = labextension_dirs()
    found = _installed_in(dirs, WIDGET_EXTENSION)
    if found:
        findings.append(Finding("widget extension", True, f"{WIDGET_EXTENSION} in {found}"))
    else:
        findings.append(Finding("widget extension", False, f"{WIDGET_EXTENSION} not found",
                                "run `pip install -U ipywidgets jupyterlab_widgets`, then restart JupyterLab"))
    keys = _installed_in(dirs, KEYBOARD_EXTENSION)
    if keys:
        findings.append(Finding("flashcard keys", True, f"{KEYBOARD_EXTENSION} in {keys}", required=False))
    else:
        findings.append(Finding("flashcard keys", False, f"{KEYBOARD_EXTENSION} not found: the flashcards work with "
                                "buttons only", "run `pip install ipyevents`, then restart JupyterLab", required=False))
    return findings


def run_checks() -> list[Finding]:
    """Every check, in the order the report prints them."""
    return [check_python(), *check_packages(), check_device(), *check_embedded_data(), *check_jupyterlab()]


def report(findings: list[Finding], out=None) -> int:
    """Print the findings to ``out`` (default: the current ``sys.stdout``); return the exit status
    (1 if a required check failed)."""
    out = out if out is not None else sys.stdout
    width = max(len(f.name) for f in findings)
    for f in findings:
        mark = "ok " if f.ok else "!! "
        print(f"{mark}{f.name:<{width}}  {f.detail}", file=out)
    problems = [f for f in findings if not f.ok and f.required]
    for f in findings:
        if not f.ok and not f.required:
            print(f"\nOptional, {f.name}: {f.fix}", file=out)
    if problems:
        print(f"\n{len(problems)} problem(s). How to fix:", file=out)
        for f in problems:
            print(f"  - {f.name}: {f.fix}", file=out)
        return 1
    print("\nAll good: this machine is ready for the course (it starts at lessons/00_start_here.ipynb).", file=out)
    return 0


def main(argv=None) -> int:
    return report(run_checks())
