"""How each setting's text is read: one function per kind of value, each raising on a bad one.

A reader takes the raw value (an environment variable's text, or a settings.json value) and
returns it checked and converted, or raises ``ValueError`` with a message
the settings reader (:mod:`caiep.settings`) prefixes with the setting's name and origin.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from caiep.wallet_export.messages import parse_sender
from caiep.wallet_export.smtp_url import smtp_address


def text(value: object) -> str:
    """A non-empty string."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError("must be a non-empty text")
    return value


def exchange_minutes(value: object) -> int:
    """Minutes a wallet exchange lives: a whole number from 1 to 1440 (a day)."""
    minutes = positive_whole(value)
    if minutes > 1440:
        raise ValueError("must be at most 1440 (a day)")
    return minutes


def instance_path(value: object) -> Path:
    """A directory path."""
    return Path(text(value))


def positive_whole(value: object) -> int:
    """A whole number of at least 1 (a JSON number, or its digits as text)."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError("must be a whole number of at least 1")
    return value


def non_negative_seconds(value: object) -> float:
    """A number of seconds, 0 or more (a JSON number, or its text)."""
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise ValueError("must be a number of seconds") from None
    if not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value < float("inf"):
        raise ValueError("must be a number of seconds, 0 or more")
    return float(value)


def positive_seconds(value: object) -> float:
    """A number of seconds above 0 (a JSON number, or its text)."""
    seconds = non_negative_seconds(value)
    if not seconds > 0:
        raise ValueError("must be a number of seconds above 0")
    return seconds


def non_negative_whole(value: object) -> int:
    """A whole number, 0 or more (a JSON number, or its digits as text)."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError("must be a whole number, 0 or more")
    return value


def rate_storage(value: object) -> str:
    """``memory://``, or a Redis URL: ``redis://``, ``rediss://`` or ``redis+unix://``."""
    uri = text(value).strip()
    parts = urlsplit(uri)
    if uri == "memory://":
        return uri
    try:
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise ValueError("must be memory:// or redis://HOST:PORT/DB") from None
    networked = parts.scheme in ("redis", "rediss") and parts.hostname
    if networked or (parts.scheme == "redis+unix" and parts.path):
        return uri
    raise ValueError("must be memory:// or redis://HOST:PORT/DB")


def key_prefix(value: object) -> str:
    """A short name of letters, digits, ``-``, ``_`` and ``:``."""
    prefix = text(value)
    if len(prefix) > 64 or not all(c.isascii() and (c.isalnum() or c in "-_:") for c in prefix):
        raise ValueError("must be up to 64 letters, digits, '-', '_' or ':'")
    return prefix


def linkedin_company(value: object) -> str:
    """LinkedIn's numeric company id (digits only)."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    digits = text(value).strip()
    if not digits.isascii() or not digits.isdigit() or len(digits) > 20:
        raise ValueError("must be LinkedIn's numeric company id (digits only)")
    return digits


def http_base(value: object) -> str:
    """``http://HOST:PORT`` with nothing after it (the fetcher checks the rest)."""
    parts = urlsplit(text(value))
    if parts.scheme != "http" or not parts.hostname or parts.path not in ("", "/"):
        raise ValueError("must look like http://127.0.0.1:8000")
    return str(value)


def bind_address(value: object) -> str:
    """``HOST:PORT`` (``[IPv6]:PORT`` too) or ``unix:PATH``, as gunicorn's ``bind`` takes it."""
    address = text(value).strip()
    if address.startswith("unix:") and len(address) > len("unix:"):
        return address
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError("must look like 127.0.0.1:8000 or unix:/run/caiep.sock")
    return address


def system_user(value: object) -> str:
    """A system user name: letters, digits, ``.``, ``_`` and ``-``, not starting with ``-``."""
    name = text(value).strip()
    allowed = all(c.isascii() and (c.isalnum() or c in "._-") for c in name)
    if len(name) > 32 or name.startswith("-") or not allowed:
        raise ValueError("must be a system user name like caiep-web")
    return name


def did_method(value: object) -> str:
    """``web`` or ``key``."""
    if value not in ("web", "key"):
        raise ValueError("must be 'web' or 'key'")
    return str(value)


def register_listing(value: object) -> str:
    """``listed`` or ``unlisted``."""
    if value not in ("listed", "unlisted"):
        raise ValueError("must be 'listed' or 'unlisted'")
    return str(value)


def smtp_url(value: object) -> str:
    """``smtp://[USER@]HOST[:PORT]`` (STARTTLS), ``smtps://…`` (TLS) or ``smtp+insecure://`` to a
    loopback address; no password in it (see caiep.wallet_export.smtp_url)."""
    url = text(value).strip()
    smtp_address(url)
    return url


def mail_sender(value: object) -> str:
    """One e-mail address, bare or as ``Name <address>``."""
    sender = text(value).strip()
    parse_sender(sender)
    return sender
