"""The registry commands: results import, sign, credentials, audit, keys; ``issue`` recorded too.

In process through ``caiep.cli.main`` (the ``cli`` fixture of conftest.py), on the SQLite registry
in the instance directory; one round trip runs on both SQLite and PostgreSQL. The registry's
tables are read (and, to tamper, written) directly with SQL. Key rotation is verified through
``caiep verify --allow-http-base`` against a real HTTP server on 127.0.0.1.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from conftest_registry import (
    ISSUER_URL,
    Site,
    did_web_site_fixture,  # noqa: F401 - the did_web_site fixture, registered by importing it
    execute,
    no_database_override,  # noqa: F401 - autouse fixture, registered by importing it
    query,
    scalar,
)

from caiep.settings import database_url
from issuer.registry import charter_number
from support import VECTORS

if TYPE_CHECKING:
    from conftest import CLI, Run

EXAMPLES = Path(__file__).parents[2] / "examples"
INVALID = VECTORS / "invalid" / "results"
EXAMPLE_SUMMARY = "20 rows, 20 valid (13 passes, 7 fails), 0 bad"
EXAMPLE_IMPORTED = "imported 20 results (13 passes to sign, 7 fails kept), 0 already known, 20 new holders"
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def _init(cli: CLI, method: str = "key") -> None:
    run = cli(
        "init", "--issuer-name", "CAiEP Certification Board", "--issuer-url", ISSUER_URL, "--did", method
    )
    assert run.code == 0, run.err


def _url(home: Path) -> str:
    return database_url(home)


def _rows(home: Path, table: str) -> int:
    """Rows in one registry table (the registry is created, empty, if no command made it yet)."""
    if _url(home).startswith("sqlite") and not (home / "registry.sqlite3").exists():
        return 0
    return int(scalar(_url(home), f"SELECT count(*) FROM {table}"))


def _registry_is_empty(home: Path) -> bool:
    tables = ("holders", "exam_results", "credentials", "jobs", "audit_log")
    return all(_rows(home, table) == 0 for table in tables)


def _imported(cli: CLI, path: Path = EXAMPLES / "results.csv") -> Run:
    run = cli("results", "import", str(path))
    assert run.code == 0, run.err
    return run


def _signed(cli: CLI, *args: str) -> Run:
    run = cli("sign", *args)
    assert run.code == 0, run.err
    return run


def _listed(cli: CLI, *args: str) -> list[dict[str, Any]]:
    run = cli("credentials", "list", "--json", *args)
    assert run.code == 0, run.err
    records: list[dict[str, Any]] = json.loads(run.out)
    return records


def _report(run: Run) -> dict[str, Any]:
    match = re.search(r"^report: (.+)$", run.out, re.MULTILINE)
    assert match, run.out
    report: dict[str, Any] = json.loads(Path(match.group(1)).read_text(encoding="utf-8"))
    return report


@pytest.fixture
def signed_examples(cli: CLI, home: Path, passphrase: str) -> list[dict[str, Any]]:
    """A did:key instance that has imported examples/results.csv and signed its 13 passes."""
    _init(cli)
    _imported(cli)
    _signed(cli)
    records = _listed(cli)
    assert len(records) == 13
    return records


# --- results import --------------------------------------------------------------------------


def test_import_the_example_csv_prints_the_summary(cli: CLI, home: Path, passphrase: str) -> None:
    _init(cli)

    run = cli("results", "import", str(EXAMPLES / "results.csv"))

    assert run.code == 0
    assert run.err == ""
    assert run.out.splitlines() == [f"{EXAMPLES / 'results.csv'}: {EXAMPLE_SUMMARY}", EXAMPLE_IMPORTED]
    assert _rows(home, "exam_results") == 20
    statuses = dict(query(_url(home), "SELECT status, count(*) FROM exam_results GROUP BY status"))
    assert statuses == {"pending": 13, "not_eligible": 7}
    # The e-mail is stored normalised: trimmed and lower-case.
    assert scalar(_url(home), "SELECT count(*) FROM holders WHERE email = 'elena.testcase@example.org'") == 1
    ((details,),) = query(_url(home), "SELECT details FROM audit_log WHERE action = 'results.imported'")
    assert json.loads(details)["inserted"] == 20


def test_import_again_reports_duplicates_and_stores_nothing_twice(
    cli: CLI, home: Path, passphrase: str
) -> None:
    _init(cli)
    _imported(cli)

    again = _imported(cli)
    as_json = _imported(cli, EXAMPLES / "results.json")  # the same results, as a JSON array

    for run in (again, as_json):
        assert run.out.splitlines()[-1] == (
            "imported 0 results (0 passes to sign, 0 fails kept), 20 already known, 0 new holders"
        )
    assert (_rows(home, "exam_results"), _rows(home, "holders")) == (20, 20)


# One bad row after one good row (see tests/vectors/invalid/results/README.md).
BAD_ROWS = [
    ("score-out-of-range.csv", 3, "score: score 100.5 is outside 0-100"),
    ("empty-field.csv", 3, "given_name: given_name is empty"),
    ("duplicate-exam.csv", 3, "candidate C-100's exam 2026.1 on 2026-06-01 duplicates line 2"),
    ("wrong-field-count.csv", 3, "the row has 9 fields; the header has 10"),
    ("missing-key.json", 2, "missing keys: pathway"),
    ("bad-line.jsonl", 2, "not valid JSON"),
]


@pytest.mark.parametrize(("name", "line", "reason"), BAD_ROWS)
def test_a_file_with_a_bad_row_imports_nothing(
    cli: CLI, home: Path, passphrase: str, name: str, line: int, reason: str
) -> None:
    _init(cli)
    path = INVALID / name

    run = cli("results", "import", str(path))

    assert run.code == 1
    errors = run.err.splitlines()
    assert errors[0].startswith(f"{path}:{line}: ")
    assert reason in errors[0]
    assert "nothing imported" in errors[-1]
    assert f"{path}: 2 rows, 1 valid" in run.out
    assert "1 bad" in run.out
    assert _registry_is_empty(home)


def test_every_bad_row_is_reported_with_its_line(
    cli: CLI, home: Path, tmp_path: Path, passphrase: str
) -> None:
    """The bad rows of several vectors in one file: one ``file:line: reason`` each, in order."""
    _init(cli)
    names = ("score-out-of-range.csv", "empty-field.csv", "wrong-field-count.csv", "date-not-calendar.csv")
    header, good, _ = (INVALID / names[0]).read_text(encoding="utf-8").splitlines()
    bad = [(INVALID / name).read_text(encoding="utf-8").splitlines()[2] for name in names]
    path = tmp_path / "export.csv"
    path.write_text("\n".join([header, good, *bad, good.replace("C-100", "C-102")]) + "\n", encoding="utf-8")

    run = cli("results", "import", str(path))

    assert run.code == 1
    lines = [line for line in run.err.splitlines() if line.startswith(f"{path}:")]
    assert [int(line.split(":")[1]) for line in lines] == [3, 4, 5, 6]
    assert "exam_date 2026-02-30 is not a calendar date" in lines[3]
    assert f"{path}: 6 rows, 2 valid (2 passes, 0 fails), 4 bad" in run.out
    assert _registry_is_empty(home)


def test_dry_run_writes_nothing(cli: CLI, home: Path, passphrase: str) -> None:
    _init(cli)

    good = cli("results", "import", "--dry-run", str(EXAMPLES / "results.csv"))
    bad = cli("results", "import", "--dry-run", str(INVALID / "score-out-of-range.csv"))

    assert (good.code, good.err) == (0, "")
    assert good.out.splitlines() == [f"{EXAMPLES / 'results.csv'}: {EXAMPLE_SUMMARY}"]
    assert bad.code == 1
    assert f"{INVALID / 'score-out-of-range.csv'}:3: " in bad.err
    assert "imported" not in good.out + bad.out
    assert _registry_is_empty(home)


def test_skip_invalid_imports_only_the_valid_rows(cli: CLI, home: Path, passphrase: str) -> None:
    _init(cli)
    path = INVALID / "score-out-of-range.csv"

    run = cli("results", "import", "--skip-invalid", str(path))

    assert run.code == 0
    assert f"{path}:3: score: score 100.5 is outside 0-100" in run.err
    assert "imported 1 results (1 passes to sign, 0 fails kept), 0 already known, 1 new holders" in run.out
    assert query(_url(home), "SELECT candidate_id, score FROM exam_results") == [("C-100", "82")]
    assert _signed(cli).out.startswith("job ")
    assert [r["email"] for r in _listed(cli)] == ["ada@example.org"]


@pytest.mark.parametrize(
    ("path", "message"),
    [
        (Path("no-such-export.csv"), "cannot read the file"),
        (INVALID / "unknown-extension.txt", "unsupported file type '.txt'"),
        (INVALID / "missing-columns.csv", "missing columns: score, pathway"),
    ],
)
def test_an_unreadable_file_exits_2(cli: CLI, home: Path, passphrase: str, path: Path, message: str) -> None:
    _init(cli)

    run = cli("results", "import", str(path))

    assert run.code == 2
    assert run.out == ""
    assert message in run.err
    assert str(path) in run.err
    assert _registry_is_empty(home)


# --- sign ------------------------------------------------------------------------------------


def test_sign_logs_progress_prints_a_summary_and_writes_a_report(
    cli: CLI, home: Path, passphrase: str
) -> None:
    _init(cli)
    _imported(cli)

    run = cli("sign")

    assert run.code == 0, run.err
    # Not a terminal: plain lines, no carriage returns or escape sequences; the last one is 13/13.
    assert "\r" not in run.err
    assert "\033" not in run.err
    progress = run.err.splitlines()
    assert all(line.startswith("signing: ") for line in progress)
    assert progress[-1].startswith("signing: 13/13 ")
    summary, report_line = run.out.splitlines()
    report = _report(run)
    assert re.fullmatch(rf"job {report['job']}: issued 13 \([\d,]+/s\), failed 0, still pending 0", summary)
    assert report_line == f"report: {home / 'jobs' / (report['job'] + '.json')}"
    assert re.fullmatch(UUID, report["job"])
    assert (report["status"], report["issued"], report["failed"], report["remainingPending"]) == (
        "finished",
        13,
        0,
        0,
    )
    assert report["auditHead"] == scalar(_url(home), "SELECT hash FROM audit_head")
    assert re.fullmatch("[0-9a-f]{64}", report["auditHead"])
    assert query(_url(home), "SELECT status, issued FROM jobs") == [("finished", 13)]


def test_sign_with_a_limit(cli: CLI, home: Path, passphrase: str) -> None:
    _init(cli)
    _imported(cli)

    first = _signed(cli, "--limit", "3")
    rest = _signed(cli)
    nothing = _signed(cli)

    assert "issued 3 " in first.out
    assert "still pending 10" in first.out
    assert (_report(first)["issued"], _report(rest)["issued"], _report(nothing)["issued"]) == (3, 10, 0)
    assert "issued 0, failed 0, still pending 0" in nothing.out
    assert _rows(home, "credentials") == 13


@pytest.mark.parametrize(
    "args", [["--workers", "0"], ["--workers", "-1"], ["--limit", "abc"], ["--limit", "0"]]
)
def test_sign_refuses_bad_numbers(
    cli: CLI, home: Path, passphrase: str, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    _init(cli)
    capsys.readouterr()

    with pytest.raises(SystemExit) as caught:
        cli("sign", *args)

    assert caught.value.code == 2
    assert args[0] in capsys.readouterr().err
    assert _rows(home, "jobs") == 0


# --- credentials -----------------------------------------------------------------------------


def test_credentials_list_text_and_json(cli: CLI, home: Path, signed_examples: list[dict[str, Any]]) -> None:
    run = cli("credentials", "list")

    assert run.code == 0
    lines = run.out.splitlines()
    assert len(lines) == 13
    ada = next(r for r in signed_examples if r["email"] == "ada.example@example.org")
    (line,) = [line for line in lines if line.startswith(ada["uuid"])]
    assert line.split() == [
        ada["uuid"],
        ada["charterNumber"],
        ada["validUntil"][:10],
        "ldp",
        "Ada",
        "Example",
        "<ada.example@example.org>",
    ]
    assert ada["id"] == f"{ISSUER_URL}/credentials/{ada['uuid']}"
    assert ada["charterNumber"] == charter_number(
        scalar(_url(home), "SELECT id FROM holders WHERE email = 'ada.example@example.org'")
    )
    assert {r["format"] for r in signed_examples} == {"ldp"}
    assert len({r["examResult"] for r in signed_examples}) == 13
    assert len({r["job"] for r in signed_examples}) == 1


def test_credentials_list_by_holder_is_case_insensitive(
    cli: CLI, signed_examples: list[dict[str, Any]]
) -> None:
    records = _listed(cli, "--holder", "  ADA.Example@EXAMPLE.org ")

    assert [(r["holder"], r["email"]) for r in records] == [("Ada Example", "ada.example@example.org")]
    assert _listed(cli, "--holder", "nobody@example.org") == []
    assert _listed(cli, "--holder", "bram.sample@example.com") == []  # a fail: never issued


def test_credentials_list_expiring_within(cli: CLI, signed_examples: list[dict[str, Any]]) -> None:
    assert _listed(cli, "--expiring-within", "90d") == []  # valid for five years
    assert _listed(cli, "--expiring-within", "0d") == []  # a window of nothing, not "no window"
    assert len(_listed(cli, "--expiring-within", "2000w")) == 13
    text = cli("credentials", "list", "--expiring-within", "90d")
    assert (text.code, text.out) == (0, "")


@pytest.mark.parametrize("window", ["90", "3m", "90 days", "-5d", ""])
def test_credentials_list_refuses_a_bad_duration(
    cli: CLI, signed_examples: list[dict[str, Any]], capsys: pytest.CaptureFixture[str], window: str
) -> None:
    with pytest.raises(SystemExit) as caught:
        cli("credentials", "list", "--expiring-within", window)
    assert caught.value.code == 2
    assert "--expiring-within" in capsys.readouterr().err


def test_credentials_show_by_uuid_and_by_url(cli: CLI, signed_examples: list[dict[str, Any]]) -> None:
    record = signed_examples[0]

    by_uuid = cli("credentials", "show", record["uuid"])
    by_url = cli("credentials", "show", record["id"])

    assert by_uuid.code == by_url.code == 0
    assert json.loads(by_uuid.out) == json.loads(by_url.out) == record


def test_credentials_export_writes_the_stored_document_which_verifies(
    cli: CLI, home: Path, tmp_path: Path, signed_examples: list[dict[str, Any]]
) -> None:
    record = signed_examples[-1]
    out = tmp_path / "exported.json"

    run = cli("credentials", "export", record["id"], "--out", str(out))

    assert run.code == 0
    assert f"wrote {record['id']} (ldp) to {out}" in run.err
    stored = scalar(_url(home), "SELECT document FROM credentials WHERE id = :id", id=record["uuid"])
    assert out.read_bytes() == stored.encode("utf-8")
    checked = cli("verify", str(out), "--json")
    assert checked.code == 0, checked.out
    assert json.loads(checked.out)["status"] == "valid"


@pytest.mark.parametrize("command", ["show", "export"])
def test_credentials_unknown_id_exits_2(
    cli: CLI, tmp_path: Path, signed_examples: list[dict[str, Any]], command: str
) -> None:
    unknown = str(uuid.uuid4())
    extra = ["--out", str(tmp_path / "never.json")] if command == "export" else []

    run = cli("credentials", command, unknown, *extra)

    assert run.code == 2
    assert f"no credential '{unknown}'" in run.err
    assert not (tmp_path / "never.json").exists()


# --- audit -----------------------------------------------------------------------------------


def test_audit_verify_on_a_fresh_instance(cli: CLI, passphrase: str) -> None:
    _init(cli)

    run = cli("audit", "verify")

    assert run.code == 0
    assert run.out.startswith("audit holds: 0 chain entries")


def test_audit_verify_holds_after_import_and_sign(cli: CLI, signed_examples: list[dict[str, Any]]) -> None:
    run = cli("audit", "verify")

    assert run.code == 0
    # results.imported, job.started, credentials.issued, job.finished
    assert run.out.startswith("audit holds: 4 chain entries")


def _entry_logging(home: Path, url: str) -> int:
    """The sequence number of the credentials.issued entry that lists ``url``."""
    entries = query(_url(home), "SELECT seq, details FROM audit_log WHERE action = 'credentials.issued'")
    (seq,) = [seq for seq, details in entries if url in {c[0] for c in json.loads(details)["credentials"]}]
    return int(seq)


def test_audit_verify_finds_an_edited_credential(
    cli: CLI, home: Path, signed_examples: list[dict[str, Any]]
) -> None:
    record = signed_examples[5]
    changed = execute(
        _url(home),
        "UPDATE credentials SET document = replace(document, :name, 'Mallory') WHERE id = :id",
        name=record["holder"],
        id=record["uuid"],
    )
    assert changed == 1

    run = cli("audit", "verify")

    assert run.code == 1
    seq = _entry_logging(home, record["id"])
    assert run.out.startswith(
        f"audit BROKEN at entry {seq}: the stored document of {record['id']} is not the one issued"
    )


def test_audit_verify_finds_a_deleted_credential(
    cli: CLI, home: Path, signed_examples: list[dict[str, Any]]
) -> None:
    record = signed_examples[0]
    assert execute(_url(home), "DELETE FROM credentials WHERE id = :id", id=record["uuid"]) == 1

    run = cli("audit", "verify")

    assert run.code == 1
    seq = _entry_logging(home, record["id"])
    assert f"audit BROKEN at entry {seq}: credential {record['id']} logged here is missing" in run.out


def test_audit_verify_finds_an_edited_entry(
    cli: CLI, home: Path, signed_examples: list[dict[str, Any]]
) -> None:
    changed = execute(
        _url(home),
        "UPDATE audit_log SET details = replace(details, :was, :now) WHERE seq = 1",
        was='"inserted":20',
        now='"inserted":19',
    )
    assert changed == 1

    run = cli("audit", "verify")

    assert run.code == 1
    assert run.out.startswith("audit BROKEN at entry 1: its content does not match its hash (edited)")


# --- keys ------------------------------------------------------------------------------------


def test_keys_rotate_on_did_web_keeps_earlier_credentials_verifiable(
    cli: CLI, home: Path, tmp_path: Path, passphrase: str, did_web_site: Site
) -> None:
    _init(cli, "web")
    _imported(cli)
    _signed(cli, "--limit", "1")
    (first_key,) = cli("keys", "list").out.splitlines()

    rotated = cli("keys", "rotate")
    _signed(cli, "--limit", "1")

    assert rotated.code == 0, rotated.err
    keys = cli("keys", "list").out.splitlines()
    assert len(keys) == 2
    old_id, new_id = (line.split()[0] for line in keys)
    assert keys[0].startswith(f"{old_id}  created ")
    assert " retired " in keys[0]
    assert first_key.split()[0] == old_id
    assert keys[1].endswith(" current")
    assert new_id in rotated.out
    assert old_id in rotated.out
    document = json.loads((home / "did.json").read_text(encoding="utf-8"))
    listed = [m["publicKeyMultibase"] for m in document["verificationMethod"]]
    assert sorted(listed) == sorted([old_id, new_id])
    assert len(document["assertionMethod"]) == 2

    before, after = sorted(_listed(cli), key=lambda r: r["issuedAt"])
    assert (before["key"], after["key"]) == (old_id, new_id)
    did_web_site.publish_did(home)
    for record in (before, after):
        path = tmp_path / f"{record['uuid']}.json"
        assert cli("credentials", "export", record["uuid"], "--out", str(path)).code == 0
        checked = cli("verify", str(path), "--json", "--allow-http-base", did_web_site.base)
        assert checked.code == 0, checked.out
        assert json.loads(checked.out)["status"] == "valid"
    assert set(did_web_site.requested) == {"/.well-known/did.json"}

    ((details,),) = query(_url(home), "SELECT details FROM audit_log WHERE action = 'key.rotated'")
    assert json.loads(details) == {"new": new_id, "retired": old_id}
    assert cli("audit", "verify").code == 0


def test_after_rotation_the_new_did_document_must_be_published(
    cli: CLI, home: Path, tmp_path: Path, passphrase: str, did_web_site: Site
) -> None:
    """The DID document served before the rotation does not list the new key (as `rotate` says)."""
    _init(cli, "web")
    _imported(cli)
    did_web_site.publish_did(home)
    assert "publish" in cli("keys", "rotate").out
    _signed(cli, "--limit", "1")
    (record,) = _listed(cli)
    path = tmp_path / "new.json"
    assert cli("credentials", "export", record["uuid"], "--out", str(path)).code == 0

    stale = cli("verify", str(path), "--json", "--allow-http-base", did_web_site.base)
    did_web_site.publish_did(home)
    fresh = cli("verify", str(path), "--json", "--allow-http-base", did_web_site.base)

    assert stale.code == 1, stale.out
    assert {c["name"]: c["outcome"] for c in json.loads(stale.out)["checks"]}["proof"] == "invalid"
    assert fresh.code == 0, fresh.out


def test_keys_rotate_on_did_key_exits_2(cli: CLI, home: Path, passphrase: str) -> None:
    _init(cli, "key")
    before = {p.name: p.read_bytes() for p in (home / "keys").iterdir()}
    did = (home / "did.json").read_bytes()

    run = cli("keys", "rotate")

    assert run.code == 2
    assert "did:key" in run.err
    assert {p.name: p.read_bytes() for p in (home / "keys").iterdir()} == before
    assert (home / "did.json").read_bytes() == did
    assert len(cli("keys", "list").out.splitlines()) == 1
    assert _rows(home, "audit_log") == 0


# --- caiep issue is recorded -----------------------------------------------------------------


def test_issue_is_recorded_with_the_holders_charter_number(
    cli: CLI, home: Path, tmp_path: Path, signed_examples: list[dict[str, Any]]
) -> None:
    ada = next(r for r in signed_examples if r["email"] == "ada.example@example.org")
    out = tmp_path / "ada.json"

    run = cli(
        "issue", "--name", "Ada Example", "--email", " Ada.Example@EXAMPLE.org ", "--exam-date", "2026-03-14",
        "--score", "86", "--pathway", "experience", "--out", str(out),
    )  # fmt: skip
    new = cli("issue", "--name", "Yara Newcomer", "--email", "yara@example.net", "--exam-date", "2026-10-01")

    assert run.code == new.code == 0
    credential = json.loads(out.read_text(encoding="utf-8"))
    records = _listed(cli, "--holder", "ada.example@example.org")
    assert len(records) == 2
    (single,) = [r for r in records if r["id"] == credential["id"]]
    assert single["charterNumber"] == ada["charterNumber"]  # the same holder, the same number
    assert credential["credentialSubject"]["licenseNumber"] == ada["charterNumber"]
    assert (single["job"], single["examResult"]) == (None, None)
    stored = scalar(_url(home), "SELECT document FROM credentials WHERE id = :id", id=single["uuid"])
    assert out.read_text(encoding="utf-8") == stored
    (yara,) = _listed(cli, "--holder", "yara@example.net")
    assert yara["charterNumber"] not in {r["charterNumber"] for r in signed_examples}
    assert json.loads(new.out)["credentialSubject"]["licenseNumber"] == yara["charterNumber"]
    assert len(_listed(cli)) == 15
    assert cli("audit", "verify").code == 0  # a single issuance is logged like a job's


# --- SQLite and PostgreSQL -------------------------------------------------------------------


def test_round_trip_on_either_database(
    cli: CLI,
    home: Path,
    tmp_path: Path,
    passphrase: str,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CAIEP_DATABASE_URL", database_url)
    _init(cli)
    assert _imported(cli).out.splitlines()[-1] == EXAMPLE_IMPORTED

    report = _report(_signed(cli))
    records = _listed(cli)
    out = tmp_path / "exported.json"
    exported = cli("credentials", "export", records[0]["uuid"], "--out", str(out))
    audit = cli("audit", "verify")

    assert report["issued"] == len(records) == 13
    assert {r["job"] for r in records} == {report["job"]}
    assert json.loads(cli("credentials", "show", records[0]["id"]).out) == records[0]
    assert exported.code == 0
    assert out.read_text(encoding="utf-8") == scalar(
        database_url, "SELECT document FROM credentials WHERE id = :id", id=records[0]["uuid"]
    )
    assert cli("verify", str(out)).code == 0
    assert audit.code == 0, audit.out
    assert report["auditHead"] == scalar(database_url, "SELECT hash FROM audit_head")
    # $CAIEP_DATABASE_URL chose the database: no registry was made in the instance directory.
    assert not (home / "registry.sqlite3").exists()
