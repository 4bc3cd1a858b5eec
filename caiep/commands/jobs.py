"""Signing jobs as the registry records them: ``jobs list``."""

from __future__ import annotations

import json

import click

from caiep.commands.common import EXIT_OK, Invocation, json_option, pass_invocation


@click.group("jobs")
def jobs() -> None:
    """The signing jobs this instance has run."""


@jobs.command("list")
@json_option
@pass_invocation
def list_jobs(invocation: Invocation, as_json: bool) -> int:
    """List the signing jobs, newest first: running, finished, failed or interrupted.

    A job whose process died before it could record its end (killed, or the machine stopped)
    is ``interrupted``; its credentials are issued, and ``caiep sign`` takes up what it left.
    """
    with invocation.instance().registry() as registry:
        records = registry.jobs()
    if as_json:
        rows = [
            {
                "job": r.job_id,
                "status": r.status,
                "started": r.started.isoformat(),
                "finished": r.finished.isoformat() if r.finished else None,
                "workers": r.workers,
                "issued": r.issued,
                "failed": r.failed,
            }
            for r in records
        ]
        print(json.dumps(rows, indent=2))
        return EXIT_OK
    for r in records:
        started = f"{r.started:%Y-%m-%d %H:%M:%S}Z"
        print(f"{r.job_id}  {r.status:<11}  started {started}  issued {r.issued}  failed {r.failed}")
    return EXIT_OK
