"""Builds the issuer's pieces (profile, key store, DID document) from an instance directory."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from caiep.errors import ConfigurationError
from caiep.issuer.charter import IssuerProfile
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
from caiep.settings import Settings, database_url, load_settings, save_settings, write_atomic
from caiep.verifier.fetch import CachingFetcher, Fetcher, HttpFetcher

DID_FILE = "did.json"
KEYS_DIR = "keys"


def init_instance(
    home: Path, *, issuer_name: str, issuer_url: str, did_method: str, passphrase: str, now: datetime
) -> Settings:
    """Create an instance: settings, the first encrypted key, the DID document, the registry."""
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
    upgrade_database(database_url(home))
    return settings


def did_document(settings: Settings, store: KeyStore) -> dict[str, Any]:
    """The issuer's DID document: every key it has used, the current one included."""
    if settings.did_method == "key":
        return resolve_did_key(settings.issuer_id)
    return build_controller_document(
        settings.issuer_id, store.public_keys(), current=store.current().public_key
    )


def write_did_document(home: Path, settings: Settings, store: KeyStore) -> None:
    write_atomic(home / DID_FILE, json.dumps(did_document(settings, store), indent=2) + "\n")


class Instance:
    """An opened instance directory."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.settings = load_settings(home)
        self.keys = KeyStore.open(home / KEYS_DIR)

    @property
    def profile(self) -> IssuerProfile:
        s = self.settings
        return IssuerProfile(id=s.issuer_id, name=s.issuer_name, url=s.issuer_url, base_url=s.issuer_url)

    def verification_method(self) -> str:
        """The verification method id of the current signing key."""
        current = self.keys.current().public_key
        if self.settings.did_method == "key" and did_key_for(current) != self.settings.issuer_id:
            raise ConfigurationError("a did:key issuer cannot sign with a key other than its own")
        return verification_method_id(self.settings.issuer_id, current)

    def registry(self) -> Registry:
        """The registry (SQLite in the instance unless $CAIEP_DATABASE_URL says otherwise)."""
        return open_registry(database_url(self.home))

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


def make_fetcher(*, allow_http_base: str | None) -> Fetcher:
    """The verifier's network access: HTTPS only, SSRF-guarded, cached; loopback only when mapped."""
    return CachingFetcher(HttpFetcher(allow_http_base=allow_http_base))
