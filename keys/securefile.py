"""Owner-only files for the key store: atomic writes and guarded reads.

A write goes through the product's atomic writer (:mod:`caiep.atomicfile`) with mode 0600:
a temporary file in the same directory, created 0600, flushed and fsynced, then renamed over
the target and the directory entry fsynced, so a crash leaves either the old file or the new
one, never half of one. A read
refuses symbolic links, non-regular files and files that group or others may access (the
same rule OpenSSH applies to private keys).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from caiep.atomicfile import OWNER_ONLY_FILE
from caiep.atomicfile import write_atomic as write_atomic_file
from caiep.errors import KeyMaterialError

__all__ = ["OWNER_ONLY_DIRECTORY", "OWNER_ONLY_FILE", "read_owner_only", "write_atomic"]

OWNER_ONLY_DIRECTORY = 0o700


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically; the file is mode 0600 from its creation.

    The product's one atomic writer (:func:`caiep.atomicfile.write_atomic`) with the key
    store's mode: temporary file created 0600, fsynced, renamed, directory fsynced.
    """
    write_atomic_file(path, data, mode=OWNER_ONLY_FILE)


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
