"""Who may touch an instance's files: owner-only modes when created, and checks at every start.

An instance holds the issuer's private keys, the holders' names and e-mail addresses, and the
files that decide what the issuer signs and publishes (the key index, settings, the DID
document). Everything is created owner-only: directories 0700, files 0600. At every start the
CLI and the web service check, as OpenSSH does for its key files, that

- no file or directory they trust is owned by another user (root excepted) or writable by
  group or others: anyone who may write the key index could add a key the issuer then signs
  with and publishes;
- no private file (a signing key, the SQLite registry and its -wal/-shm files) is readable by
  group or others.

A refusal is a one-line :class:`~caiep.errors.ConfigurationError` naming the file and giving the
``chmod`` that fixes it. A path that does not exist is not checked here: whoever reads it says so.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Final

from caiep.errors import ConfigurationError

#: Directories of an instance: the instance itself, keys/, jobs/.
PRIVATE_DIRECTORY: Final = 0o700
#: Files of an instance: keys, the key index, settings, the DID document, the database, reports.
PRIVATE_FILE: Final = 0o600

_GROUP_OR_OTHERS_WRITE = stat.S_IWGRP | stat.S_IWOTH
_GROUP_OR_OTHERS_ANY = 0o077


def check_not_writable_by_others(path: Path) -> None:
    """Refuse ``path`` if another user owns it or group or others may write it (fix: chmod go-w).

    For the files an instance trusts but need not hide: the key index, settings.json, did.json,
    and the directories that hold them.
    """
    _check(path, _GROUP_OR_OTHERS_WRITE, "writable by other users", f"chmod go-w {path}")


def check_private(path: Path) -> None:
    """Refuse ``path`` if another user owns it or group or others may read or write it (fix: chmod 600).

    For private files: signing keys, and the registry database with its side files.
    """
    _check(path, _GROUP_OR_OTHERS_ANY, "open to other users", f"chmod 600 {path}")


#: Where container and service managers mount secrets read-only: Docker and Podman secrets
#: (``/run/secrets``, mode 0444, owned by root) and systemd's ``LoadCredential=``
#: (``$CREDENTIALS_DIRECTORY``). A file there was put by the operator for this service.
SECRET_MOUNTS: Final = (Path("/run/secrets"),)


def check_secret_file(path: Path) -> None:
    """Refuse a file holding a password unless it is private (as :func:`check_private`), or is a
    secret mounted read-only by the container or service manager (in :data:`SECRET_MOUNTS` or
    ``$CREDENTIALS_DIRECTORY``): owned by root or this user, and writable by no one else.

    Docker secrets are 0444 files owned by root: in a container of one user, readable by
    everyone is readable by the service alone. Elsewhere, a password readable by other
    users is refused as a key file would be.
    """
    if _in_secret_mount(path):
        _check(path, _GROUP_OR_OTHERS_WRITE, "writable by other users", f"chmod go-w {path}")
    else:
        check_private(path)


def _in_secret_mount(path: Path) -> bool:
    mounts = list(SECRET_MOUNTS)
    credentials = os.environ.get("CREDENTIALS_DIRECTORY")
    if credentials:
        mounts.append(Path(credentials))
    try:
        resolved = path.resolve(strict=True)
    except OSError:
        return False  # whoever reads it says it does not exist
    for mount in mounts:
        try:
            if resolved.is_relative_to(mount.resolve(strict=True)):
                return True
        except OSError:
            continue
    return False


def is_trusted_owner(uid: int) -> bool:
    """True for files of the user running caiep, or of root (who could change them anyway)."""
    return uid in (os.geteuid(), 0)


def _check(path: Path, forbidden: int, problem: str, fix: str) -> None:
    try:
        status = os.stat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise ConfigurationError(f"{path} cannot be examined ({exc.strerror})") from exc
    if not is_trusted_owner(status.st_uid):
        raise ConfigurationError(
            f"{path} is owned by another user (uid {status.st_uid}); run caiep as that user, "
            f"or take it over: chown {os.geteuid()} {path}"
        )
    mode = stat.S_IMODE(status.st_mode)
    if mode & forbidden:
        raise ConfigurationError(f"{path} is {problem} (mode {mode:04o}); run: {fix}")
