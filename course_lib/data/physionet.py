"""Real EKG beats from the MIT-BIH Arrhythmia Database (PhysioNet), read with ``wfdb``.

Each record (``100`` ... ``234``: a ``.hea`` header, ``.dat`` signal at 360 Hz and an
``.atr`` annotation file marking every beat with a symbol) is turned into
beat-centred windows that match the synthetic set: the first channel (MLII) is
resampled to ``FS = 50`` Hz and a ``WINDOW = 100``-sample (2 s) window is cut
around each annotated beat (the beat sits at index 50).

Labels: ``0`` for ``NORMAL_SYMBOLS`` (``N``: normal beat), ``1`` for
``ABNORMAL_SYMBOLS`` (bundle branch blocks ``L``/``R``, atrial and nodal premature
beats ``A a J S``, escape beats ``e j E``, ventricular ``V``, fusion ``F``, paced
``/`` and paced fusion ``f``). Other annotations (rhythm changes, noise, the
unclassifiable ``Q``) are not beats and are skipped.

Splits follow the usual inter-patient division (de Chazal et al. 2004): ``"train"``
= DS1, ``"test"`` = DS2, so no patient appears in both. Records live in
``<cache>/mitbih`` (downloaded with ``wfdb.dl_database`` when missing and online);
the windows of each record are cached there as ``<record>_windows.npz``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np

from .cache import cache_dir, ensure_folder
from .errors import CorruptFileError, DataNotFoundError
from ..validation import positive_int

__all__ = ["FS", "WINDOW", "NORMAL_SYMBOLS", "ABNORMAL_SYMBOLS", "DS1", "DS2", "beat_windows", "load_mitbih"]

FS = 50
WINDOW = 100
NORMAL_SYMBOLS = ("N",)
ABNORMAL_SYMBOLS = ("L", "R", "A", "a", "J", "S", "e", "j", "E", "V", "F", "/", "f")
DS1 = ("101", "106", "108", "109", "112", "114", "115", "116", "118", "119", "122",
       "124", "201", "203", "205", "207", "208", "209", "215", "220", "223", "230")  # fmt: skip
DS2 = ("100", "103", "105", "111", "113", "117", "121", "123", "200", "202", "210",
       "212", "213", "214", "219", "221", "222", "228", "231", "232", "233", "234")  # fmt: skip
_CACHE_VERSION = 1


def beat_windows(signal: np.ndarray, fs: float, samples: np.ndarray, symbols: Sequence[str]):
    """Cut beat-centred windows from one signal.

    signal: (L,) at ``fs`` Hz; samples: (B,) annotation sample indices; symbols: (B,) strings.
    Returns ``(windows float32 (M, 1, WINDOW), labels int64 (M,), symbols (M,) str)`` for the
    M beats with a known symbol whose window lies fully inside the resampled signal.
    """
    from scipy.signal import resample_poly

    signal = np.asarray(signal, dtype=np.float64)
    if signal.ndim != 1:
        raise ValueError(f"signal: expected one channel (L,), got shape {signal.shape}")
    if fs <= 0:
        raise ValueError(f"fs: expected a positive sampling rate, got {fs!r}")
    from fractions import Fraction

    ratio = Fraction(FS / fs).limit_denominator(1000)
    resampled = resample_poly(signal, ratio.numerator, ratio.denominator) if ratio != 1 else signal
    half = WINDOW // 2
    out_x, out_y, out_s = [], [], []
    for sample, symbol in zip(np.asarray(samples), symbols):
        if symbol in NORMAL_SYMBOLS:
            label = 0
        elif symbol in ABNORMAL_SYMBOLS:
            label = 1
        else:
            continue
        centre = int(round(sample * FS / fs))
        if centre - half < 0 or centre + half > len(resampled):
            continue
        out_x.append(resampled[centre - half : centre + half])
        out_y.append(label)
        out_s.append(symbol)
    x = np.array(out_x, dtype=np.float32).reshape(-1, 1, WINDOW)
    return x, np.array(out_y, dtype=np.int64), np.array(out_s, dtype="<U1")


def _download_record(record: str, folder: Path, instructions: str) -> None:
    """Fetch one record into a temporary folder, then move its files into place (never half a record)."""
    import shutil
    import tempfile

    import wfdb

    staging = Path(tempfile.mkdtemp(prefix=f".{record}-download-", dir=folder))
    try:
        try:
            wfdb.dl_database("mitdb", str(staging), records=[record], annotators=["atr"], keep_subdirs=False)
        except Exception as exc:  # wfdb raises requests/HTTP/OS errors of several kinds
            raise DataNotFoundError(f"MIT-BIH record {record}: download failed ({exc}); {instructions}") from exc
        files = [staging / f"{record}{ext}" for ext in (".hea", ".dat", ".atr")]
        if not all(p.is_file() for p in files):
            raise DataNotFoundError(f"MIT-BIH record {record}: the download did not deliver every file; {instructions}")
        for p in files:
            os.replace(p, folder / p.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _record_windows(record: str, folder: Path, download: bool):
    """Windows of one record, cached as <folder>/<record>_windows.npz."""
    cached = folder / f"{record}_windows.npz"
    header = folder / f"{record}.hea"
    if cached.is_file() and header.is_file():
        try:
            with np.load(cached) as npz:
                if int(npz["version"]) == _CACHE_VERSION:
                    return npz["x"], npz["y"], npz["symbols"]
        except (OSError, ValueError, KeyError, EOFError):
            pass  # rebuild below
    needed = [folder / f"{record}{ext}" for ext in (".hea", ".dat", ".atr")]
    if not all(p.is_file() for p in needed):
        missing = [p.name for p in needed if not p.is_file()]
        instructions = (
            f"put the MIT-BIH files {record}.hea, {record}.dat and {record}.atr in {folder} "
            "(from https://physionet.org/content/mitdb/1.0.0/), or set $COURSE_LIB_DATA to a folder "
            "with a mitbih/ subfolder holding them"
        )
        if not download:
            raise DataNotFoundError(f"MIT-BIH record {record}: missing {', '.join(missing)} and download=False; {instructions}")
        _download_record(record, folder, instructions)
    import warnings

    import wfdb

    try:
        with warnings.catch_warnings():  # wfdb's own pandas deprecation warnings are not the learner's business
            warnings.simplefilter("ignore")
            rec = wfdb.rdrecord(str(folder / record), channels=[0])
            ann = wfdb.rdann(str(folder / record), "atr")
    except Exception as exc:
        raise CorruptFileError(f"MIT-BIH record {record} in {folder} could not be read ({exc}); delete it and fetch it again") from exc
    x, y, symbols = beat_windows(rec.p_signal[:, 0], rec.fs, ann.sample, ann.symbol)
    tmp = cached.with_name(cached.name + f".part-{os.getpid()}.npz")
    np.savez(tmp, x=x, y=y, symbols=symbols, version=_CACHE_VERSION)
    os.replace(tmp, cached)
    return x, y, symbols


def load_mitbih(
    split: str = "train",
    *,
    records: Sequence[str] | None = None,
    data_dir: str | Path | None = None,
    download: bool = True,
    n: int | None = None,
    seed: int = 0,
    return_symbols: bool = False,
):
    """Beat windows from MIT-BIH: ``(x float32 (M, 1, 100), y int64 (M,))`` [+ symbols (M,)].

    split: ``"train"`` (records DS1), ``"test"`` (DS2) or ``"all"``; ignored when
    ``records`` names the records to use. n: keep a random subset of n windows (seeded).
    """
    if records is None:
        if split not in ("train", "test", "all"):
            raise ValueError(f"split: expected 'train', 'test' or 'all', got {split!r}")
        records = {"train": DS1, "test": DS2, "all": DS1 + DS2}[split]
    elif isinstance(records, str):
        records = [records]
    folder = ensure_folder(data_dir) if data_dir is not None else cache_dir("mitbih")
    parts = [_record_windows(str(r), folder, download) for r in records]
    x = np.concatenate([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    symbols = np.concatenate([p[2] for p in parts])
    if n is not None:
        n = positive_int(n, "n", where="load_mitbih")
        keep = np.sort(np.random.default_rng(seed).permutation(len(y))[: min(n, len(y))])
        x, y, symbols = x[keep], y[keep], symbols[keep]
    return (x, y, symbols) if return_symbols else (x, y)
