"""Download a file safely: temporary file, SHA-256 check, atomic rename.

A failed, interrupted or tampered download never leaves anything at the final path:
bytes go to ``<name>.part-XXXX`` in the same folder, the SHA-256 is checked, and only
then is the file renamed into place (``os.replace`` is atomic on one file system).
"""

from __future__ import annotations

import hashlib
import os
import socket
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterable

from .errors import CacheWriteError, ChecksumError, DownloadError

__all__ = ["sha256_of", "download_file", "download_from_mirrors"]

_CHUNK = 1 << 16


def sha256_of(path: str | Path) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def download_file(url: str, dest: str | Path, sha256: str | None, progress: bool = True, timeout: float = 30.0) -> Path:
    """Fetch ``url`` to ``dest``; verify ``sha256`` (hex) before the file appears at ``dest``.

    Raises ``DownloadError`` for network/HTTP failures and connections cut midway,
    ``ChecksumError`` when the bytes differ from the published digest, and
    ``CacheWriteError`` when the data folder cannot be written (disk full, read-only, not a folder).
    """
    dest = Path(dest)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=dest.name + ".part-", dir=dest.parent)
    except OSError as exc:
        raise _cache_write_error(dest, exc) from exc
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        received = 0
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
                total = response.headers.get("Content-Length")
                total = int(total) if total and total.isdigit() else None
                from tqdm.auto import tqdm

                with tqdm(total=total, unit="B", unit_scale=True, desc=dest.name, disable=not progress, leave=False) as bar:
                    while True:
                        block = response.read(_CHUNK)
                        if not block:
                            break
                        try:
                            out.write(block)
                        except OSError as exc:
                            raise _cache_write_error(dest, exc) from exc
                        digest.update(block)
                        received += len(block)
                        bar.update(len(block))
        except CacheWriteError:
            raise
        except urllib.error.HTTPError as exc:
            raise DownloadError(f"{url}: HTTP {exc.code} {exc.reason}") from exc
        except urllib.error.URLError as exc:
            raise DownloadError(f"{url}: could not connect ({exc.reason})") from exc
        except (OSError, socket.timeout, ConnectionError) as exc:
            # http.client.IncompleteRead is an HTTPException, handled below
            raise DownloadError(f"{url}: connection failed after {received} bytes ({exc})") from exc
        except Exception as exc:  # http.client.IncompleteRead and friends
            import http.client

            if isinstance(exc, http.client.HTTPException):
                raise DownloadError(f"{url}: download interrupted after {received} bytes ({exc!r})") from exc
            raise
        if total is not None and received != total:
            raise DownloadError(f"{url}: download interrupted: got {received} of {total} bytes")
        actual = digest.hexdigest()
        if sha256 is not None and actual != sha256.lower():
            raise ChecksumError(
                f"{url}: SHA-256 mismatch: expected {sha256}, got {actual} ({received} bytes); file discarded"
            )
        os.replace(tmp, dest)
        return dest
    finally:
        if tmp.exists():
            tmp.unlink()


def _cache_write_error(dest: Path, exc: OSError) -> CacheWriteError:
    """A write failure in the data folder, told apart from a network failure."""
    reason = exc.strerror or str(exc)
    return CacheWriteError(
        f"{dest.parent}: could not write {dest.name} ({reason}); free some disk space there or set "
        "COURSE_LIB_DATA to a writable folder, then load again"
    )


def download_from_mirrors(
    filename: str, mirrors: Iterable[str], dest_dir: str | Path, sha256: str | None, progress: bool = True, timeout: float = 30.0
) -> Path:
    """Try ``mirror + filename`` for each mirror in turn; return the verified local path.

    If every mirror fails, raise the most telling error: ``ChecksumError`` if any
    mirror served wrong bytes, otherwise ``DownloadError``; the message lists every attempt.
    """
    failures: list[Exception] = []
    for mirror in mirrors:
        url = mirror if mirror.endswith(filename) else mirror.rstrip("/") + "/" + filename
        try:
            return download_file(url, Path(dest_dir) / filename, sha256, progress=progress, timeout=timeout)
        except (DownloadError, ChecksumError) as exc:
            failures.append(exc)
    if not failures:
        raise DownloadError(f"{filename}: no mirrors given to download from")
    summary = "; ".join(str(f) for f in failures)
    if any(isinstance(f, ChecksumError) for f in failures):
        raise ChecksumError(f"{filename}: no mirror served the expected bytes: {summary}")
    raise DownloadError(f"{filename}: every mirror failed: {summary}")
