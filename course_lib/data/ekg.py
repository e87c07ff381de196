"""Synthetic EKG windows: normal beats vs beats with a named abnormality.

THE DATA ARE SYNTHETIC. They are drawn from a hand-written model of a one-lead EKG
so the course runs offline with no licence questions; they are not patient data and
must never be used to judge a real trace.

Each window is 100 samples at ``FS = 50`` Hz, i.e. 2 seconds, holding two to four
beats at a random phase. Every beat is a sum of Gaussian bumps (P, Q, R, S, T waves,
in mV) placed around its R peak; the T wave moves with the heart rate (QT grows
with the RR interval). Every window then gets a random gain (0.7-1.3),
white noise (sigma 0.01-0.04 mV) and baseline wander (a 0.1-0.6 Hz sine up to 0.3 mV).

Labels (``labels``: int64, 0 or 1) and kinds (``kinds``: int64 index into ``EKG_KINDS``):

====  ====================  ========================================================
label kind                  what the window shows
====  ====================  ========================================================
0     ``normal``            sinus rhythm 55-100 bpm, RR varying by about 3 %,
                            a P wave before every QRS, flat ST segment
1     ``st_elevation``      every beat's ST segment (40-250 ms after R) raised by
                            0.15-0.35 mV, as in an acute myocardial infarction
1     ``pvc``               one premature ventricular contraction: it comes 30-45 %
                            early, has no P wave, a wide QRS (3-4x normal width),
                            a large deflection and a T wave of opposite polarity,
                            then a compensatory pause
1     ``irregular_rhythm``  atrial-fibrillation-like: RR intervals vary by up to
                            +-45 %, no P waves, small 4-8 Hz fibrillatory waves
====  ====================  ========================================================

Half of each split is normal; the abnormal half is split evenly between the three
abnormal kinds. The train and test splits are drawn from independent random streams
derived from ``seed``, so the same seed always gives the same arrays.
"""

from __future__ import annotations

import numpy as np

__all__ = ["FS", "WINDOW", "EKG_KINDS", "EKG_LABELS", "make_ekg", "load_synthetic_ekg"]

FS = 50  #: samples per second
WINDOW = 100  #: samples per window (2 s)
#: kind index -> name; kind 0 is label 0 (normal), every other kind is label 1 (abnormal)
EKG_KINDS = ("normal", "st_elevation", "pvc", "irregular_rhythm")
#: label -> meaning
EKG_LABELS = {0: "normal", 1: "abnormal (st_elevation, pvc or irregular_rhythm)"}

_SPLIT_STREAM = {"train": 0, "test": 1}
_DEFAULT_N = {"train": 8000, "test": 2000}


class _Waves:
    """Collects Gaussian bumps (centre s, amplitude mV, width s) and renders them at once."""

    def __init__(self):
        self.mu, self.amp, self.sigma = [], [], []

    def add(self, mu, amp, sigma):
        self.mu.append(mu)
        self.amp.append(amp)
        self.sigma.append(sigma)

    def render(self, t: np.ndarray) -> np.ndarray:
        mu, amp, sigma = (np.asarray(v, dtype=np.float64) for v in (self.mu, self.amp, self.sigma))
        return (amp * np.exp(-0.5 * ((t[:, None] - mu) / sigma) ** 2)).sum(axis=1)


def _normal_beat(w: _Waves, r, rr, jitter: np.ndarray, p_wave=True):
    """One sinus beat with R peak at time r (s); jitter: 5 amplitude factors near 1."""
    qt_t = 0.22 + 0.1 * np.sqrt(rr)  # T peak moves later for slower rhythms
    w.add(r - 0.025, -0.12 * jitter[0], 0.010)  # Q
    w.add(r, 1.0 * jitter[1], 0.012)  # R
    w.add(r + 0.03, -0.25 * jitter[2], 0.012)  # S
    w.add(r + qt_t, 0.30 * jitter[3], 0.05)  # T
    if p_wave:
        w.add(r - 0.16, 0.2 * jitter[4], 0.035)  # P


def _pvc_beat(w: _Waves, r, rng):
    """A premature ventricular beat: wide, tall QRS, no P wave, discordant T wave."""
    sign = rng.choice([-1.0, 1.0])
    w.add(r, sign * rng.uniform(1.2, 1.7), rng.uniform(0.035, 0.05))  # sigma 3-4x the normal R wave
    w.add(r + 0.08, -sign * 0.4 * rng.uniform(0.8, 1.2), 0.03)
    w.add(r + 0.32, -sign * rng.uniform(0.3, 0.45), 0.06)  # T opposite to QRS


def _st_segment(t, r, height):
    """Smooth plateau raising the ST segment between 40 and 250 ms after R; r: (B,) R times."""
    tt = t[:, None]
    rise = 1.0 / (1.0 + np.exp(-(tt - (r + 0.04)) / 0.01))
    fall = 1.0 / (1.0 + np.exp((tt - (r + 0.25)) / 0.025))
    return height * (rise * fall).sum(axis=1)


def _beat_times(rng, rr, jitter):
    """R-peak times from before the window start to after its end, RR *= 1 + U(-jitter, jitter)."""
    steps = rr * (1.0 + rng.uniform(-jitter, jitter, size=int(WINDOW / FS / (rr * (1 - jitter))) + 4))
    times = -rng.uniform(0.0, rr) - rr + np.concatenate([[0.0], np.cumsum(steps)])
    last = int(np.searchsorted(times, WINDOW / FS + rr)) + 1
    return times[:last]


def _window(kind: str, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(WINDOW) / FS
    rr = 60.0 / rng.uniform(55, 100)
    w = _Waves()
    y = np.zeros(WINDOW)
    if kind in ("normal", "st_elevation"):
        times = _beat_times(rng, rr, 0.03)
        jitter = rng.uniform(0.9, 1.1, size=(len(times), 5))
        for r, jit in zip(times, jitter):
            _normal_beat(w, r, rr, jit)
        if kind == "st_elevation":
            y += _st_segment(t, times, rng.uniform(0.15, 0.35))
    elif kind == "irregular_rhythm":
        times = _beat_times(rng, rr * 0.9, 0.45)
        jitter = rng.uniform(0.9, 1.1, size=(len(times), 5))
        for r, jit in zip(times, jitter):
            _normal_beat(w, r, rr, jit, p_wave=False)
        amp, freq, phase = rng.uniform(0.01, 0.03, 3), rng.uniform(4, 8, 3), rng.uniform(0, 2 * np.pi, 3)
        y += (amp * np.sin(2 * np.pi * freq * t[:, None] + phase)).sum(axis=1)  # fibrillatory waves
    elif kind == "pvc":
        times = _beat_times(rng, rr, 0.03)
        jitter = rng.uniform(0.9, 1.1, size=(len(times), 5))
        inside = np.flatnonzero((times > 0.25) & (times < WINDOW / FS - 0.25))
        k = int(rng.choice(inside)) if len(inside) else len(times) // 2
        for i, (r, jit) in enumerate(zip(times, jitter)):
            if i == k:
                _pvc_beat(w, times[k - 1] + rr * rng.uniform(0.55, 0.7), rng)
            elif i != k + 1:  # compensatory pause: the next sinus beat is skipped
                _normal_beat(w, r, rr, jit)
    else:  # pragma: no cover - guarded by make_ekg
        raise ValueError(kind)
    y += w.render(t)
    y *= rng.uniform(0.7, 1.3)
    y += rng.uniform(0.0, 0.3) * np.sin(2 * np.pi * rng.uniform(0.1, 0.6) * t + rng.uniform(0, 2 * np.pi))
    y += rng.normal(0.0, rng.uniform(0.01, 0.04), WINDOW)
    return y


def _check_seed(seed) -> int:
    """``seed`` if it is an int >= 0 (numpy ints too, bools not). This file imports nothing from
    course_lib: graders load it on its own to draw held-out windows."""
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed: expected a non-negative int, got {seed!r}")
    return int(seed)


def make_ekg(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw ``n`` windows: ``(signals float32 (n, 1, 100), labels int64 (n,), kinds int64 (n,))``.

    Half normal (rounded down for odd n); the rest cycle through the abnormal kinds; shuffled.
    """
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise ValueError(f"n: expected a positive int, got {n!r}")
    rng = np.random.default_rng(_check_seed(seed))
    n_normal = n // 2
    kinds = np.concatenate([np.zeros(n_normal, np.int64), 1 + np.arange(n - n_normal) % (len(EKG_KINDS) - 1)])
    kinds = rng.permutation(kinds)
    signals = np.stack([_window(EKG_KINDS[k], rng) for k in kinds]).astype(np.float32)[:, None, :]
    labels = (kinds > 0).astype(np.int64)
    return signals, labels, kinds


def load_synthetic_ekg(n: int | None = None, seed: int = 0, split: str = "train"):
    """The synthetic EKG split: ``(signals (n, 1, 100) float32, labels (n,) int64, kinds (n,) int64)``.

    n defaults to 8000 for ``"train"`` and 2000 for ``"test"``; the two splits use
    independent streams ``SeedSequence([seed, 0])`` and ``SeedSequence([seed, 1])``.
    ``"all"`` is the default train split followed by the default test split (10,000 windows);
    it takes no ``n``.
    """
    if split == "all":
        if n is not None:
            raise ValueError(f"n: split='all' is the fixed 8000 train + 2000 test windows; give n with split='train' or 'test', got n={n!r}")
        parts = [load_synthetic_ekg(seed=seed, split=part) for part in ("train", "test")]
        return tuple(np.concatenate(arrays) for arrays in zip(*parts))
    if split not in _SPLIT_STREAM:
        raise ValueError(f"split: expected 'train', 'test' or 'all', got {split!r}")
    _check_seed(seed)
    n = _DEFAULT_N[split] if n is None else n
    stream = np.random.SeedSequence([int(seed), _SPLIT_STREAM[split]])
    return make_ekg(n, seed=np.random.default_rng(stream).integers(2**63))
