"""``caiep revoke|suspend|reinstate|renew``: the commands, their bulk form and their refusals."""

from __future__ import annotations

import csv
import json
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from conftest_registry import (
    _imported,
    _init,
    _listed,
    _signed,
    _url,
    no_database_override,  # noqa: F401 - autouse fixture, registered by importing it
    query,
)

from bench.make_results import write_results
from caiep.issuer.jobs import run_signing_job
from caiep.wiring import Instance

if TYPE_CHECKING:
    from conftest import CLI


def _ready(cli: CLI) -> list[dict[str, object]]:
    _init(cli)
    _imported(cli)
    _signed(cli)
    return _listed(cli)


def test_the_lifecycle_through_the_cli(cli: CLI, home: Path, passphrase: str, tmp_path: Path) -> None:
    listed = _ready(cli)
    first, second = str(listed[0]["charterNumber"]), str(listed[1]["id"])
    suspended = cli("suspend", first, "--reason", "under review", "--actor", "registrar")
    assert suspended.code == 0, suspended.err
    assert suspended.out.startswith(f"suspended {first} ")
    assert "status list 1 re-signed" in suspended.out
    out = tmp_path / "v2.json"
    back = cli("reinstate", first, "--out", str(out))
    assert back.code == 0, back.err
    assert json.loads(out.read_text())["id"] == listed[0]["id"]
    assert "version 2" in back.out

    revoked = cli("revoke", second, "--reason", "withdrawn", "--note", "board decision 12")
    assert revoked.code == 0, revoked.err
    [(actor, details)] = query(
        _url(home), "SELECT actor, details FROM audit_log WHERE action = 'charter.revoked'"
    )
    assert json.loads(details)["reason"] == "withdrawn"
    assert json.loads(details)["note"] == "board decision 12"
    assert actor  # the OS user

    again = cli("revoke", second, "--reason", "withdrawn")
    assert again.code == 2
    assert again.err.count("\n") == 1
    assert "already revoked" in again.err
    assert "revocation is final" in again.err
    for args, message in (
        (("reinstate", second), "only a suspended charter can be reinstated"),
        (("renew", second), "a revoked charter cannot be renewed"),
        (("suspend", first, "--reason", " "), "the public reason is empty"),
        (("revoke", "CAIEP-999999", "--reason", "x"), "no charter credential 'CAIEP-999999'"),
    ):
        refused = cli(*args)
        assert refused.code == 2, refused
        assert message in refused.err
        assert refused.err.count("\n") == 1
    assert cli("audit", "verify").code == 0


def test_a_file_of_ids_with_one_bad_line_changes_nothing(
    cli: CLI, home: Path, passphrase: str, tmp_path: Path
) -> None:
    listed = _ready(cli)
    ids = tmp_path / "ids.txt"
    ids.write_text(f"{listed[0]['id']}\n# a comment\n{listed[1]['uuid']}\nCAIEP-424242\n", encoding="utf-8")
    before = query(_url(home), "SELECT bits, credential FROM status_lists")
    refused = cli("revoke", "--from", str(ids), "--reason", "fraud ring")
    assert refused.code == 2
    assert f"{ids}:4: no charter credential 'CAIEP-424242'" in refused.err
    assert "nothing was changed" in refused.err
    assert query(_url(home), "SELECT bits, credential FROM status_lists") == before
    assert query(_url(home), "SELECT count(*) FROM charter_credentials WHERE state <> 'current'") == [(0,)]

    ids.write_text(
        f"{listed[0]['id']}\n{listed[1]['uuid']}\n{listed[2]['charterNumber']}\n", encoding="utf-8"
    )
    done = cli("revoke", "--from", str(ids), "--reason", "fraud ring")
    assert done.code == 0, done.err
    assert query(_url(home), "SELECT count(*) FROM charter_credentials WHERE state = 'revoked'") == [(3,)]
    [(summary,)] = [(json.loads(cli("status", "list", "--json").out)[0]["setBits"],)]
    assert summary == 3


def test_credentials_list_by_state_as_csv(cli: CLI, home: Path, passphrase: str) -> None:
    listed = _ready(cli)
    assert cli("suspend", str(listed[0]["uuid"]), "--reason", "review").code == 0
    assert cli("revoke", str(listed[1]["uuid"]), "--reason", "=cmd|' /C calc'!A0").code == 0
    suspended = _listed(cli, "--state", "suspended")
    assert [(r["uuid"], r["state"]) for r in suspended] == [(listed[0]["uuid"], "suspended")]
    run = cli("credentials", "list", "--csv", "--state", "revoked")
    assert run.code == 0, run.err
    header, row = run.out.splitlines()
    assert header.startswith("id,uuid,charter_number,holder,email,state,")
    assert row.startswith(f"{listed[1]['id']},{listed[1]['uuid']},")
    assert ",revoked," in row
    current = cli("credentials", "list", "--csv", "--state", "current", "--expiring-within", "90d")
    assert current.out.splitlines()[1:] == []  # five-year charters: none end within 90 days
    assert len(_listed(cli, "--state", "current")) == len(listed) - 2
    assert _listed(cli, "--state", "lapsed") == []
    with pytest.raises(SystemExit) as refused:
        cli("credentials", "list", "--state", "gone")
    assert refused.value.code == 2


def test_renewal_rows_in_a_results_import(
    cli: CLI, home: Path, passphrase: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    listed = _ready(cli)
    number, other = str(listed[0]["charterNumber"]), str(listed[1]["charterNumber"])
    missing = tmp_path / "missing.csv"
    missing.write_text("kind,charter_number,exam_date\nrenewal,,\n", encoding="utf-8")
    refused = cli("results", "import", str(missing))
    assert refused.code == 1
    assert f"{missing}:2: charter_number: a renewal row needs a charter_number" in refused.err

    early = tmp_path / "early.csv"
    early.write_text(
        f"kind,charter_number,exam_date\nrenewal,{number},\nrenewal,{other},\n", encoding="utf-8"
    )
    before = query(_url(home), "SELECT count(*) FROM credential_versions")
    too_early = cli("results", "import", str(early))
    assert too_early.code == 2
    assert f"{early}:2: {number}" in too_early.err
    assert "too early to renew" in too_early.err
    assert "nothing was imported" in too_early.err
    assert query(_url(home), "SELECT count(*) FROM credential_versions") == before

    monkeypatch.setenv("CAIEP_RENEWAL_WINDOW_MONTHS", "60")
    done = cli("results", "import", str(early))
    assert done.code == 0, done.err
    assert done.out.count("renewed CAIEP-") == 2
    versions = query(_url(home), "SELECT count(*) FROM credential_versions WHERE kind = 'renewal'")
    assert versions == [(2,)]
    renewed = {r["charterNumber"]: r for r in _listed(cli)}
    assert renewed[number]["version"] == 2
    assert renewed[number]["uuid"] == listed[0]["uuid"]
    shown = json.loads(cli("credentials", "show", str(listed[0]["uuid"])).out)
    assert (shown["version"], shown["state"], shown["lapses"]) == (2, "current", [])  # renewed early
    assert cli("audit", "verify").code == 0


def _months_before(day: date, months: int) -> date:
    """The same day of the month ``months`` calendar months earlier (the tests use day 10 only)."""
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    return day.replace(year=year, month=month + 1)


def test_renew_on_a_date_keeps_the_time_left_or_refuses_too_early(
    cli: CLI, home: Path, passphrase: str, tmp_path: Path
) -> None:
    """Two charters signed 50 months ago (validUntil 10 months from now, on the 10th): ``renew --on``
    eleven months before validUntil runs five years on from it; thirteen months before is refused."""
    today = datetime.now(UTC).date()
    issued = datetime.combine(_months_before(today.replace(day=10), 50), time(9, 30), tzinfo=UTC)
    _init(cli)
    results = tmp_path / "results.csv"
    write_results(results, 2, seed=3, latest=issued.date())
    with results.open("r", encoding="utf-8") as handle:
        assert [row["result"] for row in csv.DictReader(handle)] == ["pass", "pass"]
    _imported(cli, results)
    with Instance(home).registry() as registry:  # the signing job with a clock 50 months back
        run_signing_job(registry, Instance(home).signer(passphrase), clock=lambda: issued)
    first, second = _listed(cli)
    with Instance(home).registry() as registry:
        old = json.loads(registry.credential(str(first["uuid"]))[1])
    ends = issued.replace(year=issued.year + 5)
    assert old["validUntil"] == ends.strftime("%Y-%m-%dT%H:%M:%SZ")

    eleven = _months_before(ends.date(), 11)
    out = tmp_path / "renewed.json"
    renewed = cli("renew", str(first["charterNumber"]), "--on", eleven.isoformat(), "--out", str(out))
    assert renewed.code == 0, renewed.err
    new = json.loads(out.read_text(encoding="utf-8"))
    assert new["validFrom"] == f"{eleven.isoformat()}T00:00:00Z"  # midnight UTC of the renewal date
    assert new["validUntil"] == ends.replace(year=ends.year + 5).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert (new["id"], new["awardedDate"]) == (old["id"], old["awardedDate"])

    thirteen = _months_before(ends.date(), 13)
    before = query(_url(home), "SELECT count(*) FROM credential_versions")
    late_out = tmp_path / "refused.json"
    refused = cli("renew", str(second["charterNumber"]), "--on", thirteen.isoformat(), "--out", str(late_out))
    assert refused.code == 2
    assert refused.err.count("\n") == 1
    assert f"too early to renew on {thirteen.isoformat()}" in refused.err
    assert f"renewal opens on {_months_before(ends.date(), 12).isoformat()}" in refused.err
    assert query(_url(home), "SELECT count(*) FROM credential_versions") == before
    assert not late_out.exists()
