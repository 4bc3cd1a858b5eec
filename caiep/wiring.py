"""Builds the issuer's pieces (profile, key store, DID document, registry) from an instance directory."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from caiep.errors import ConfigurationError
from caiep.issuer.charter import IssuerProfile
from caiep.issuer.database import head_revision
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

DID_FILE = "did.json"
KEYS_DIR = "keys"


def init_instance(
    home: Path, *, issuer_name: str, issuer_url: str, did_method: str, passphrase: str, now: datetime
) -> Settings:
    """Create an instance: settings, the first encrypted key, the DID document (the registry's
    schema is :func:`upgrade_configured_database`'s, which ``caiep init`` runs next)."""
    if (home / "settings.json").exists():
        raise ConfigurationError(f"{home} is already an instance directory")
    if did_method not in ("web", "key"):
        raise ConfigurationError(f"--did must be 'web' or 'key', not {did_method!r}")
    home.mkdir(parents=True, exist_ok=True)
    store = KeyStore.initialize(home / KEYS_DIR, passphrase, now=now)
    first = store.current().public_key
    issuer_id = did_web_for_url(issuer_url) if did_method == "web" else did_key_for(first)
    settings = Settings(
        issuer_name=issuer_name, issuer_url=issuer_url, did_method=did_method, issuer_id=issuer_id
    )
    save_settings(home, settings)
    write_did_document(home, settings, store)
    return settings


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
        self.home = home
        self.configuration = configuration or read_configuration(home)
        self.settings = self.configuration.identity()
        self.keys = KeyStore.open(home / KEYS_DIR)

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
        )


def open_database(url: str, origin: str) -> Registry:
    """The registry at ``url``; a failure is one line naming ``origin``, the setting it came from."""
    try:
        return open_registry(url)
    except ConfigurationError as exc:
        raise _naming(origin, exc) from exc


def upgrade_configured_database(configuration: Configuration) -> str | None:
    """Apply the registry's migrations to the configured database; the revision reached."""
    origin = database_origin(configuration)
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
