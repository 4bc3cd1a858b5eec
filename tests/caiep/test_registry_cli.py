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
    EXAMPLE_IMPORTED,
    EXAMPLE_SUMMARY,
    EXAMPLES,
    INVALID,
    ISSUER_URL,
    UUID,
    _imported,
    _init,
    _listed,
    _registry_is_empty,
    _report,
    _rows,
    _signed,
    _url,
    did_web_site_fixture,  # noqa: F401 - the did_web_site fixture, registered by importing it
    no_database_override,  # noqa: F401 - autouse fixture, registered by importing it
    query,
    scalar,
    signed_examples_fixture,  # noqa: F401 - the signed_examples fixture, registered by importing it
)

from caiep.issuer.registry import charter_number

if TYPE_CHECKING:
    from conftest import CLI


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
    assert _rows(home, "charter_credentials") == 13


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
    # Written item by item, the JSON is still the indented array it always was, in the same order.
    as_json = cli("credentials", "list", "--json")
    assert as_json.out == json.dumps(signed_examples, indent=2, ensure_ascii=False) + "\n"
    assert [r["uuid"] for r in signed_examples] == [line.split()[0] for line in lines]


def test_credentials_list_by_holder_is_case_insensitive(
    cli: CLI, signed_examples: list[dict[str, Any]]
) -> None:
    records = _listed(cli, "--holder", "  ADA.Example@EXAMPLE.org ")

    assert [(r["holder"], r["email"]) for r in records] == [("Ada Example", "ada.example@example.org")]
    assert _listed(cli, "--holder", "nobody@example.org") == []
    assert cli("credentials", "list", "--json", "--holder", "nobody@example.org").out == "[]\n"
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
    assert json.loads(by_uuid.out) == json.loads(by_url.out) == {**record, "lapses": []}


def test_credentials_export_writes_the_stored_document_which_verifies(
    cli: CLI, home: Path, tmp_path: Path, signed_examples: list[dict[str, Any]]
) -> None:
    record = signed_examples[-1]
    out = tmp_path / "exported.json"

    run = cli("credentials", "export", record["id"], "--out", str(out))

    assert run.code == 0
    assert f"wrote {record['id']} (ldp) to {out}" in run.err
    stored = scalar(
        _url(home),
        "SELECT document FROM credential_copies WHERE credential_id = :id AND served",
        id=record["uuid"],
    )
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
    assert f"no {'charter ' if command == 'export' else ''}credential '{unknown}'" in run.err
    assert not (tmp_path / "never.json").exists()
