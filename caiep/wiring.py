"""Builds the issuer's pieces (profile, key store, DID document, registry) from an instance directory."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from caiep.errors import ConfigurationError
from caiep.filemodes import PRIVATE_DIRECTORY, PRIVATE_FILE, check_not_writable_by_others, check_private
from caiep.issuer.charter import IssuerProfile
from caiep.issuer.database import head_revision, parse_url
from caiep.issuer.jobs import Signer
from caiep.issuer.registry import Registry, open_registry, upgrade_database
from caiep.keys.did import (
    build_controller_document,
    did_key_for,
    did_web_for_url,
    resolve_did_key,
    verification_method_id,
)
from caiep.keys.store import KeyStore
from caiep.settings import Configuration, Settings, read_configuration, save_settings, write_atomic
from caiep.verifierkey import create_verifier_key

DID_FILE = "did.json"
KEYS_DIR = "keys"


def init_instance(
    home: Path, *, issuer_name: str, issuer_url: str, did_method: str, passphrase: str, now: datetime
) -> Settings:
    """Create an instance: settings, the first encrypted key, the DID document, the verification
    service's own key for receipts (:mod:`caiep.verifierkey`; the registry's
    schema is :func:`upgrade_configured_database`'s, which ``caiep init`` runs next).

    The directory is made (or tightened to) mode 0700 and every file 0600. Hold
    :func:`init_lock` around this and the registry's creation: of several ``caiep init`` at
    once on one directory, one makes the instance and the others change nothing.
    """
    if did_method not in ("web", "key"):
        raise ConfigurationError(f"--did must be 'web' or 'key', not {did_method!r}")
    if (home / "settings.json").exists():
        raise ConfigurationError(f"{home} is already an instance directory")
    home.mkdir(mode=PRIVATE_DIRECTORY, parents=True, exist_ok=True)
    check_not_writable_by_others(home)  # the owner check: another user's directory is not tightened
    os.chmod(home, PRIVATE_DIRECTORY)
    store = KeyStore.initialize(home / KEYS_DIR, passphrase, now=now)
    first = store.current().public_key
    issuer_id = did_web_for_url(issuer_url) if did_method == "web" else did_key_for(first)
    settings = Settings(
        issuer_name=issuer_name, issuer_url=issuer_url, did_method=did_method, issuer_id=issuer_id
    )
    save_settings(home, settings)
    write_did_document(home, settings, store)

    create_verifier_key(read_configuration(home), now=now)
    return settings


@contextlib.contextmanager
def init_lock(home: Path) -> Iterator[None]:
    """Hold the instance directory's exclusive lock (made 0700 if missing) while an instance is made.

    The lock is the kernel's (``flock`` on the directory itself), so it leaves no file behind and
    dies with its process. Another holder is a ConfigurationError at once, before anything is
    changed: two ``caiep init`` never both write keys or settings into one directory.
    """
    try:
        home.mkdir(mode=PRIVATE_DIRECTORY, parents=True, exist_ok=True)
        descriptor = os.open(home, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError as exc:
        raise ConfigurationError(f"cannot create the instance directory {home} ({exc.strerror})") from exc
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConfigurationError(
                f"another 'caiep init' is creating an instance in {home}; nothing was changed"
            ) from None
        yield
    finally:
        os.close(descriptor)  # releases the lock


def did_document(settings: Settings, store: KeyStore) -> dict[str, Any]:
    """The issuer's DID document: every key it has used, the current one included."""
    if settings.did_method == "key":
        return resolve_did_key(settings.issuer_id)
    return build_controller_document(
        settings.issuer_id, store.public_keys(), current=store.current().public_key
    )


def write_did_document(home: Path, settings: Settings, store: KeyStore) -> None:
    """Write the issuer's DID document to the instance's did.json (to publish for did:web)."""
    write_atomic(home / DID_FILE, json.dumps(did_document(settings, store), indent=2) + "\n")


class Instance:
    """An opened instance directory; ``configuration`` is read from it unless given."""

    def __init__(self, home: Path, configuration: Configuration | None = None) -> None:
        """Open the instance; a ConfigurationError when it is not one, or when another user owns
        or may write its directory, settings, key index or DID document, or may read its keys."""
        check_not_writable_by_others(home)
        self.home = home
        self.configuration = configuration or read_configuration(home)
        self.settings = self.configuration.identity()
        self.keys = KeyStore.open(home / KEYS_DIR)
        check_not_writable_by_others(home / DID_FILE)

    @property
    def profile(self) -> IssuerProfile:
        """The issuer as its credentials name it."""
        s = self.settings
        return IssuerProfile(id=s.issuer_id, name=s.issuer_name, url=s.issuer_url, base_url=s.issuer_url)

    def verification_method(self) -> str:
        """The verification method id of the current signing key."""
        current = self.keys.current().public_key
        if self.settings.did_method == "key" and did_key_for(current) != self.settings.issuer_id:
            raise ConfigurationError("a did:key issuer cannot sign with a key other than its own")
        return verification_method_id(self.settings.issuer_id, current)

    def registry(self) -> Registry:
        """The opened registry (``database_url``); use it as ``with instance.registry() as r:``."""
        return open_database(self.configuration.database_url, database_origin(self.configuration))

    def signer(self, passphrase: str, *, format: str = "ldp") -> Signer:
        """The current key, decrypted, ready to sign in this process and its forked workers."""
        record = self.keys.current()
        return Signer(
            profile=self.profile,
            key=self.keys.load_signing_key(passphrase, record.key_id),
            verification_method=self.verification_method(),
            key_id=record.key_id,
            format=format,
            status_ttl_ms=self.configuration.require("status_list_ttl_ms", int),
        )


def open_database(url: str, origin: str) -> Registry:
    """The registry at ``url``; a failure is one line naming ``origin``, the setting it came from.

    A SQLite file (and its -wal and -shm files) that another user owns or may read is refused:
    it holds the holders' names and e-mail addresses, and whoever may write it chooses what
    the issuer signs.
    """
    for path in _sqlite_files(url):
        check_private(path)
    try:
        return open_registry(url)
    except ConfigurationError as exc:
        raise _naming(origin, exc) from exc


def upgrade_configured_database(configuration: Configuration) -> str | None:
    """Apply the registry's migrations to the configured database; the revision reached."""
    origin = database_origin(configuration)
    database = _sqlite_file(configuration.database_url)
    if database is not None and database.parent.is_dir():
        with contextlib.suppress(FileExistsError):  # SQLite would make it 0644; its -wal/-shm copy its mode
            os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))
    try:
        upgrade_database(configuration.database_url)
    except ConfigurationError as exc:
        raise _naming(origin, exc) from exc
    with open_database(configuration.database_url, origin):  # opens only at this version's head
        return head_revision()


def database_origin(configuration: Configuration) -> str:
    """Where the database URL came from, as error messages name it."""
    value = configuration.values["database_url"]
    return value.origin if value.source != "default" else "database_url (default: SQLite in the instance)"


def _naming(origin: str, exc: ConfigurationError) -> ConfigurationError:
    first_line = (exc.message.strip().splitlines() or ["cannot open the database"])[0]
    return ConfigurationError(f"{origin}: {first_line}")


def _sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL; None for another database, SQLite in memory, or a bad URL (which
    opening the registry reports, naming its setting)."""
    try:
        parsed = parse_url(url)
    except ConfigurationError:
        return None
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database.startswith((":memory:", "file:")):
        return None
    return Path(database)


def _sqlite_files(url: str) -> list[Path]:
    """The SQLite file of ``url`` and its write-ahead log and shared-memory files."""
    database = _sqlite_file(url)
    if database is None:
        return []
    return [database, database.with_name(database.name + "-wal"), database.with_name(database.name + "-shm")]
