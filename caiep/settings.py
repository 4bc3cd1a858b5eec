"""Every setting in one table, and the one reader: environment, then settings.json, then defaults.

Layout of an instance (``--home``, else ``$CAIEP_HOME``, else ``./caiep-home``)::

    settings.json   issuer name, public base URL, DID method and issuer id (written by init),
                    and any setting of :data:`SETTINGS` that has a settings.json key
    keys/           encrypted private keys and their public index (keys.store)
    did.json        the issuer's DID document, to publish at /.well-known/did.json (did:web)
    registry.sqlite3  the registry, unless ``database_url`` names another database
    jobs/           one JSON report per signing job

To add a setting, add one :class:`Setting` line to :data:`SETTINGS` (and its row to the
README's table, which a test compares); read it with ``configuration.get(name, type)``.
The key passphrase comes from ``CAIEP_KEY_PASSPHRASE`` or an interactive prompt; it is never
stored, printed or logged, and there is no default.
"""

from __future__ import annotations

import getpass
import json
import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from caiep import atomicfile
from caiep.caches import CACHE_LIMITS, CacheLimit
from caiep.errors import ConfigurationError, InputError
from caiep.filemodes import PRIVATE_FILE, check_not_writable_by_others, check_secret_file
from caiep.settingtypes import (
    bind_address,
    did_method,
    exchange_minutes,
    http_base,
    instance_path,
    key_prefix,
    linkedin_company,
    mail_sender,
    non_negative_seconds,
    non_negative_whole,
    positive_seconds,
    positive_whole,
    rate_storage,
    register_listing,
    smtp_url,
    system_user,
    text,
)

SETTINGS_FILE = "settings.json"
PASSPHRASE_VARIABLE = "CAIEP_KEY_PASSPHRASE"  # noqa: S105 - the variable's name, not a secret
HOME_VARIABLE = "CAIEP_HOME"
DATABASE_VARIABLE = "CAIEP_DATABASE_URL"
IDENTITY = ("issuer_name", "issuer_url", "did_method", "issuer_id")

T = TypeVar("T")


@dataclass(frozen=True)
class Setting:
    """One setting: where it may come from, how its text is read, its default, what it does.

    ``env`` or ``key`` is None where the setting cannot come from there (the passphrase is
    never in a file; the instance identity is only in settings.json). ``parse`` takes the
    environment's text or the JSON value and returns the value or raises ValueError with a
    short reason. ``default_doc`` describes a default that is worked out, not fixed.
    """

    name: str
    env: str | None
    key: str | None
    parse: Callable[[object], object]
    default: object
    doc: str
    secret: bool = False
    default_doc: str | None = None

    @property
    def shown_default(self) -> str:
        """The default as the README and ``caiep config`` show it."""
        if self.default_doc is not None:
            return self.default_doc
        if self.default is None:
            return "(none)"
        if isinstance(self.default, float) and self.default.is_integer():
            return str(int(self.default))
        return str(self.default)


# fmt: off
SETTINGS: tuple[Setting, ...] = (
    Setting("home", HOME_VARIABLE, None, instance_path, Path("caiep-home"), "the instance directory; the --home flag comes first"),  # noqa: E501
    Setting("database_url", DATABASE_VARIABLE, "database_url", text, None, "the registry: sqlite:///PATH or postgresql+psycopg://…", default_doc="registry.sqlite3 in the instance"),  # noqa: E501
    Setting("key_passphrase", PASSPHRASE_VARIABLE, None, text, None, "opens the signing keys; never stored", secret=True, default_doc="asked on a terminal"),  # noqa: E501
    Setting("allow_http_base", "CAIEP_ALLOW_HTTP_BASE", "allow_http_base", http_base, None, "web service, testing only: fetch https URLs from this http://127.0.0.1:PORT"),  # noqa: E501
    Setting("rate_per_10_seconds", "CAIEP_RATE_PER_10_SECONDS", "rate_per_10_seconds", positive_whole, 60, "web service: verification POSTs per client address in 10 seconds"),  # noqa: E501
    Setting("rate_per_minute", "CAIEP_RATE_PER_MINUTE", "rate_per_minute", positive_whole, 600, "web service: verification POSTs per client address in a minute"),  # noqa: E501
    Setting("read_rate_per_10_seconds", "CAIEP_READ_RATE_PER_10_SECONDS", "read_rate_per_10_seconds", positive_whole, 300, "web service: other requests (pages, status API, documents) per client address in 10 seconds"),  # noqa: E501
    Setting("read_rate_per_minute", "CAIEP_READ_RATE_PER_MINUTE", "read_rate_per_minute", positive_whole, 3000, "web service: other requests per client address in a minute"),  # noqa: E501
    Setting("rate_storage", "CAIEP_RATE_STORAGE", "rate_storage", rate_storage, "memory://", "web service: where request counts are kept: memory:// (each worker its own) or redis://HOST:PORT/DB (shared)"),  # noqa: E501
    Setting("rate_key_prefix", "CAIEP_RATE_KEY_PREFIX", "rate_key_prefix", key_prefix, "caiep", "web service: prefix of the rate limit keys in a shared storage"),  # noqa: E501
    Setting("trusted_proxies", "CAIEP_TRUSTED_PROXIES", "trusted_proxies", non_negative_whole, 0, "web service: reverse proxies in front whose X-Forwarded-For/-Proto are believed; 0 trusts none"),  # noqa: E501
    Setting("integrity_cache_seconds", "CAIEP_INTEGRITY_CACHE_SECONDS", "integrity_cache_seconds", non_negative_seconds, 300.0, "web service: how long a checked signature is remembered; 0 turns it off"),  # noqa: E501
    Setting("bind", "CAIEP_BIND", "bind", bind_address, "127.0.0.1:8000", "production server (caiep.gunicorn_config): the HOST:PORT gunicorn listens on"),  # noqa: E501
    Setting("workers", "CAIEP_WORKERS", "workers", positive_whole, 2, "production server: worker processes (one per core)"),  # noqa: E501
    Setting("worker_threads", "CAIEP_WORKER_THREADS", "worker_threads", positive_whole, 4, "production server: threads per worker, each serving one request at a time"),  # noqa: E501
    Setting("verify_time_budget", "CAIEP_VERIFY_TIME_BUDGET", "verify_time_budget", positive_seconds, 5.0, "seconds one verification may take, fetches included; past it: cannot be verified (took too long)"),  # noqa: E501
    Setting("issuer_name", None, "issuer_name", text, None, "the issuer's name in its credentials", default_doc="written by init"),  # noqa: E501
    Setting("issuer_url", None, "issuer_url", text, None, "the issuer's public https base URL", default_doc="written by init"),  # noqa: E501
    Setting("did_method", None, "did_method", did_method, None, "the issuer's DID method: web or key", default_doc="written by init"),  # noqa: E501
    Setting("issuer_id", None, "issuer_id", text, None, "the issuer's DID", default_doc="written by init"),
    Setting("status_list_ttl_ms", "CAIEP_STATUS_LIST_TTL_MS", "status_list_ttl_ms", positive_whole, 3_600_000, "status lists: their ttl in milliseconds, and the Cache-Control max-age they are served with"),  # noqa: E501
    Setting("renewal_window_months", "CAIEP_RENEWAL_WINDOW_MONTHS", "renewal_window_months", positive_whole, 12, "renewal: how many months before its validUntil a charter may be renewed early"),  # noqa: E501
    Setting("smtp_url", "CAIEP_SMTP_URL", "smtp_url", smtp_url, None, "mail to holders: smtp://USER@HOST:587 (STARTTLS, required), smtps://USER@HOST:465 (TLS) or smtp+insecure://localhost:PORT (loopback only); the user percent-encoded", default_doc=".eml files in the instance's outbox/"),  # noqa: E501
    Setting("smtp_ca_file", "CAIEP_SMTP_CA_FILE", "smtp_ca_file", instance_path, None, "mail: PEM file of the CA that signed the SMTP server's certificate, trusted instead of the system's CAs", default_doc="the system's CAs"),  # noqa: E501
    Setting("smtp_password", "CAIEP_SMTP_PASSWORD", None, text, None, "mail: the SMTP user's password; never stored or shown", secret=True),  # noqa: E501
    Setting("smtp_password_file", "CAIEP_SMTP_PASSWORD_FILE", "smtp_password_file", instance_path, None, "mail: a file holding the SMTP password on its first line, instead of CAIEP_SMTP_PASSWORD: mode 0600, or a read-only secret in /run/secrets or $CREDENTIALS_DIRECTORY"),  # noqa: E501
    Setting("mail_from", "CAIEP_MAIL_FROM", "mail_from", mail_sender, None, "mail: the sender, an address with or without a display name; bounces and delivery reports come back to it; required with smtp_url", default_doc="noreply@ the issuer's host"),  # noqa: E501
    Setting("linkedin_organization_id", "CAIEP_LINKEDIN_ORGANIZATION_ID", "linkedin_organization_id", linkedin_company, None, "exports and the holder page: the certification body's LinkedIn company id for \"Add to profile\"; unset: its name is sent"),  # noqa: E501
    Setting("signer_socket", "CAIEP_SIGNER_SOCKET", "signer_socket", instance_path, None, "wallets: the Unix socket of caiep signer, which signs wallet-bound copies for the web app", default_doc="signer.sock in the instance"),  # noqa: E501
    Setting("signer_web_user", "CAIEP_SIGNER_WEB_USER", "signer_web_user", system_user, None, "wallets: the system user the web app runs as, when not the signer's: caiep signer lets it connect too"),  # noqa: E501
    Setting("lcw_exchange_minutes", "CAIEP_LCW_EXCHANGE_MINUTES", "lcw_exchange_minutes", exchange_minutes, 15, "holder page: minutes a Learner Credential Wallet exchange (its QR code and links) stays open; used once"),  # noqa: E501
    Setting("register_default", "CAIEP_REGISTER_DEFAULT", "register_default", register_listing, "listed", "public register: whether holders who made no choice are listed (found by name) or unlisted"),  # noqa: E501
    Setting("register_max_matches", "CAIEP_REGISTER_MAX_MATCHES", "register_max_matches", positive_whole, 10, "public register: the most charters one lookup shows"),  # noqa: E501
    Setting("register_decision_years", "CAIEP_REGISTER_DECISION_YEARS", "register_decision_years", positive_whole, 5, "public register: years a suspension or revocation stays findable, whatever the holder chose"),  # noqa: E501
    Setting("register_rate_per_10_seconds", "CAIEP_REGISTER_RATE_PER_10_SECONDS", "register_rate_per_10_seconds", positive_whole, 5, "web service: register lookups per client address in 10 seconds"),  # noqa: E501
    Setting("register_rate_per_minute", "CAIEP_REGISTER_RATE_PER_MINUTE", "register_rate_per_minute", positive_whole, 20, "web service: register lookups per client address in a minute"),  # noqa: E501
    Setting("register_check_max", "CAIEP_REGISTER_CHECK_MAX", "register_check_max", positive_whole, 500, "bulk checks: the most charter numbers one POST /api/v1/register/check takes"),  # noqa: E501
    Setting("apikey_default_rate_per_minute", "CAIEP_APIKEY_DEFAULT_RATE_PER_MINUTE", "apikey_default_rate_per_minute", positive_whole, 60, "bulk checks: checks per minute of an API key created without --rate"),  # noqa: E501
    Setting("verifier_key_passphrase_file", "CAIEP_VERIFIER_KEY_PASSPHRASE_FILE", "verifier_key_passphrase_file", instance_path, None, "receipts: the file holding the verification service's key passphrase (a random secret made by init): mode 0600, or a read-only secret in /run/secrets or $CREDENTIALS_DIRECTORY", default_doc="verifier-key.passphrase in the instance"),  # noqa: E501
    # One entry limit per in-memory cache: every cache is bounded, and each bound is a setting.
    *(
        Setting(f"cache_{name}", f"CAIEP_CACHE_{name.upper()}", f"cache_{name}", positive_whole, limit.max_entries, f"most entries held: {limit.holds}")  # noqa: E501
        for name, limit in CACHE_LIMITS.items()
    ),
    # And a byte bound for the caches whose values a stranger sizes or that hold many values.
    *(
        Setting(f"cache_{name}_bytes", f"CAIEP_CACHE_{name.upper()}_BYTES", f"cache_{name}_bytes", positive_whole, limit.max_bytes, f"most bytes held (in memory, per process) by the {name} cache")  # noqa: E501
        for name, limit in CACHE_LIMITS.items()
        if limit.max_bytes is not None
    ),
)
# fmt: on
BY_NAME: Mapping[str, Setting] = {setting.name: setting for setting in SETTINGS}


@dataclass(frozen=True)
class Settings:
    """The instance's identity, as ``caiep init`` wrote it to settings.json."""

    issuer_name: str
    issuer_url: str
    did_method: str
    issuer_id: str

    @property
    def host(self) -> str:
        """The host of the issuer's public URL (the did:web name)."""
        return urlsplit(self.issuer_url).netloc


@dataclass(frozen=True)
class Value:
    """A setting's effective value and where it came from: flag, env, settings.json or default."""

    setting: Setting
    value: Any
    source: str

    @property
    def origin(self) -> str:
        """Where the value came from, for messages: ``CAIEP_RATE_PER_MINUTE (environment)``."""
        if self.source == "env":
            return f"{self.setting.env} (environment)"
        if self.source == SETTINGS_FILE:
            return f"{self.setting.key} in {SETTINGS_FILE}"
        return f"{self.setting.name} ({self.source})"


class Configuration:
    """The effective settings of one instance; made by :func:`read_configuration`."""

    def __init__(self, home: Path, values: Mapping[str, Value], *, has_file: bool) -> None:
        self.home = home
        self.values = dict(values)
        self.has_file = has_file

    def get(self, name: str, kind: type[T]) -> T | None:
        """The value of setting ``name``, checked to be a ``kind`` (None when unset)."""
        value = self.values[name].value
        if value is not None and not isinstance(value, kind):
            raise TypeError(f"setting {name} is a {type(value).__name__}, not a {kind.__name__}")
        return value

    def require(self, name: str, kind: type[T]) -> T:
        """The value of setting ``name``; a setting with a default is never unset."""
        value = self.get(name, kind)
        if value is None:
            raise ConfigurationError(f"{name} is not set")
        return value

    def origin(self, name: str) -> str:
        """Where setting ``name`` came from, in the words error messages use."""
        return self.values[name].origin

    @property
    def database_url(self) -> str:
        """The registry's URL: the setting, else SQLite in the instance directory."""
        return self.get("database_url", str) or f"sqlite:///{(self.home / 'registry.sqlite3').resolve()}"

    def signer_socket(self) -> Path:
        """The Unix socket of ``caiep signer``: ``signer_socket``, else signer.sock in the instance."""
        return self.get("signer_socket", Path) or self.home / "signer.sock"

    def smtp_password(self) -> str | None:
        """The SMTP password: ``CAIEP_SMTP_PASSWORD``, else the first line of
        ``smtp_password_file`` (the owner's alone, as a key file, unless a container's or service
        manager's read-only secret: :func:`~caiep.filemodes.check_secret_file`), else None."""
        password = self.get("smtp_password", str)
        path = self.get("smtp_password_file", Path)
        if path is None:
            return password
        if password:
            raise ConfigurationError(
                f"both CAIEP_SMTP_PASSWORD and {self.origin('smtp_password_file')} are set; keep one"
            )
        check_secret_file(path)
        try:
            content = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigurationError(f"{self.origin('smtp_password_file')}: {path} does not exist") from None
        except (OSError, UnicodeDecodeError):
            raise ConfigurationError(
                f"{self.origin('smtp_password_file')}: {path} cannot be read as UTF-8 text"
            ) from None  # the cause could quote the file
        first_line = content.splitlines()[0] if content else ""
        if not first_line:
            raise ConfigurationError(f"{self.origin('smtp_password_file')}: {path} holds no password")
        return first_line

    def mail_sender(self) -> str:
        """The From of holder e-mails: ``mail_from``; without it, ``noreply@`` the issuer's host
        when messages are only written to files. With ``smtp_url`` it must be set: a relay's
        delivery reports (most bounces) go to this address, so it must be a mailbox someone reads."""
        sender = self.get("mail_from", str)
        if sender:
            return sender
        if self.get("smtp_url", str):
            raise ConfigurationError(
                "CAIEP_MAIL_FROM is not set: sending through CAIEP_SMTP_URL needs a sender address "
                "that receives the bounces"
            )
        host = urlsplit(self.identity().issuer_url).hostname
        return f"noreply@{host}"

    def cache_limits(self) -> dict[str, CacheLimit]:
        """Each named cache's limits: its entry setting, its byte setting where it has one, and
        its lifetime (the integrity checks' from ``integrity_cache_seconds`` when that is above 0)."""
        limits = {}
        for name, default in CACHE_LIMITS.items():
            ttl = default.ttl
            if name == "integrity_checks" and self.require("integrity_cache_seconds", float) > 0:
                ttl = self.require("integrity_cache_seconds", float)
            max_bytes = None if default.max_bytes is None else self.require(f"cache_{name}_bytes", int)
            limits[name] = CacheLimit(self.require(f"cache_{name}", int), ttl, default.holds, max_bytes)
        return limits

    def identity(self) -> Settings:
        """The instance identity; ConfigurationError when the home is not an instance."""
        if not self.has_file:
            raise ConfigurationError(
                f"{self.home} is not an instance directory (no {SETTINGS_FILE}); run 'caiep init' first"
            )
        missing = [name for name in IDENTITY if self.values[name].value is None]
        if missing:
            raise ConfigurationError(f"{self.home / SETTINGS_FILE} is incomplete: no {', '.join(missing)}")
        return Settings(**{name: self.values[name].value for name in IDENTITY})


def read_configuration(
    home: Path | None = None, *, environ: Mapping[str, str] | None = None
) -> Configuration:
    """Read every setting once: environment, then the instance's settings.json, then defaults.

    ``home`` is the ``--home`` flag (it comes before ``CAIEP_HOME``). An empty environment
    variable counts as unset. A bad value, or an unknown key in settings.json, is a
    ConfigurationError naming the setting and where it came from.
    """
    environ = os.environ if environ is None else environ
    values: dict[str, Value] = {}
    home_setting = BY_NAME["home"]
    if home is not None:
        values["home"] = Value(home_setting, home, "--home")
    else:
        values["home"] = _from_environment(home_setting, environ) or Value(
            home_setting, home_setting.default, "default"
        )
    instance: Path = values["home"].value
    path = instance / SETTINGS_FILE
    stored = _read_file(path)
    for setting in SETTINGS:
        if setting.name == "home":
            continue
        values[setting.name] = (
            _from_environment(setting, environ)
            or _from_file(setting, stored, path)
            or Value(setting, setting.default, "default")
        )
    return Configuration(instance, values, has_file=stored is not None)


def _from_environment(setting: Setting, environ: Mapping[str, str]) -> Value | None:
    raw = environ.get(setting.env) if setting.env else None
    if not raw:
        return None
    try:
        return Value(setting, setting.parse(raw), "env")
    except ValueError as exc:
        shown = "(hidden)" if setting.secret else repr(_without_password(raw))
        raise ConfigurationError(f"{setting.env} (environment): {exc}, got {shown}") from None


def _from_file(setting: Setting, stored: Mapping[str, Any] | None, path: Path) -> Value | None:
    if stored is None or setting.key is None or setting.key not in stored:
        return None
    try:
        return Value(setting, setting.parse(stored[setting.key]), SETTINGS_FILE)
    except ValueError as exc:
        shown = _without_password(stored[setting.key])
        raise ConfigurationError(f"{setting.key} in {path}: {exc}, got {shown!r}") from None


_URL_PASSWORD = re.compile(r"(?<=://)([^/@:]*):[^/@]*@")


def _without_password(value: object) -> object:
    """A value for an error message: a URL's password (``scheme://user:secret@``) masked."""
    return _URL_PASSWORD.sub(r"\1:***@", value) if isinstance(value, str) else value


def _read_file(path: Path) -> dict[str, Any] | None:
    """The settings.json object, None when there is no file; unknown keys are refused, and so is
    a file another user owns or may write (it names the database and the issuer)."""
    if not path.is_file():
        return None
    check_not_writable_by_others(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"{path} is unreadable or not JSON") from exc
    if not isinstance(data, dict):
        raise ConfigurationError(f"{path} must hold a JSON object")
    keys = {setting.key: setting for setting in SETTINGS if setting.key}
    for key in data:
        if key not in keys:
            named = BY_NAME.get(key)
            if named is not None and named.env:
                raise ConfigurationError(f"{path}: {key} cannot be stored here; set {named.env}")
            raise ConfigurationError(f"{path}: unknown setting {key!r}")
    return data


def web_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment the web app reads its settings from: ``environ`` (default the process's)
    without the key passphrase, which only the signing commands and ``caiep signer`` take."""
    source = os.environ if environ is None else environ
    return {name: source[name] for name in source if name != PASSPHRASE_VARIABLE}


def environment_value(name: str, environ: Mapping[str, str] | None = None) -> Any:
    """Setting ``name`` from the environment, else its default (for commands without an instance)."""
    setting = BY_NAME[name]
    found = _from_environment(setting, os.environ if environ is None else environ)
    return setting.default if found is None else found.value


def default_home() -> Path:
    """``$CAIEP_HOME`` if set, else ``./caiep-home``."""
    return Path(os.environ.get(HOME_VARIABLE) or "caiep-home")


def database_url(home: Path) -> str:
    """The registry URL for the instance at ``home`` (``CAIEP_DATABASE_URL``, else its SQLite)."""
    return read_configuration(home).database_url


def check_issuer_url(url: str) -> str:
    """A public https base URL with a host and no query, fragment or credentials."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise InputError(f"--issuer-url must be an https URL with a host, got {url!r}")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise InputError(f"--issuer-url must not carry a query, fragment or credentials: {url!r}")
    return url.rstrip("/")


def load_settings(home: Path) -> Settings:
    """The identity of the instance at ``home``; ConfigurationError if it is not one."""
    return read_configuration(home).identity()


def save_settings(home: Path, settings: Settings) -> None:
    """Write the instance identity to settings.json (at init)."""
    write_atomic(home / SETTINGS_FILE, json.dumps(asdict(settings), indent=2) + "\n")


def write_atomic(path: Path, text: str, mode: int = PRIVATE_FILE) -> None:
    """Write a file so that readers see the old or the new content, never a part (mode 0600)."""
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
