"""Files meetbridge writes are its own: folders 0700, files 0600. The data folder holds the
SQLite database (encrypted tokens, hashed sessions, e-mail bodies), the job queue and the
outbox; nobody else on the machine needs to read them."""

from __future__ import annotations

import os
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """Creates `path` (and its parents) if missing; the folder itself is made 0700."""
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    os.chmod(path, DIR_MODE)  # mkdir's mode is filtered by the umask; an older folder too
    return path


def private_file(path: Path) -> Path:
    """Creates `path` empty if missing, and makes it 0600 (before SQLite or anyone opens it:
    SQLite gives its -wal and -shm files the database file's mode)."""
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE)
    os.close(fd)
    os.chmod(path, FILE_MODE)
    return path


def write_private(path: Path, data: bytes) -> None:
    """Writes `data` to `path` atomically (a temporary file renamed over it), mode 0600."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    os.fchmod(fd, FILE_MODE)  # a leftover temporary file keeps its own mode otherwise
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    tmp.replace(path)
