"""Holder messages end to end: a signing job enqueues, ``caiep mail send`` delivers to a real
SMTP server (aiosmtpd on loopback, STARTTLS with a throwaway CA), temporary failures are retried,
refused addresses bounce, a refused login stops the run; without SMTP, ``.eml`` files.

The registry is SQLite in the instance and a fresh PostgreSQL database (``database_url``).
"""

from __future__ import annotations

import csv
import html
import json
import os
import re
import signal
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from cli_support import ISSUER_URL, init_issuer
from conftest_registry import Caiep, no_database_override  # noqa: F401 - autouse fixture
from smtp_server import Script, SmtpServer, TestAuthority
from sqlalchemy import select

from caiep.delivery import Sender, send_due
from caiep.issuer import holdertokens, outbox
from caiep.issuer.registry import open_registry
from caiep.issuer.tables import holder_tokens
from caiep.wallet_export.message_text import day
from caiep.wallet_export.transport import open_transport

if TYPE_CHECKING:
    from conftest import CLI

PASSES = 50
LINK = re.compile(re.escape(ISSUER_URL) + r"/h/([A-Za-z0-9_-]{43})")
NAMES = [("Zoë", "Ødegård"), ("小龍", "李"), ("Ada", "Example")]


def _write_results(path: Path, passes: int) -> list[tuple[str, str]]:
    """A results file of ``passes`` passes and two fails; the (name, e-mail) of each pass."""
    people = []
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(
            ["candidate_id", "given_name", "family_name", "email", "registered_on", "exam_date", "result",
             "score", "exam_version", "pathway"]
        )  # fmt: skip
        for number in range(passes + 2):
            given, family = NAMES[number % len(NAMES)]
            email = f"holder{number:03d}@example.org"
            result = "fail" if number >= passes else "pass"
            out.writerow(
                [f"C-{number:04d}", given, family, email, "2025-09-01", "2026-03-14", result, "80", "2026.1",
                 "experience"]
            )  # fmt: skip
            if result == "pass":
                people.append((f"{given} {family}", email))
    return people


@pytest.fixture
def authority(tmp_path: Path) -> TestAuthority:
    return TestAuthority(tmp_path / "ca")


@pytest.fixture
def issued(
    cli: CLI, home: Path, tmp_path: Path, passphrase: str, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """An instance on ``database_url`` whose signing job issued PASSES charters: {e-mail: name}."""
    if not database_url.startswith("sqlite"):
        monkeypatch.setenv("CAIEP_DATABASE_URL", database_url)
    init_issuer(cli, "key")
    people = _write_results(tmp_path / "results.csv", PASSES)
    assert cli("results", "import", str(tmp_path / "results.csv")).code == 0
    signed = cli("sign", "--batch-size", "20")
    assert signed.code == 0, signed.err
    return {email: name for name, email in people}


def _smtp_env(
    monkeypatch: pytest.MonkeyPatch, server: SmtpServer, authority: TestAuthority, **extra: str
) -> None:
    monkeypatch.setenv("CAIEP_SMTP_URL", server.url(user=extra.pop("user", None)))
    monkeypatch.setenv("CAIEP_SMTP_CA_FILE", str(authority.ca_file))
    monkeypatch.setenv("CAIEP_MAIL_FROM", "CAiEP Registry <registry@credentials.caiep.example>")
    for name, value in extra.items():
        monkeypatch.setenv(name, value)


def _registry_url(home: Path, database_url: str) -> str:
    return database_url if not database_url.startswith("sqlite") else f"sqlite:///{home / 'registry.sqlite3'}"


def _messages(home: Path, database_url: str) -> list[outbox.Message]:
    with open_registry(_registry_url(home, database_url)) as registry, registry.read() as connection:
        return outbox.listing(connection)


def _text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def test_a_signing_job_of_50_delivers_50_messages_with_working_holder_links(
    cli: CLI, home: Path, issued: dict[str, str], authority: TestAuthority, database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    queued = _messages(home, database_url)
    assert len(queued) == PASSES
    assert {m.state for m in queued} == {"pending"}
    listed = cli("mail", "list")
    assert listed.code == 0
    assert listed.out.count("pending") == PASSES
    assert _paged(cli) == [m.id for m in queued]
    with SmtpServer(certificate=authority.issue()) as server:
        _smtp_env(monkeypatch, server, authority)
        sent = cli("mail", "send")
        assert sent.code == 0, sent.err
        assert f"sent {PASSES}, bounced 0, deferred 0" in sent.out
        received = server.received
        again = cli("mail", "send")  # nothing left: nothing sent twice
        assert again.code == 0
        assert "sent 0" in again.out
        assert len(server.received) == PASSES
    assert all(r.tls for r in received)
    assert {r.sender for r in received} == {"registry@credentials.caiep.example"}  # MAIL FROM: the address
    assert sorted(r.recipients[0] for r in received) == sorted(issued)
    rows = {m.recipient: m for m in _messages(home, database_url)}
    assert {m.state for m in rows.values()} == {"sent"}
    assert all(m.composed is None for m in rows.values())  # the raw tokens are gone from the registry
    with open_registry(_registry_url(home, database_url)) as registry, registry.read() as connection:
        for r in received:
            recipient = r.recipients[0]
            message = message_from_bytes(r.data, policy=default_policy)
            assert isinstance(message, EmailMessage)
            assert r.message_id == rows[recipient].message_id  # the Message-ID the registry keeps
            assert message["To"].addresses[0].addr_spec == recipient
            assert message["From"].addresses[0].display_name == "CAiEP Registry"
            text = _text(message)
            name = issued[recipient]
            assert name in text
            assert "CAiEP" in text
            facts = outbox.facts(connection, rows[recipient])
            for moment in (facts.awarded_at, facts.valid_from, facts.valid_until):
                assert day(moment) in text  # "14 March 2026"
            assert facts.charter_number in text
            assert f"{ISSUER_URL}/c/{rows[recipient].credential_id}" in text  # the public page
            [token] = set(LINK.findall(text))
            assert holdertokens.resolve(connection, token) == rows[recipient].holder_id
    assert len({r.message_id for r in received}) == PASSES
    _follow_the_links(home, database_url, received, issued)


def _paged(cli: CLI) -> list[int]:
    """The ids ``mail list --json --limit 20`` gives page after page, following the ``more:`` hint."""
    ids: list[int] = []
    args = ["mail", "list", "--json", "--limit", "20"]
    while True:
        page = cli(*args)
        assert page.code == 0, page.err
        rows = json.loads(page.out)
        assert 0 < len(rows) <= 20
        ids += [row["id"] for row in rows]
        if not page.err:
            return ids
        assert page.err == f"more: caiep mail list --limit 20 --after {rows[-1]['id']}\n"
        args = ["mail", "list", "--json", *page.err.split()[4:]]


def _follow_the_links(home: Path, database_url: str, received: list[Any], issued: dict[str, str]) -> None:
    """Each message's holder link opens that holder's private page in the web app, and only hers."""
    from caiep.app import AppConfig, create_app
    from support import unlimited_rates

    app = create_app(
        AppConfig(home=home, database_url=_registry_url(home, database_url), rate_limits=unlimited_rates())
    )
    try:
        client = app.test_client()
        for r in received:
            message = message_from_bytes(r.data, policy=default_policy)
            assert isinstance(message, EmailMessage)
            text = _text(message)
            [token] = set(LINK.findall(text))
            [number] = set(re.findall(r"CAIEP-\d{6}", text))
            page = client.get(f"/h/{token}")
            assert page.status_code == 200
            assert page.headers["Cache-Control"] == "no-store"
            body = page.get_data(as_text=True)
            name = issued[r.recipients[0]]
            assert f"<bdi>{html.escape(name)}</bdi>, CAiEP</h1>" in body
            assert "<strong>Current</strong> until" in body
            assert f"<dt>Charter number</dt><dd>{number}</dd>" in body  # her charter, not a namesake's
            others = {n for n in issued.values() if n != name}
            assert not any(f"<bdi>{html.escape(n)}</bdi>, CAiEP</h1>" in body for n in others)
        assert client.get("/h/" + "A" * 43).status_code == 404
    finally:
        app.extensions["caiep.registry"].dispose()


def test_451_then_250_delivers_the_message_once_after_its_back_off(
    cli: CLI, home: Path, issued: dict[str, str], authority: TestAuthority, database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    busy = "holder007@example.org"
    script = Script(rcpt_replies={busy: ["451 4.3.0 try again later"]})
    with SmtpServer(certificate=authority.issue(), script=script) as server:
        _smtp_env(monkeypatch, server, authority)
        first = cli("mail", "send")
        assert first.code == 0, first.err
        assert f"sent {PASSES - 1}, bounced 0, deferred 1" in first.out
        [waiting] = [m for m in _messages(home, database_url) if m.state == "pending"]
        assert waiting.recipient == busy
        assert waiting.attempts == 1
        assert "451" in (waiting.last_error or "")
        assert waiting.next_attempt_at > datetime.now(UTC)
        [line] = cli("mail", "list", "--failed").out.splitlines()
        assert busy in line
        assert "451 4.3.0 try again later" in line
        assert "sent 0, bounced 0, deferred 0" in cli("mail", "send").out  # not due yet
        # After its back-off (the run's clock, two minutes on), the same bytes go through.
        later = datetime.now(UTC) + timedelta(minutes=2)
        with open_registry(_registry_url(home, database_url)) as registry:
            transport = open_transport(
                server.url(), outbox_dir=home / "outbox", ca_file=authority.ca_file, password=None
            )
            try:
                report = send_due(
                    registry, transport, Sender("CAiEP", ISSUER_URL, "registry@credentials.caiep.example"),
                    clock=lambda: later,
                )  # fmt: skip
            finally:
                transport.close()
        assert (report.sent, report.deferred, report.bounced) == (1, 0, [])
        counts = Counter(r.recipients[0] for r in server.received)
        rcpts = [c for c in server.commands if c[0] == "RCPT" and busy in c[1]]
    assert counts[busy] == 1
    assert set(counts.values()) == {1}
    assert len(counts) == PASSES
    assert [reply[:3] for _, _, reply in rcpts] == ["451", "250"]
    assert {m.state for m in _messages(home, database_url)} == {"sent"}


def test_a_refused_address_bounces_is_not_retried_and_the_others_still_go(
    cli: CLI, home: Path, issued: dict[str, str], authority: TestAuthority, database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    unknown = "holder011@example.org"
    script = Script(rejected={unknown: "550 5.1.1 no such mailbox here"})
    with SmtpServer(certificate=authority.issue(), script=script) as server:
        _smtp_env(monkeypatch, server, authority)
        sent = cli("mail", "send")
        assert sent.code == 0, sent.err
        assert f"sent {PASSES - 1}, bounced 1, deferred 0" in sent.out
        assert unknown in sent.err
        assert "550 5.1.1 no such mailbox here" in sent.err
        assert "sent 0, bounced 0" in cli("mail", "send").out  # never retried
        tried = [c for c in server.commands if c[0] == "RCPT" and unknown in c[1]]
        assert len(tried) == 1
        assert unknown not in {r.recipients[0] for r in server.received}
        assert len(server.received) == PASSES - 1
    failed = cli("mail", "list", "--failed")
    [line] = failed.out.splitlines()
    assert "bounced" in line
    assert unknown in line
    assert "550 5.1.1 no such mailbox here" in line
    [bounced] = [m for m in _messages(home, database_url) if m.state == "bounced"]
    assert bounced.composed is None
    with open_registry(_registry_url(home, database_url)) as registry, registry.read() as connection:
        # The link it carried was never delivered: it opens nothing.
        live = (
            connection.execute(
                select(holder_tokens.c.revoked_at).where(holder_tokens.c.outbox_id == bounced.id)
            )
            .scalars()
            .all()
        )
    assert len(live) == 1
    assert live[0] is not None


def test_a_refused_login_stops_the_run_and_every_message_stays_pending(
    cli: CLI, home: Path, issued: dict[str, str], authority: TestAuthority, database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    script = Script(users={"mailer": "the right one"})
    with SmtpServer(certificate=authority.issue(), script=script) as server:
        _smtp_env(monkeypatch, server, authority, user="mailer", CAIEP_SMTP_PASSWORD="a wrong one")
        run = cli("mail", "send")
        assert run.code == 2
        assert "535" in run.err
        assert "a wrong one" not in run.err + run.out
        assert server.received == []
        # Stopped at the first login (smtplib tries each mechanism offered): no message was tried.
        assert [c[0] for c in server.commands if c[0] != "AUTH"] == ["STARTTLS"]
        assert len(server.commands) <= 4
    messages = _messages(home, database_url)
    assert len(messages) == PASSES
    assert {(m.state, m.attempts) for m in messages} == {("pending", 0)}


def test_without_smtp_messages_are_eml_files_in_the_instance_outbox(
    cli: CLI, home: Path, issued: dict[str, str], database_url: str
) -> None:
    sent = cli("mail", "send")
    assert sent.code == 0, sent.err
    files = sorted((home / "outbox").glob("*.eml"))
    assert len(files) == PASSES
    assert {f.stat().st_mode & 0o777 for f in files} == {0o600}
    ids = {m.message_id for m in _messages(home, database_url)}
    parsed = [message_from_bytes(f.read_bytes(), policy=default_policy) for f in files]
    assert {str(p["Message-ID"]) for p in parsed} == ids
    assert {p["To"].addresses[0].addr_spec for p in parsed} == set(issued)


def test_remind_twice_enqueues_each_reminder_once(
    cli: CLI, home: Path, issued: dict[str, str], database_url: str
) -> None:
    with open_registry(_registry_url(home, database_url)) as registry, registry.read() as connection:
        first = _messages(home, database_url)[0]
        valid_until = outbox.facts(connection, first).valid_until
    day = (valid_until - timedelta(days=90)).date().isoformat()
    made = cli("mail", "remind", "--on", day)
    assert made.code == 0
    assert made.out.strip() == f"{PASSES} reminder(s) at 90 days, 0 reminder(s) at 30 days"
    again = cli("mail", "remind", "--on", day)
    assert again.out.strip() == "0 reminder(s) at 90 days, 0 reminder(s) at 30 days"
    events = Counter(m.event for m in _messages(home, database_url))
    assert events == {"award": PASSES, "reminder-90": PASSES}


def test_a_reminder_overtaken_by_a_revocation_is_not_sent(
    cli: CLI, home: Path, issued: dict[str, str], database_url: str
) -> None:
    assert cli("mail", "send").code == 0  # the awards
    with open_registry(_registry_url(home, database_url)) as registry, registry.read() as connection:
        valid_until = outbox.facts(connection, _messages(home, database_url)[0]).valid_until
    assert cli("mail", "remind", "--on", (valid_until - timedelta(days=30)).date().isoformat()).code == 0
    revoked = cli("revoke", "CAIEP-000001", "--reason", "withdrawn by the board")
    assert revoked.code == 0, revoked.err
    sent = cli("mail", "send")
    assert sent.code == 0, sent.err
    assert f"sent {PASSES}, bounced 0, deferred 0, not sent 1" in sent.out  # 49 reminders, 1 revocation
    states = Counter((m.event, m.state) for m in _messages(home, database_url))
    assert states == {
        ("award", "sent"): PASSES,
        ("reminder-30", "sent"): PASSES - 1,
        ("reminder-30", "cancelled"): 1,
        ("revocation", "sent"): 1,
    }
    files = list((home / "outbox").glob("*.eml"))
    assert len(files) == 2 * PASSES


def test_watch_sends_what_is_enqueued_while_it_runs(
    home: Path, tmp_path: Path, issued: dict[str, str], database_url: str
) -> None:
    caiep = Caiep(home, tmp_path, None if database_url.startswith("sqlite") else database_url)
    process = caiep.start("mail", "send", "--watch", "--interval", "1")
    try:
        _wait_for_files(home / "outbox", PASSES)
        with open_registry(_registry_url(home, database_url)) as registry, registry.write() as connection:
            first = outbox.listing(connection)[0]
            outbox.enqueue(
                connection, event="award", holder_id=first.holder_id, credential_id=first.credential_id,
                version=1, now=datetime.now(UTC),
            )  # fmt: skip
        _wait_for_files(home / "outbox", PASSES + 1)
        deadline = time.monotonic() + 30
        while {m.state for m in _messages(home, database_url)} != {"sent"}:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert process.poll() is None  # still watching
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        out, _ = process.communicate(timeout=30)
    assert out.startswith(f"sent {PASSES}, bounced 0, deferred 0\n")  # then quiet while idle
    assert len(_messages(home, database_url)) == PASSES + 1


def _wait_for_files(folder: Path, count: int) -> None:
    deadline = time.monotonic() + 30
    while len(list(folder.glob("*.eml"))) < count:
        assert time.monotonic() < deadline, f"fewer than {count} messages in {folder}"
        time.sleep(0.05)


def test_a_second_sender_is_refused_and_sends_nothing(
    cli: CLI, home: Path, issued: dict[str, str], database_url: str
) -> None:
    """One sender per instance (a lock file), and per PostgreSQL registry (an advisory lock)."""
    import fcntl

    with (home / "mail-send.lock").open("a+b") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        refused = cli("mail", "send")
    assert refused.code == 2
    assert "another `caiep mail send` is running" in refused.err
    if not database_url.startswith("sqlite"):
        with open_registry(database_url) as registry, outbox.sender_lock(registry.engine) as held_lock:
            assert held_lock
            refused = cli("mail", "send")
        assert refused.code == 2
        assert "another `caiep mail send` is running" in refused.err
    assert {m.state for m in _messages(home, database_url)} == {"pending"}
    assert not (home / "outbox").exists() or not list((home / "outbox").glob("*.eml"))
    assert cli("mail", "send").code == 0  # the locks were released
    assert len(list((home / "outbox").glob("*.eml"))) == PASSES
