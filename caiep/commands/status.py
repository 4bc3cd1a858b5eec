"""The issuer's Bitstring Status Lists: ``status list`` and ``status publish``."""

from __future__ import annotations

import json

import click

from caiep.commands.common import EXIT_OK, Invocation, json_option, pass_invocation


@click.group("status")
def status() -> None:
    """The status lists every credential's revocation bit is published in."""


@status.command("list")
@json_option
@pass_invocation
def list_lists(invocation: Invocation, as_json: bool) -> int:
    """Each status list: its number, size, indexes used, bits set, when signed and when it expires.

    A list expires 30 days after it was signed; run 'caiep status publish' daily (cron) so that
    none ever does.
    """
    instance = invocation.instance()
    with instance.registry() as registry:
        lists = registry.status_lists(instance.settings.issuer_url)
    if as_json:
        print(json.dumps([summary.to_json() for summary in lists], indent=2))
        return EXIT_OK
    for s in lists:
        signed = f"{s.signed_at:%Y-%m-%d %H:%M:%S}Z" if s.signed_at else "never (no index drawn yet)"
        expires = f"{s.valid_until:%Y-%m-%d %H:%M:%S}Z" if s.valid_until else "-"
        print(
            f"list {s.number}  size {s.size}  used {s.used}  set {s.set_bits}  "
            f"signed {signed}  expires {expires}  {s.url}"
        )
    return EXIT_OK


@status.command("publish")
@pass_invocation
def publish(invocation: Invocation) -> int:
    """Re-sign every status list signed more than 7 days ago (run it daily from cron).

    Each list is valid for 30 days from its signing, so a copy served from a CDN stays valid for
    weeks without Python running. Needs the key passphrase (CAIEP_KEY_PASSPHRASE or a terminal).
    """
    from datetime import UTC, datetime

    from caiep.issuer.statuslists import REPUBLISH_AFTER
    from caiep.settings import read_passphrase

    instance = invocation.instance()
    signer = instance.signer(read_passphrase()).list_signer()
    with instance.registry() as registry:
        renewed = registry.republish_status_lists(signer, now=datetime.now(UTC), older_than=REPUBLISH_AFTER)
    if renewed:
        print(f"re-signed status lists {', '.join(str(n) for n in renewed)}")
    else:
        print("every status list was signed within the last 7 days; nothing to re-sign")
    return EXIT_OK


@status.command("migrate")
@pass_invocation
def migrate(invocation: Invocation) -> int:
    """Give every credential issued before status lists a status entry.

    Signs a new pair of each current version whose served copy carries no status (same id,
    content and dates; a new proof by the current key; the JSON copy and its VC-JWT, with the
    same status entry), whose copy in the served format the hosted URL serves from then on.
    Files downloaded before carry no status and cannot be revoked. Safe to run again: copies
    that already carry a status are left as they are.
    """
    from datetime import UTC, datetime

    from caiep.issuer.jobs import give_status_to_earlier_copies
    from caiep.settings import read_passphrase

    instance = invocation.instance()
    signer = instance.signer(read_passphrase())
    with instance.registry() as registry:
        made = give_status_to_earlier_copies(registry, signer, now=datetime.now(UTC))
    print(
        f"gave {made} credentials a status entry: a new JSON copy and its VC-JWT each"
        if made
        else "every served copy already has a status entry"
    )
    return EXIT_OK
