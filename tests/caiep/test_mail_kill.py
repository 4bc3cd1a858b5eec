"""``kill -9`` of ``caiep mail send`` at random points, over many runs: no message is lost, and
an event reaches the server twice only when the kill fell in the documented window.

The window (README "How a holder receives the charter"): the server has accepted a message
(its ``250``) and the registry has not yet committed it as sent. Everything is real: the
installed ``caiep`` script in a subprocess of its own session, a SIGKILL to its process group,
and the SMTP server (aiosmtpd) in another process that outlives the sender and records every
message it accepts. After each kill the test reads both sides: a message the server holds whose
row is still ``pending`` is a kill inside the window, and is counted; the next run sends it
again (same bytes, same Message-ID). At the end a run without kill sends the rest, and every
duplicate the server received must be one of those counted.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest_registry import ISSUER_URL, Caiep, no_database_override, query  # noqa: F401
from smtp_server import SmtpServerProcess

from bench.make_results import write_results
from caiep.issuer import outbox
from caiep.issuer.registry import open_registry

RUNS = 30
PER_RUN = 12  # messages waiting at the start of each run
POLL = 0.002


def _wait_for(condition: object, process: subprocess.Popen[str], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition() and process.poll() is None:  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("mail send neither progressed nor ended")
        time.sleep(POLL)


def _top_up(url: str, wanted: int) -> None:
    """Enqueue events (award notices of the issued charters) until ``wanted`` are pending."""
    with open_registry(url) as registry, registry.write() as connection:
        pending = sum(1 for m in outbox.listing(connection) if m.state == "pending")
        charters = query(url, "SELECT id, holder_id FROM charter_credentials ORDER BY id")
        events = [
            outbox.Event("award", int(holder), str(credential), 1)
            for credential, holder in random.sample(charters, max(0, wanted - pending))
        ]
        outbox.enqueue_many(connection, events, now=datetime.now(UTC))


def _accepted(record_dir: Path) -> int:
    """How many messages the server has accepted (it writes each record's JSON last)."""
    return sum(1 for entry in os.scandir(record_dir) if entry.name.endswith(".json"))


def _pending_ids(url: str) -> set[str]:
    return {row[0] for row in query(url, "SELECT message_id FROM outbox WHERE state = 'pending'")}


def test_kill_9_at_random_points_loses_nothing_and_duplicates_only_in_the_window(
    tmp_path: Path, database_url: str
) -> None:
    rng = random.Random(20)
    caiep = Caiep(home=tmp_path / "instance", cwd=tmp_path, database_url=database_url)
    url = database_url
    init = caiep.run(
        "init", "--issuer-name", "CAiEP Certification Board", "--issuer-url", ISSUER_URL, "--did", "key"
    )
    assert init.returncode == 0, init.stderr
    write_results(tmp_path / "results.csv", 40, seed=3)
    assert caiep.run("results", "import", str(tmp_path / "results.csv")).returncode == 0
    signed = caiep.run("sign")
    assert signed.returncode == 0, signed.stderr

    with SmtpServerProcess(tmp_path / "received", tls="none") as server:
        caiep.env["CAIEP_SMTP_URL"] = server.url()
        caiep.env["CAIEP_MAIL_FROM"] = "registry@credentials.caiep.example"

        # One run to the end (the job's award messages): how long one message takes.
        _top_up(url, PER_RUN)
        initial = len(_pending_ids(url))
        records = tmp_path / "received"
        started = time.monotonic()
        process = caiep.start("mail", "send")
        _wait_for(lambda: _accepted(records) > 0, process)
        first = time.monotonic() - started
        _wait_for(lambda: _accepted(records) == initial, process)
        per_message = (time.monotonic() - started - first) / (initial - 1)
        assert process.wait(timeout=60) == 0, process.stderr.read() if process.stderr else ""
        assert len(server.received) == initial

        in_window: Counter[str] = Counter()
        mid_run = 0
        for run in range(RUNS):
            _top_up(url, PER_RUN)
            before = _accepted(records)
            process = caiep.start("mail", "send")
            if run % 5 == 0:  # now and then while it starts, connects or composes its first message
                time.sleep(rng.uniform(0, first))
            else:  # mostly while it sends: after a random number of messages, anywhere in the next
                after = before + rng.randint(1, PER_RUN - 1)
                _wait_for(lambda after=after: _accepted(records) >= after, process)  # type: ignore[misc]
                time.sleep(rng.uniform(0, per_message))
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
            for stream in (process.stdout, process.stderr):
                if stream is not None:
                    stream.close()
            time.sleep(0.05)  # the server finishes whatever it was recording
            new = Counter(r.message_id for r in server.received[before:])
            caught = set(new) & _pending_ids(url)  # accepted in this run, not committed as sent
            assert len(caught) <= 1  # one message per transaction, committed at once
            in_window.update(caught)
            sent_now = len(server.received) - before
            mid_run += 0 < sent_now < PER_RUN

        done = caiep.run("mail", "send")
        assert done.returncode == 0, done.stderr
        received = server.received

    rows = query(url, "SELECT message_id, state, composed FROM outbox")
    assert {state for _, state, _ in rows} == {"sent"}
    assert all(composed is None for _, _, composed in rows)
    counts = Counter(r.message_id for r in received)
    # None lost: every event reached the server at least once, and nothing else did.
    assert set(counts) == {message_id for message_id, _, _ in rows}
    # Received twice only after a kill in the window: once more for each such kill, never else.
    duplicates = {message_id: n - 1 for message_id, n in counts.items() if n > 1}
    assert duplicates == dict(in_window)
    assert mid_run >= RUNS // 3, f"only {mid_run} of {RUNS} kills fell while messages were going out"
    print(
        f"\n{RUNS} kills ({mid_run} mid-run), {len(rows)} events, {len(received)} received, "
        f"{sum(duplicates.values())} duplicate(s), all from kills in the window ({sum(in_window.values())})"
    )


@pytest.fixture(autouse=True)
def _no_stray_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CAIEP_SMTP_URL", "CAIEP_SMTP_PASSWORD", "CAIEP_MAIL_FROM"):
        monkeypatch.delenv(name, raising=False)
