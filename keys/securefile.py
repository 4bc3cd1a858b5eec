"""Owner-only files for the key store: atomic writes and guarded reads.

A write goes to a temporary file in the same directory (created mode 0600 by ``mkstemp``),
is flushed and fsynced, then renamed over the target with ``os.replace`` and the directory
entry fsynced, so a crash leaves either the old file or the new one, never half of one. A read
refuses symbolic links, non-regular files and files that group or others may access (the
same rule OpenSSH applies to private keys).
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from caiep.errors import KeyMaterialError

OWNER_ONLY_FILE = 0o600
OWNER_ONLY_DIRECTORY = 0o700


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically; the file is mode 0600 from its creation."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            os.fchmod(handle.fileno(), OWNER_ONLY_FILE)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    _fsync_directory(path.parent)


def read_owner_only(path: Path) -> bytes:
    """Read a private file; :class:`~caiep.errors.KeyMaterialError` if it is missing, a
    symbolic link, not a regular file, or accessible to group or others (fix: chmod 600)."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        descriptor = os.open(path, flags)
    except FileNotFoundError as exc:
        raise KeyMaterialError(f"the key file {path} is missing") from exc
    except OSError as exc:
        raise KeyMaterialError(f"the key file {path} cannot be opened (symbolic links are refused)") from exc
    with os.fdopen(descriptor, "rb") as handle:
        status = os.fstat(handle.fileno())
        if not stat.S_ISREG(status.st_mode):
            raise KeyMaterialError(f"the key file {path} is not a regular file")
        if status.st_mode & 0o077:
            raise KeyMaterialError(
                f"the key file {path} is accessible to other users "
                f"(mode {stat.S_IMODE(status.st_mode):o}); run: chmod 600 {path}"
            )
        return handle.read()


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
