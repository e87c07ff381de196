"""Synthetic EKG generator and the MIT-BIH (wfdb) loader, offline."""

import numpy as np
import pytest

from course_lib.data import EKG_KINDS, load_ekg
from course_lib.data import ekg as ekg_module
from course_lib.data import physionet
from course_lib.data.errors import DataNotFoundError

# wfdb's writers use a pandas idiom that pandas now deprecates; not ours to fix
pytestmark = pytest.mark.filterwarnings("ignore:The inplace keyword")


def test_shapes_balance_and_labels():
    x, y, kinds = load_ekg(n=400, split="train", return_kinds=True)
    assert x.shape == (400, 1, 100) and x.dtype == np.float32
    assert y.dtype == np.int64 and set(np.unique(y)) == {0, 1}
    assert (y == 0).sum() == 200
    np.testing.assert_array_equal(y, (kinds > 0).astype(np.int64))
    counts = np.bincount(kinds, minlength=len(EKG_KINDS))
    assert counts[0] == 200 and counts[1:].min() >= 66
    assert EKG_KINDS == ("normal", "st_elevation", "pvc", "irregular_rhythm")


def test_same_seed_same_windows_and_splits_differ():
    a, ya = load_ekg(n=50, seed=3)
    b, yb = load_ekg(n=50, seed=3)
    c, _ = load_ekg(n=50, seed=4)
    t, _ = load_ekg(n=50, seed=3, split="test")
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ya, yb)
    assert not np.array_equal(a, c) and not np.array_equal(a, t)


def test_default_sizes_and_all_is_train_then_test():
    x_test, y_test, k_test = load_ekg(split="test", return_kinds=True)
    assert x_test.shape == (2000, 1, 100)
    x_all, y_all, k_all = load_ekg(split="all", return_kinds=True)
    assert x_all.shape == (10000, 1, 100) and y_all.shape == k_all.shape == (10000,)
    np.testing.assert_array_equal(x_all[8000:], x_test)
    np.testing.assert_array_equal(y_all[8000:], y_test)
    np.testing.assert_array_equal(x_all[:8000], load_ekg(split="train")[0])


def _mean_of(kind, n=400):
    x, _, kinds = load_ekg(n=n, seed=1, return_kinds=True)
    return x[kinds == EKG_KINDS.index(kind), 0]


def test_abnormalities_show_what_the_documentation_says():
    rng = np.random.default_rng(0)
    t = np.arange(100) / ekg_module.FS
    # ST elevation: the segment 40-250 ms after each R peak is raised relative to a normal beat
    from course_lib.data.ekg import _Waves, _normal_beat, _st_segment

    w = _Waves()
    _normal_beat(w, 1.0, 0.8, np.ones(5))
    beat = w.render(t)
    raised = beat + _st_segment(t, np.array([1.0]), 0.25)
    st = (t > 1.06) & (t < 1.2)
    assert (raised[st] - beat[st]).min() > 0.2
    assert abs(raised[t < 0.9] - beat[t < 0.9]).max() < 1e-3
    # PVC windows have a much wider, larger deflection than normal windows
    normal, pvc = _mean_of("normal"), _mean_of("pvc")
    assert np.abs(pvc).max(axis=1).mean() > 1.3 * np.abs(normal).max(axis=1).mean()
    # irregular rhythm: RR intervals vary far more
    regular = ekg_module._beat_times(rng, 0.8, 0.03)
    irregular = ekg_module._beat_times(rng, 0.72, 0.45)
    assert np.diff(irregular).std() > 3 * np.diff(regular).std()


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        (dict(source="ptb-xl"), ValueError, "source: expected one of"),
        (dict(split="dev"), ValueError, "split: expected 'train', 'test' or 'all'"),
        (dict(split="all", n=10), ValueError, "n: split='all' is the fixed 8000 train"),
        (dict(n=0), ValueError, "n: expected a positive int, got 0"),
        (dict(seed=-1), ValueError, "seed: expected a non-negative int"),
        (dict(records="100"), TypeError, "unexpected arguments"),
    ],
)
def test_bad_arguments(kwargs, error, words):
    with pytest.raises(error, match=words):
        load_ekg(**kwargs)


# ------------------------------------------------------------------ MIT-BIH via wfdb


def _write_record(folder, name="900", fs=360, seconds=20):
    """A fake MLII record: spikes at known beats, with N and V annotations plus a rhythm mark."""
    import wfdb

    n = fs * seconds
    signal = np.zeros(n)
    beats = np.arange(fs // 2, n - fs // 4, int(0.8 * fs))
    symbols = ["V" if i % 4 == 3 else "N" for i in range(len(beats))]
    for b, s in zip(beats, symbols):
        width = 0.04 * fs if s == "V" else 0.02 * fs
        signal += (1.5 if s == "V" else 1.0) * np.exp(-0.5 * ((np.arange(n) - b) / width) ** 2)
    wfdb.wrsamp(name, fs=fs, units=["mV"], sig_name=["MLII"], p_signal=signal[:, None], fmt=["212"],
                write_dir=str(folder))  # fmt: skip
    samples = np.concatenate([[5], beats])
    wfdb.wrann(name, "atr", samples, symbol=["+"] + symbols, write_dir=str(folder))
    return beats, symbols


def test_mitbih_windows_from_a_written_record(tmp_path):
    beats, symbols = _write_record(tmp_path)
    x, y, sym = load_ekg("mitbih", records=["900"], data_dir=tmp_path, download=False, return_kinds=True)
    # beats whose 2-s window fits: centre (at 50 Hz) at least 50 samples from both ends
    centres = np.round(beats * 50 / 360).astype(int)
    fits = (centres >= 50) & (centres + 50 <= 20 * 50)
    assert x.shape == (fits.sum(), 1, 100) and x.dtype == np.float32
    expected = np.array([s != "N" for s in symbols])[fits].astype(np.int64)
    np.testing.assert_array_equal(y, expected)
    assert set(sym) == {"N", "V"}  # the rhythm annotation '+' is not a beat
    # every window is centred on its beat: the local peak is at index 50 (+-1 after resampling)
    assert np.all(np.abs(np.argmax(x[:, 0, 40:61], axis=1) - 10) <= 1)
    assert np.all(x[:, 0, 50] > 0.7)
    assert (tmp_path / "900_windows.npz").is_file()


def test_mitbih_cache_is_used(tmp_path, monkeypatch):
    _write_record(tmp_path)
    first = load_ekg("mitbih", records=["900"], data_dir=tmp_path, download=False)

    def fail(*args, **kwargs):
        raise AssertionError("record re-read although cached")

    import wfdb

    monkeypatch.setattr(wfdb, "rdrecord", fail)
    second = load_ekg("mitbih", records=["900"], data_dir=tmp_path, download=False)
    np.testing.assert_array_equal(first[0], second[0])


def test_mitbih_missing_record_offline(tmp_path, monkeypatch):
    with pytest.raises(DataNotFoundError, match=r"missing 100\.hea, 100\.dat, 100\.atr and download=False") as info:
        load_ekg("mitbih", records=["100"], data_dir=tmp_path, download=False)
    assert str(tmp_path) in str(info.value)

    import wfdb

    def offline(*args, **kwargs):
        raise ConnectionError("no network")

    monkeypatch.setattr(wfdb, "dl_database", offline)
    with pytest.raises(DataNotFoundError, match="download failed \\(no network\\)"):
        load_ekg("mitbih", records=["100"], data_dir=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # staging folder removed


def test_mitbih_splits_are_the_interpatient_division():
    assert len(physionet.DS1) == len(physionet.DS2) == 22
    assert not set(physionet.DS1) & set(physionet.DS2)
