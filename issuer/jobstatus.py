"""Which signing jobs are running, finished, failed or interrupted, and how far each got.

A job's row says ``running`` from its start until its own process records the end. A process
killed outright (``kill -9``, a power cut, the out-of-memory killer) never records it, so the
row alone cannot tell a job still at work from one that died. At its start a job therefore
records which process runs it (:func:`this_process`: host name, process id, the kernel's boot id
and the process's start time since boot, its PID namespace); a listing shows a ``running`` job
whose process is gone as ``interrupted``. The check needs no clock and no heartbeat: the same pid
started at the same tick of the same boot is the same process, and a reused pid is not.

A job run on another host (a PostgreSQL registry shared by several machines) or in another PID
namespace cannot be checked from here and is shown as recorded. Nothing is written by a listing:
an interrupted job's row keeps ``running``, its credentials stay issued exactly once (see
:mod:`~caiep.issuer.recording`), and a new ``caiep sign`` takes up the results it left pending.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, select

from caiep.issuer.tables import credential_versions, job_items, jobs

#: What ``caiep jobs list`` shows: the recorded status, or ``interrupted`` for a dead ``running`` job.
STATUSES = ("running", "finished", "failed", "interrupted")

_PROC = Path("/proc")


@dataclass(frozen=True)
class JobRecord:
    """One signing job as listed; ``issued`` and ``failed`` of an unfinished job are counted
    from the credentials and failures it has committed so far."""

    job_id: str
    status: str
    started: datetime
    finished: datetime | None
    workers: int
    issued: int
    failed: int


def this_process() -> dict[str, Any]:
    """The identity of the running process, as a job records it at its start."""
    identity: dict[str, Any] = {"host": socket.gethostname(), "pid": os.getpid()}
    identity.update(_kernel_identity(os.getpid()))
    return identity


def is_gone(runner: Mapping[str, Any]) -> bool:
    """True when the process ``runner`` names has certainly ended; False when it runs, or when
    it cannot be told from here (another host, another PID namespace, no ``/proc``)."""
    mine = this_process()
    if runner.get("host") != mine["host"] or runner.get("pidns") != mine.get("pidns"):
        return False
    pid = runner.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return False
    if "boot" in mine and "boot" in runner:
        if runner["boot"] != mine["boot"]:
            return True  # the machine has restarted since
        now = _kernel_identity(pid)
        return now.get("started") != runner.get("started")  # no such process, or the pid reused
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def list_jobs(connection: Connection) -> list[JobRecord]:
    """Every signing job, newest first, with the status a person should see."""
    rows = connection.execute(
        select(
            jobs.c.id,
            jobs.c.status,
            jobs.c.started_at,
            jobs.c.finished_at,
            jobs.c.workers,
            jobs.c.issued,
            jobs.c.failed,
            jobs.c.report,
        ).order_by(jobs.c.started_at.desc(), jobs.c.id)
    ).all()
    open_ids = [row.id for row in rows if row.finished_at is None]
    issued, failed = _progress(connection, open_ids) if open_ids else ({}, {})
    records = []
    for row in rows:
        status = row.status
        if row.finished_at is None and status == "running" and is_gone(_runner(row.report)):
            status = "interrupted"
        done = row.finished_at is not None
        records.append(
            JobRecord(
                job_id=row.id,
                status=status,
                started=row.started_at,
                finished=row.finished_at,
                workers=row.workers,
                issued=row.issued if done else issued.get(row.id, 0),
                failed=row.failed if done else failed.get(row.id, 0),
            )
        )
    return records


def _progress(connection: Connection, job_ids: list[str]) -> tuple[dict[str, int], dict[str, int]]:
    """Credentials issued and results failed so far by each unfinished job."""
    issued = connection.execute(
        select(credential_versions.c.job_id, func.count())
        .where(credential_versions.c.job_id.in_(job_ids))
        .group_by(credential_versions.c.job_id)
    ).all()
    failed = connection.execute(
        select(job_items.c.job_id, func.count())
        .where(job_items.c.job_id.in_(job_ids), job_items.c.outcome == "failed")
        .group_by(job_items.c.job_id)
    ).all()
    return {job: int(n) for job, n in issued}, {job: int(n) for job, n in failed}


def _runner(report: str | None) -> Mapping[str, Any]:
    """The process identity a running job recorded in its report column ({} if none)."""
    try:
        document = json.loads(report) if report else {}
    except ValueError:
        return {}
    runner = document.get("runner") if isinstance(document, dict) else None
    return runner if isinstance(runner, dict) else {}


def _kernel_identity(pid: int) -> dict[str, Any]:
    """Linux: the boot id, the process's start time in clock ticks since boot, its PID namespace.

    Empty where ``/proc`` does not say (another system); without ``started`` when there is no
    such process.
    """
    identity: dict[str, Any] = {}
    try:
        identity["boot"] = (_PROC / "sys/kernel/random/boot_id").read_text().strip()
        identity["pidns"] = os.stat(_PROC / "self/ns/pid").st_ino
    except OSError:
        return {}
    try:
        stat = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return identity
    # "pid (comm) state ppid …": comm may hold spaces or parentheses, so split after its end.
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] not in ("Z", "X"):  # a zombie has ended; it only waits to be reaped
        identity["started"] = int(fields[19])  # field 22 of the line: starttime
    return identity
