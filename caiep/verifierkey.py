"""The verification service's own key, which signs receipts (never charters).

Layout in the instance directory::

    verifier-keys/            a key store like keys/ (0700): keys.json (public index, history)
                              and one encrypted PKCS#8 file per key (0600)
    verifier-key.passphrase   the store's passphrase: a random 256-bit secret made here (0600)

The web app opens this store at start with that secret, never with the issuer's passphrase:
stealing it could forge receipts, never charters. ``verifier_key_passphrase_file`` moves the
secret elsewhere (a systemd credential, a container secret), checked as the SMTP password file
is. ``caiep init`` makes the key; ``caiep db upgrade`` makes it for an instance that predates
receipts; ``caiep verifier-key rotate`` adds a new one and keeps the old in the DID document,
whose ``assertionMethod`` lists every key ever used, so earlier receipts keep verifying.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from pathlib import Path
from typing import Any

from caiep.errors import ConfigurationError
from caiep.filemodes import PRIVATE_FILE, check_secret_file
from caiep.keys.did import build_controller_document
from caiep.keys.store import INDEX_FILE, MACHINE_SECRET_SCRYPT_PARAMETERS, KeyRecord, KeyStore
from caiep.settings import Configuration, write_atomic
from caiep.verifier.receipts import ReceiptIssuer, verifier_did

VERIFIER_KEYS_DIR = "verifier-keys"
PASSPHRASE_FILE = "verifier-key.passphrase"  # noqa: S105 - the file's name, not a secret


def passphrase_path(configuration: Configuration) -> Path:
    """Where the verifier key's passphrase is: the setting, else the file in the instance."""
    return configuration.get("verifier_key_passphrase_file", Path) or configuration.home / PASSPHRASE_FILE


def has_verifier_key(home: Path) -> bool:
    """True when the instance has the verification service's key store."""
    return (home / VERIFIER_KEYS_DIR / INDEX_FILE).exists()


def create_verifier_key(configuration: Configuration, *, now: datetime) -> KeyRecord | None:
    """Make the verifier key (and its passphrase file, unless one is configured and there);
    None, with nothing changed, when the instance has one already."""
    home = configuration.home
    if has_verifier_key(home):
        return None
    path = passphrase_path(configuration)
    if path.exists():
        passphrase = read_verifier_passphrase(configuration)
    elif configuration.get("verifier_key_passphrase_file", Path) is not None:
        raise ConfigurationError(
            f"{configuration.origin('verifier_key_passphrase_file')}: {path} does not exist; "
            "put a random secret of 32 characters or more in it, or unset it"
        )
    else:
        passphrase = secrets.token_urlsafe(32)
        write_atomic(path, passphrase + "\n", PRIVATE_FILE)
    store = KeyStore.initialize(
        home / VERIFIER_KEYS_DIR, passphrase, now=now, cost=MACHINE_SECRET_SCRYPT_PARAMETERS
    )
    return store.current()


def read_verifier_passphrase(configuration: Configuration) -> str:
    """The first line of the passphrase file, which must be private (or a read-only secret)."""
    path = passphrase_path(configuration)
    shown = f"the verifier key's passphrase file {path}"
    try:
        check_secret_file(path)
        content = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigurationError(f"{shown} does not exist; 'caiep db upgrade' makes it") from None
    except (OSError, UnicodeDecodeError):
        raise ConfigurationError(f"{shown} cannot be read as UTF-8 text") from None  # never quote it
    first = content.splitlines()[0] if content else ""
    if not first:
        raise ConfigurationError(f"{shown} is empty")
    return first


def open_verifier_keys(configuration: Configuration) -> KeyStore:
    """The verifier's key store (public index only; nothing is decrypted)."""
    if not has_verifier_key(configuration.home):
        raise ConfigurationError(
            f"{configuration.home} has no verifier key (it predates receipts): run 'caiep db upgrade'"
        )
    return KeyStore.open(configuration.home / VERIFIER_KEYS_DIR)


def rotate_verifier_key(configuration: Configuration, *, now: datetime) -> KeyRecord:
    """Make a new current verifier key; the old one stays in the DID document's history."""
    store = open_verifier_keys(configuration)
    return store.rotate(
        read_verifier_passphrase(configuration), now=now, cost=MACHINE_SECRET_SCRYPT_PARAMETERS
    )


def verifier_did_document(configuration: Configuration) -> dict[str, Any]:
    """The verification service's DID document: every key it ever signed with, the newest for
    ``authentication``; published at ``<issuer_url>/verifier/did.json``."""
    store = open_verifier_keys(configuration)
    did = verifier_did(configuration.identity().issuer_url)
    return build_controller_document(did, store.public_keys(), current=store.current().public_key)


def load_receipt_issuer(configuration: Configuration) -> ReceiptIssuer:
    """The receipt signer of the instance, its current key decrypted with the verifier's secret."""
    store = open_verifier_keys(configuration)
    key = store.load_signing_key(read_verifier_passphrase(configuration))
    settings = configuration.identity()
    return ReceiptIssuer(
        service_url=settings.issuer_url.rstrip("/"),
        name=f"{settings.issuer_name} verification service",
        key=key,
    )
