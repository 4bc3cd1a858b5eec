"""What the instance holds: ``credentials list|show|export|backfill``, ``audit verify``,
``keys list|rotate``."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from caiep.commands.common import (
    DURATION,
    EXIT_INVALID,
    EXIT_OK,
    FILE_PATH,
    POSITIVE,
    Invocation,
    json_option,
    pass_invocation,
)

if TYPE_CHECKING:
    from caiep.issuer.registry import CredentialRecord


#: The charter states (``caiep.issuer.records.CHARTER_STATES``).
STATES = ("current", "lapsed", "suspended", "revoked")


@click.group("credentials")
def credentials() -> None:
    """The credentials this instance has issued."""


@credentials.command("list")
@json_option
@click.option("--holder", metavar="EMAIL")
@click.option("--expiring-within", type=DURATION, metavar="90d", help="still valid, ending within this time")
@click.option("--limit", type=POSITIVE, help="list at most this many")
@click.option(
    "--after", metavar="UUID", help="continue after this credential (the last of the previous page)"
)
@click.option("--csv", "as_csv", is_flag=True, help="print CSV with a header row")
@click.option("--state", type=click.Choice(STATES), help="only charters in this state")
@pass_invocation
def list_credentials(
    invocation: Invocation,
    as_json: bool,
    holder: str | None,
    expiring_within: timedelta | None,
    limit: int | None,
    after: str | None,
    as_csv: bool,
    state: str | None,
) -> int:
    """List the credentials, newest first; streamed, so memory stays flat at any registry size.

    With --expiring-within 90d it is the renewal reminder list (still valid, ending within 90
    days); --state narrows it to current, lapsed, suspended or revoked charters.
    """
    from datetime import UTC, datetime

    from caiep.errors import InputError

    if as_json and as_csv:
        raise InputError("--json and --csv: choose one")
    now = datetime.now(UTC)
    email = holder.strip().lower() if holder is not None else None
    before = now + expiring_within if expiring_within is not None else None
    with (
        invocation.instance().registry() as registry,
        registry.credentials(
            holder_email=email,
            valid_until_before=before,
            valid_at=now if before else None,
            limit=limit,
            after=after,
            state=state,
            now=now,
        ) as records,
    ):
        if as_json:
            _write_json_array(_record_json(r, now) for r in records)
            return EXIT_OK
        if as_csv:
            _write_csv(records, now)
            return EXIT_OK
        for r in records:
            named = f"{r.holder_name} <{r.holder_email}>"
            print(f"{r.credential_id}  {r.charter_number}  {r.valid_until:%Y-%m-%d}  {r.format:<3}  {named}")
    return EXIT_OK


CSV_COLUMNS = (
    "id", "uuid", "charter_number", "holder", "email", "state", "state_since", "valid_from", "valid_until",
    "format", "version",
)  # fmt: skip


def _write_csv(records: Iterable[CredentialRecord], now: datetime) -> None:
    """One row a charter, streamed; fields that begin like a spreadsheet formula are prefixed with '."""
    import csv

    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for r in records:
        row = [
            r.url, r.credential_id, r.charter_number, r.holder_name, r.holder_email, r.charter_state(now),
            "" if r.state_since is None else r.state_since.isoformat(), r.valid_from.isoformat(),
            r.valid_until.isoformat(), r.format, str(r.version),
        ]  # fmt: skip
        writer.writerow(["'" + v if v[:1] in ("=", "+", "-", "@") else v for v in row])


def _write_json_array(items: Iterable[dict[str, Any]]) -> None:
    """Write a JSON array item by item: the bytes of ``json.dumps(list, indent=2)``, never held whole."""
    out = sys.stdout
    opened = False
    for item in items:
        text = json.dumps(item, indent=2, ensure_ascii=False).replace("\n", "\n  ")
        out.write(("[\n  " if not opened else ",\n  ") + text)
        opened = True
    out.write("\n]\n" if opened else "[]\n")


@credentials.command("show")
@click.argument("id")
@pass_invocation
def show(invocation: Invocation, id: str) -> int:
    """One credential's record (ID: its uuid or URL), with its state and each lapse between versions."""
    from caiep.issuer.changes import lapses

    record, _ = _credential(invocation, id)
    shown = _record_json(record)
    with invocation.instance().registry() as registry, registry.read() as connection:
        found = lapses(connection, record.credential_id)
    shown["lapses"] = [{"from": start.isoformat(), "to": end.isoformat()} for start, end in found]
    print(json.dumps(shown, indent=2, ensure_ascii=False))
    return EXIT_OK


@credentials.command("export")
@click.argument("id")
@click.option("--out", type=FILE_PATH, required=True)
@pass_invocation
def export(invocation: Invocation, id: str, out: Path) -> int:
    """Write the exact signed credential the URL serves to a file (ID: its URL, uuid or charter
    number); ``caiep export`` makes the other forms and files."""
    from caiep.commands.exports import export_served

    url, format = export_served(invocation, id, out)
    print(f"wrote {url} ({format}) to {out}", file=sys.stderr)
    return EXIT_OK


@credentials.command("backfill")
@click.option(
    "--batch-size", type=POSITIVE, default=500, show_default=True, help="forms signed per transaction"
)
@click.option("--dry-run", is_flag=True, help="only count the missing forms; sign nothing")
@pass_invocation
def backfill(invocation: Invocation, batch_size: int, dry_run: bool) -> int:
    """Sign the missing form of every credential issued before both forms were stored.

    Each version is issued as a JSON copy (Data Integrity) and its VC-JWT; a credential issued
    before has one of them. This signs the other over the same body (same id, dates and status
    entry) with the current key, and stores it beside the served copy. Run it once after
    upgrading; running it again signs nothing. Needs the key passphrase (CAIEP_KEY_PASSPHRASE
    or a terminal), except with --dry-run. Progress goes to standard error.
    """
    from datetime import UTC, datetime

    from caiep.issuer.backfill import BackfillProgress, backfill_forms, count_missing_forms
    from caiep.settings import read_passphrase

    instance = invocation.instance()
    with instance.registry() as registry:
        if dry_run:
            missing = count_missing_forms(registry)
            print(f"would sign {missing} missing {_forms(missing)} (--dry-run: nothing signed)")
            return EXIT_OK
        signer = instance.signer(read_passphrase())

        def report(progress: BackfillProgress) -> None:
            print(f"backfill: {progress.signed}/{progress.total} forms signed", file=sys.stderr)

        signed = backfill_forms(
            registry, signer, now=datetime.now(UTC), batch_size=batch_size, on_progress=report
        )
    print(
        f"signed {signed} missing {_forms(signed)}" if signed else "every credential has both forms; signed 0"
    )
    return EXIT_OK


def _forms(count: int) -> str:
    return "form" if count == 1 else "forms"


def _credential(invocation: Invocation, id_or_url: str) -> tuple[CredentialRecord, str]:
    with invocation.instance().registry() as registry:
        return registry.credential(id_or_url)


def _record_json(record: CredentialRecord, now: datetime | None = None) -> dict[str, Any]:
    from datetime import UTC
    from datetime import datetime as clock

    at = now or clock.now(UTC)
    return {
        "id": record.url,
        "uuid": record.credential_id,
        "holder": record.holder_name,
        "email": record.holder_email,
        "charterNumber": record.charter_number,
        "format": record.format,
        "validFrom": record.valid_from.isoformat(),
        "validUntil": record.valid_until.isoformat(),
        "issuedAt": record.issued_at.isoformat(),
        "key": record.key_id,
        "job": record.job_id,
        "examResult": record.result_id,
        "sha256": record.sha256,
        "state": record.charter_state(at),
        "stateSince": None if record.state_since is None else record.state_since.isoformat(),
        "version": record.version,
    }


@click.group("audit")
def audit() -> None:
    """The hash-chained audit log."""


@audit.command("verify")
@pass_invocation
def audit_verify(invocation: Invocation) -> int:
    """Check the whole chain; exit 1 at the first broken entry."""
    with invocation.instance().registry() as registry:
        checked, broken = registry.verify_audit()
    if broken is not None:
        where = f"entry {broken.seq}" if broken.seq else "the registry"
        print(f"audit BROKEN at {where}: {broken.reason} ({checked} chain entries read)")
        return EXIT_INVALID
    print(
        f"audit holds: {checked} chain entries, every stored credential is the document issued, "
        "and every status list the one last signed"
    )
    return EXIT_OK


@click.group("keys")
def keys() -> None:
    """The issuer's signing keys."""


@keys.command("list")
@pass_invocation
def list_keys(invocation: Invocation) -> int:
    """Every key, current one last."""
    for record in invocation.instance().keys.records():
        retired = f"retired {record.retired:%Y-%m-%d}" if record.retired else "current"
        print(f"{record.key_id}  created {record.created:%Y-%m-%d}  {retired}")
    return EXIT_OK


@keys.command("rotate")
@pass_invocation
def rotate(invocation: Invocation) -> int:
    """New signing key; old ones stay in the DID document."""
    from datetime import UTC, datetime

    from caiep.addresses import DID_DOCUMENT_ROUTE
    from caiep.errors import InputError
    from caiep.issuer.audit import AuditEntry
    from caiep.settings import read_passphrase
    from caiep.wiring import write_did_document

    instance = invocation.instance()
    if instance.settings.did_method == "key":
        raise InputError("a did:key issuer is its key and cannot rotate it; use a did:web issuer")
    now = datetime.now(UTC)
    previous = instance.keys.current()
    with instance.registry() as registry:  # opened first: a rotation is never left out of the audit log
        record = instance.keys.rotate(read_passphrase(), now=now)
        write_did_document(instance.home, instance.settings, instance.keys)
        registry.append_audit(
            [
                AuditEntry(
                    "key.rotated",
                    instance.settings.issuer_id,
                    {"new": record.key_id, "retired": previous.key_id},
                )
            ],
            now=now,
        )
    print(f"new signing key {record.key_id}; {previous.key_id} retired but still in the DID document")
    print(f"publish {instance.home / 'did.json'} again at {DID_DOCUMENT_ROUTE}")
    return EXIT_OK
