"""A signing job whose process was killed is listed as ``interrupted``, never as ``running``.

Everything is real: the installed ``caiep`` console script in subprocesses, a real SIGKILL sent
to the job's process group mid-way, and both registries through ``database_url`` (a SQLite file,
and a fresh database on the PostgreSQL server at 127.0.0.1:5432).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from bench.make_results import write_results
from support import create_registry

SCRIPT = Path(sys.executable).with_name("caiep")
ISSUER_URL = "https://credentials.caiep.example"
ROWS = 3_000  # about 2,300 passes: a job of a second or more, in transactions of 100
BATCH = 100


def _count(url: str, sql: str) -> int:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text(sql)).scalar_one())
    finally:
        engine.dispose()


class Caiep:
    def __init__(self, home: Path, database_url: str) -> None:
        self.home = home
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("CAIEP_")}
        self.env["CAIEP_KEY_PASSPHRASE"] = "an entirely fictional passphrase for subprocesses"
        self.env["CAIEP_DATABASE_URL"] = database_url

    def argv(self, *args: str) -> list[str]:
        return [str(SCRIPT), "--home", str(self.home), *args]

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.argv(*args),
            env=self.env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def start(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.argv(*args),
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )

    def jobs(self) -> list[dict[str, Any]]:
        listed = self.run("jobs", "list", "--json")
        assert listed.returncode == 0, listed.stderr
        jobs: list[dict[str, Any]] = json.loads(listed.stdout)
        return jobs


@pytest.fixture
def instance(tmp_path: Path, database_url: str) -> Caiep:
    caiep = Caiep(tmp_path / "instance", database_url)
    init = caiep.run(
        "init", "--issuer-name", "CAiEP Certification Board", "--issuer-url", ISSUER_URL, "--did", "key"
    )
    assert init.returncode == 0, init.stderr
    results = tmp_path / "results.csv"
    write_results(results, ROWS, seed=7)
    imported = caiep.run("results", "import", str(results))
    assert imported.returncode == 0, imported.stderr
    return caiep


def _wait_for_credentials(url: str, job: subprocess.Popen[str], at_least: int) -> None:
    deadline = time.monotonic() + 60
    while _count(url, "SELECT count(*) FROM charter_credentials") < at_least:
        if job.poll() is not None:
            pytest.fail(f"the job ended before it could be killed: {job.communicate()}")
        assert time.monotonic() < deadline, f"no {at_least} credentials within 60 s"
        time.sleep(0.005)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_job_killed_mid_way_is_listed_as_interrupted(
    instance: Caiep, database_url: str, workers: int
) -> None:
    passes = _count(database_url, "SELECT count(*) FROM exam_results WHERE status = 'pending'")
    job = instance.start("sign", "--workers", str(workers), "--batch-size", str(BATCH))
    try:
        _wait_for_credentials(database_url, job, 3 * BATCH)
        # Held still while it is listed, so a fast job cannot finish between the two looks.
        os.killpg(job.pid, signal.SIGSTOP)
        (running,) = instance.jobs()
        assert job.poll() is None, "the job must still run while it is listed"
        assert running["status"] == "running"
    finally:
        try:
            os.killpg(job.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        job.communicate(timeout=30)
    assert job.returncode == -signal.SIGKILL

    (listed,) = instance.jobs()

    killed_at = _count(database_url, "SELECT count(*) FROM charter_credentials")
    assert listed["job"] == running["job"]
    assert listed["status"] == "interrupted"
    assert listed["finished"] is None
    assert (listed["issued"], listed["failed"]) == (killed_at, 0)
    assert 3 * BATCH <= killed_at < passes
    text_listing = instance.run("jobs", "list")
    assert text_listing.returncode == 0
    assert f"{listed['job']}  interrupted" in text_listing.stdout

    rerun = instance.run("sign", "--batch-size", str(BATCH))
    assert rerun.returncode == 0, rerun.stderr
    newest, older = instance.jobs()
    assert (newest["status"], newest["issued"]) == ("finished", passes - killed_at)
    assert (older["job"], older["status"], older["issued"]) == (listed["job"], "interrupted", killed_at)


def test_only_a_dead_process_makes_a_job_interrupted(database_url: str) -> None:
    """The job's process is recognised by host, pid and start time: a live one is running, a
    reused pid is not the job's process, and a job on another host is shown as recorded."""
    from caiep.issuer import jobstatus, recording

    me = jobstatus.this_process()
    now = datetime.now(UTC)
    runners = {
        "alive": me,
        "pid-reused": {**me, "started": me["started"] - 1},
        "no-such-process": {**me, "pid": _unused_pid()},
        "other-host": {**me, "host": socket.gethostname() + ".elsewhere", "pid": _unused_pid()},
    }
    with create_registry(database_url) as registry:
        with registry.write() as connection:
            for job_id, runner in runners.items():
                recording.start_job(connection, job_id, workers=1, now=now, runner=runner)
            recording.start_job(connection, "finished", workers=1, now=now, runner=runners["pid-reused"])
            recording.finish_job(
                connection, "finished", status="finished", issued=0, failed=0, report={}, now=now
            )
        statuses = {record.job_id: record.status for record in registry.jobs()}

    assert statuses == {
        "alive": "running",
        "pid-reused": "interrupted",
        "no-such-process": "interrupted",
        "other-host": "running",
        "finished": "finished",
    }


def _unused_pid() -> int:
    """The pid of a process that has ended and been reaped."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid
