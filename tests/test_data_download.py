"""MNIST "full": downloads from a local http.server, checksums, interruptions, offline errors."""

import errno
import hashlib
import http.server
import socket
import threading

import numpy as np
import pytest

from course_lib.data import download as download_module
from course_lib.data import mnist
from course_lib.data.download import download_file, download_from_mirrors
from course_lib.data.errors import CacheWriteError, ChecksumError, CorruptFileError, DataNotFoundError, DownloadError
from course_lib.data.idx import write_idx


class _Handler(http.server.BaseHTTPRequestHandler):
    files: dict = {}

    def log_message(self, *args):  # keep test output quiet
        pass

    def do_GET(self):
        name = self.path.rsplit("/", 1)[-1]
        cut = self.path.startswith("/cut/")
        body = self.files.get(name)
        if body is None:
            self.send_error(404, "not here")
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if cut:  # send half, then drop the connection
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
        else:
            self.wfile.write(body)


@pytest.fixture()
def server(tmp_path):
    """Serve tiny MNIST-like IDX files on 127.0.0.1; yields (base_url, files, checksums)."""
    rng = np.random.default_rng(1)
    made = {}
    for split, n in (("train", 12), ("t10k", 5)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = (np.arange(n) % 10).astype(np.uint8)
        write_idx(tmp_path / f"{split}-images-idx3-ubyte.gz", images)
        write_idx(tmp_path / f"{split}-labels-idx1-ubyte.gz", labels)
        made[split] = (images, labels)
    files = {p.name: p.read_bytes() for p in tmp_path.glob("*.gz")}
    sums = {name: hashlib.sha256(body).hexdigest() for name, body in files.items()}
    handler = type("Handler", (_Handler,), {"files": files})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/", files, sums, made
    httpd.shutdown()
    httpd.server_close()


def _closed_port_url():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}/"


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_download_verifies_and_lands_atomically(server, tmp_path):
    url, files, sums, _ = server
    dest = tmp_path / "cache" / "t10k-labels-idx1-ubyte.gz"
    download_file(url + dest.name, dest, sums[dest.name], progress=False)
    assert dest.read_bytes() == files[dest.name]
    assert _leftovers(dest.parent) == [dest.name]  # no .part file left behind


def test_checksum_mismatch_leaves_nothing(server, tmp_path):
    url, _, _, _ = server
    dest = tmp_path / "cache" / "t10k-labels-idx1-ubyte.gz"
    with pytest.raises(ChecksumError, match="SHA-256 mismatch: expected 00000") as info:
        download_file(url + dest.name, dest, "0" * 64, progress=False)
    assert "file discarded" in str(info.value)
    assert _leftovers(dest.parent) == []


def test_interrupted_download_leaves_nothing(server, tmp_path):
    url, files, sums, _ = server
    name = "train-images-idx3-ubyte.gz"
    dest = tmp_path / "cache" / name
    with pytest.raises(DownloadError, match=r"interrupted|connection failed|got \d+ of \d+ bytes"):
        download_file(url + "cut/" + name, dest, sums[name], progress=False)
    assert _leftovers(dest.parent) == []


def test_http_error_and_mirror_fallback(server, tmp_path):
    url, files, sums, _ = server
    name = "t10k-labels-idx1-ubyte.gz"
    with pytest.raises(DownloadError, match="HTTP 404"):
        download_file(url + "nothing.gz", tmp_path / "nothing.gz", None, progress=False)
    # first mirror cuts the connection, second is refused, third works
    path = download_from_mirrors(name, [url + "cut/", _closed_port_url(), url], tmp_path / "c", sums[name], progress=False)
    assert path.read_bytes() == files[name]


def test_load_full_downloads_then_reads_from_cache(server, tmp_path, monkeypatch):
    url, files, sums, made = server
    monkeypatch.setenv("COURSE_LIB_DATA", str(tmp_path / "data"))
    x, y = mnist.load_mnist("full", "test", mirrors=[url], checksums=sums, progress=False)
    assert x.shape == (5, 1, 28, 28) and x.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_allclose(x[:, 0] * 255, made["t10k"][0], atol=1e-3)
    np.testing.assert_array_equal(y, made["t10k"][1])
    folder = tmp_path / "data" / "mnist"
    assert _leftovers(folder) == ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
    # second load: no network needed
    x2, _ = mnist.load_mnist("full", "test", mirrors=[_closed_port_url()], checksums=sums, progress=False)
    np.testing.assert_array_equal(x, x2)
    xa, ya = mnist.load_mnist("full", "all", mirrors=[url], checksums=sums, progress=False)
    assert xa.shape[0] == 17 and ya.shape == (17,)


def test_mirrors_from_environment_variable(server, tmp_path, monkeypatch):
    url, _, sums, _ = server
    monkeypatch.setenv("COURSE_LIB_DATA", str(tmp_path / "data"))
    monkeypatch.setenv(mnist.MIRRORS_ENV_VAR, f"{_closed_port_url()}, {url}")
    x, _ = mnist.load_mnist("full", "train", checksums=sums, progress=False)
    assert x.shape == (12, 1, 28, 28)


def test_offline_error_says_where_to_put_the_files(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_LIB_DATA", str(tmp_path / "data"))
    with pytest.raises(DataNotFoundError) as info:
        mnist.load_mnist("full", "test", mirrors=[_closed_port_url()], progress=False)
    message = str(info.value)
    assert str(tmp_path / "data" / "mnist") in message
    assert "t10k-images-idx3-ubyte.gz" in message and "could not connect" in message
    assert isinstance(info.value, FileNotFoundError)
    with pytest.raises(DataNotFoundError, match="download=False"):
        mnist.load_mnist("full", "test", download=False)
    assert _leftovers(tmp_path / "data" / "mnist") == []


def test_wrong_bytes_from_every_mirror_is_a_checksum_error(server, tmp_path, monkeypatch):
    url, _, sums, _ = server
    monkeypatch.setenv("COURSE_LIB_DATA", str(tmp_path / "data"))
    with pytest.raises(ChecksumError, match="no mirror served the expected bytes"):
        mnist.load_mnist("full", "test", mirrors=[url], progress=False)  # official sums, tiny files
    assert _leftovers(tmp_path / "data" / "mnist") == []


def test_damaged_cached_file_is_reported_not_used(server, tmp_path, monkeypatch):
    url, files, sums, _ = server
    folder = tmp_path / "data" / "mnist"
    folder.mkdir(parents=True)
    name = "t10k-images-idx3-ubyte.gz"
    (folder / name).write_bytes(files[name][:-10])
    monkeypatch.setenv("COURSE_LIB_DATA", str(tmp_path / "data"))
    with pytest.raises(ChecksumError, match="delete it and load again"):
        mnist.load_mnist("full", "test", mirrors=[url], checksums=sums, progress=False)
    # a user-unpacked IDX file without checksum is still validated by the parser
    (folder / name).unlink()
    (folder / name[:-3]).write_bytes(b"\x00\x00\x08\x03" + b"\x00\x00\x00\x05" * 3 + b"short")
    with pytest.raises(CorruptFileError, match="truncated IDX file"):
        mnist.load_mnist("full", "test", mirrors=[url], checksums=sums, progress=False)


class _DiskFullFile:
    """Stands in for the ``.part`` file: every write fails as a full disk would."""

    def __init__(self, real):
        self.real = real

    def write(self, block):
        raise OSError(errno.ENOSPC, "No space left on device")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.real.close()


def test_full_disk_is_a_cache_write_error_not_a_network_error(server, tmp_path, monkeypatch):
    url, _, sums, _ = server
    real_fdopen = download_module.os.fdopen
    monkeypatch.setattr(download_module.os, "fdopen", lambda fd, mode: _DiskFullFile(real_fdopen(fd, mode)))
    name = "t10k-labels-idx1-ubyte.gz"
    with pytest.raises(CacheWriteError, match="No space left on device.*COURSE_LIB_DATA") as info:
        download_from_mirrors(name, [url, url], tmp_path / "cache", sums[name], progress=False)
    assert not isinstance(info.value, DownloadError)  # not reported as "connection failed", not retried
    assert _leftovers(tmp_path / "cache") == []


def test_data_folder_that_is_a_file_is_a_cache_write_error(server, tmp_path, monkeypatch):
    url, _, sums, _ = server
    (tmp_path / "data").write_text("not a folder")
    monkeypatch.setenv("COURSE_LIB_DATA", str(tmp_path / "data"))
    with pytest.raises(CacheWriteError, match="could not create the data folder.*COURSE_LIB_DATA"):
        mnist.load_mnist("full", "test", mirrors=[url], checksums=sums, progress=False)
    with pytest.raises(CacheWriteError, match="could not create the data folder.*data_dir="):
        mnist.load_mnist("full", "test", data_dir=tmp_path / "data" / "mnist", mirrors=[url], checksums=sums, progress=False)
    assert (tmp_path / "data").read_text() == "not a folder"
