"""Exceptions raised by the data loaders: each says what went wrong and what to do."""

from __future__ import annotations

__all__ = ["DataError", "CorruptFileError", "ChecksumError", "DownloadError", "DataNotFoundError", "CacheWriteError"]


class DataError(Exception):
    """Base class of every data-loading problem in ``course_lib.data``."""


class CorruptFileError(DataError, ValueError):
    """A file on disk is truncated or is not in the format it claims to be."""


class ChecksumError(DataError, ValueError):
    """A downloaded or cached file's SHA-256 differs from the published one."""


class DownloadError(DataError, ConnectionError):
    """A download failed (no network, HTTP error, connection cut midway)."""


class DataNotFoundError(DataError, FileNotFoundError):
    """Files are missing and could not be fetched; the message says where to put them."""


class CacheWriteError(DataError, OSError):
    """The data folder could not be written (disk full, read-only, not a folder); nothing partial is left."""
