"""What a failed hand-over of a message means, and so what the sender does next.

::

    CaiepError
    ├── ConfigurationError            (caiep.errors) the run stops; every message stays pending
    │   └── SmtpConfigurationError    the server refused us: 5xx to AUTH, MAIL FROM or STARTTLS,
    │                                 no STARTTLS offered, an untrusted certificate or host name
    ├── TemporaryFailure              a 4xx answer, or the connection failed or was lost: retry later
    └── RecipientRefused              a 5xx to RCPT TO (or to the message itself): bounced, never retried

Each carries the server's answer as fields (``smtp_code``, ``reply``) when there was one
(RFC 5321 §4.2: the first digit says permanent (5) or transient (4)).
"""

from __future__ import annotations

import smtplib
import socket
import ssl

from caiep.errors import CaiepError, ConfigurationError
from caiep.wallet_export.smtp_url import CA_FILE_SETTING


class SmtpConfigurationError(ConfigurationError):
    """The server refused this configuration; ``smtp_code`` and ``reply`` are its answer, when
    it gave one (None for a missing STARTTLS or an untrusted certificate)."""

    code = "smtp_configuration_error"

    def __init__(self, message: str, *, smtp_code: int | None = None, reply: str | None = None) -> None:
        super().__init__(message)
        self.smtp_code = smtp_code
        self.reply = reply


class TemporaryFailure(CaiepError):
    """The message was not accepted this time (a 4xx answer, a connection refused, lost or timed
    out): try it again later. ``smtp_code`` and ``reply`` are the server's answer, if any."""

    code = "temporary_failure"

    def __init__(self, message: str, *, smtp_code: int | None = None, reply: str | None = None) -> None:
        super().__init__(message)
        self.smtp_code = smtp_code
        self.reply = reply


class RecipientRefused(CaiepError):
    """The server refused this recipient for good (a 5xx to RCPT TO, e.g. ``550`` unknown
    mailbox, or to the message after DATA): record a bounce and do not retry. ``stage`` is
    ``"RCPT TO"`` or ``"DATA"``; ``smtp_code`` and ``reply`` are the server's answer."""

    code = "recipient_refused"

    def __init__(self, recipient: str, *, smtp_code: int, reply: str, stage: str = "RCPT TO") -> None:
        super().__init__(f"the server refused {recipient} at {stage}: {smtp_code} {reply}")
        self.recipient = recipient
        self.smtp_code = smtp_code
        self.reply = reply
        self.stage = stage


def classify_connect_error(exc: BaseException, shown: str) -> CaiepError | None:
    """The project error for a failure while connecting to ``shown`` (TLS, greeting, network),
    or None when ``exc`` is not one: an untrusted certificate, a wrong host name or a failed
    handshake is a configuration fault; a refused, reset or timed-out connection is temporary."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return SmtpConfigurationError(
            f"the certificate of {shown} was refused: {exc.verify_message}; a private CA goes in "
            f"{CA_FILE_SETTING}, and the URL's host must be a name the certificate is for"
        )
    if isinstance(exc, ssl.SSLError):
        return SmtpConfigurationError(
            f"no TLS session with {shown} ({exc.reason or 'handshake failed'}); "
            "smtps:// expects TLS from the first byte, smtp:// a plain greeting and STARTTLS"
        )
    if isinstance(exc, smtplib.SMTPConnectError):
        return fault_or_deferred(
            exc, refused=f"{shown} refused the connection", deferred=f"{shown} is not accepting mail now"
        )
    if isinstance(exc, socket.gaierror):
        return TemporaryFailure(f"the host name of {shown} cannot be resolved now ({exc.strerror})")
    if isinstance(exc, smtplib.SMTPServerDisconnected | OSError):
        return TemporaryFailure(f"cannot reach {shown}: {_reason(exc)}")
    return None


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError | socket.timeout):
        return "timed out"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def fault_or_deferred(
    exc: smtplib.SMTPResponseException, *, refused: str, deferred: str, hint: str = ""
) -> CaiepError:
    """A server's answer to a step of the session itself (connecting, STARTTLS, AUTH, MAIL FROM):
    a 5xx is a configuration fault (``refused``: code reply, then ``hint``), any other answer a
    temporary failure (``deferred``)."""
    code, text = exc.smtp_code, reply_text(exc.smtp_error)
    if 500 <= code < 600:
        return SmtpConfigurationError(f"{refused}: {code} {text}{hint}", smtp_code=code, reply=text)
    return temporary(deferred, code, exc.smtp_error)


def temporary(what: str, code: int, reply: bytes | str) -> TemporaryFailure:
    """A :class:`TemporaryFailure` for a 4xx answer (or any answer not known to be permanent)."""
    text = reply_text(reply)
    return TemporaryFailure(f"{what}: {code} {text}", smtp_code=code, reply=text)


def reply_text(reply: bytes | str) -> str:
    """A server's reply as one line of text (multi-line replies joined by spaces)."""
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return " ".join(text.split())
