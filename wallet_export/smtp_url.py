"""Where the SMTP server is and how to reach it: the URL of ``CAIEP_SMTP_URL`` and the TLS context.

``smtp://user@host:587`` is submission with STARTTLS required (RFC 6409, RFC 3207),
``smtps://user@host:465`` implicit TLS (RFC 8314 §3.3), ``smtp+insecure://localhost:2525`` no
TLS, to a loopback address only. The user part is percent-decoded (``me%40example.org``); a
password in the URL is refused (it would end up in logs and ``caiep config``): it comes from
``CAIEP_SMTP_PASSWORD`` or ``CAIEP_SMTP_PASSWORD_FILE``. The settings reader calls
:func:`smtp_address`, so a bad URL is refused when the settings are read.
"""

from __future__ import annotations

import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Final
from urllib.parse import unquote, urlsplit, urlunsplit

from caiep.errors import ConfigurationError

#: The setting each message names, so that an error says what to change.
URL_SETTING: Final = "CAIEP_SMTP_URL"
CA_FILE_SETTING: Final = "CAIEP_SMTP_CA_FILE"
PASSWORD_SETTINGS: Final = "CAIEP_SMTP_PASSWORD or CAIEP_SMTP_PASSWORD_FILE"  # noqa: S105 - names
#: The schemes and their default ports (RFC 6409 submission, RFC 8314 submissions).
DEFAULT_PORTS: Final = {"smtp": 587, "smtps": 465, "smtp+insecure": 25}


@dataclass(frozen=True)
class SmtpAddress:
    """Where the SMTP server is and how to reach it, as read from the URL."""

    scheme: str  # smtp | smtps | smtp+insecure
    host: str
    port: int
    user: str | None

    @property
    def shown(self) -> str:
        """The URL for messages (never with a password: the URL carries none)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"


def smtp_address(url: str) -> SmtpAddress:
    """Read an SMTP URL (see the module docstring); ValueError with a short reason if it is not
    one we send through. The settings reader calls this, so a bad value is refused at start."""
    if not isinstance(url, str) or not url.strip():
        raise ValueError("must be an smtp://, smtps:// or smtp+insecure:// URL")
    if any(ord(character) < 33 or ord(character) == 127 for character in url):
        raise ValueError("must not contain spaces or control characters")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise ValueError("must start with smtp:// (STARTTLS), smtps:// (TLS) or smtp+insecure:// (loopback)")
    if parts.password is not None:
        raise ValueError(f"must not carry a password; set {PASSWORD_SETTINGS}")
    try:
        port = parts.port or DEFAULT_PORTS[scheme]
    except ValueError:
        raise ValueError("has a port that is not a number from 1 to 65535") from None
    host = parts.hostname
    if not host:
        raise ValueError("has no host name")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError("must be only scheme://[user@]host[:port], with no path, query or fragment")
    if scheme == "smtp+insecure" and not _is_loopback(host):
        raise ValueError("smtp+insecure:// sends in clear text and is allowed to a loopback address only")
    user = unquote(parts.username) if parts.username else None
    return SmtpAddress(scheme, host, port, user)


def shown_url(url: str) -> str:
    """``url`` with any password replaced by ``***``, for an error message."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rpartition("@")
    user = netloc[0].partition(":")[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[2]}"))


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def tls_context(ca_file: Path | None) -> ssl.SSLContext:
    """The client TLS context: certificate chain and host name verified, TLS 1.2 at least;
    ``ca_file`` (PEM) replaces the system's CAs."""
    try:
        context = ssl.create_default_context(cafile=None if ca_file is None else str(ca_file))
    except FileNotFoundError:
        raise ConfigurationError(f"{CA_FILE_SETTING}: {ca_file} does not exist") from None
    except (ssl.SSLError, OSError) as exc:
        raise ConfigurationError(
            f"{CA_FILE_SETTING}: {ca_file} is not a readable PEM file of CA certificates"
        ) from exc
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context
