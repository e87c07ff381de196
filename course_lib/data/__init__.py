"""EKG and MNIST data sets for the course: embedded defaults that work offline, real loaders.

- ``load_mnist(subset="5k" | "full", split=...)``: real MNIST digits (``mnist``).
- ``load_ekg(source="synthetic" | "mitbih", split=...)``: EKG windows (``ekg``, ``physionet``).
- ``as_torch_dataset(x, y)``: a torch ``Dataset`` over the arrays.
- ``cache_dir()``: ``$COURSE_LIB_DATA`` or the platform cache folder.

Errors (``errors``): ``CorruptFileError``, ``ChecksumError``, ``DownloadError``,
``DataNotFoundError``, ``CacheWriteError``; each message says what is wrong and what to do.
"""

from __future__ import annotations

from .cache import cache_dir
from .ekg import EKG_KINDS, EKG_LABELS
from .errors import CacheWriteError, ChecksumError, CorruptFileError, DataError, DataNotFoundError, DownloadError
from .mnist import load_mnist

from course_lib.lazy import submodule_getattr

# The torch-side helpers load on first use, so the numpy loaders work (and import fast) without torch.
__getattr__ = submodule_getattr(__name__, ("augment", "torch_dataset"))

__all__ = [
    "load_mnist", "load_ekg", "as_torch_dataset", "ArrayDataset", "RandomShift", "cache_dir",
    "EKG_KINDS", "EKG_LABELS", "EKG_SOURCES",
    "DataError", "CorruptFileError", "ChecksumError", "DownloadError", "DataNotFoundError", "CacheWriteError",
]  # fmt: skip

EKG_SOURCES = ("synthetic", "mitbih")


def load_ekg(source: str = "synthetic", n: int | None = None, seed: int = 0, split: str = "train", *,
             return_kinds: bool = False, **kwargs):  # fmt: skip
    """EKG windows ``(signals float32 (N, 1, 100), labels int64 (N,))``: 0 = normal, 1 = abnormal.

    source ``"synthetic"`` (default, offline): see ``course_lib.data.ekg`` for what each
    kind of abnormality looks like; n defaults to 8000 train / 2000 test windows;
    ``return_kinds=True`` adds ``kinds`` (N,) indexing ``EKG_KINDS``.
    source ``"mitbih"``: beat-centred windows of the MIT-BIH Arrhythmia Database
    (``course_lib.data.physionet.load_mitbih``; extra keyword arguments go there);
    ``return_kinds=True`` adds the beat symbols.
    Both sources sample at 50 Hz, so one window is 2 seconds.
    """
    if source == "synthetic":
        if kwargs:
            raise TypeError(f"load_ekg(source='synthetic'): unexpected arguments {sorted(kwargs)}")
        from .ekg import load_synthetic_ekg

        x, y, kinds = load_synthetic_ekg(n=n, seed=seed, split=split)
        return (x, y, kinds) if return_kinds else (x, y)
    if source == "mitbih":
        from .physionet import load_mitbih

        return load_mitbih(split=split, n=n, seed=seed, return_symbols=return_kinds, **kwargs)
    raise ValueError(f"source: expected one of {EKG_SOURCES}, got {source!r}")
