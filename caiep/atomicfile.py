"""Atomic file replacement: readers see the old content or the new, never a part of either.

A write goes to a temporary file in the same directory (created mode 0600 by ``mkstemp``, so
nobody else can open it while it is being written), is given its final mode, written, flushed
and fsynced, then renamed over the target with ``os.replace``; the directory entry is fsynced
too, so after a crash the file holds the old content or the new one. The key store writes its
private files through here (mode 0600); settings, the DID document and job reports use the
same writer with a public mode.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Final

#: The default mode: readable and writable by the owner only.
OWNER_ONLY_FILE: Final = 0o600


def write_atomic(path: Path, data: bytes, *, mode: int = OWNER_ONLY_FILE) -> None:
    """Replace ``path`` with ``data`` atomically; the file has ``mode`` (default 0600) from its creation.

    The temporary file is removed if anything fails, and the error is raised unchanged.
    """
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            os.fchmod(handle.fileno(), mode)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    """Persist a rename by syncing the directory entry (a no-op where unsupported)."""
    try:
        descriptor = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:  # pragma: no cover - platforms without directory descriptors
        return
    try:
        os.fsync(descriptor)
    except OSError:  # pragma: no cover - some filesystems refuse fsync on directories
        pass
    finally:
        os.close(descriptor)
