"""Handing a composed message to the holder's mail: an SMTP server over TLS, or ``.eml`` files.

Use :func:`open_transport` once per sending run and call ``send`` for each message; the SMTP
connection is opened at the first ``send`` and reused (one message per transaction, RFC 5321
§3.3), ``close`` ends it with QUIT.

The URL (``CAIEP_SMTP_URL``) chooses how:

- ``smtp://user@host:587``: submission with STARTTLS (RFC 3207), **required**: a server that
  does not offer it is refused before anything is sent, and so is a failed upgrade;
- ``smtps://user@host:465``: implicit TLS from the first byte (RFC 8314 §3.3);
- ``smtp+insecure://localhost:2525``: no TLS at all, only to a loopback address (tests, a
  local relay);
- none: each message is written to ``<outbox_dir>/<Message-ID>.eml`` (mode 0600, atomically).

Both TLS forms verify the server's certificate chain and host name
(``ssl.create_default_context``; :mod:`smtplib` checks neither by default). A private CA's
certificate, given as ``ca_file`` (``CAIEP_SMTP_CA_FILE``), is then the only one trusted. The
user part of the URL is percent-decoded (``me%40example.org``); a password never appears in the
URL, in an error or in a log.

What the server answers decides what the caller does next: :class:`TemporaryFailure` (retry
later), :class:`RecipientRefused` (bounced, never retried) or a ConfigurationError (the run
stops); the tree is drawn in :mod:`caiep.wallet_export.mail_failures`, and every name a caller
needs is importable from here.
"""

from __future__ import annotations

import smtplib
import ssl
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from pathlib import Path
from typing import Final, Protocol

from caiep.atomicfile import write_atomic
from caiep.errors import ConfigurationError
from caiep.filemodes import PRIVATE_DIRECTORY, PRIVATE_FILE
from caiep.wallet_export.mail_failures import (
    RecipientRefused,
    SmtpConfigurationError,
    TemporaryFailure,
    classify_connect_error,
    fault_or_deferred,
    reply_text,
    temporary,
)
from caiep.wallet_export.smtp_url import (
    PASSWORD_SETTINGS,
    URL_SETTING,
    SmtpAddress,
    shown_url,
    smtp_address,
    tls_context,
)

__all__ = [
    "EmlTransport",
    "RecipientRefused",
    "SmtpAddress",
    "SmtpConfigurationError",
    "SmtpTransport",
    "TemporaryFailure",
    "Transport",
    "open_transport",
    "smtp_address",
]

DEFAULT_TIMEOUT: Final = 60.0


class Transport(Protocol):
    """Something that hands one composed message (RFC 5322 bytes) to one recipient."""

    def send(self, message: bytes, *, sender: str, recipient: str) -> None:
        """Deliver ``message`` from the envelope ``sender`` to ``recipient``; raise
        :class:`TemporaryFailure`, :class:`RecipientRefused` or a ConfigurationError."""

    def close(self) -> None:
        """Release the connection, if any; never raises for a connection already gone."""


def open_transport(
    smtp_url: str | None,
    *,
    outbox_dir: Path,
    ca_file: Path | None,
    password: str | None,
    timeout: float = DEFAULT_TIMEOUT,
    local_hostname: str | None = None,
) -> Transport:
    """The transport the settings ask for: SMTP when ``smtp_url`` is set, else ``.eml`` files in
    ``outbox_dir``. Nothing connects yet; a fault in the settings is a ConfigurationError naming
    the setting. ``local_hostname`` is the name given in EHLO (default: this machine's FQDN)."""
    if smtp_url is None:
        return EmlTransport(outbox_dir)
    try:
        address = smtp_address(smtp_url)
    except ValueError as exc:
        raise ConfigurationError(f"{URL_SETTING}: {exc}, got {shown_url(smtp_url)!r}") from None
    if address.user is not None and not password:
        raise ConfigurationError(
            f"{URL_SETTING} names the user {address.user!r} but no password is set: set {PASSWORD_SETTINGS}"
        )
    if address.user is None and password:
        raise ConfigurationError(
            f"a password is set ({PASSWORD_SETTINGS}) but {URL_SETTING} names no user: "
            "write it as smtp://USER@host:587"
        )
    context = None if address.scheme == "smtp+insecure" else tls_context(ca_file)
    return SmtpTransport(
        address, context=context, password=password, timeout=timeout, local_hostname=local_hostname
    )


class SmtpTransport:
    """Sends through one SMTP server, one message per transaction, over one reused connection."""

    def __init__(
        self,
        address: SmtpAddress,
        *,
        context: ssl.SSLContext | None,
        password: str | None,
        timeout: float = DEFAULT_TIMEOUT,
        local_hostname: str | None = None,
    ) -> None:
        self.address = address
        self._context = context
        self.__password = password
        self._timeout = timeout
        self._local_hostname = local_hostname
        self._smtp: smtplib.SMTP | None = None

    def __repr__(self) -> str:
        return f"SmtpTransport({self.address.shown}, user={self.address.user!r})"

    def send(self, message: bytes, *, sender: str, recipient: str) -> None:
        """Send ``message`` to ``recipient`` in one transaction; see the module docstring for
        what each failure raises. After a failure the next call starts a fresh transaction."""
        smtp = self._ready()
        options: list[str] = []
        if not (sender.isascii() and recipient.isascii()):
            if not smtp.has_extn("smtputf8") and not sender.isascii():
                raise SmtpConfigurationError(
                    f"the sender {sender!r} is not ASCII and {self.address.shown} does not offer "
                    "SMTPUTF8; check CAIEP_MAIL_FROM"
                )
            if not smtp.has_extn("smtputf8"):
                raise RecipientRefused(
                    recipient,
                    smtp_code=553,
                    reply="(not sent: the address needs SMTPUTF8, which the server does not offer)",
                )
            options.append("SMTPUTF8")
        try:
            smtp.sendmail(sender, [recipient], message, mail_options=options)
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = next(iter(exc.recipients.values()))
            self._forget_if_closed()
            if 500 <= code < 600:
                raise RecipientRefused(recipient, smtp_code=code, reply=reply_text(reply)) from exc
            raise temporary(f"{self.address.shown} deferred {recipient}", code, reply) from exc
        except smtplib.SMTPSenderRefused as exc:
            self._forget_if_closed()
            raise fault_or_deferred(
                exc,
                refused=f"{self.address.shown} refused the sender {sender!r} (MAIL FROM)",
                hint="; check CAIEP_MAIL_FROM",
                deferred=f"{self.address.shown} deferred MAIL FROM",
            ) from exc
        except smtplib.SMTPDataError as exc:
            self._forget_if_closed()
            if 500 <= exc.smtp_code < 600:
                raise RecipientRefused(
                    recipient, smtp_code=exc.smtp_code, reply=reply_text(exc.smtp_error), stage="DATA"
                ) from exc
            raise temporary(
                f"{self.address.shown} deferred the message", exc.smtp_code, exc.smtp_error
            ) from exc
        except smtplib.SMTPResponseException as exc:
            self._forget_if_closed()
            raise temporary(f"{self.address.shown} answered", exc.smtp_code, exc.smtp_error) from exc
        except (smtplib.SMTPException, OSError) as exc:
            self._forget()
            raise TemporaryFailure(f"the connection to {self.address.shown} was lost while sending") from exc

    def close(self) -> None:
        """QUIT and close the connection; errors of a connection already gone are ignored."""
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()

    def _ready(self) -> smtplib.SMTP:
        """The open connection (checked with NOOP, since the server may have closed an idle
        one), else a new one: connected, TLS, EHLO, AUTH."""
        if self._smtp is not None:
            try:
                code, _ = self._smtp.noop()
                if code == 250:
                    return self._smtp
            except (smtplib.SMTPException, OSError):
                pass
            self._forget()
        self._smtp = self._connect()
        return self._smtp

    def _connect(self) -> smtplib.SMTP:
        address = self.address
        smtp: smtplib.SMTP | None = None
        try:
            if address.scheme == "smtps":
                smtp = smtplib.SMTP_SSL(
                    address.host,
                    address.port,
                    context=self._context,
                    timeout=self._timeout,
                    local_hostname=self._local_hostname,
                )
            else:
                smtp = smtplib.SMTP(
                    address.host, address.port, timeout=self._timeout, local_hostname=self._local_hostname
                )
            smtp.ehlo()
            if address.scheme == "smtp":
                self._start_tls(smtp)
            if address.user is not None:
                self._log_in(smtp, address.user)
            return smtp
        except (smtplib.SMTPException, OSError) as exc:
            if smtp is not None:
                smtp.close()
            failure = classify_connect_error(exc, address.shown)
            if failure is None:  # pragma: no cover - every SMTPException and OSError is classified
                raise
            raise failure from exc
        except BaseException:
            if smtp is not None:
                smtp.close()
            raise

    def _start_tls(self, smtp: smtplib.SMTP) -> None:
        if not smtp.has_extn("starttls"):
            raise SmtpConfigurationError(
                f"{self.address.shown} does not offer STARTTLS, which smtp:// requires: nothing was sent "
                "(use smtps:// if the server speaks TLS from the start)"
            )
        try:
            smtp.starttls(context=self._context)
        except smtplib.SMTPResponseException as exc:
            raise fault_or_deferred(
                exc,
                refused=f"{self.address.shown} refused STARTTLS",
                deferred=f"{self.address.shown} deferred STARTTLS",
            ) from exc
        smtp.ehlo()

    def _log_in(self, smtp: smtplib.SMTP, user: str) -> None:
        if not smtp.has_extn("auth"):
            raise SmtpConfigurationError(
                f"{self.address.shown} does not offer AUTH, but {URL_SETTING} names the user {user!r}"
            )
        try:
            smtp.login(user, self.__password or "")
        except UnicodeEncodeError:
            raise ConfigurationError(
                f"the SMTP user name and password must be ASCII (user {user!r})"
            ) from None  # the cause would show the password's characters
        except smtplib.SMTPAuthenticationError as exc:
            raise fault_or_deferred(
                exc,
                refused=f"{self.address.shown} refused the login of {user!r}",
                hint=f"; check {PASSWORD_SETTINGS}",
                deferred=f"{self.address.shown} deferred the login",
            ) from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise SmtpConfigurationError(
                f"{self.address.shown} offers no AUTH mechanism that smtplib supports"
            ) from exc

    def _forget_if_closed(self) -> None:
        if self._smtp is not None and self._smtp.sock is None:
            self._smtp = None

    def _forget(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            smtp.close()


class EmlTransport:
    """Writes each message to ``<directory>/<Message-ID>.eml`` (mode 0600, atomically), for an
    instance without SMTP. Sending the same message again rewrites the same file."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def __repr__(self) -> str:
        return f"EmlTransport({self.directory})"

    def send(self, message: bytes, *, sender: str, recipient: str) -> None:
        """Write ``message``; the envelope is already in its From and To headers."""
        path = self.directory / eml_file_name(message)
        try:
            self.directory.mkdir(mode=PRIVATE_DIRECTORY, parents=True, exist_ok=True)
            write_atomic(path, message, mode=PRIVATE_FILE)
        except OSError as exc:
            raise ConfigurationError(f"cannot write {path}: {exc.strerror}") from exc

    def close(self) -> None:
        """Nothing to release."""


def eml_file_name(message: bytes) -> str:
    """``<local@domain>`` → ``local@domain.eml``: the Message-ID with anything but letters,
    digits and ``@._-`` replaced by ``_`` (ValueError for a message without one)."""
    headers = BytesHeaderParser(policy=default_policy).parsebytes(message)
    value = str(headers.get("Message-ID") or "").strip().strip("<>")
    if not value:
        raise ValueError("the message has no Message-ID")
    safe = "".join(c if c.isascii() and (c.isalnum() or c in "@._-") else "_" for c in value)
    return f"{safe.lstrip('.')[:200]}.eml"
