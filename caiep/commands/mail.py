"""Messages to holders: ``mail send``, ``mail list`` and ``mail remind``.

The registry enqueues a message with every award, renewal, reinstatement, suspension and
revocation (README "How a holder receives the charter"); ``mail remind`` adds the expiry
reminders; ``mail send`` delivers what is due, through SMTP (``CAIEP_SMTP_URL``) or, with no
SMTP configured, as ``.eml`` files in the instance's ``outbox/`` folder. Run ``mail remind``
and ``mail send`` from cron, or keep ``mail send --watch`` running.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from caiep.commands.common import DATE, EXIT_OK, POSITIVE, Invocation, json_option, pass_invocation

if TYPE_CHECKING:
    from caiep.delivery import RunReport, Sender
    from caiep.wallet_export.transport import Transport
    from caiep.wiring import Instance

#: ``--watch``: seconds between two looks at the outbox when nothing is due sooner.
WATCH_SECONDS = 30.0
OUTBOX_DIR = "outbox"
_LOCK_FILE = "mail-send.lock"
_ANOTHER_SENDER = "another `caiep mail send` is running for this registry; it sends what is due"


@click.group("mail")
def mail() -> None:
    """Messages to holders: send them, list them, enqueue expiry reminders."""


def _sender(instance: Instance) -> Sender:
    from caiep.delivery import Sender

    settings = instance.settings
    return Sender(settings.issuer_name, settings.issuer_url, instance.configuration.mail_sender())


def _open_transport(instance: Instance) -> Transport:
    from caiep.filemodes import PRIVATE_DIRECTORY
    from caiep.wallet_export.transport import open_transport

    configuration = instance.configuration
    url = configuration.get("smtp_url", str)
    outbox_dir = instance.home / OUTBOX_DIR
    if url is None:
        outbox_dir.mkdir(mode=PRIVATE_DIRECTORY, exist_ok=True)  # messages carry private links
    return open_transport(
        url,
        outbox_dir=outbox_dir,
        ca_file=configuration.get("smtp_ca_file", Path),
        password=configuration.smtp_password(),
    )


@contextmanager
def _one_sender(home: Path) -> Iterator[None]:
    """Hold the instance's send lock: two runs at once would both send the same message."""
    import fcntl

    from caiep.errors import ConfigurationError

    with open(home / _LOCK_FILE, "a+b") as lock:
        try:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConfigurationError(_ANOTHER_SENDER) from None
        yield  # released when the file closes, or by the system when the process dies


def _print_report(report: RunReport) -> None:
    line = f"sent {report.sent}, bounced {len(report.bounced)}, deferred {report.deferred}"
    print(line + (f", not sent {report.cancelled} (see mail list)" if report.cancelled else ""))
    for outbox_id, recipient, answer in report.bounced:
        print(f"  message {outbox_id} to {recipient} bounced: {answer}", file=sys.stderr)


@mail.command("send")
@click.option("--watch", is_flag=True, help="keep running: send each message as it falls due")
@click.option("--limit", type=POSITIVE, help="send at most N messages (each run, with --watch)")
@click.option(
    "--interval", type=POSITIVE, default=int(WATCH_SECONDS), show_default=True,
    help="with --watch: the most seconds between two looks at the outbox",
)  # fmt: skip
@pass_invocation
def send(invocation: Invocation, watch: bool, limit: int | None, interval: int) -> int:
    """Send the messages that are due (SMTP, or .eml files in the instance's outbox/ folder).

    A temporary failure is retried later with back-off; an address the server refuses is
    bounced (see ``mail list --failed``) and the others still go; a configuration fault (the
    server refuses the login, the sender or TLS) stops the run with exit 2, and every message
    not sent stays pending.
    """
    from caiep.delivery import send_due
    from caiep.errors import ConfigurationError
    from caiep.issuer import outbox

    instance = invocation.instance()
    sender = _sender(instance)
    with (
        _one_sender(instance.home),
        instance.registry() as registry,
        outbox.sender_lock(registry.engine) as only_sender,
    ):
        if not only_sender:
            raise ConfigurationError(_ANOTHER_SENDER)
        while True:
            transport = _open_transport(instance)
            try:
                report = send_due(registry, transport, sender, limit=limit)
            finally:
                transport.close()
            if not watch or report.sent or report.bounced or report.deferred or report.cancelled:
                _print_report(report)
                sys.stdout.flush()  # a log that follows the run as it goes
            if not watch:
                return EXIT_OK
            with registry.read() as connection:
                upcoming = outbox.next_due(connection)
            wait = float(interval)
            if upcoming is not None:
                wait = min(wait, max(0.0, (upcoming - datetime.now(UTC)).total_seconds()))
            time.sleep(max(wait, 1.0))


@mail.command("list")
@click.option("--failed", is_flag=True, help="only the bounced, and those waiting for a retry")
@click.option("--limit", type=POSITIVE, help="list at most this many")
@click.option(
    "--after",
    type=click.IntRange(min=0),
    metavar="ID",
    help="continue after this message (the last id shown)",
)
@json_option
@pass_invocation
def list_messages(
    invocation: Invocation, failed: bool, limit: int | None, after: int | None, as_json: bool
) -> int:
    """List the messages to holders, oldest first: pending, sent or bounced, with the last error.

    Page through a long outbox with --limit N, then --after the last id shown; when more remain,
    the command that shows the next page is printed on standard error.
    """
    import json

    from caiep.issuer import outbox
    from caiep.issuer.records import charter_number

    with invocation.instance().registry() as registry, registry.read() as connection:
        found = outbox.listing(
            connection, failed_only=failed, after=after or 0, limit=None if limit is None else limit + 1
        )
    messages = found if limit is None else found[:limit]
    if limit is not None and len(found) > limit:
        flags = " --failed" if failed else ""
        print(f"more: caiep mail list{flags} --limit {limit} --after {messages[-1].id}", file=sys.stderr)
    if as_json:
        rows = [
            {
                "id": m.id,
                "event": m.event,
                "recipient": m.recipient,
                "charterNumber": charter_number(m.holder_id),
                "credential": m.credential_id,
                "version": m.version,
                "state": m.state,
                "attempts": m.attempts,
                "messageId": m.message_id if m.is_composed or m.state != "pending" else None,
                "nextAttempt": m.next_attempt_at.isoformat() if m.state == "pending" else None,
                "sent": m.sent_at.isoformat() if m.sent_at else None,
                "lastError": m.last_error,
            }
            for m in messages
        ]
        print(json.dumps(rows, indent=2))
        return EXIT_OK
    for m in messages:
        line = f"{m.id:>6}  {m.event:<13}  {m.state:<7}  {charter_number(m.holder_id)}  {m.recipient}"
        if m.state == "sent" and m.sent_at is not None:
            line += f"  sent {m.sent_at:%Y-%m-%d %H:%M:%S}Z"
        elif m.state == "pending" and m.attempts:
            line += f"  attempts {m.attempts}, next {m.next_attempt_at:%Y-%m-%d %H:%M:%S}Z"
        if m.last_error and m.state != "sent":
            line += f"  ({m.last_error})"
        print(line)
    return EXIT_OK


@mail.command("remind")
@click.option("--on", "on", type=DATE, help="the reminders due on this day (default: today, UTC)")
@pass_invocation
def remind(invocation: Invocation, on: date | None) -> int:
    """Enqueue the expiry reminders due: 90 and 30 days before each current charter's validUntil.

    Once per version and threshold (running it again adds none); none for a revoked,
    suspended or renewed charter. ``mail send`` then delivers them.
    """
    from caiep.issuer import reminders

    now = datetime.now(UTC)
    with invocation.instance().registry() as registry, registry.write() as connection:
        made = reminders.enqueue_reminders(connection, today=on or now.date(), now=now)
    print(", ".join(f"{made[days]} reminder(s) at {days} days" for days in sorted(made, reverse=True)))
    return EXIT_OK
