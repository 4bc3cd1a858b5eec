"""``caiep status list`` and ``caiep status publish``, and the app's warning about expiring lists."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from conftest_registry import (
    ISSUER_URL,
    _imported,
    _init,
    _signed,
    _url,
    execute,
    no_database_override,  # noqa: F401 - autouse fixture, registered by importing it
)

if TYPE_CHECKING:
    from conftest import CLI


def test_status_list_shows_each_list_after_a_job(cli: CLI, home: Path, passphrase: str) -> None:
    _init(cli)
    before = json.loads(cli("status", "list", "--json").out)
    assert [(s["number"], s["used"], s["signedAt"]) for s in before] == [(1, 0, None)]
    _imported(cli)
    _signed(cli)

    [listed] = json.loads(cli("status", "list", "--json").out)
    assert listed["url"] == f"{ISSUER_URL}/status/1"
    assert (listed["size"], listed["used"], listed["setBits"]) == (131072, 13, 0)
    signed = datetime.fromisoformat(listed["signedAt"].replace("Z", "+00:00"))
    expires = datetime.fromisoformat(listed["validUntil"].replace("Z", "+00:00"))
    assert abs(signed - datetime.now(UTC)) < timedelta(minutes=5)
    assert expires - signed == timedelta(days=30)
    text = cli("status", "list")
    assert text.code == 0
    assert text.out.startswith("list 1  size 131072  used 13  set 0  signed ")


def test_status_publish_re_signs_lists_older_than_seven_days(cli: CLI, home: Path, passphrase: str) -> None:
    _init(cli)
    _imported(cli)
    _signed(cli, "--limit", "1")
    fresh = cli("status", "publish")
    assert (fresh.code, fresh.out) == (
        0,
        "every status list was signed within the last 7 days; nothing to re-sign\n",
    )

    old = datetime.now(UTC) - timedelta(days=8)
    execute(
        _url(home),
        "UPDATE status_lists SET signed_at = :t, valid_until = :u",
        t=old,
        u=old + timedelta(days=30),
    )
    stale = cli("status", "publish")
    assert (stale.code, stale.out) == (0, "re-signed status lists 1\n")
    [listed] = json.loads(cli("status", "list", "--json").out)
    signed = datetime.fromisoformat(listed["signedAt"].replace("Z", "+00:00"))
    assert abs(signed - datetime.now(UTC)) < timedelta(minutes=5)


def test_the_app_warns_at_start_up_of_a_list_expiring_within_seven_days(
    cli: CLI, home: Path, passphrase: str, caplog: pytest.LogCaptureFixture
) -> None:
    from caiep.app import AppConfig, create_app
    from caiep.settings import read_configuration

    _init(cli)
    _imported(cli)
    _signed(cli, "--limit", "1")
    soon = datetime.now(UTC) + timedelta(days=3)
    execute(_url(home), "UPDATE status_lists SET valid_until = :u", u=soon)
    with caplog.at_level(logging.WARNING):
        create_app(AppConfig.from_configuration(read_configuration(home)))
    assert any(
        "status list 1 expires at" in r.getMessage() and "caiep status publish" in r.getMessage()
        for r in caplog.records
    )


def test_status_migrate_leaves_copies_that_carry_a_status(cli: CLI, home: Path, passphrase: str) -> None:
    _init(cli)
    _imported(cli)
    _signed(cli)
    run = cli("status", "migrate")
    assert (run.code, run.out) == (0, "every served copy already has a status entry\n")
    [listed] = json.loads(cli("status", "list", "--json").out)
    assert listed["used"] == 13
