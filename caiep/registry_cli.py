"""The registry commands: results import, sign, credentials, audit, keys.

Kept apart from :mod:`caiep.cli` (set-up, issue, verify); both are thin: they read flags,
open the instance, call the issuer package and print.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from caiep.errors import InputError
from caiep.issuer.audit import AuditEntry
from caiep.issuer.jobs import run_signing_job
from caiep.issuer.registry import CredentialRecord
from caiep.issuer.results import ExamResult, check_results, iter_results
from caiep.progress import ProgressDisplay
from caiep.settings import read_passphrase, write_atomic
from caiep.wiring import Instance, write_did_document

EXIT_OK, EXIT_FAILED, EXIT_UNUSABLE = 0, 1, 2
_SHOWN_ERRORS = 50


def _duration(text: str) -> timedelta:
    match = re.fullmatch(r"(\d+)([dw])", text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"not a duration like 90d or 12w: {text!r}")
    return timedelta(days=int(match.group(1)) * (7 if match.group(2) == "w" else 1))


def _positive(text: str) -> int:
    value = int(text) if text.isdigit() else 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1: {text!r}")
    return value


def add_parsers(commands: Any) -> None:
    results = commands.add_parser("results", help="exam results from the exam platform")
    actions = results.add_subparsers(dest="action", required=True, metavar="ACTION")
    load = actions.add_parser("import", help="import a CSV, JSON or JSON Lines export")
    load.add_argument("file", type=Path)
    load.add_argument("--dry-run", action="store_true", help="check every row, write nothing")
    load.add_argument(
        "--skip-invalid", action="store_true", help="import the valid rows even if others are bad"
    )
    actions.add_parser("retry", help="put results that failed to sign back in the queue")

    sign = commands.add_parser("sign", help="sign every passing result that has no credential yet")
    sign.add_argument("--workers", type=_positive, default=1, help="signing processes (default 1)")
    sign.add_argument("--limit", type=_positive, help="sign at most this many")
    sign.add_argument("--batch-size", type=_positive, default=1000, help=argparse.SUPPRESS)
    sign.add_argument("--format", choices=("ldp", "jwt"), default="ldp")

    creds = commands.add_parser("credentials", help="the credentials this instance has issued")
    actions = creds.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="newest first")
    listing.add_argument("--json", action="store_true")
    listing.add_argument("--holder", metavar="EMAIL")
    listing.add_argument(
        "--expiring-within", type=_duration, metavar="90d", help="still valid, ending within this time"
    )
    show = actions.add_parser("show", help="one credential's record")
    show.add_argument("id", help="credential uuid or URL")
    export = actions.add_parser("export", help="write the exact signed credential to a file")
    export.add_argument("id", help="credential uuid or URL")
    export.add_argument("--out", type=Path, required=True)

    audit = commands.add_parser("audit", help="the hash-chained audit log")
    actions = audit.add_subparsers(dest="action", required=True, metavar="ACTION")
    actions.add_parser("verify", help="check the whole chain; exit 1 at the first broken entry")

    keys = commands.add_parser("keys", help="the issuer's signing keys")
    actions = keys.add_subparsers(dest="action", required=True, metavar="ACTION")
    actions.add_parser("list", help="every key, current one last")
    actions.add_parser("rotate", help="new signing key; old ones stay in the DID document")


def run(home: Path, args: argparse.Namespace) -> int:
    handler = {
        ("results", "import"): _import,
        ("results", "retry"): _retry,
        ("sign", None): _sign,
        ("credentials", "list"): _list,
        ("credentials", "show"): _show,
        ("credentials", "export"): _export,
        ("audit", "verify"): _audit_verify,
        ("keys", "list"): _keys_list,
        ("keys", "rotate"): _keys_rotate,
    }[(args.command, getattr(args, "action", None))]
    return handler(Instance(home), args)


def _import(instance: Instance, args: argparse.Namespace) -> int:
    path: Path = args.file
    today = datetime.now(UTC).date()
    check = check_results(path, today=today)
    for error in check.errors[:_SHOWN_ERRORS]:
        field = f" {error.field}:" if error.field else ""
        print(f"{path}:{error.line}:{field} {error.reason}", file=sys.stderr)
    bad = check.rows - check.valid
    if bad > _SHOWN_ERRORS:
        print(f"... and {bad - _SHOWN_ERRORS} more bad rows", file=sys.stderr)
    counts = f"{check.valid} valid ({check.passes} passes, {check.fails} fails), {bad} bad"
    print(f"{path}: {check.rows} rows, {counts}")
    if args.dry_run:
        return EXIT_OK if bad == 0 else EXIT_FAILED
    if bad and not args.skip_invalid:
        print(
            "nothing imported: fix the rows above, or use --skip-invalid to import the valid ones",
            file=sys.stderr,
        )
        return EXIT_FAILED
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    valid = (item for item in iter_results(path, today=today) if isinstance(item, ExamResult))
    registry = instance.registry()
    try:
        summary = registry.import_results(
            valid, source=path.name, source_sha256=digest, now=datetime.now(UTC)
        )
    finally:
        registry.dispose()
    print(
        f"imported {summary.inserted} results ({summary.passes} passes to sign, {summary.fails} fails kept), "
        f"{summary.duplicates} already known, {summary.new_holders} new holders"
    )
    return EXIT_OK


def _retry(instance: Instance, args: argparse.Namespace) -> int:
    registry = instance.registry()
    try:
        print(f"{registry.retry_failed(now=datetime.now(UTC))} results back in the queue")
    finally:
        registry.dispose()
    return EXIT_OK


def _sign(instance: Instance, args: argparse.Namespace) -> int:
    signer = instance.signer(read_passphrase(), format=args.format)
    registry = instance.registry()
    try:
        report = run_signing_job(
            registry,
            signer,
            workers=args.workers,
            limit=args.limit,
            batch_size=args.batch_size,
            on_progress=ProgressDisplay(),
        )
    finally:
        registry.dispose()
    jobs = instance.home / "jobs"
    jobs.mkdir(exist_ok=True)
    write_atomic(jobs / f"{report.job_id}.json", json.dumps(report.to_json(), indent=2) + "\n")
    rate = f" ({report.issued / report.seconds:,.0f}/s)" if report.seconds > 0 and report.issued else ""
    print(
        f"job {report.job_id}: issued {report.issued}{rate}, failed {len(report.failed)}, "
        f"still pending {report.remaining}"
    )
    for failure in report.failed[:_SHOWN_ERRORS]:
        print(f"  result {failure['result']}: {failure['reason']}", file=sys.stderr)
    print(f"report: {jobs / f'{report.job_id}.json'}")
    return EXIT_OK if not report.failed else EXIT_FAILED


def _record_json(record: CredentialRecord) -> dict[str, Any]:
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
    }


def _list(instance: Instance, args: argparse.Namespace) -> int:
    now = datetime.now(UTC)
    holder = args.holder.strip().lower() if args.holder is not None else None
    before = now + args.expiring_within if args.expiring_within is not None else None
    with (
        instance.registry() as registry,
        registry.credentials(
            holder_email=holder, valid_until_before=before, valid_at=now if before else None
        ) as records,
    ):
        if args.json:
            _write_json_array(_record_json(r) for r in records)
            return EXIT_OK
        for r in records:
            holder = f"{r.holder_name} <{r.holder_email}>"
            print(f"{r.credential_id}  {r.charter_number}  {r.valid_until:%Y-%m-%d}  {r.format:<3}  {holder}")
    return EXIT_OK


def _write_json_array(items: Iterable[dict[str, Any]]) -> None:
    """Write a JSON array item by item (what ``json.dumps(list, indent=2)`` writes, never held whole)."""
    out = sys.stdout
    opened = False
    for item in items:
        text = json.dumps(item, indent=2, ensure_ascii=False).replace("\n", "\n  ")
        out.write(("[\n  " if not opened else ",\n  ") + text)
        opened = True
    out.write("\n]\n" if opened else "[]\n")


def _credential(instance: Instance, id_or_url: str) -> tuple[CredentialRecord, str]:
    registry = instance.registry()
    try:
        return registry.credential(id_or_url)
    finally:
        registry.dispose()


def _show(instance: Instance, args: argparse.Namespace) -> int:
    record, _ = _credential(instance, args.id)
    print(json.dumps(_record_json(record), indent=2, ensure_ascii=False))
    return EXIT_OK


def _export(instance: Instance, args: argparse.Namespace) -> int:
    record, document = _credential(instance, args.id)
    args.out.write_text(document, encoding="utf-8")
    print(f"wrote {record.url} ({record.format}) to {args.out}", file=sys.stderr)
    return EXIT_OK


def _audit_verify(instance: Instance, args: argparse.Namespace) -> int:
    registry = instance.registry()
    try:
        checked, broken = registry.verify_audit()
    finally:
        registry.dispose()
    if broken is not None:
        where = f"entry {broken.seq}" if broken.seq else "the registry"
        print(f"audit BROKEN at {where}: {broken.reason} ({checked} chain entries read)")
        return EXIT_FAILED
    print(f"audit holds: {checked} chain entries, and every stored credential is the document issued")
    return EXIT_OK


def _keys_list(instance: Instance, args: argparse.Namespace) -> int:
    for record in instance.keys.records():
        retired = f"retired {record.retired:%Y-%m-%d}" if record.retired else "current"
        print(f"{record.key_id}  created {record.created:%Y-%m-%d}  {retired}")
    return EXIT_OK


def _keys_rotate(instance: Instance, args: argparse.Namespace) -> int:
    if instance.settings.did_method == "key":
        raise InputError("a did:key issuer is its key and cannot rotate it; use a did:web issuer")
    now = datetime.now(UTC)
    previous = instance.keys.current()
    registry = instance.registry()  # opened first: a rotation is never left out of the audit log
    try:
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
    finally:
        registry.dispose()
    print(f"new signing key {record.key_id}; {previous.key_id} retired but still in the DID document")
    print(f"publish {instance.home / 'did.json'} again at /.well-known/did.json")
    return EXIT_OK
