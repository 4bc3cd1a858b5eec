"""``caiep register hide|show ID``: the certification body lists or unlists a holder in the public register.

ID names one of the holder's charters: the credential URL, its uuid, or the charter number
``CAIEP-000042``; the listing is the holder's, for all their charters. Holders make the same
choice from their private page. Each change is an audit entry. A suspended or revoked charter
stays findable for ``register_decision_years`` after the decision, whatever the listing.
"""

from __future__ import annotations

import click

from caiep.commands.common import EXIT_OK, Invocation, actor_name, pass_invocation


@click.group("register")
def register() -> None:
    """The public register (/register): whether a holder is listed."""


def _set(invocation: Invocation, wanted: str, listing: str, actor: str | None) -> int:
    from datetime import UTC, datetime

    from caiep.issuer.register import set_listing

    instance = invocation.instance()
    with instance.registry() as registry, registry.write() as connection:
        change = set_listing(
            connection, wanted, listing, actor=actor_name(actor), via="cli", now=datetime.now(UTC)
        )
    default = invocation.configuration().require("register_default", str)
    before = change.before or f"{default} (the default)"
    print(f"{change.charter_number}: {change.after} in the public register (was {before})")
    return EXIT_OK


@register.command("hide")
@click.argument("id")
@click.option("--actor", metavar="NAME", help="who makes the change (default: the OS user)")
@pass_invocation
def hide(invocation: Invocation, id: str, actor: str | None) -> int:
    """Unlist the holder of charter ID: a lookup by name no longer finds them while the charter
    is current or lapsed."""
    return _set(invocation, id, "unlisted", actor)


@register.command("show")
@click.argument("id")
@click.option("--actor", metavar="NAME", help="who makes the change (default: the OS user)")
@pass_invocation
def show(invocation: Invocation, id: str, actor: str | None) -> int:
    """List the holder of charter ID: a lookup by their full name finds them."""
    return _set(invocation, id, "listed", actor)
