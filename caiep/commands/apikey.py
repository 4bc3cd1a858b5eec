"""``caiep apikey create|list|revoke``: the API keys employers send for bulk register checks.

A key is shown once, when it is created, and stored only as its hash: a lost key is revoked
and another created. Each key has its own rate (``--rate 120/min``; without it, the setting
``apikey_default_rate_per_minute``). Creating and revoking a key are audit entries naming who
did it (``--actor``, else the OS user).
"""

from __future__ import annotations

import json
from datetime import datetime

import click

from caiep.commands.common import EXIT_OK, RATE, Invocation, actor_name, json_option, pass_invocation

actor_option = click.option("--actor", metavar="NAME", help="who makes the change (default: the OS user)")


@click.group("apikey")
def apikey() -> None:
    """API keys for bulk checks of the register (POST /api/v1/register/check)."""


@apikey.command("create")
@click.option("--name", required=True, help='who the key is for, e.g. "ACME HR"')
@click.option(
    "--rate", type=RATE, default=None, help="checks a minute (default: apikey_default_rate_per_minute)"
)
@actor_option
@json_option
@pass_invocation
def create(invocation: Invocation, name: str, rate: int | None, actor: str | None, as_json: bool) -> int:
    """Create a key; it is printed this once (stored only as its hash)."""
    from datetime import UTC

    from caiep.issuer import apikeys

    who = actor_name(actor)
    with invocation.instance().registry() as registry, registry.write() as connection:
        made = apikeys.create(connection, name, rate, actor=who, now=datetime.now(UTC))
    if as_json:
        print(json.dumps({"key": made.key, "id": made.id}))
        return EXIT_OK
    print(f"API key {made.id} for {name.strip()}:")
    print(f"  {made.key}")
    print("This key is shown once and stored only as its hash: keep it now (a lost key is revoked).")
    print(f"Send it as 'Authorization: Bearer {apikeys.PREFIX}…' to POST /api/v1/register/check.")
    return EXIT_OK


@apikey.command("list")
@json_option
@pass_invocation
def list_keys(invocation: Invocation, as_json: bool) -> int:
    """List the keys (never the keys themselves): id, name, rate, created, revoked, last used."""
    from caiep.issuer import apikeys

    default = invocation.configuration().require("apikey_default_rate_per_minute", int)
    with invocation.instance().registry() as registry, registry.read() as connection:
        keys = apikeys.list_keys(connection)
    if as_json:
        rows = [
            {
                "id": k.id,
                "name": k.name,
                "ratePerMinute": k.rate_per_minute or default,
                "defaultRate": k.rate_per_minute is None,
                "created": _when(k.created_at),
                "revoked": _when(k.revoked_at),
                "lastUsed": _when(k.last_used_at),
            }
            for k in keys
        ]
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return EXIT_OK
    if not keys:
        print("No API keys; create one with 'caiep apikey create --name NAME'.")
    for k in keys:
        rate = f"{k.rate_per_minute}/min" if k.rate_per_minute else f"{default}/min (default)"
        revoked = f"revoked {_when(k.revoked_at)}" if k.revoked_at else "active"
        used = _when(k.last_used_at) or "never"
        print(f"{k.id}  {k.name}  {rate}  created {_when(k.created_at)}  {revoked}  last used {used}")
    return EXIT_OK


@apikey.command("revoke")
@click.argument("id", type=int)
@actor_option
@pass_invocation
def revoke(invocation: Invocation, id: int, actor: str | None) -> int:
    """Revoke key ID: its checks are refused (401) from now on."""
    from datetime import UTC

    from caiep.issuer import apikeys

    who = actor_name(actor)
    with invocation.instance().registry() as registry, registry.write() as connection:
        key = apikeys.revoke(connection, id, actor=who, now=datetime.now(UTC))
    print(f"API key {key.id} ({key.name}) revoked {_when(key.revoked_at)}")
    return EXIT_OK


def _when(moment: datetime | None) -> str | None:
    return None if moment is None else f"{moment:%Y-%m-%dT%H:%M:%S}Z"
