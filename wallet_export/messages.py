"""The e-mail a holder receives when their charter is awarded or changes, or is about to expire.

Use :func:`compose` at send time: it returns the whole message (RFC 5322) as bytes, a
``multipart/alternative`` of a plain text part and an HTML part (RFC 2046 §5.1.4), both UTF-8
in quoted-printable. Display names and the subject are encoded words where they are not ASCII
(RFC 2047, by :mod:`email` with ``policy.SMTP``), so "张伟" or "Zoë Ñúñez" reach any client intact.
The same inputs always give the same bytes: the MIME boundary is derived from the content, the
Date from ``now``, the Message-ID is given (:func:`make_message_id`, stable per event, so that a
server or client can drop a duplicate).

The message says what happened (awarded, renewed, reinstated, suspended, revoked, or expiring
in N days), names the holder with the post-nominal ("Jane Doe, CAiEP") while the charter is
current, lists the charter's dates, and gives two links: the holder's private page (a
capability: whoever has the link sees the page) and the public verification page. The HTML is
plain and accessible: ``lang``, one ``h1``, no layout tables, inline styles only (mail clients
drop style sheets), text colours at a contrast of 7:1 or more on white, no images at all (so no
tracking pixel and nothing fetched from elsewhere).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Final

from caiep.wallet_export.charter import POST_NOMINAL
from caiep.wallet_export.message_text import Body, body_for, render_html, render_text

#: The events a holder is told about.
EVENTS: Final = (
    "award",
    "renewal",
    "reinstatement",
    "suspension",
    "revocation",
    "reminder-90",
    "reminder-30",
)
_MESSAGE_ID = re.compile(r"<[!#-;=?-\[\]-~]+@[A-Za-z0-9.-]+>\Z")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_DOMAIN = re.compile(rf"(?=.{{1,253}}\Z){_LABEL}(?:\.{_LABEL})*\Z")


@dataclass(frozen=True)
class Notice:
    """What one message tells its holder, as the registry knows it when the message is sent.

    ``event`` is one of :data:`EVENTS`; ``state`` the charter's state now (``current``,
    ``suspended``, ``revoked``, ``lapsed``); ``valid_from``/``valid_until`` are those of the
    current version; ``public_reason`` the reason recorded for a suspension or revocation;
    ``page_url`` the public verification page; ``days_left`` the days to ``valid_until`` (reminders).
    """

    event: str
    recipient: str
    holder_name: str
    charter_name: str
    charter_number: str
    state: str
    awarded: datetime
    valid_from: datetime
    valid_until: datetime
    public_reason: str | None
    page_url: str
    issuer_name: str
    days_left: int | None = None

    @property
    def is_current(self) -> bool:
        """True while the holder may use the post-nominal."""
        return self.state == "current"

    @property
    def holder_display(self) -> str:
        """ "Jane Doe, CAiEP" while the charter is current, else the name alone."""
        return f"{self.holder_name}, {POST_NOMINAL}" if self.is_current else self.holder_name


def make_message_id(event_key: str, domain: str) -> str:
    """A Message-ID (RFC 5322 §3.6.4) that is the same every time for the same event:
    ``<caiep.<32 hex digits>@domain>``, the digits a SHA-256 of ``event_key`` (which stays private).

    Use the outbox row's dedupe key (or the event's own key) and the issuer's host name; a
    re-sent message then carries the same id, and a receiver may drop the copy."""
    if not event_key:
        raise ValueError("the event key is empty")
    if not _DOMAIN.match(domain):
        raise ValueError(f"{domain!r} is not a host name")
    digest = hashlib.sha256(event_key.encode("utf-8")).hexdigest()[:32]
    return f"<caiep.{digest}@{domain.lower()}>"


def parse_sender(value: str) -> Address:
    """The sender as ``CAIEP_MAIL_FROM`` gives it: ``registry@caiep.org`` or
    ``CAiEP Registry <registry@caiep.org>``; ValueError unless it is exactly one address with a
    domain. Its ``addr_spec`` is the envelope sender (MAIL FROM), where bounces arrive."""
    header = policy.SMTP.header_factory("From", value)
    addresses: tuple[Address, ...] = tuple(getattr(header, "addresses", ()))
    if len(addresses) != 1 or header.defects or not addresses[0].username or "." not in addresses[0].domain:
        raise ValueError(
            "must be one e-mail address, such as registry@example.org or Name <registry@example.org>"
        )
    found: Address = addresses[0]
    return found


def compose(notice: Notice, *, holder_link: str, sender: str, message_id: str, now: datetime) -> bytes:
    """The whole message for ``notice`` as bytes with CRLF line ends, ready for SMTP or a .eml file.

    ``holder_link`` is the private page's URL (``<issuer>/h/<token>``); ``sender`` the From
    address (:func:`parse_sender`; without a display name the issuer's name is shown);
    ``message_id`` from :func:`make_message_id`; ``now`` an aware datetime, the Date header.
    ValueError for an unknown event, a malformed Message-ID or a naive ``now``."""
    if notice.event not in EVENTS:
        raise ValueError(f"unknown event {notice.event!r}; expected one of {', '.join(EVENTS)}")
    if not _MESSAGE_ID.match(message_id):
        raise ValueError(f"{message_id!r} is not a Message-ID such as <id@host>")
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must carry its time zone")
    if notice.event.startswith("reminder-") and notice.days_left is None:
        raise ValueError(f"a {notice.event} notice needs days_left")
    from_address = parse_sender(sender)
    from_address = Address(
        from_address.display_name or notice.issuer_name, from_address.username, from_address.domain
    )
    username, at, domain = notice.recipient.rpartition("@")
    if not (username and at and domain):
        raise ValueError(f"the recipient {notice.recipient!r} is not an e-mail address")
    # By parts, since Address(addr_spec=) refuses a non-ASCII local part even for SMTPUTF8.
    to_address = Address(notice.holder_name, username, domain)
    body = body_for(notice, holder_link=holder_link)
    text, html = render_text(body), render_html(body)

    ascii_addresses = from_address.addr_spec.isascii() and to_address.addr_spec.isascii()
    # An address with a non-ASCII local part can only travel as SMTPUTF8 (RFC 6531/6532).
    message = EmailMessage(policy=policy.SMTP if ascii_addresses else policy.SMTPUTF8)
    message["From"] = from_address
    message["To"] = to_address
    message["Subject"] = body.subject
    message["Date"] = format_datetime(now)
    message["Message-ID"] = message_id
    # RFC 3834: a notification, not a conversation; vacation responders stay quiet.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text, charset="utf-8", cte="quoted-printable")
    message.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
    for part in message.iter_parts():
        del part["MIME-Version"]  # only the top level carries it (RFC 2045 §4)
    message.set_boundary(_boundary(message_id, text, html))
    message["Content-Language"] = "en"  # after set_content, which clears Content-* headers
    return message.as_bytes()


def _boundary(message_id: str, text: str, html: str) -> str:
    """A boundary fixed by the content (so the bytes are reproducible) that cannot occur in the
    parts: quoted-printable lines never contain ``=_`` followed by these characters unescaped."""
    digest = hashlib.sha256("\0".join((message_id, text, html)).encode("utf-8")).hexdigest()[:32]
    return f"=_caiep_{digest}"


__all__ = ["EVENTS", "Body", "Notice", "compose", "make_message_id", "parse_sender"]
