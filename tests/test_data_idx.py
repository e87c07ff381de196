"""IDX parser: round trips and every way a file can be broken."""

import gzip
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib.data.errors import CorruptFileError
from course_lib.data.idx import parse_idx, read_idx, write_idx


@settings(max_examples=25, deadline=None)
@given(
    shape=st.lists(st.integers(1, 5), min_size=1, max_size=3),
    dtype=st.sampled_from(["uint8", "int8", "int16", "int32", "float32", "float64"]),
    gz=st.booleans(),
)
def test_round_trip(tmp_path_factory, shape, dtype, gz):
    rng = np.random.default_rng(0)
    array = (rng.normal(size=shape) * 50).astype(dtype)
    path = tmp_path_factory.mktemp("idx") / ("a.idx.gz" if gz else "a.idx")
    write_idx(path, array)
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype) and back.shape == tuple(shape)
    np.testing.assert_array_equal(back, array)


def test_header_matches_the_published_layout():
    raw = struct.pack(">HBBIII", 0, 0x08, 3, 2, 2, 3) + bytes(range(12))
    array = parse_idx(raw)
    assert array.shape == (2, 2, 3) and array.dtype == np.uint8
    assert array[1, 1, 2] == 11
    # big-endian int32 data
    raw = struct.pack(">HBBI", 0, 0x0C, 1, 2) + struct.pack(">ii", 258, -1)
    assert parse_idx(raw).tolist() == [258, -1]


@pytest.mark.parametrize(
    "raw, words",
    [
        (b"\x00\x00", "at least 4 bytes"),
        (struct.pack(">HBBI", 0x0102, 0x08, 1, 3) + b"abc", "first two bytes"),
        (struct.pack(">HBBI", 0, 0x07, 1, 3) + b"abc", "unknown IDX type code 0x07"),
        (struct.pack(">HBB", 0, 0x08, 3) + b"\x00\x00\x00\x02", "header for 3 dimensions"),
        (struct.pack(">HBBII", 0, 0x08, 2, 3, 4) + bytes(11), "truncated IDX file: dims (3, 4) need 12"),
        (struct.pack(">HBBI", 0, 0x08, 1, 3) + bytes(5), "2 unexpected bytes"),
    ],
)
def test_broken_headers_and_lengths_name_the_problem(raw, words):
    with pytest.raises(CorruptFileError, match=words.replace("(", r"\(").replace(")", r"\)")):
        parse_idx(raw, name="x.idx")


def test_truncated_gzip_is_reported_with_the_file_name(tmp_path):
    good = gzip.compress(struct.pack(">HBBI", 0, 0x08, 1, 4000) + bytes(range(250)) * 16)
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(good[: len(good) // 2])
    with pytest.raises(CorruptFileError, match="broken gzip stream") as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_garbage_in_a_gz_file_is_reported(tmp_path):
    path = tmp_path / "x.gz"
    path.write_bytes(b"this is not gzip at all")
    with pytest.raises(CorruptFileError, match="broken gzip stream"):
        read_idx(path)


def test_write_rejects_dtypes_idx_cannot_hold(tmp_path):
    with pytest.raises(TypeError, match="array: dtype int64 has no IDX type code"):
        write_idx(tmp_path / "a.idx", np.zeros(3, dtype=np.int64))
