"""Reading exam-result exports: every import rule, line numbers, the three formats, flat memory.

The refusals are the files of tests/vectors/invalid/results/, driven by the table in its README.
"""

from __future__ import annotations

import json
import re
import time
import tracemalloc
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest

from bench.make_results import write_results
from caiep.errors import InputError
from caiep.issuer.charter import PATHWAYS
from caiep.issuer.results import (
    COLUMNS,
    MAX_LINE_BYTES,
    MAX_STORED_ERRORS,
    ExamResult,
    ImportCheck,
    RowError,
    check_results,
    iter_results,
)
from support import VECTORS

TODAY = date(2026, 11, 26)
INVALID = VECTORS / "invalid" / "results"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
HEADER = ",".join(COLUMNS)
GOOD = "C-100,Ada,Example,ada@example.org,2026-01-15,2026-06-01,pass,82,2026.1,experience"
_ROW = re.compile(
    r"\| `(?P<file>[^`]+)` \| (?P<kind>RowError|InputError) \| (?P<line>\d+|—) \| "
    r"(?:`(?P<field>[^`]+)`|—) \| `(?P<fragment>[^`]+)` \|"
)


def _table() -> list[tuple[str, str, int | None, str | None, str]]:
    lines = (INVALID / "README.md").read_text(encoding="utf-8").splitlines()
    rows = [m for m in map(_ROW.match, lines) if m]
    return [
        (m["file"], m["kind"], None if m["line"] == "—" else int(m["line"]), m["field"], m["fragment"])
        for m in rows
    ]


CASES = _table()
ROW_CASES = [
    (name, line, field, fragment) for name, kind, line, field, fragment in CASES if kind == "RowError"
]
FILE_CASES = [(name, line, fragment) for name, kind, line, _, fragment in CASES if kind == "InputError"]


def _read(path: Path, today: date = TODAY) -> list[ExamResult | RowError]:
    return list(iter_results(path, today=today))


def _csv(tmp_path: Path, *rows: str, header: str = HEADER, name: str = "results.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join((header, *rows)) + "\n", encoding="utf-8")
    return path


def _row(**changes: str) -> str:
    values = dict(zip(COLUMNS, GOOD.split(","), strict=True))
    values.update(changes)
    return ",".join(values[name] for name in COLUMNS)


def _only(items: list[ExamResult | RowError]) -> ExamResult | RowError:
    assert len(items) == 1
    return items[0]


# --- the table of bad files --------------------------------------------------------------


def test_every_bad_file_is_in_the_table_and_back() -> None:
    on_disk = {path.name for path in INVALID.iterdir() if path.name != "README.md"}
    in_table = [name for name, *_ in CASES]
    assert len(in_table) == len(set(in_table)) >= 30
    assert on_disk == set(in_table)


@pytest.mark.parametrize(("name", "line", "field", "fragment"), ROW_CASES, ids=[c[0] for c in ROW_CASES])
def test_bad_row_is_reported_on_its_line_and_reading_goes_on(
    name: str, line: int, field: str | None, fragment: str
) -> None:
    items = _read(INVALID / name)
    errors = [item for item in items if isinstance(item, RowError)]
    assert len(errors) == 1, errors
    error = errors[0]
    assert (error.line, error.field) == (line, field)
    assert fragment in error.reason
    assert str(error) == f"line {line}: {error.reason}"
    assert [item.line for item in items] == sorted(item.line for item in items)
    assert len(items) >= 2  # the valid row before it was read too


@pytest.mark.parametrize(("name", "line", "fragment"), FILE_CASES, ids=[c[0] for c in FILE_CASES])
def test_unreadable_file_raises_input_error(name: str, line: int | None, fragment: str) -> None:
    path = INVALID / name
    with pytest.raises(InputError) as caught:
        _read(path)
    assert fragment in caught.value.message
    assert caught.value.source == str(path)
    assert caught.value.code == "invalid_input"
    if line is None:
        assert caught.value.location is None
    else:
        assert caught.value.location is not None
        assert re.match(rf"line {line}\b", caught.value.location)
    assert str(caught.value).startswith(str(path))


def test_missing_file_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "absent.csv"
    with pytest.raises(InputError, match="cannot read the file") as caught:
        _read(path)
    assert caught.value.source == str(path)


def test_a_line_over_the_limit_is_refused_with_its_number(tmp_path: Path) -> None:
    path = _csv(tmp_path, GOOD, _row(given_name="A" * MAX_LINE_BYTES))
    with pytest.raises(InputError, match="longer than") as caught:
        _read(path)
    assert caught.value.location == "line 3"


def test_json_nested_too_deeply_is_an_input_error_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    with pytest.raises(InputError, match="nested too deeply"):
        _read(path)


# --- the exam window and dates ---------------------------------------------------------


@pytest.mark.parametrize(
    ("registered_on", "exam_date", "reason"),
    [
        ("2025-06-01", "2025-06-01", None),  # day 0: the exam on the registration day
        ("2025-06-01", "2026-06-01", None),  # 365 days: the last day of the window
        ("2025-06-02", "2026-06-02", None),
        ("2024-03-01", "2025-03-01", None),  # 365 days across no 29 February
        ("2023-03-01", "2024-02-29", None),  # 365 days ending on 29 February
        ("2023-02-28", "2024-02-28", None),  # 365 days, though a calendar year later is 2024-02-28
        ("2023-02-28", "2024-02-29", "366 days after registration on 2023-02-28"),
        ("2025-06-01", "2026-06-02", "366 days after registration on 2025-06-01"),
        ("2025-06-02", "2025-06-01", "is before registration on 2025-06-02"),
    ],
)
def test_exam_window_is_365_days_from_registration(
    tmp_path: Path, registered_on: str, exam_date: str, reason: str | None
) -> None:
    item = _only(_read(_csv(tmp_path, _row(registered_on=registered_on, exam_date=exam_date))))
    if reason is None:
        assert isinstance(item, ExamResult)
        assert (item.exam_date - item.registered_on).days <= 365
    else:
        assert isinstance(item, RowError)
        assert item.field == "exam_date"
        assert reason in item.reason


def test_exam_today_is_accepted_and_tomorrow_is_in_the_future(tmp_path: Path) -> None:
    path = _csv(tmp_path, _row(exam_date="2026-06-01"))
    assert isinstance(_only(_read(path, today=date(2026, 6, 1))), ExamResult)
    item = _only(_read(path, today=date(2026, 5, 31)))
    assert isinstance(item, RowError)
    assert item.reason == "exam_date 2026-06-01 is in the future (today is 2026-05-31)"


@pytest.mark.parametrize(
    "value", ["2026-6-1", "20260601", "2026-W22-1", "2026-06-01T00:00", "２０２６-06-01"]
)
def test_dates_are_iso_calendar_dates_only(tmp_path: Path, value: str) -> None:
    item = _only(_read(_csv(tmp_path, _row(exam_date=value))))
    assert isinstance(item, RowError)
    assert item.field == "exam_date"
    assert "is not an ISO 8601 date (YYYY-MM-DD)" in item.reason


# --- normalisation and the other fields ------------------------------------------------


def test_values_are_trimmed_and_normalised(tmp_path: Path) -> None:
    row = (
        "  C-100 , Ada ,  Example , Ada.Example@EXAMPLE.org ,2026-01-15, 2026-06-01 ,PASS, 82.50 , 2026.1,AiE"
    )
    item = _only(_read(_csv(tmp_path, row)))
    assert item == ExamResult(
        candidate_id="C-100",
        given_name="Ada",
        family_name="Example",
        email="ada.example@example.org",
        registered_on=date(2026, 1, 15),
        exam_date=date(2026, 6, 1),
        result="pass",
        score="82.50",
        exam_version="2026.1",
        pathway="aie",
        line=2,
    )
    assert isinstance(item, ExamResult)
    assert item.exam_key == ("C-100", "2026.1", date(2026, 6, 1))


def test_full_name_uses_single_spaces(tmp_path: Path) -> None:
    item = _only(_read(_csv(tmp_path, _row(given_name="Mary  Ann", family_name="van der  Example"))))
    assert isinstance(item, ExamResult)
    assert item.given_name == "Mary  Ann"
    assert item.full_name == "Mary Ann van der Example"


@pytest.mark.parametrize("value", ["0", "100", "100.0", "70.5", "082"])
def test_scores_within_0_to_100_are_kept_as_given(tmp_path: Path, value: str) -> None:
    item = _only(_read(_csv(tmp_path, _row(score=value))))
    assert isinstance(item, ExamResult)
    assert item.score == value


@pytest.mark.parametrize(
    "value", ["-1", "1e2", "NaN", "Infinity", "+82", "82.", ".5", "1000", "100.01", "８２"]
)
def test_scores_that_are_not_plain_decimals_in_range_are_refused(tmp_path: Path, value: str) -> None:
    item = _only(_read(_csv(tmp_path, _row(score=value))))
    assert isinstance(item, RowError)
    assert item.field == "score"


def test_an_empty_score_is_none(tmp_path: Path) -> None:
    item = _only(_read(_csv(tmp_path, _row(score="  "))))
    assert isinstance(item, ExamResult)
    assert item.score is None


@pytest.mark.parametrize("pathway", sorted(PATHWAYS))
def test_each_pathway_is_accepted_in_any_case(tmp_path: Path, pathway: str) -> None:
    item = _only(_read(_csv(tmp_path, _row(pathway=pathway.upper(), result="Fail"))))
    assert isinstance(item, ExamResult)
    assert (item.pathway, item.result) == (pathway, "fail")


@pytest.mark.parametrize("column", [c for c in COLUMNS if c != "score"])
def test_every_column_but_score_is_required(tmp_path: Path, column: str) -> None:
    item = _only(_read(_csv(tmp_path, _row(**{column: "   "}))))
    assert isinstance(item, RowError)
    assert (item.field, item.reason) == (column, f"{column} is empty")


@pytest.mark.parametrize("character", ["\x00", "\x1b", "\x7f", "\x85", "\t"])
def test_control_characters_inside_a_field_are_refused(tmp_path: Path, character: str) -> None:
    item = _only(_read(_csv(tmp_path, _row(given_name=f"A{character}da"))))
    assert isinstance(item, RowError)
    assert item.field == "given_name"
    assert f"U+{ord(character):04X}" in item.reason


def test_candidate_id_of_64_characters_is_accepted(tmp_path: Path) -> None:
    item = _only(_read(_csv(tmp_path, _row(candidate_id="a.B_9-" + "x" * 58))))
    assert isinstance(item, ExamResult)


# --- CSV shape and line numbers ----------------------------------------------------------


def test_byte_order_mark_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + f"{HEADER}\n{GOOD}\n".encode())
    assert isinstance(_only(_read(path)), ExamResult)


def test_column_order_does_not_matter(tmp_path: Path) -> None:
    straight = _only(_read(_csv(tmp_path, GOOD)))
    order = list(reversed(COLUMNS))
    values = dict(zip(COLUMNS, GOOD.split(","), strict=True))
    shuffled = _csv(tmp_path, ",".join(values[c] for c in order), header=",".join(order), name="r.csv")
    assert _only(_read(shuffled)) == straight


def test_header_names_may_carry_spaces_around_them(tmp_path: Path) -> None:
    header = ", ".join(COLUMNS)
    assert isinstance(_only(_read(_csv(tmp_path, GOOD, header=header))), ExamResult)


def test_crlf_line_endings(tmp_path: Path) -> None:
    path = tmp_path / "crlf.csv"
    path.write_bytes(f"{HEADER}\r\n{GOOD}\r\n{_row(candidate_id='C-101')}\r\n".encode())
    items = _read(path)
    assert all(isinstance(item, ExamResult) for item in items)
    assert [item.line for item in items] == [2, 3]
    assert _read(_csv(tmp_path, GOOD))[0] == items[0]


def test_quoted_fields_keep_commas_and_newlines_and_rows_keep_their_start_line(tmp_path: Path) -> None:
    path = tmp_path / "quoted.csv"
    path.write_text(
        f"{HEADER}\n"
        'C-1,"Ada, Jr.",Example,ada@example.org,2026-01-15,2026-06-01,pass,82,"2026.1, form B",aie\n'
        'C-2,Bram,"Sample\n",bram@example.org,2026-01-15,2026-06-01,pass,82,2026.1,aie\n'
        'C-3,"Mary\nAnn",Example,mary@example.org,2026-01-15,2026-06-01,pass,82,2026.1,aie\n'
        f"{_row(candidate_id='C-4')}\n",
        encoding="utf-8",
    )
    first, second, third, fourth = _read(path)
    assert isinstance(first, ExamResult)
    assert (first.line, first.given_name, first.exam_version) == (2, "Ada, Jr.", "2026.1, form B")
    assert isinstance(second, ExamResult)
    assert (second.line, second.family_name) == (3, "Sample")  # the trailing newline is trimmed
    assert isinstance(third, RowError)
    assert (third.line, third.field) == (5, "given_name")
    assert "control character (U+000A)" in third.reason
    assert fourth.line == 7


def test_unterminated_quote_is_one_malformed_row_at_its_start(tmp_path: Path) -> None:
    path = _csv(tmp_path, GOOD, 'C-2,"Bram,Sample,bram@example.org', "more,lines")
    first, second = _read(path)
    assert isinstance(first, ExamResult)
    assert isinstance(second, RowError)
    assert second.line == 3
    assert "malformed CSV row" in second.reason


def test_reading_goes_on_after_bad_rows_and_skips_blank_lines(tmp_path: Path) -> None:
    path = _csv(tmp_path, GOOD, "", "C-2,too,few", "   ", _row(candidate_id="C-3"), "")
    items = _read(path)
    assert [(type(item).__name__, item.line) for item in items] == [
        ("ExamResult", 2),
        ("RowError", 4),
        ("ExamResult", 6),
    ]


def test_header_only_file_has_no_rows(tmp_path: Path) -> None:
    assert _read(_csv(tmp_path)) == []


def test_extension_is_case_insensitive(tmp_path: Path) -> None:
    assert isinstance(_only(_read(_csv(tmp_path, GOOD, name="RESULTS.CSV"))), ExamResult)


# --- duplicates ---------------------------------------------------------------------------


def test_same_exam_twice_names_the_first_line_each_time(tmp_path: Path) -> None:
    path = _csv(tmp_path, GOOD, _row(exam_version="2026.2"), _row(email="other@example.org"), GOOD)
    items = _read(path)
    assert [type(item) for item in items] == [ExamResult, ExamResult, RowError, RowError]
    assert all("duplicates line 2" in item.reason for item in items[2:] if isinstance(item, RowError))


def test_same_candidate_on_another_exam_is_not_a_duplicate(tmp_path: Path) -> None:
    path = _csv(
        tmp_path, GOOD, _row(exam_date="2026-06-02"), _row(exam_version="2026.2"), _row(candidate_id="C-9")
    )
    assert all(isinstance(item, ExamResult) for item in _read(path))


def test_an_invalid_row_does_not_claim_its_exam(tmp_path: Path) -> None:
    path = _csv(tmp_path, _row(email="not-an-address"), GOOD)
    first, second = _read(path)
    assert isinstance(first, RowError)
    assert isinstance(second, ExamResult)


def test_duplicates_are_found_among_many_exams(tmp_path: Path) -> None:
    rows = [_row(candidate_id=f"C-{i}") for i in range(5_000)]
    rows.insert(3_000, _row(candidate_id="C-1234"))
    errors = [item for item in _read(_csv(tmp_path, *rows)) if isinstance(item, RowError)]
    assert [(e.line, e.reason.endswith("duplicates line 1236")) for e in errors] == [(3002, True)]


# --- JSON and JSON Lines -----------------------------------------------------------------


def test_json_and_json_lines_give_the_same_results_as_csv(tmp_path: Path) -> None:
    from_csv = _read(EXAMPLES / "results.csv")
    from_json = _read(EXAMPLES / "results.json")
    objects = json.loads((EXAMPLES / "results.json").read_text(encoding="utf-8"))
    jsonl = tmp_path / "results.jsonl"
    jsonl.write_text("\n".join(json.dumps(o) for o in objects) + "\n", encoding="utf-8")
    from_jsonl = _read(jsonl)
    assert len(from_csv) == len(from_json) == len(from_jsonl) == 20
    assert [r.line for r in from_json] == list(range(1, 21))  # the index in the array
    assert [r.line for r in from_jsonl] == list(range(1, 21))  # the line in the file
    assert [r.line for r in from_csv] == list(range(2, 22))
    unlined = [[replace(r, line=0) for r in items] for items in (from_csv, from_json, from_jsonl)]
    assert unlined[0] == unlined[1] == unlined[2]


def test_json_lines_skip_blank_lines_and_count_physical_lines(tmp_path: Path) -> None:
    obj = dict(zip(COLUMNS, GOOD.split(","), strict=True))
    path = tmp_path / "r.jsonl"
    path.write_text(f"\n{json.dumps(obj)}\n\n[]\n", encoding="utf-8")
    first, second = _read(path)
    assert isinstance(first, ExamResult)
    assert first.line == 2
    assert isinstance(second, RowError)
    assert second.line == 4


def test_json_null_score_is_none(tmp_path: Path) -> None:
    obj = {**dict(zip(COLUMNS, GOOD.split(","), strict=True)), "score": None}
    path = tmp_path / "r.json"
    path.write_text(json.dumps([obj]), encoding="utf-8")
    item = _only(_read(path))
    assert isinstance(item, ExamResult)
    assert item.score is None


# --- the examples, counting, memory ----------------------------------------------------


def test_example_file_reads_without_errors() -> None:
    check = check_results(EXAMPLES / "results.csv", today=TODAY)
    assert check.rows == check.valid == 20
    assert check.invalid == 0
    assert check.errors == []
    assert check.passes > 0
    assert check.fails > 0
    assert check.passes + check.fails == 20
    assert {r.pathway for r in _read(EXAMPLES / "results.csv") if isinstance(r, ExamResult)} == set(PATHWAYS)


def test_check_counts_every_error_and_keeps_the_first_thousand(tmp_path: Path) -> None:
    bad = [_row(candidate_id=f"C-{i}", result="maybe") for i in range(MAX_STORED_ERRORS + 200)]
    check = check_results(_csv(tmp_path, GOOD, *bad, _row(candidate_id="C-X", result="fail")), today=TODAY)
    assert (check.rows, check.valid, check.invalid) == (MAX_STORED_ERRORS + 202, 2, MAX_STORED_ERRORS + 200)
    assert (check.passes, check.fails) == (1, 1)
    assert len(check.errors) == MAX_STORED_ERRORS
    assert check.errors[0].line == 3


def test_import_check_starts_at_zero() -> None:
    assert ImportCheck() == ImportCheck(0, 0, 0, 0, 0, [])


def test_generated_rows_are_deterministic_by_seed(tmp_path: Path) -> None:
    for name, seed in (("a.csv", 7), ("b.csv", 7), ("c.csv", 8)):
        write_results(tmp_path / name, 200, seed=seed)
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    assert (tmp_path / "a.csv").read_bytes() != (tmp_path / "c.csv").read_bytes()
    check = check_results(tmp_path / "a.csv", today=TODAY)
    assert (check.rows, check.valid) == (200, 200)


def test_200k_rows_stream_in_flat_memory(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    write_results(path, 200_000, seed=1, latest=TODAY - timedelta(days=1))
    assert path.stat().st_size > 20_000_000
    tracemalloc.start()
    try:
        start = time.perf_counter()
        check = check_results(path, today=TODAY)
        elapsed = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (check.rows, check.valid, check.invalid) == (200_000, 200_000, 0)
    assert check.passes > 0
    assert check.fails > 0
    assert peak < 20_000_000, f"peak {peak / 1e6:.1f} MB"
    assert elapsed < 120


def test_import_check_counts_renewal_rows(tmp_path: Path) -> None:
    from caiep.issuer.results import RenewalRow, check_results

    path = tmp_path / "renewals.csv"
    path.write_text(
        "kind,charter_number,exam_date\nrenewal,caiep-000042,2026-11-01\nrenewal,CAIEP-000042,\n"
        "award,,2026-11-01\nrenewal,CAIEP-42,\n",
        encoding="utf-8",
    )
    check = check_results(path, today=TODAY)
    assert (check.rows, check.valid, check.renewals) == (4, 1, 1)
    assert [str(e) for e in check.errors] == [
        "line 3: CAIEP-000042 is renewed on line 2 too",
        "line 4: candidate_id is empty",
        "line 5: charter_number 'CAIEP-42' is not a charter number like CAIEP-000042",
    ]
    from caiep.issuer.results import iter_results

    [first, *_] = iter_results(path, today=TODAY)
    assert first == RenewalRow("CAIEP-000042", date(2026, 11, 1), 2)
