"""``caiep export``: the holder's files of one charter credential, or of a cohort.

``ID`` is the credential URL, its uuid or the holder's charter number. Several outputs are made
in one call; all of them are made in memory first and written only when every one succeeded,
each file atomically and private to the instance's user (they carry the holder's name). Nothing
is signed: every file reads the copies stored when the version was issued.
"""

from __future__ import annotations

import csv
import io
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from caiep.commands.common import EXIT_INVALID, EXIT_OK, FILE_PATH, Invocation, pass_invocation
from caiep.errors import InputError

if TYPE_CHECKING:
    from caiep.wallet_export.charter import ExportedCharter
    from caiep.wallet_export.outputs import Output

#: What a cohort export can make of each charter (``--include``), by file name suffix.
BULK_KINDS = ("json", "jwt", "baked-png", "baked-svg", "pdf", "qr-png", "qr-svg")
BULK_DEFAULT = ("json", "jwt", "baked-png", "pdf")
#: The header names of a CSV whose first column is the charter (``credentials list --csv``).
_HEADERS = {"id", "url", "uuid", "credential", "charter_number", "charter"}
MAX_COHORT = 100_000


@click.command("export")
@click.argument("id", required=False)
@click.option("--json", "json_out", type=FILE_PATH, help="the stored JSON credential (Data Integrity proof)")
@click.option("--jwt", "jwt_out", type=FILE_PATH, help="the stored VC-JWT form")
@click.option("--qr", "qr_out", type=FILE_PATH, help="QR code of the page: FILE.png (300 dpi) or FILE.svg")
@click.option("--baked-png", type=FILE_PATH, help="the charter badge with the credential baked in (PNG)")
@click.option("--baked-svg", type=FILE_PATH, help="the charter badge with the credential baked in (SVG)")
@click.option(
    "--form",
    type=click.Choice(("json", "jwt")),
    default="json",
    show_default=True,
    help="which stored form the baked badges carry",
)
@click.option("--pdf", "pdf_out", type=FILE_PATH, help="the printable certificate")
@click.option("--paper", type=click.Choice(("a4", "letter")), default="a4", show_default=True)
@click.option("--linkedin", is_flag=True, help='print LinkedIn\'s "Add to profile" URL on standard output')
@click.option(
    "--from",
    "from_file",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="a cohort: one ID a line (or CSV, first column), instead of ID",
)
@click.option("--out-dir", type=click.Path(path_type=Path, file_okay=False), help="where a cohort's files go")
@click.option(
    "--include",
    type=click.Choice(BULK_KINDS),
    multiple=True,
    help=f"a cohort's files (repeatable; default: {', '.join(BULK_DEFAULT)})",
)
@pass_invocation
def export(
    invocation: Invocation,
    id: str | None,
    json_out: Path | None,
    jwt_out: Path | None,
    qr_out: Path | None,
    baked_png: Path | None,
    baked_svg: Path | None,
    form: str,
    pdf_out: Path | None,
    paper: str,
    linkedin: bool,
    from_file: Path | None,
    out_dir: Path | None,
    include: tuple[str, ...],
) -> int:
    """Write a charter's files: credential, VC-JWT, QR code, baked badges, certificate, LinkedIn URL."""
    if from_file is not None or out_dir is not None:
        if id is not None or any((json_out, jwt_out, qr_out, baked_png, baked_svg, pdf_out, linkedin)):
            raise InputError("--from/--out-dir export a cohort: give neither ID nor single-file options")
        if from_file is None or out_dir is None:
            raise InputError("a cohort export needs both --from FILE and --out-dir DIR")
        return _export_cohort(invocation, from_file, out_dir, include or BULK_DEFAULT, form, paper)
    if include:
        raise InputError("--include chooses a cohort's files; use it with --from and --out-dir")
    if id is None:
        raise InputError("name the credential: caiep export ID (its URL, uuid or charter number)")
    kinds = (("json", json_out), ("jwt", jwt_out), ("qr", qr_out), ("baked-png", baked_png),
             ("baked-svg", baked_svg), ("pdf", pdf_out))  # fmt: skip
    files = tuple((kind, path) for kind, path in kinds if path is not None)
    if not files and not linkedin:
        raise InputError(
            "nothing to export: give --json, --jwt, --qr, --baked-png, --baked-svg, --pdf or --linkedin"
        )
    _check_paths([path for _, path in files])
    charter = _find(invocation, id)
    outputs = [(path, _render(charter, kind, path, form, paper)) for kind, path in files]
    link = _linkedin(invocation, charter) if linkedin else None
    for path, output in outputs:
        _write(path, output)
        print(f"wrote {output.media_type} to {path}", file=sys.stderr)
    if link is not None:
        print(link)
    return EXIT_OK


def export_served(invocation: Invocation, wanted: str, out: Path) -> tuple[str, str]:
    """Write the exact document the credential's URL serves to ``out`` (``credentials export``);
    its URL and stored format (``ldp`` or ``jwt``)."""
    from caiep.wallet_export.outputs import credential_file

    _check_paths([out])
    charter = _find(invocation, wanted)
    output = credential_file(charter, charter.served_form)
    _write(out, output)
    return charter.url, "jwt" if charter.served_form == "jwt" else "ldp"


def _find(invocation: Invocation, wanted: str) -> ExportedCharter:
    from caiep.exporting import find_exported

    instance = invocation.instance()
    with instance.registry() as registry:
        return find_exported(registry, wanted, instance.settings.issuer_url, now=datetime.now(UTC))


def _render(charter: ExportedCharter, kind: str, path: Path | None, form: str, paper: str) -> Output:
    """One output of ``kind`` (a ``--qr`` path's suffix picks PNG or SVG)."""
    from caiep.wallet_export import outputs

    if kind in ("json", "jwt"):
        return outputs.credential_file(charter, kind)
    if kind == "qr":
        suffix = path.suffix.lower().lstrip(".") if path is not None else "png"
        if suffix not in ("png", "svg"):
            raise InputError(f"--qr writes a .png or .svg file, not {path}", location="--qr")
        return outputs.qr_code(charter, suffix)
    if kind.startswith("qr-"):
        return outputs.qr_code(charter, kind[3:])
    if kind.startswith("baked-"):
        return outputs.baked_badge(charter, kind[6:], form)
    if kind == "pdf":
        made = outputs.certificate(charter, paper)
        for warning in made.warnings:
            print(f"caiep: warning: {warning}", file=sys.stderr)
        return made
    raise InputError(f"unknown export {kind!r}")  # pragma: no cover - the options name them all


def _linkedin(invocation: Invocation, charter: ExportedCharter) -> str:
    from caiep.wallet_export.linkedin import add_to_profile_url

    organization = invocation.configuration().get("linkedin_organization_id", str)
    return add_to_profile_url(charter, organization_id=organization)


def _check_paths(paths: list[Path]) -> None:
    """Refuse, before any work, an output whose folder is missing or that is named twice."""
    seen: set[Path] = set()
    for path in paths:
        if not path.parent.is_dir():
            raise InputError(f"the folder {path.parent} does not exist", source=str(path))
        if path.resolve() in seen:
            raise InputError("the same file is named for two outputs", source=str(path))
        seen.add(path.resolve())


def _write(path: Path, output: Output) -> None:
    from caiep.atomicfile import write_atomic

    try:
        write_atomic(path, output.data)
    except OSError as exc:
        raise InputError(f"cannot write the file: {exc.strerror}", source=str(path)) from exc


def read_cohort(path: Path) -> list[tuple[int, str]]:
    """(line number, ID) of each charter named in ``path``: one ID a line, or a CSV whose first
    column names them (a header row such as ``credentials list --csv`` writes is skipped);
    blank lines and lines starting with ``#`` are ignored."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError("the cohort file is not UTF-8 text", source=str(path)) from exc
    wanted: list[tuple[int, str]] = []
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        first = row[0].strip() if row else ""
        if not first or first.startswith("#") or (number == 1 and first.lower() in _HEADERS):
            continue
        wanted.append((number, first))
        if len(wanted) > MAX_COHORT:
            raise InputError(f"more than {MAX_COHORT:,} charters; split the file", source=str(path))
    if not wanted:
        raise InputError("the cohort file names no charter", source=str(path))
    return wanted


def _export_cohort(
    invocation: Invocation, from_file: Path, out_dir: Path, include: tuple[str, ...], form: str, paper: str
) -> int:
    """Every charter of the file: each is found before any file is written (an unknown ID stops
    the run, naming its line); then, one charter at a time, its files. A charter that is not
    current gets its stored JSON, VC-JWT and QR code but no badge or certificate: named, exit 1."""
    from caiep.exporting import find_exported
    from caiep.wallet_export.charter import NotCurrent

    if not out_dir.is_dir():
        raise InputError(f"the folder {out_dir} does not exist", source="--out-dir")
    wanted = read_cohort(from_file)
    instance = invocation.instance()
    now = datetime.now(UTC)
    skipped = written = 0
    with instance.registry() as registry:
        found: list[str] = []
        for line, name in wanted:
            try:
                found.append(registry.issued_copies(name, now=now).credential_id)
            except InputError as exc:
                raise InputError(exc.message, source=str(from_file), location=f"line {line}") from exc
        for credential_id in dict.fromkeys(found):
            charter = find_exported(registry, credential_id, instance.settings.issuer_url, now=now)
            outputs: list[Output] = []
            for kind in include:
                try:
                    outputs.append(_render(charter, kind, None, form, paper))
                except NotCurrent as exc:
                    print(f"caiep: {charter.charter_number}: {exc.message}; {kind} skipped", file=sys.stderr)
                    skipped += 1
            for output in outputs:
                _write(out_dir / output.filename, output)
                written += 1
    print(f"wrote {written} files for {len(set(found))} charters to {out_dir}", file=sys.stderr)
    return EXIT_INVALID if skipped else EXIT_OK
