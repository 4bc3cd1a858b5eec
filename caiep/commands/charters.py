"""A charter's lifecycle: ``revoke``, ``suspend``, ``reinstate`` and ``renew``.

Each names one charter (ID: the credential URL, its uuid, or the holder's charter number
``CAIEP-000042``) or, with ``--from FILE``, one per line: all of them change in one
transaction, or none does (the first refusal names its line). Every change is an audit entry
with who (``--actor``, default the OS user), when and why. Signing (the status lists, a new
version) needs the key passphrase, as ``caiep issue`` does.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from caiep.commands.common import DATE, EXIT_OK, FILE_PATH, Invocation, pass_invocation
from caiep.commands.common import actor_name as _actor

if TYPE_CHECKING:
    from caiep.issuer.changes import Outcome, Wanted

#: A --from file holds at most this many ids (bounded before any work).
MAX_IDS = 100_000
MAX_ID_CHARS = 600


def _actor_option(function: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--actor", metavar="NAME", help="who makes the change (default: the OS user)")(
        function
    )


def _reason_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """``--reason`` (public, required) and ``--note`` (internal) of a revocation or suspension."""
    function = click.option("--note", help="internal note, never shown outside the registry")(function)
    return click.option(
        "--reason", required=True, help="short public reason, shown on the credential's page"
    )(function)


def _from_option(function: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--from", "from_file", type=FILE_PATH, help="a file of ids, one a line: all change, or none"
    )(function)


def _wanted(command: str, id: str | None, from_file: Path | None) -> list[Wanted]:
    """The ids named: the argument, or the lines of --from FILE (blank lines and # comments skipped)."""
    from caiep.errors import InputError
    from caiep.issuer.changes import Wanted

    if (id is None) == (from_file is None):
        raise InputError(f"{command}: name one charter (ID) or a file of ids (--from FILE), not both")
    if id is not None:
        return [Wanted(id, f"{command} {id.strip()}")]
    assert from_file is not None
    try:
        raw = from_file.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the file of ids ({exc.strerror})", source=str(from_file)) from None
    if len(raw) > MAX_IDS * MAX_ID_CHARS:
        raise InputError(f"more than {MAX_IDS * MAX_ID_CHARS} bytes", source=str(from_file))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text", source=str(from_file)) from None
    wanted = []
    for number, line in enumerate(text.splitlines(), start=1):
        value = line.strip()
        if not value or value.startswith("#"):
            continue
        where = f"{from_file}:{number}"
        if len(value) > MAX_ID_CHARS or not value.isprintable():
            raise InputError(f"{where}: not a credential URL, uuid or charter number; nothing was changed")
        wanted.append(Wanted(value, where))
    if not wanted:
        raise InputError("names no charter", source=str(from_file))
    if len(wanted) > MAX_IDS:
        raise InputError(f"names more than {MAX_IDS} charters", source=str(from_file))
    return wanted


def _run(
    invocation: Invocation, change: Callable[..., list[Outcome]], wanted: list[Wanted], **options: Any
) -> list[Outcome]:
    from datetime import UTC, datetime

    from caiep.errors import InputError
    from caiep.settings import read_passphrase

    instance = invocation.instance()
    signer = instance.signer(read_passphrase())
    try:
        with instance.registry() as registry, registry.write() as connection:
            return change(connection, wanted, signer, now=datetime.now(UTC), **options)
    except InputError as exc:
        suffix = (
            "; nothing was changed" if len(wanted) > 1 and "nothing was changed" not in exc.message else ""
        )
        raise InputError(exc.message + suffix) from None


def _print(outcomes: list[Outcome], verb: str) -> None:
    for o in outcomes:
        line = f"{verb} {o.charter.charter_number} {o.charter.url}: {o.state}"
        if o.lists:
            line += f" (status list {', '.join(str(n) for n in o.lists)} re-signed)"
        if o.version is not None and o.valid_from is not None and o.valid_until is not None:
            line += f"; version {o.version} valid {o.valid_from:%Y-%m-%d} to {o.valid_until:%Y-%m-%d}"
        if o.lapse is not None:
            line += f"; lapsed from {o.lapse[0]:%Y-%m-%d} to {o.lapse[1]:%Y-%m-%d}"
        print(line)


def _write(outcomes: list[Outcome], out: Path | None) -> None:
    if out is None:
        return
    documents = [o.document for o in outcomes if o.document is not None]
    if len(documents) != 1:
        print(f"--out: {len(documents)} new versions; nothing written to {out}", file=sys.stderr)
        return
    out.write_text(documents[0], encoding="utf-8")
    print(f"wrote the new version to {out}", file=sys.stderr)


@click.command("revoke")
@click.argument("id", required=False)
@_reason_options
@_from_option
@_actor_option
@pass_invocation
def revoke(
    invocation: Invocation,
    id: str | None,
    reason: str,
    note: str | None,
    from_file: Path | None,
    actor: str | None,
) -> int:
    """Revoke a charter (final): the bit of every copy of every unexpired version is set."""
    from caiep.issuer.changes import revoke as change

    wanted = _wanted("revoke", id, from_file)
    _print(_run(invocation, change, wanted, reason=reason, note=note, actor=_actor(actor)), "revoked")
    return EXIT_OK


@click.command("suspend")
@click.argument("id", required=False)
@_reason_options
@_from_option
@_actor_option
@pass_invocation
def suspend(
    invocation: Invocation,
    id: str | None,
    reason: str,
    note: str | None,
    from_file: Path | None,
    actor: str | None,
) -> int:
    """Suspend a current charter: every copy in circulation reads as revoked to other verifiers;
    our pages say Suspended. Undo with 'caiep reinstate'."""
    from caiep.issuer.changes import suspend as change

    wanted = _wanted("suspend", id, from_file)
    _print(_run(invocation, change, wanted, reason=reason, note=note, actor=_actor(actor)), "suspended")
    return EXIT_OK


@click.command("reinstate")
@click.argument("id", required=False)
@click.option("--out", type=FILE_PATH, help="write the new version here")
@click.option("--note", help="internal note, never shown outside the registry")
@_from_option
@_actor_option
@pass_invocation
def reinstate(
    invocation: Invocation,
    id: str | None,
    out: Path | None,
    note: str | None,
    from_file: Path | None,
    actor: str | None,
) -> int:
    """Reinstate a suspended charter: a new version under the same id (newer validFrom, same
    validUntil, a new status index) that the hosted URL serves; the suspended copies stay revoked."""
    from caiep.issuer.changes import reinstate as change

    wanted = _wanted("reinstate", id, from_file)
    outcomes = _run(invocation, change, wanted, note=note, actor=_actor(actor))
    _print(outcomes, "reinstated")
    _write(outcomes, out)
    return EXIT_OK


@click.command("renew")
@click.argument("id", required=False)
@click.option("--on", "on", type=DATE, help="the renewal date, YYYY-MM-DD (default: today)")
@click.option("--out", type=FILE_PATH, help="write the new version here")
@click.option("--note", help="internal note, never shown outside the registry")
@_from_option
@_actor_option
@pass_invocation
def renew(
    invocation: Invocation,
    id: str | None,
    on: date | None,
    out: Path | None,
    note: str | None,
    from_file: Path | None,
    actor: str | None,
) -> int:
    """Renew a charter for five years: a new version under the same id.

    Early renewal is accepted within renewal_window_months (12) before its validUntil, and the
    holder loses no time (five years after the old validUntil); after a lapse the five years run
    from the renewal date and the lapse is recorded.
    """
    from caiep.issuer.changes import renew as change

    wanted = _wanted("renew", id, from_file)
    window = invocation.configuration().require("renewal_window_months", int)
    outcomes = _run(invocation, change, wanted, on=on, window_months=window, note=note, actor=_actor(actor))
    _print(outcomes, "renewed")
    _write(outcomes, out)
    return EXIT_OK
