"""The encrypted key store: set-up, permissions, passphrases, rotation, corruption, no leaks."""

from __future__ import annotations

import base64
import json
import os
import stat
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from caiep.errors import ConfigurationError, InputError, KeyMaterialError, PassphraseError
from caiep.keys import store as key_store
from caiep.keys.base58 import b58encode
from caiep.keys.did import build_controller_document
from caiep.keys.ed25519 import SigningKey
from caiep.keys.multikey import encode_secret_key
from caiep.keys.store import INDEX_FILE, SCRYPT_PARAMETERS, KeyStore

PASSPHRASE = "correct horse battery staple"


@pytest.fixture(autouse=True)
def light_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    """Use the lightest scrypt cost the index accepts (N=2**14), to keep the suite quick.

    The cost is recorded per key in the index, so loading follows whatever was written;
    test_default_scrypt_cost checks the production setting separately.
    """
    monkeypatch.setitem(SCRYPT_PARAMETERS, "n", 2**14)


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    return tmp_path / "instance" / "keys"


@pytest.fixture
def store(store_dir: Path, now: datetime) -> KeyStore:
    return KeyStore.initialize(store_dir, PASSPHRASE, now=now)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_initialize_creates_owner_only_files(store: KeyStore, store_dir: Path, now: datetime) -> None:
    assert _mode(store_dir) == 0o700
    (record,) = store.records()
    assert record.created == now
    assert record.retired is None
    assert record.key_id == record.public_key.multibase
    assert record.file == f"{record.key_id}.pem"
    assert _mode(store_dir / record.file) == 0o600
    assert _mode(store_dir / INDEX_FILE) == 0o600
    assert sorted(p.name for p in store_dir.iterdir()) == sorted([INDEX_FILE, record.file])


def test_default_scrypt_cost(monkeypatch: pytest.MonkeyPatch, store_dir: Path, now: datetime) -> None:
    monkeypatch.undo()
    assert SCRYPT_PARAMETERS == {"n": 2**17, "r": 8, "p": 1}
    KeyStore.initialize(store_dir, PASSPHRASE, now=now)
    (row,) = json.loads((store_dir / INDEX_FILE).read_text())["keys"]
    assert row["kdf"]["name"] == "scrypt"
    assert (row["kdf"]["n"], row["kdf"]["r"], row["kdf"]["p"]) == (2**17, 8, 1)


def test_open_and_load_signing_key(store: KeyStore, store_dir: Path) -> None:
    reopened = KeyStore.open(store_dir)
    assert reopened.records() == store.records()
    assert reopened.current() == store.current()
    assert reopened.public_keys() == [store.current().public_key]
    key = reopened.load_signing_key(PASSPHRASE)
    assert key.public_key == store.current().public_key
    key.public_key.verify(key.sign(b"data"), b"data")


def test_wrong_or_short_passphrase_is_passphrase_error(store: KeyStore) -> None:
    for wrong in ("correct horse battery stapler", "", "short"):
        with pytest.raises(PassphraseError, match="does not open"):
            store.load_signing_key(wrong)


def test_passphrase_rule(store_dir: Path, now: datetime) -> None:
    with pytest.raises(ConfigurationError, match="at least 12 characters"):
        KeyStore.initialize(store_dir, "elevenchars", now=now)
    assert not store_dir.exists()
    KeyStore.initialize(store_dir, "twelve chars", now=now)


def test_initialize_refuses_an_existing_store(store: KeyStore, store_dir: Path, now: datetime) -> None:
    before = (store_dir / INDEX_FILE).read_bytes()
    with pytest.raises(ConfigurationError, match="already exists"):
        KeyStore.initialize(store_dir, PASSPHRASE, now=now)
    assert (store_dir / INDEX_FILE).read_bytes() == before


def test_initialize_refuses_a_directory_with_key_files(store_dir: Path, now: datetime) -> None:
    store_dir.mkdir(parents=True)
    (store_dir / "old.pem").write_bytes(b"")
    with pytest.raises(ConfigurationError, match="already exists"):
        KeyStore.initialize(store_dir, PASSPHRASE, now=now)


def test_initialize_tightens_an_existing_empty_directory(store_dir: Path, now: datetime) -> None:
    store_dir.mkdir(parents=True, mode=0o755)
    os.chmod(store_dir, 0o755)
    KeyStore.initialize(store_dir, PASSPHRASE, now=now)
    assert _mode(store_dir) == 0o700


def test_times_must_be_aware(store_dir: Path) -> None:
    with pytest.raises(InputError, match="timezone-aware"):
        KeyStore.initialize(store_dir, PASSPHRASE, now=datetime(2025, 1, 1))


def _encodings(secret: bytes) -> Iterator[bytes]:
    """The seed written every way we can think of."""
    yield secret
    yield secret.hex().encode()
    yield secret.hex().upper().encode()
    yield base64.b64encode(secret)
    yield base64.b64encode(secret).rstrip(b"=")
    yield base64.urlsafe_b64encode(secret).rstrip(b"=")
    yield base64.b32encode(secret).rstrip(b"=")
    yield base64.b85encode(secret)
    yield b58encode(secret).encode()
    yield encode_secret_key(secret).encode()


def test_key_file_is_encrypted_and_never_holds_the_seed(store: KeyStore, store_dir: Path) -> None:
    seed = store.load_signing_key(PASSPHRASE).export_seed_unsafe()
    pem = (store_dir / store.current().file).read_bytes()
    assert b"-----BEGIN ENCRYPTED PRIVATE KEY-----" in pem
    assert b"-----BEGIN PRIVATE KEY-----" not in pem
    body = base64.b64decode(b"".join(pem.splitlines()[1:-1]))
    for path in store_dir.iterdir():
        content = path.read_bytes()
        for encoded in _encodings(seed):
            assert encoded not in content, path.name
            assert encoded not in body
    assert PASSPHRASE.encode() not in (store_dir / INDEX_FILE).read_bytes()


def test_nothing_is_printed(store_dir: Path, now: datetime, capsys: pytest.CaptureFixture[str]) -> None:
    store = KeyStore.initialize(store_dir, PASSPHRASE, now=now)
    store.rotate(PASSPHRASE, now=now + timedelta(days=1))
    store.load_signing_key(PASSPHRASE)
    with pytest.raises(PassphraseError):
        store.load_signing_key("not the passphrase at all")
    assert capsys.readouterr() == ("", "")


def test_key_file_open_to_others_is_refused(store: KeyStore, store_dir: Path) -> None:
    path = store_dir / store.current().file
    for mode in (0o644, 0o640, 0o604, 0o660):
        os.chmod(path, mode)
        with pytest.raises(KeyMaterialError, match="chmod 600"):
            store.load_signing_key(PASSPHRASE)
    os.chmod(path, 0o600)
    store.load_signing_key(PASSPHRASE)


def test_symlinked_key_file_is_refused(store: KeyStore, store_dir: Path, tmp_path: Path) -> None:
    path = store_dir / store.current().file
    target = tmp_path / "elsewhere.pem"
    path.rename(target)
    path.symlink_to(target)
    with pytest.raises(KeyMaterialError, match="symbolic links"):
        store.load_signing_key(PASSPHRASE)


def test_missing_or_damaged_key_file(store: KeyStore, store_dir: Path) -> None:
    path = store_dir / store.current().file
    pem = path.read_bytes()
    path.write_bytes(pem.replace(b"-----END", b"-----FIN"))
    with pytest.raises(KeyMaterialError, match="not an encrypted PKCS#8"):
        store.load_signing_key(PASSPHRASE)
    path.unlink()
    with pytest.raises(KeyMaterialError, match="missing"):
        store.load_signing_key(PASSPHRASE)


def test_rotate_keeps_old_keys_verifying(store: KeyStore, store_dir: Path, now: datetime) -> None:
    first = store.current()
    old_key = store.load_signing_key(PASSPHRASE)
    signature = old_key.sign(b"credential signed before rotation")
    later = now + timedelta(days=365)

    new = store.rotate(PASSPHRASE, now=later)

    assert store.current() == new
    assert new.created == later
    assert new.retired is None
    old, current = store.records()
    assert current == new
    assert old.key_id == first.key_id
    assert old.retired == later
    assert _mode(store_dir / new.file) == 0o600
    reopened = KeyStore.open(store_dir)
    assert reopened.records() == [old, new]
    assert reopened.load_signing_key(PASSPHRASE).public_key == new.public_key
    assert reopened.load_signing_key(PASSPHRASE, old.key_id).public_key == old.public_key

    controller = "did:web:credentials.example.org"
    document = build_controller_document(controller, reopened.public_keys(), current=new.public_key)
    assert document["assertionMethod"] == [f"{controller}#{old.key_id}", f"{controller}#{new.key_id}"]
    listed = [vm["publicKeyMultibase"] for vm in document["verificationMethod"]]
    assert listed == [old.key_id, new.key_id]
    (old_public,) = [k for k in reopened.public_keys() if k.multibase == listed[0]]
    old_public.verify(signature, b"credential signed before rotation")
    assert not list(store_dir.glob(".*.tmp"))


def test_rotate_with_wrong_passphrase_changes_nothing(
    store: KeyStore, store_dir: Path, now: datetime
) -> None:
    before = sorted(store_dir.iterdir())
    with pytest.raises(PassphraseError):
        store.rotate("a different passphrase", now=now + timedelta(days=1))
    assert sorted(store_dir.iterdir()) == before
    assert len(KeyStore.open(store_dir).records()) == 1


def test_rotate_refuses_going_back_in_time(store: KeyStore, now: datetime) -> None:
    with pytest.raises(InputError, match="precedes"):
        store.rotate(PASSPHRASE, now=now - timedelta(seconds=1))


def test_unknown_key_id(store: KeyStore) -> None:
    other = SigningKey.generate().public_key.multibase
    with pytest.raises(KeyMaterialError, match="no key"):
        store.load_signing_key(PASSPHRASE, other)


def test_swapped_key_file_is_detected(store: KeyStore, store_dir: Path, now: datetime) -> None:
    old = store.current()
    new = store.rotate(PASSPHRASE, now=now + timedelta(days=1))
    (store_dir / new.file).write_bytes((store_dir / old.file).read_bytes())
    with pytest.raises(PassphraseError):  # each key has its own salt, so the password differs
        store.load_signing_key(PASSPHRASE)
    index = json.loads((store_dir / INDEX_FILE).read_text())
    index["keys"][1]["kdf"] = index["keys"][0]["kdf"]
    (store_dir / INDEX_FILE).write_text(json.dumps(index))
    with pytest.raises(KeyMaterialError, match="does not hold"):
        KeyStore.open(store_dir).load_signing_key(PASSPHRASE)


def test_open_missing_store(store_dir: Path) -> None:
    with pytest.raises(ConfigurationError, match="no key store"):
        KeyStore.open(store_dir)


def _tamper(store_dir: Path, change: dict[str, object]) -> None:
    path = store_dir / INDEX_FILE
    index = json.loads(path.read_text())
    index["keys"][0].update(change)
    path.write_text(json.dumps(index))


@pytest.mark.parametrize(
    "change",
    [
        {"key_id": "z6LShs9GGnqk85isEBzzshkuVWrVKsRp24GnDuHk8QWkARMW"},
        {"file": "../escape.pem"},
        {"file": ".hidden.pem"},
        {"created": "2025-03-01T12:00:00"},
        {"created": "yesterday"},
        {"retired": "2025-01-01T00:00:00Z"},
        {"kdf": {"name": "pbkdf2", "salt": "AAAAAAAAAAAAAAAAAAAAAA", "n": 16384, "r": 8, "p": 1}},
        {"kdf": {"name": "scrypt", "salt": "AAAAAAAAAAAAAAAAAAAAAA", "n": 2**30, "r": 8, "p": 1}},
        {"kdf": {"name": "scrypt", "salt": "AAAAAAAAAAAAAAAAAAAAAA", "n": 1000, "r": 8, "p": 1}},
        {"kdf": {"name": "scrypt", "salt": "AAAA", "n": 16384, "r": 8, "p": 1}},
        {"kdf": None},
    ],
)
def test_open_refuses_a_corrupt_index(store: KeyStore, store_dir: Path, change: dict[str, object]) -> None:
    _tamper(store_dir, change)
    with pytest.raises(ConfigurationError, match="corrupt"):
        KeyStore.open(store_dir)


@pytest.mark.parametrize(
    "content", ["", "not json", "[]", '{"format": "caiep-keystore/1", "keys": []}', "{}"]
)
def test_open_refuses_an_unreadable_index(store: KeyStore, store_dir: Path, content: str) -> None:
    (store_dir / INDEX_FILE).write_text(content)
    with pytest.raises(ConfigurationError):
        KeyStore.open(store_dir)


def test_store_module_reads_no_environment() -> None:
    source = Path(key_store.__file__).read_text()
    for forbidden in ("os.environ", "getenv", "input(", "getpass", "print(", "logging"):
        assert forbidden not in source
