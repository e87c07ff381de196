"""Seeded random interview drills: output size, parameter count and receptive field.

Each drill is a :class:`Drill` (prompt, integer answer, worked explanation). The answers come
from :mod:`course_lib.shapes`, the same formulas the lessons teach; the tests check them
against PyTorch layers. :func:`make_questions` turns drills into ``Numeric`` questions for
:class:`course_lib.widgets.quiz.Quiz`, and :func:`mock_interview` builds the quiz itself.

The same ``seed`` always gives the same drills::

    >>> [d.kind for d in make_drills(3, seed=0)]
    ['output_size', 'param_count', 'receptive_field']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from course_lib.geometry import effective_kernel
from course_lib.validation import check_int, is_int, seed_arg

__all__ = [
    "Drill",
    "DRILL_KINDS",
    "output_size_drill",
    "param_count_drill",
    "receptive_field_drill",
    "make_drills",
    "make_questions",
    "mock_interview",
]


@dataclass(frozen=True)
class Drill:
    """One interview drill: ``prompt`` (str), ``answer`` (int), ``explanation`` (the worked formula),
    ``kind`` (one of :data:`DRILL_KINDS`) and ``setup`` (the numbers it was built from)."""

    kind: str
    prompt: str
    answer: int
    explanation: str
    setup: dict

    def to_question(self):
        """This drill as a ``Numeric`` quiz question with tolerance 0 (answers are exact integers)."""
        from course_lib.widgets.quiz import Numeric

        return Numeric(prompt=self.prompt, answer=self.answer, tolerance=0, explanation=self.explanation)


def _rng(rng) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or is_int(rng):
        return np.random.default_rng(seed_arg(rng, "rng"))
    raise TypeError(f"rng: expected a numpy Generator, an int seed or None, got {type(rng).__name__}")


def _pick(rng: np.random.Generator, options: Sequence):
    return options[int(rng.integers(len(options)))]


def output_size_drill(rng=None) -> Drill:
    """A 2D conv layer on a square input: how many rows does the output have?"""
    from course_lib import shapes

    rng = _rng(rng)
    while True:
        n = int(_pick(rng, (28, 32, 64, 100, 128, 224)))
        k = int(_pick(rng, (1, 3, 5, 7, 11)))
        s = int(_pick(rng, (1, 1, 2, 2, 3, 4)))
        d = int(_pick(rng, (1, 1, 1, 2)))
        p = _pick(rng, (0, 0, 1, 2, 3, "same", "valid")) if s == 1 else int(_pick(rng, (0, 1, 2, 3)))
        if is_int(p):
            p = int(p)
        if effective_kernel(k, d) <= n:
            break
    answer = int(shapes.conv_output_size(n, k, stride=s, padding=p, dilation=d))
    pad_text = f"padding={p!r}" if isinstance(p, str) else f"padding={p}"
    prompt = (f"A Conv2d layer with a {k}×{k} kernel, stride={s}, {pad_text}, dilation={d} reads a "
              f"{n}×{n} input. How many rows does its output have?")
    if p == "same":
        explanation = (f"padding='same' (stride 1) keeps the size: the layer adds d·(k−1) = {d * (k - 1)} zeros "
                       f"in total per axis, so n_out = n = {answer}.")
    else:
        pad = 0 if p == "valid" else p
        explanation = (f"n_out = ⌊(n + 2p − d·(k−1) − 1)/s⌋ + 1 = ⌊({n} + {2 * pad} − {d}·{k - 1} − 1)/{s}⌋ + 1 "
                       f"= {answer}")
    return Drill("output_size", prompt, answer, explanation, dict(n=n, kernel=k, stride=s, padding=p, dilation=d))


def param_count_drill(rng=None) -> Drill:
    """Trainable parameters of a Conv2d layer, or of a dense layer on a flattened image."""
    from course_lib import shapes

    rng = _rng(rng)
    bias = bool(rng.integers(0, 4))  # bias most of the time, sometimes not
    if rng.random() < 0.7:
        c_in = int(_pick(rng, (1, 3, 16, 32, 64)))
        c_out = int(_pick(rng, (8, 16, 32, 64, 128)))
        k = int(_pick(rng, (1, 3, 5, 7)))
        answer = int(shapes.conv_params(c_in, c_out, (k, k), bias=bias))
        prompt = (f"How many trainable parameters does Conv2d(in_channels={c_in}, out_channels={c_out}, "
                  f"kernel_size={k}, bias={bias}) have?")
        explanation = (f"Each of the {c_out} filters has k·k·C_in = {k}·{k}·{c_in} = {k * k * c_in} weights"
                       f"{' plus 1 bias' if bias else ''}: {c_out} × {k * k * c_in + int(bias)} = {answer}. "
                       f"The input's height and width do not matter: the weights are shared.")
        setup = dict(layer="conv2d", c_in=c_in, c_out=c_out, kernel=k, bias=bias)
    else:
        side = int(_pick(rng, (8, 16, 28, 32)))
        channels = int(_pick(rng, (1, 3)))
        units = int(_pick(rng, (10, 64, 100, 128, 256)))
        n_in = side * side * channels
        answer = int(shapes.dense_params(n_in, units, bias=bias))
        article = "An" if str(side).startswith("8") else "A"
        prompt = (f"{article} {side}×{side}×{channels} image is flattened into a dense layer of {units} units "
                  f"(bias={bias}). How many trainable parameters does that layer have?")
        explanation = (f"Every unit sees every input: {side}·{side}·{channels} = {n_in} inputs × {units} units"
                       f"{f' + {units} biases' if bias else ''} = {answer}.")
        setup = dict(layer="dense", n_in=n_in, units=units, bias=bias)
    return Drill("param_count", prompt, answer, explanation, setup)


def receptive_field_drill(rng=None) -> Drill:
    """Receptive field (in input steps) of one unit at the top of a small stack of conv layers."""
    from course_lib import shapes

    rng = _rng(rng)
    depth = int(_pick(rng, (2, 2, 3)))
    layers = []
    for _ in range(depth):
        layers.append((int(_pick(rng, (2, 3, 3, 5, 7))), int(_pick(rng, (1, 1, 2, 2, 3))), 1))
    result = shapes.receptive_field(layers)
    answer = int(result[-1].size)
    listing = ", ".join(f"(kernel {k}, stride {s})" for k, s, _ in layers)
    prompt = (f"Three 1D conv layers are stacked without padding: {listing}."
              if depth == 3 else f"Two 1D conv layers are stacked without padding: {listing}.")
    prompt += " How many input steps does one unit of the last layer see?"
    jumps_below = [1] + [field.jump for field in result[:-1]]  # product of the strides below each layer
    terms = [f"({k}−1)·{jump}" for (k, _, _), jump in zip(layers, jumps_below)]
    explanation = (f"r = 1 + Σ (k_l − 1)·(product of the strides below layer l) = 1 + {' + '.join(terms)} = {answer}")
    return Drill("receptive_field", prompt, answer, explanation, dict(layers=layers))


DRILL_KINDS: dict[str, Callable[..., Drill]] = {
    "output_size": output_size_drill,
    "param_count": param_count_drill,
    "receptive_field": receptive_field_drill,
}


#: more drills than anyone answers in one sitting; also keeps a typo like n=10**9 from filling the memory
MAX_DRILLS = 1000


def make_drills(n: int = 6, seed: int | None = 0,
                kinds: Sequence[str] = ("output_size", "param_count", "receptive_field")) -> list[Drill]:
    """``n`` drills cycling through ``kinds``, drawn from ``numpy.random.default_rng(seed)``.

    ``seed=None`` gives fresh drills every call (for practice); an int gives the same drills every time.
    """
    n = check_int(n, "n", minimum=1, maximum=MAX_DRILLS, where="make_drills")
    kinds = list(kinds)
    if not kinds:
        raise ValueError("kinds: expected at least one of " + ", ".join(DRILL_KINDS) + ", got none")
    for kind in kinds:
        if kind not in DRILL_KINDS:
            raise ValueError(f"kinds: expected names from {list(DRILL_KINDS)}, got {kind!r}")
    rng = _rng(seed)
    return [DRILL_KINDS[kinds[i % len(kinds)]](rng) for i in range(n)]


def make_questions(n: int = 6, seed: int | None = 0,
                   kinds: Sequence[str] = ("output_size", "param_count", "receptive_field")) -> list:
    """The drills of :func:`make_drills` as ``Numeric`` questions for ``Quiz``."""
    return [drill.to_question() for drill in make_drills(n, seed, kinds)]


def mock_interview(n: int = 6, seed: int | None = 0, **quiz_kwargs):
    """A ``Quiz`` of ``n`` randomised drills (output size, parameters, receptive field), checked instantly."""
    from course_lib.widgets.quiz import Quiz

    return Quiz(make_questions(n, seed), **quiz_kwargs)
