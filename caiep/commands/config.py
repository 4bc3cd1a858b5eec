"""``caiep config``: the effective settings and where each came from; secrets masked."""

from __future__ import annotations

import json
from typing import Any

import click

from caiep.commands.common import EXIT_OK, Invocation, json_option, pass_invocation

MASK = "********"
_SOURCES = {"env": "environment", "settings.json": "settings.json", "default": "default", "--home": "--home"}


@click.command("config")
@json_option
@pass_invocation
def config(invocation: Invocation, as_json: bool) -> int:
    """Print the effective settings and where each came from.

    Each value comes from its environment variable, else settings.json, else its default;
    the passphrase is shown masked.
    """
    configuration = invocation.configuration()
    rows: list[dict[str, Any]] = []
    for name, value in configuration.values.items():
        setting = value.setting
        shown: str | int | float | None
        if value.value is None:
            shown = None if not setting.default_doc else f"({setting.default_doc})"
        elif setting.secret:
            shown = MASK
        else:
            shown = value.value if isinstance(value.value, int | float) else str(value.value)
        if name == "database_url" and value.value is None:
            shown = configuration.database_url
        rows.append(
            {
                "name": name,
                "value": shown,
                "source": value.source,
                "env": setting.env,
                "key": setting.key,
            }
        )
    if as_json:
        print(json.dumps({"home": str(configuration.home), "settings": rows}, indent=2, ensure_ascii=False))
        return EXIT_OK
    width = max(len(row["name"]) for row in rows)
    for row in rows:
        source = f"env {row['env']}" if row["source"] == "env" else _SOURCES.get(row["source"], row["source"])
        text = "(unset)" if row["value"] is None else row["value"]
        print(f"{row['name']:<{width}}  {text}  [{source}]")
    return EXIT_OK
