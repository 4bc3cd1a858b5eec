"""Exam results and signing jobs: ``results import``, ``results retry`` and ``sign``.

Thin commands: they read flags, open the instance, call the issuer package and print.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from caiep.commands.common import (
    EXIT_INVALID,
    EXIT_OK,
    FORMATS,
    POSITIVE,
    SHOWN_ERRORS,
    Invocation,
    pass_invocation,
)


@click.group("results")
def results() -> None:
    """Exam results from the exam platform."""


@results.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--dry-run", is_flag=True, help="check every row, write nothing")
@click.option("--skip-invalid", is_flag=True, help="import the valid rows even if others are bad")
@pass_invocation
def import_results(invocation: Invocation, file: Path, dry_run: bool, skip_invalid: bool) -> int:
    """Import a CSV, JSON or JSON Lines export.

    Award rows (the default) wait for 'caiep sign'. Rows with kind=renewal and a charter_number
    (CAIEP-000042) renew that charter at once, in the same transaction as the awards: a new
    version under the same credential id, dated the row's exam_date (default today), which
    needs the key passphrase. One refused renewal imports nothing.
    """
    import hashlib
    from datetime import UTC, datetime

    from caiep.issuer.results import ExamResult, check_results, iter_results

    instance = invocation.instance()
    today = datetime.now(UTC).date()
    check = check_results(file, today=today)
    for error in check.errors[:SHOWN_ERRORS]:
        field = f" {error.field}:" if error.field else ""
        print(f"{file}:{error.line}:{field} {error.reason}", file=sys.stderr)
    bad = check.rows - check.valid
    if bad > SHOWN_ERRORS:
        print(f"... and {bad - SHOWN_ERRORS} more bad rows", file=sys.stderr)
    counts = f"{check.valid} valid ({check.passes} passes, {check.fails} fails"
    counts += f", {check.renewals} renewals), {bad} bad" if check.renewals else f"), {bad} bad"
    print(f"{file}: {check.rows} rows, {counts}")
    if dry_run:
        return EXIT_OK if bad == 0 else EXIT_INVALID
    if bad and not skip_invalid:
        print(
            "nothing imported: fix the rows above, or use --skip-invalid to import the valid ones",
            file=sys.stderr,
        )
        return EXIT_INVALID
    digest = hashlib.sha256(file.read_bytes()).hexdigest()
    valid = (item for item in iter_results(file, today=today) if isinstance(item, ExamResult))
    if not check.renewals:
        with instance.registry() as registry:
            summary = registry.import_results(
                valid, source=file.name, source_sha256=digest, now=datetime.now(UTC)
            )
        _print_summary(summary)
        return EXIT_OK
    return _import_with_renewals(invocation, file, today, digest)


def _print_summary(summary: Any) -> None:
    print(
        f"imported {summary.inserted} results ({summary.passes} passes to sign, {summary.fails} fails kept), "
        f"{summary.duplicates} already known, {summary.new_holders} new holders"
    )


def _import_with_renewals(invocation: Invocation, file: Path, today: Any, digest: str) -> int:
    """Awards and renewals of one file in one transaction: all of it, or nothing."""
    import getpass
    from datetime import UTC, datetime

    from caiep.errors import InputError
    from caiep.issuer import changes, importing
    from caiep.issuer.results import ExamResult, RenewalRow, iter_results
    from caiep.settings import read_passphrase

    instance = invocation.instance()
    signer = instance.signer(read_passphrase())
    window = invocation.configuration().require("renewal_window_months", int)
    renewals = [
        changes.Wanted(item.charter_number, f"{file}:{item.line}", item.on)
        for item in iter_results(file, today=today)
        if isinstance(item, RenewalRow)
    ]
    awards = (item for item in iter_results(file, today=today) if isinstance(item, ExamResult))
    now = datetime.now(UTC)
    try:
        actor = getpass.getuser()
    except (KeyError, OSError):
        actor = "unknown"
    try:
        with instance.registry() as registry, registry.write() as connection:
            summary = importing.import_results(
                connection, awards, source=file.name, source_sha256=digest, now=now
            )
            renewed = changes.renew(
                connection, renewals, signer, on=None, window_months=window, actor=actor, now=now
            )
    except InputError as exc:
        message = exc.message if "nothing was" in exc.message else exc.message + "; nothing was imported"
        raise InputError(message) from None
    _print_summary(summary)
    for outcome in renewed:
        assert outcome.valid_until is not None
        line = f"renewed {outcome.charter.charter_number} until {outcome.valid_until:%Y-%m-%d}"
        if outcome.lapse is not None:
            line += f" (lapsed from {outcome.lapse[0]:%Y-%m-%d} to {outcome.lapse[1]:%Y-%m-%d})"
        print(line)
    return EXIT_OK


@results.command("retry")
@pass_invocation
def retry(invocation: Invocation) -> int:
    """Put results that failed to sign back in the queue."""
    from datetime import UTC, datetime

    with invocation.instance().registry() as registry:
        print(f"{registry.retry_failed(now=datetime.now(UTC))} results back in the queue")
    return EXIT_OK


@click.command("sign")
@click.option("--workers", type=POSITIVE, default=1, help="signing processes (default 1)")
@click.option("--limit", type=POSITIVE, help="sign at most this many")
@click.option("--batch-size", type=POSITIVE, default=1000, hidden=True)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="ldp", show_default=True)
@pass_invocation
def sign(invocation: Invocation, workers: int, limit: int | None, batch_size: int, fmt: str) -> int:
    """Sign every passing result that has no credential yet."""
    import json

    from caiep.issuer.jobs import run_signing_job
    from caiep.progress import ProgressDisplay
    from caiep.settings import read_passphrase, write_atomic

    instance = invocation.instance()
    signer = instance.signer(read_passphrase(), format=fmt)
    with instance.registry() as registry:
        report = run_signing_job(
            registry,
            signer,
            workers=workers,
            limit=limit,
            batch_size=batch_size,
            on_progress=ProgressDisplay(),
        )
    jobs = instance.home / "jobs"
    jobs.mkdir(mode=0o700, exist_ok=True)  # reports name results and their failures: owner only
    write_atomic(jobs / f"{report.job_id}.json", json.dumps(report.to_json(), indent=2) + "\n")
    rate = f" ({report.issued / report.seconds:,.0f}/s)" if report.seconds > 0 and report.issued else ""
    print(
        f"job {report.job_id}: issued {report.issued}{rate}, failed {len(report.failed)}, "
        f"still pending {report.remaining}"
    )
    for failure in report.failed[:SHOWN_ERRORS]:
        print(f"  result {failure['result']}: {failure['reason']}", file=sys.stderr)
    print(f"report: {jobs / f'{report.job_id}.json'}")
    return EXIT_OK if not report.failed else EXIT_INVALID
