"""The instance directory and its settings: the one place configuration is read.

Layout of an instance (``--home``, else ``$CAIEP_HOME``, else ``./caiep-home``)::

    settings.json   issuer name, public base URL, DID method and issuer id
    keys/           encrypted private keys and their public index (keys.store)
    did.json        the issuer's DID document, to publish at /.well-known/did.json (did:web)
    registry.sqlite3  the registry, unless ``$CAIEP_DATABASE_URL`` names another database
    jobs/           one JSON report per signing job

The key passphrase comes from ``CAIEP_KEY_PASSPHRASE`` or an interactive prompt; it is never
stored, printed or logged, and there is no default.
"""

from __future__ import annotations

import getpass
import json
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit

from caiep import atomicfile
from caiep.errors import ConfigurationError, InputError

SETTINGS_FILE = "settings.json"
PASSPHRASE_VARIABLE = "CAIEP_KEY_PASSPHRASE"  # noqa: S105 - the variable's name, not a secret
HOME_VARIABLE = "CAIEP_HOME"
DATABASE_VARIABLE = "CAIEP_DATABASE_URL"


@dataclass(frozen=True)
class Settings:
    issuer_name: str
    issuer_url: str
    did_method: str
    issuer_id: str

    @property
    def host(self) -> str:
        return urlsplit(self.issuer_url).netloc


def default_home() -> Path:
    """``$CAIEP_HOME`` if set, else ``./caiep-home``."""
    return Path(os.environ.get(HOME_VARIABLE) or "caiep-home")


def database_url(home: Path) -> str:
    """``$CAIEP_DATABASE_URL`` (e.g. ``postgresql+psycopg://…``), else SQLite in the instance."""
    return os.environ.get(DATABASE_VARIABLE) or f"sqlite:///{(home / 'registry.sqlite3').resolve()}"


def check_issuer_url(url: str) -> str:
    """A public https base URL with a host and no query, fragment or credentials."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise InputError(f"--issuer-url must be an https URL with a host, got {url!r}")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise InputError(f"--issuer-url must not carry a query, fragment or credentials: {url!r}")
    return url.rstrip("/")


def load_settings(home: Path) -> Settings:
    path = home / SETTINGS_FILE
    if not path.is_file():
        raise ConfigurationError(
            f"{home} is not an instance directory (no {SETTINGS_FILE}); run 'caiep init' first"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Settings(**{field: data[field] for field in Settings.__dataclass_fields__})
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigurationError(f"{path} is unreadable or incomplete") from exc


def save_settings(home: Path, settings: Settings) -> None:
    write_atomic(home / SETTINGS_FILE, json.dumps(asdict(settings), indent=2) + "\n")


def write_atomic(path: Path, text: str, mode: int = 0o644) -> None:
    """Write a file so that readers see the old or the new content, never a part."""
    atomicfile.write_atomic(path, text.encode("utf-8"), mode=mode)


def read_passphrase(*, confirm: bool = False) -> str:
    """The key passphrase from the environment, else a prompt on a terminal."""
    value = os.environ.get(PASSPHRASE_VARIABLE)
    if value:
        return value
    if not sys.stdin.isatty():
        raise ConfigurationError(
            f"no key passphrase: set {PASSPHRASE_VARIABLE} or run the command on a terminal to be asked"
        )
    value = getpass.getpass("Key passphrase: ")
    if confirm and getpass.getpass("Repeat the passphrase: ") != value:
        raise ConfigurationError("the two passphrases differ")
    return value
