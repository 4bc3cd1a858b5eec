"""``caiep holder link``: a fresh link to a holder's private page, and revoking leaked ones.

ID names one of the holder's charters: the credential URL, its uuid, or the charter number
``CAIEP-000042``. The link (``<issuer_url>/h/<token>``) is printed once on standard output and
stored nowhere: the registry keeps only the token's SHA-256. ``--rotate`` revokes every other
live link of that holder (those of earlier messages too), for a link that leaked; the holder
then uses the new one. Each is an audit entry naming the token by a prefix of its hash.
"""

from __future__ import annotations

import sys

import click

from caiep.commands.common import EXIT_OK, Invocation, actor_name, pass_invocation


@click.group("holder")
def holder() -> None:
    """A holder's private page (/h/<token>): its links."""


@holder.command("link")
@click.argument("id")
@click.option("--rotate", is_flag=True, help="revoke every other live link of this holder (a leaked link)")
@click.option("--actor", metavar="NAME", help="who makes the change (default: the OS user)")
@pass_invocation
def link(invocation: Invocation, id: str, rotate: bool, actor: str | None) -> int:
    """Print a new link to the private page of the holder of charter ID."""
    from datetime import UTC, datetime

    from caiep.addresses import ServiceAddresses
    from caiep.issuer.holders import new_link

    instance = invocation.instance()
    who = actor_name(actor)
    with instance.registry() as registry, registry.write() as connection:
        made = new_link(connection, id, rotate=rotate, actor=who, now=datetime.now(UTC))
    print(ServiceAddresses(instance.settings.issuer_url).holder_page(made.token))
    if rotate:
        others = "link" if made.revoked == 1 else "links"
        print(f"revoked {made.revoked} other {others} of {made.charter_number}", file=sys.stderr)
    return EXIT_OK
