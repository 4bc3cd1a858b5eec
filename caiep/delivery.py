"""Sending the outbox: each due message composed once, committed, sent, then marked sent.

README "How a holder receives the charter". This is where the registry (``issuer.outbox``,
``issuer.holdertokens``) meets the messages and the transport (``wallet_export.messages``,
``wallet_export.transport``); ``caiep mail send`` runs it. For each due message, in id order:

1. **Compose once** (its own commit): a fresh holder token (only its hash stored, with the
   message's id), the Notice read from the registry, :func:`messages.compose` with the
   Message-ID made from the event's key. The composed bytes are committed *before* any byte
   reaches a server; from then on the same bytes are sent on every attempt (same Message-ID,
   same link).
2. **Send** through the transport: one message per SMTP transaction.
3. **Commit the answer** at once: ``sent`` (and the composed bytes, the only raw copy of the
   token, erased), ``bounced`` with the server's answer (a 5xx to ``RCPT TO``: never retried;
   the others still go), or still pending with an exponential back-off (a 4xx or a lost
   connection). A configuration fault (``ConfigurationError``: a 5xx to ``AUTH``, ``MAIL
   FROM``, ``STARTTLS``…) stops the run: every message not yet accepted stays pending.

Killed at any point, a run loses nothing: the row is pending until step 3 commits. The only
way the same event reaches a server twice is a kill (or crash, or lost connection) after the
server's ``250`` and before step 3's commit: the next run sends the same bytes again, and the
receiving side can drop the copy by its Message-ID.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from caiep.issuer import holdertokens, outbox
from caiep.issuer.charter import CHARTER_NAME
from caiep.issuer.records import charter_state
from caiep.issuer.registry import Registry
from caiep.wallet_export.messages import Notice, compose, make_message_id, parse_sender
from caiep.wallet_export.transport import RecipientRefused, TemporaryFailure, Transport

#: The route of the holder's private page; the link is ``<issuer_url>/h/<token>``.
HOLDER_PAGE_PREFIX = "/h/"
#: Messages read from the registry at a time (each is still composed, sent and committed alone).
_PAGE = 100
#: Why a reminder was cancelled instead of sent.
STALE_REMINDER = "not sent: the charter was revoked, suspended, renewed or lapsed since the reminder was due"
#: The state a message about each change reports; the others report the charter's state.
_EVENT_STATE = {"suspension": "suspended", "revocation": "revoked"}


@dataclass(frozen=True)
class Sender:
    """Who sends, and the addresses the messages carry."""

    issuer_name: str
    issuer_url: str  # https base: the holder link and the public page are under it
    mail_from: str  # the From: an address, with or without a display name
    first_backoff: timedelta = outbox.FIRST_BACKOFF

    @property
    def envelope_from(self) -> str:
        """The address alone, for SMTP's ``MAIL FROM``, where bounces come back."""
        return str(parse_sender(self.mail_from).addr_spec)

    @property
    def message_domain(self) -> str:
        """The right-hand side of our Message-IDs: the issuer's host."""
        return urlsplit(self.issuer_url).hostname or "localhost"

    def holder_link(self, token: str) -> str:
        """The private holder page of this token."""
        return self.issuer_url.rstrip("/") + HOLDER_PAGE_PREFIX + token

    def page(self, credential_id: str) -> str:
        """The public verification page of the charter credential."""
        from caiep.addresses import ServiceAddresses

        return ServiceAddresses(self.issuer_url).page(credential_id)


@dataclass
class RunReport:
    """What one run did: counts, and each bounce as (message id, recipient, server's answer)."""

    sent: int = 0
    deferred: int = 0
    cancelled: int = 0  # reminders overtaken by a change, and messages another run took
    bounced: list[tuple[int, str, str]] = field(default_factory=list)


def notice_for(message: outbox.Message, found: outbox.Facts, sender: Sender, *, now: datetime) -> Notice:
    """The Notice of one outbox message, from what the registry says at ``now``."""
    state = _EVENT_STATE.get(message.event) or charter_state(found.state, found.valid_until, now)
    days_left = None
    if message.event.startswith("reminder-"):
        days_left = max(0, (found.valid_until.astimezone(UTC).date() - now.astimezone(UTC).date()).days)
    return Notice(
        event=message.event,
        recipient=message.recipient,
        holder_name=found.holder_name,
        charter_name=CHARTER_NAME,
        charter_number=found.charter_number,
        state=state,
        awarded=found.awarded_at,
        valid_from=found.valid_from,
        valid_until=found.valid_until,
        public_reason=found.public_reason if message.event in _EVENT_STATE else None,
        page_url=sender.page(message.credential_id),
        issuer_name=sender.issuer_name,
        days_left=days_left,
    )


def compose_once(registry: Registry, message: outbox.Message, sender: Sender, *, now: datetime) -> bytes:
    """The message's bytes: those stored, else composed now with a fresh holder token and
    committed (token hash, bytes and Message-ID together) before anything is sent. Raises
    :class:`_Gone` when there is nothing to send: sent or bounced meanwhile, or a reminder
    cancelled because its charter was revoked, suspended or renewed since."""
    if message.composed is not None:
        return message.composed
    with registry.write() as connection:
        current = outbox.find(connection, message.id)
        if current is None or current.state != "pending":
            raise _Gone(message.id)
        if current.composed is not None:  # composed by a run that died before sending
            return current.composed
        found = outbox.facts(connection, message)
        if found.is_stale_reminder(message.event, now):
            outbox.mark_cancelled(connection, message.id, reason=STALE_REMINDER)
            composed = None
        else:
            token = holdertokens.mint(connection, message.holder_id, now=now, outbox_id=message.id)
            message_id = make_message_id(message.event_key, sender.message_domain)
            composed = compose(
                notice_for(message, found, sender, now=now),
                holder_link=sender.holder_link(token),
                sender=sender.mail_from,
                message_id=message_id,
                now=now,
            )
            outbox.mark_composed(connection, message.id, message_id=message_id, composed=composed, now=now)
    if composed is None:
        raise _Gone(message.id)  # after the commit that cancelled it
    return composed


class _Gone(Exception):
    """Nothing to send: the message was sent or bounced meanwhile, or was cancelled."""


def send_due(
    registry: Registry,
    transport: Transport,
    sender: Sender,
    *,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    limit: int | None = None,
) -> RunReport:
    """Send every message due at the start of the run (at most ``limit``), one at a time.

    Raises :class:`~caiep.errors.ConfigurationError` (from the transport) as soon as the
    configuration is at fault; what was not accepted by then stays pending.
    """
    report = RunReport()
    started = clock()
    after = 0
    done = 0
    while limit is None or done < limit:
        with registry.read() as connection:
            page = outbox.due(connection, now=started, after=after, limit=_PAGE)
        if not page:
            break
        for message in page:
            if limit is not None and done >= limit:
                break
            after = message.id
            done += 1
            try:
                composed = compose_once(registry, message, sender, now=clock())
            except _Gone:
                report.cancelled += 1
                continue
            _send_one(registry, transport, sender, message, composed, report, clock)
    return report


def _send_one(
    registry: Registry,
    transport: Transport,
    sender: Sender,
    message: outbox.Message,
    composed: bytes,
    report: RunReport,
    clock: Callable[[], datetime],
) -> None:
    try:
        transport.send(composed, sender=sender.envelope_from, recipient=message.recipient)
    except RecipientRefused as exc:
        answer = f"{exc.smtp_code} {exc.reply}".strip()
        with registry.write() as connection:
            outbox.mark_bounced(connection, message.id, reply=answer, now=clock())
        report.bounced.append((message.id, message.recipient, answer))
        return
    except TemporaryFailure as exc:
        with registry.write() as connection:
            outbox.mark_retry(
                connection, message.id, error=_said(exc), now=clock(), first=sender.first_backoff
            )
        report.deferred += 1
        return
    # The documented window: the server has answered 250; until this commit, a kill means the
    # next run sends these same bytes again.
    with registry.write() as connection:
        outbox.mark_sent(connection, message.id, now=clock())
    report.sent += 1


def _said(exc: TemporaryFailure) -> str:
    return exc.message or type(exc).__name__
