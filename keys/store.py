"""The issuer's encrypted key store: one directory, one file per key, a public index.

Layout of the directory (the instance's ``keys/`` folder, mode 0700)::

    keys.json        the index: for each key its id (publicKeyMultibase), creation and
                     retirement times, file name and scrypt salt. Public data only.
    z6Mk….pem        one encrypted PKCS#8 private key per key, mode 0600

Rotation appends a new key and marks the previous one retired; nothing is deleted, so the
controller document keeps listing every key and old credentials keep verifying (the newest
key signs, all verify). Every file is written atomically (:mod:`keys.securefile`).

The passphrase is stretched with scrypt (RFC 7914; N=2¹⁷, r=8, p=1, a random 16-byte salt per
key, kept in the index) and the result is the PEM password. The stretch is needed because
cryptography's ``BestAvailableEncryption`` derives its AES key with only 2,048 PBKDF2 rounds.
Passphrases arrive as parameters; nothing here reads the environment, prompts, prints or logs.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from caiep.errors import CaiepError, ConfigurationError, InputError, KeyMaterialError, PassphraseError
from caiep.filemodes import check_not_writable_by_others, check_private
from caiep.keys.base64url import b64url_decode, b64url_encode
from caiep.keys.ed25519 import PublicKey, SigningKey
from caiep.keys.securefile import OWNER_ONLY_DIRECTORY, read_owner_only, write_atomic

INDEX_FILE = "keys.json"
INDEX_FORMAT = "caiep-keystore/1"
MIN_PASSPHRASE_LENGTH = 12
SCRYPT_PARAMETERS = {"n": 2**17, "r": 8, "p": 1}
"""scrypt cost for new keys: 128 MiB and ~0.35 s per derivation (RFC 7914 §2)."""
MACHINE_SECRET_SCRYPT_PARAMETERS = {"n": 2**14, "r": 8, "p": 1}
"""scrypt cost for a store whose passphrase is a random 256-bit secret made by the machine, not
a person's passphrase: nothing is left to stretch, so the least cost the index accepts."""
_SALT_BYTES = 16


@dataclass(frozen=True)
class KeyRecord:
    """Public facts about one stored key; ``file`` is its name inside the store directory."""

    key_id: str
    public_key: PublicKey
    created: datetime
    retired: datetime | None
    file: str


@dataclass(frozen=True)
class _Entry:
    """An index row: the public record plus the scrypt parameters of its PEM password."""

    record: KeyRecord
    kdf: dict[str, Any]


class KeyStore:
    """The issuer's keys in a directory. Create with :meth:`initialize`, then :meth:`open`.

    Reading records needs no passphrase; :meth:`load_signing_key` and :meth:`rotate` do.
    """

    def __init__(self, directory: Path, entries: list[_Entry]) -> None:
        """Use :meth:`initialize` or :meth:`open`; this constructor trusts its arguments."""
        self._directory = directory
        self._entries = entries

    def __repr__(self) -> str:
        return f"KeyStore({str(self._directory)!r}, keys={len(self._entries)})"

    @property
    def directory(self) -> Path:
        """The store's directory."""
        return self._directory

    @classmethod
    def initialize(
        cls, directory: Path, passphrase: str, *, now: datetime, cost: dict[str, int] | None = None
    ) -> KeyStore:
        """Create a store in ``directory`` (mode 0700) holding one new key, created at ``now``;
        ``cost`` is the scrypt cost of its keys (:data:`SCRYPT_PARAMETERS` unless given).

        Raises :class:`~caiep.errors.ConfigurationError` when a store (an index or any key
        file) already exists there, or when the passphrase is shorter than 12 characters.
        """
        _check_new_passphrase(passphrase)
        _check_now(now)
        if (directory / INDEX_FILE).exists() or (directory.is_dir() and any(directory.glob("*.pem"))):
            raise ConfigurationError(f"a key store already exists in {directory}; it is never overwritten")
        try:
            directory.mkdir(mode=OWNER_ONLY_DIRECTORY, parents=True, exist_ok=True)
            os.chmod(directory, OWNER_ONLY_DIRECTORY)
        except OSError as exc:
            raise ConfigurationError(f"cannot create the key store directory {directory}") from exc
        store = cls(directory, [])
        store._add_key(SigningKey.generate(), passphrase, now, cost=cost or SCRYPT_PARAMETERS)
        return store

    @classmethod
    def open(cls, directory: Path) -> KeyStore:
        """Open an existing store; :class:`~caiep.errors.ConfigurationError` if its index is
        missing or corrupt, or its files are not the owner's alone.

        The directory and the index must not be writable by other users (whoever may write
        the index chooses the key the issuer signs with), and no key file may be readable by
        them; each refusal names the file and the ``chmod`` that fixes it.
        """
        path = directory / INDEX_FILE
        check_not_writable_by_others(directory)
        check_not_writable_by_others(path)
        try:
            document = json.loads(path.read_bytes())
        except FileNotFoundError as exc:
            raise ConfigurationError(f"no key store in {directory}: {INDEX_FILE} is missing") from exc
        except (OSError, ValueError) as exc:
            raise ConfigurationError(f"the key store index {path} cannot be read as JSON") from exc
        try:
            entries = _parse_index(document)
        except (CaiepError, AttributeError, KeyError, TypeError, ValueError) as exc:
            raise ConfigurationError(f"the key store index {path} is corrupt") from exc
        for entry in entries:
            check_private(directory / entry.record.file)
        return cls(directory, entries)

    def records(self) -> list[KeyRecord]:
        """Every key ever used, oldest first; the last one is current."""
        return [entry.record for entry in self._entries]

    def current(self) -> KeyRecord:
        """The key that signs new credentials."""
        return self._entries[-1].record

    def public_keys(self) -> list[PublicKey]:
        """Every public key, oldest first, as :func:`keys.did.build_controller_document` wants."""
        return [entry.record.public_key for entry in self._entries]

    def load_signing_key(self, passphrase: str, key_id: str | None = None) -> SigningKey:
        """Decrypt the current key (or the one with ``key_id``) for signing.

        Raises :class:`~caiep.errors.PassphraseError` for a wrong passphrase and
        :class:`~caiep.errors.KeyMaterialError` for an unknown key id, a missing or damaged
        file, a file group or others can read (fix with ``chmod 600``), or a file whose key
        does not match its index entry.
        """
        entry = self._entry(key_id)
        record = entry.record
        pem = read_owner_only(self._directory / record.file)
        if len(passphrase) < MIN_PASSPHRASE_LENGTH:
            raise PassphraseError(f"the passphrase does not open key {record.key_id}")
        try:
            key = SigningKey.from_encrypted_pkcs8(pem, _stretch(passphrase, entry.kdf))
        except PassphraseError as exc:
            raise PassphraseError(f"the passphrase does not open key {record.key_id}") from exc
        if key.public_key != record.public_key:
            raise KeyMaterialError(f"the key file {record.file} does not hold key {record.key_id}")
        return key

    def rotate(self, passphrase: str, *, now: datetime, cost: dict[str, int] | None = None) -> KeyRecord:
        """Make a new current key, created at ``now``; retire the previous one at ``now``.

        The passphrase must open the current key first (so a typo cannot leave keys under
        two passphrases); the new key is encrypted under it (``cost`` as for
        :meth:`initialize`). Retired keys stay listed.
        Raises :class:`~caiep.errors.InputError` when ``now`` precedes the current key.
        """
        _check_now(now)
        previous = self.current()
        if now < previous.created:
            raise InputError("rotation time precedes the current key's creation", source="now")
        self.load_signing_key(passphrase)
        retired = replace(self._entries[-1], record=replace(previous, retired=now.astimezone(UTC)))
        return self._add_key(
            SigningKey.generate(), passphrase, now, cost=cost or SCRYPT_PARAMETERS, retire=retired
        )

    def _entry(self, key_id: str | None) -> _Entry:
        """The entry for ``key_id``, or the current one."""
        if key_id is None:
            return self._entries[-1]
        for entry in self._entries:
            if entry.record.key_id == key_id:
                return entry
        raise KeyMaterialError(f"the key store has no key {key_id}")

    def _add_key(
        self,
        key: SigningKey,
        passphrase: str,
        now: datetime,
        *,
        cost: dict[str, int],
        retire: _Entry | None = None,
    ) -> KeyRecord:
        """Write ``key`` encrypted, then commit the index (the index write is the commit)."""
        kdf = {"name": "scrypt", "salt": b64url_encode(secrets.token_bytes(_SALT_BYTES)), **cost}
        record = KeyRecord(
            key_id=key.public_key.multibase,
            public_key=key.public_key,
            created=now.astimezone(UTC),
            retired=None,
            file=f"{key.public_key.multibase}.pem",
        )
        write_atomic(self._directory / record.file, key.to_encrypted_pkcs8(_stretch(passphrase, kdf)))
        entries = [*self._entries[:-1], retire] if retire is not None else list(self._entries)
        entries.append(_Entry(record, kdf))
        write_atomic(self._directory / INDEX_FILE, _dump_index(entries))
        self._entries = entries
        return record


def _check_new_passphrase(passphrase: str) -> None:
    """Apply the passphrase rule to a passphrase that is about to protect keys."""
    if not isinstance(passphrase, str) or len(passphrase) < MIN_PASSPHRASE_LENGTH:
        raise ConfigurationError(
            f"the key store passphrase must be at least {MIN_PASSPHRASE_LENGTH} characters long; "
            "a few unrelated words make a good one"
        )


def _check_now(now: datetime) -> None:
    """Refuse a naive time: stored times are UTC instants."""
    if not isinstance(now, datetime) or now.utcoffset() is None:
        raise InputError("now must be a timezone-aware datetime", source="now")


def _stretch(passphrase: str, kdf: dict[str, Any]) -> bytes:
    """The PEM password for a key: scrypt(passphrase, salt) as base64url ASCII."""
    derived = Scrypt(salt=b64url_decode(kdf["salt"]), length=32, n=kdf["n"], r=kdf["r"], p=kdf["p"]).derive(
        passphrase.encode("utf-8")
    )
    return b64url_encode(derived).encode("ascii")


def _format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _parse_time(text: Any) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.utcoffset() is None:
        raise ValueError("naive time in the index")
    return moment.astimezone(UTC)


def _dump_index(entries: list[_Entry]) -> bytes:
    rows = [
        {
            "key_id": entry.record.key_id,
            "created": _format_time(entry.record.created),
            "retired": _format_time(entry.record.retired) if entry.record.retired else None,
            "file": entry.record.file,
            "kdf": entry.kdf,
        }
        for entry in entries
    ]
    return (json.dumps({"format": INDEX_FORMAT, "keys": rows}, indent=2) + "\n").encode("utf-8")


def _parse_index(document: Any) -> list[_Entry]:
    """Validate the index; any inconsistency raises (the caller reports a corrupt index)."""
    if document.get("format") != INDEX_FORMAT or not document["keys"]:
        raise ValueError("unknown format or no keys")
    entries: list[_Entry] = []
    for position, row in enumerate(document["keys"]):
        public_key = PublicKey.from_multibase(row["key_id"])
        retired = None if row["retired"] is None else _parse_time(row["retired"])
        record = KeyRecord(row["key_id"], public_key, _parse_time(row["created"]), retired, row["file"])
        is_last = position == len(document["keys"]) - 1
        if (retired is None) != is_last or (retired is not None and retired < record.created):
            raise ValueError("only the newest key may be current, and retired after its creation")
        if entries and record.created < entries[-1].record.created:
            raise ValueError("keys are not listed oldest first")
        name = record.file
        if (
            not isinstance(name, str)
            or Path(name).name != name
            or name.startswith(".")
            or not name.endswith(".pem")
        ):
            raise ValueError("a key file name must be a plain *.pem name")
        entries.append(_Entry(record, _check_kdf(row["kdf"])))
    if len({entry.record.key_id for entry in entries}) != len(entries):
        raise ValueError("a key is listed twice")
    return entries


def _check_kdf(kdf: Any) -> dict[str, Any]:
    """Accept only scrypt with sane bounds, so a tampered index cannot demand gigabytes."""
    n, r, p = kdf["n"], kdf["r"], kdf["p"]
    if kdf["name"] != "scrypt" or len(b64url_decode(kdf["salt"])) < _SALT_BYTES:
        raise ValueError("unsupported key derivation")
    if not all(type(v) is int for v in (n, r, p)) or not (2**14 <= n <= 2**20 and n & (n - 1) == 0):
        raise ValueError("scrypt N out of bounds")
    if not (1 <= r <= 16 and 1 <= p <= 4):
        raise ValueError("scrypt r or p out of bounds")
    return {"name": "scrypt", "salt": kdf["salt"], "n": n, "r": r, "p": p}
