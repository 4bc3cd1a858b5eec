"""``caiep offer``: a single-use OpenID4VCI offer of a charter, for the holder's wallet app.

ID names the charter: its credential URL, uuid or charter number. The offer's URI
(``openid-credential-offer://?credential_offer_uri=…``) is printed with its QR code for a
terminal and, unless ``--no-pin``, the 6-digit PIN (``tx_code``) the wallet will ask for: send
the PIN to the holder by another channel than the offer. ``--json`` prints only
``{"offer_uri", "tx_code", "expires_at"}``. The offer lives ``--expires-in`` (at most 7 days,
the default); the wallet's first fetch of it starts a 10-minute window to complete issuance.
The registry keeps only hashes of the offer's secrets; the creation is an audit entry.
"""

from __future__ import annotations

import json
from datetime import timedelta

import click

from caiep.commands.common import DURATION, EXIT_OK, Invocation, actor_name, json_option, pass_invocation


@click.command("offer")
@click.argument("id")
@click.option("--no-pin", is_flag=True, help="no PIN (tx_code): anyone holding the offer gets the copy")
@click.option(
    "--expires-in", type=DURATION, default="7d", show_default=True, help="the offer's lifetime, at most 7d"
)
@click.option("--actor", metavar="NAME", help="who makes the offer (default: the OS user)")
@json_option
@pass_invocation
def offer(
    invocation: Invocation, id: str, no_pin: bool, expires_in: timedelta, actor: str | None, as_json: bool
) -> int:
    """Make a single-use OpenID4VCI offer of charter ID for a wallet app."""
    from datetime import UTC, datetime

    from caiep.issuer.offers import create_offer
    from caiep.timestamps import format_timestamp
    from caiep.wallet_export.qr import qr_terminal

    instance = invocation.instance()
    who = actor_name(actor)
    with instance.registry() as registry, registry.write() as connection:
        made = create_offer(
            connection,
            id,
            pin=not no_pin,
            expires_in=expires_in,
            now=datetime.now(UTC),
            issuer_url=instance.settings.issuer_url,
            actor=who,
        )
    expires_at = format_timestamp(made.expires_at)
    if as_json:
        print(json.dumps({"offer_uri": made.offer_uri, "tx_code": made.tx_code, "expires_at": expires_at}))
        return EXIT_OK
    print(made.offer_uri)
    print(f"charter {made.charter_number}; the offer works once, until {expires_at}")
    if made.tx_code:
        print(f"PIN (tx_code): {made.tx_code}  (give it to the holder by another channel than the offer)")
    print(qr_terminal(made.offer_uri), end="")
    return EXIT_OK
