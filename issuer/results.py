"""Reading the exam platform's export of results (CSV, JSON, JSON Lines), one row at a time.

Use :func:`iter_results` for ``caiep results import`` and :func:`check_results` for
``--dry-run``. Each data row yields one item, in file order: an :class:`ExamResult` or a
:class:`RowError` with the row's line and its first problem, and reading goes on. Only a file
that cannot be read at all raises :class:`~caiep.errors.InputError`, when the iteration
reaches the fault (a byte that is not UTF-8 on line 800,000 is found there).

Rules (issue #3, "Import"): every column present and non-empty once trimmed (``score`` may
be empty); no control characters in any field; ``candidate_id`` 1-64 characters of
``A-Za-z0-9._-``; ISO 8601 calendar dates; an exam not after ``today``, not before
registration, and inside the 365-day exam window that starts at registration:
``exam_date - registered_on <= 365 days``, so registration + 365 days is the last allowed
day; ``result`` pass|fail and ``pathway`` a key of ``issuer.charter.PATHWAYS``, both
case-insensitive, stored lower-case; ``score`` decimal text within 0-100, kept as given; the
same exam (:attr:`ExamResult.exam_key`) on a later row is an error naming the line it
duplicates (only valid rows claim a key).

Line numbers: CSV and JSON Lines give the physical line where the row starts (the CSV header
is line 1; a quoted field may span lines); a JSON array gives the object's 1-based index.
Memory: CSV and JSON Lines stream (no line over 1 MiB); the duplicate check keeps 24-48 bytes
per distinct exam (:class:`_FirstLines`). A JSON array is parsed whole by ``json``: fine for
moderate sizes; CSV and JSON Lines are for big exports.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from array import array
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO

from caiep.errors import InputError
from caiep.issuer.charter import PATHWAYS, normalise_email

COLUMNS = (
    "candidate_id", "given_name", "family_name", "email", "registered_on",
    "exam_date", "result", "score", "exam_version", "pathway",
)  # fmt: skip
EXAM_WINDOW_DAYS = 365
MAX_STORED_ERRORS = 1_000
MAX_LINE_BYTES = 1 << 20
RESULTS = ("pass", "fail")

_CANDIDATE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # Unicode category Cc
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_SCORE = re.compile(r"[0-9]{1,3}(?:\.[0-9]+)?")


@dataclass(frozen=True, slots=True)
class ExamResult:
    """One valid row of the export: a candidate's exam, normalised and ready to store."""

    candidate_id: str
    given_name: str
    family_name: str
    email: str
    registered_on: date
    exam_date: date
    result: str
    score: str | None
    exam_version: str
    pathway: str
    line: int

    @property
    def full_name(self) -> str:
        """The holder's name as the credential shows it: "given family", single spaces."""
        return " ".join(f"{self.given_name} {self.family_name}".split())

    @property
    def exam_key(self) -> tuple[str, str, date]:
        """What makes two rows "the same candidate/exam": (candidate_id, exam_version, exam_date)."""
        return (self.candidate_id, self.exam_version, self.exam_date)


@dataclass(frozen=True, slots=True)
class RowError:
    """Why one data row is refused: its line, the field at fault (None: the whole row), a sentence."""

    line: int
    field: str | None
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass
class ImportCheck:
    """Counts over a whole file, for ``--dry-run`` and the import summary.

    ``errors`` keeps the first :data:`MAX_STORED_ERRORS` errors; ``invalid`` counts them all.
    """

    rows: int = 0
    valid: int = 0
    invalid: int = 0
    passes: int = 0
    fails: int = 0
    errors: list[RowError] = field(default_factory=list)

    def add(self, item: ExamResult | RowError) -> None:
        """Count one item of :func:`iter_results`."""
        self.rows += 1
        if isinstance(item, ExamResult):
            self.valid += 1
            self.passes += item.result == "pass"
            self.fails += item.result == "fail"
            return
        self.invalid += 1
        if len(self.errors) < MAX_STORED_ERRORS:
            self.errors.append(item)


def iter_results(path: Path, *, today: date) -> Iterator[ExamResult | RowError]:
    """Each data row of ``path`` (``.csv``, ``.json``, ``.jsonl``) checked, in file order.

    Raises :class:`InputError` (``source`` the path, ``location`` the line where known) for
    another extension, a missing file, text that is not UTF-8, an empty file, a CSV header
    that is absent or wrong, or a JSON document that is not an array.
    """
    source = str(path)
    readers = {".csv": _csv_rows, ".json": _json_rows, ".jsonl": _jsonl_rows}
    reader = readers.get(path.suffix.lower())
    if reader is None:
        kind = f"unsupported file type {path.suffix or '(none)'!r}"
        raise InputError(f"{kind}: expected .csv, .json or .jsonl", source=source)
    first_lines = _FirstLines()
    for line, values in reader(path, source):
        if isinstance(values, RowError):
            yield values
            continue
        item = _parse(values, line, today)
        if isinstance(item, ExamResult):
            earlier = first_lines.claim(item.exam_key, line)
            if earlier is not None:
                exam = f"{item.candidate_id}'s exam {item.exam_version} on {item.exam_date.isoformat()}"
                item = RowError(line, None, f"candidate {exam} duplicates line {earlier}")
        yield item


def check_results(path: Path, *, today: date) -> ImportCheck:
    """Read the whole file and count (``--dry-run``); raises :class:`InputError` as iter_results."""
    check = ImportCheck()
    for item in iter_results(path, today=today):
        check.add(item)
    return check


# --- one row -----------------------------------------------------------------------------


class _Bad(Exception):
    """A rule failed: ``args`` are the field and the reason of the row's RowError."""


def _parse(values: Mapping[str, object], line: int, today: date) -> ExamResult | RowError:
    try:
        text = {name: _text(name, values[name]) for name in COLUMNS}
        candidate_id = text["candidate_id"]
        if not _CANDIDATE_ID.fullmatch(candidate_id):
            allowed = "1-64 characters of A-Z, a-z, 0-9, '.', '_', '-'"
            raise _Bad("candidate_id", f"candidate_id {candidate_id!r} must be {allowed}")
        try:
            email = normalise_email(text["email"])
        except InputError:
            raise _Bad("email", f"email {text['email']!r} is not an e-mail address") from None
        registered_on = _date("registered_on", text["registered_on"])
        exam_date = _date("exam_date", text["exam_date"])
        result = _choice("result", text["result"], RESULTS)
        score = text["score"] or None
        if score is not None and not _SCORE.fullmatch(score):
            raise _Bad("score", f"score {score!r} is not a decimal number such as 82 or 82.5")
        if score is not None and Decimal(score) > 100:
            raise _Bad("score", f"score {score} is outside 0-100")
        pathway = _choice("pathway", text["pathway"], tuple(PATHWAYS))
        _check_window(registered_on, exam_date, today)
    except _Bad as bad:
        return RowError(line, *bad.args)
    given_name, family_name, exam_version = text["given_name"], text["family_name"], text["exam_version"]
    return ExamResult(
        candidate_id, given_name, family_name, email, registered_on, exam_date, result, score,
        exam_version, pathway, line,
    )  # fmt: skip


def _text(name: str, value: object) -> str:
    if value is None and name == "score":
        return ""
    if not isinstance(value, str):
        raise _Bad(name, f"{name} must be a string, not {_kind(value)}")
    value = value.strip()
    control = _CONTROL.search(value)
    if control:
        raise _Bad(name, f"{name} contains a control character (U+{ord(control.group()):04X})")
    if not value and name != "score":
        raise _Bad(name, f"{name} is empty")
    return value


def _date(name: str, value: str) -> date:
    if not _ISO_DATE.fullmatch(value):
        raise _Bad(name, f"{name} {value!r} is not an ISO 8601 date (YYYY-MM-DD)")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _Bad(name, f"{name} {value} is not a calendar date") from None


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> str:
    lowered = value.lower()
    if lowered not in allowed:
        raise _Bad(name, f"{name} {value!r} is not one of {', '.join(allowed)}")
    return lowered


def _check_window(registered_on: date, exam_date: date, today: date) -> None:
    exam, registered = exam_date.isoformat(), registered_on.isoformat()
    if exam_date > today:
        raise _Bad("exam_date", f"exam_date {exam} is in the future (today is {today.isoformat()})")
    days = (exam_date - registered_on).days
    if days < 0:
        raise _Bad("exam_date", f"exam_date {exam} is before registration on {registered}")
    if days > EXAM_WINDOW_DAYS:
        window = f"the exam window is {EXAM_WINDOW_DAYS} days"
        raise _Bad(
            "exam_date", f"exam_date {exam} is {days} days after registration on {registered}; {window}"
        )


class _FirstLines:
    """The line that first held each exam key: an open-addressing table of 64-bit digests.

    12 bytes a slot, at most half full: a million distinct exams take 25 MB (38 MB while the
    table doubles) where a dict of key tuples takes 230 MB. Two different exams share a
    BLAKE2b-64 digest with probability about n²/2⁶⁵ (3·10⁻⁸ for a million): such a pair would
    be reported as a duplicate, never merged silently.
    """

    def __init__(self) -> None:
        self._digests, self._lines = array("Q", [0]) * 1024, array("I", [0]) * 1024
        self._used = 0

    def claim(self, key: tuple[str, str, date], line: int) -> int | None:
        """Record ``key`` at ``line``, or return the line that recorded it first."""
        # Neither part may hold a control character, so "\n" cannot be forged inside one.
        text = f"{key[0]}\n{key[1]}\n{key[2].isoformat()}".encode()
        digest = int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "little") or 1
        slot = self._find(digest)
        if self._digests[slot] == digest:
            return self._lines[slot]
        self._digests[slot], self._lines[slot] = digest, line
        self._used += 1
        if 2 * self._used > len(self._digests):
            self._grow()
        return None

    def _find(self, digest: int) -> int:
        digests, mask = self._digests, len(self._digests) - 1
        slot = digest & mask
        while digests[slot] not in (0, digest):
            slot = (slot + 1) & mask
        return slot

    def _grow(self) -> None:
        old = zip(self._digests, self._lines, strict=True)
        size = 2 * len(self._digests)
        self._digests, self._lines = array("Q", [0]) * size, array("I", [0]) * size
        for digest, line in old:
            if digest:
                slot = self._find(digest)
                self._digests[slot], self._lines[slot] = digest, line


# --- the three formats -------------------------------------------------------------------

_Rows = Iterator[tuple[int, Mapping[str, object] | RowError]]


def _csv_rows(path: Path, source: str) -> _Rows:
    with _open(path, source) as handle:
        reader = csv.reader(_lines(handle, source), strict=True)
        header = _header(reader, source)
        while True:
            start = reader.line_num + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield start, RowError(start, None, f"malformed CSV row: {exc}")
                continue
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # a blank line is not a row
            if len(row) == len(header):
                yield start, dict(zip(header, row, strict=True))
            else:
                width = f"the row has {len(row)} fields; the header has {len(header)}"
                yield start, RowError(start, None, width)


def _header(reader: Iterator[list[str]], source: str) -> list[str]:
    try:
        first = next(reader)
    except StopIteration:
        raise InputError("empty file: a header row is required", source=source) from None
    except csv.Error as exc:
        raise InputError(f"malformed header row: {exc}", source=source, location="line 1") from exc
    names = [name.strip() for name in first]
    problems = _name_problems(names, "columns")
    if not set(names) & set(COLUMNS):
        problems = f"no header row: line 1 names none of the columns {', '.join(COLUMNS)}"
    if problems:
        raise InputError(problems, source=source, location="line 1")
    return names


def _name_problems(names: list[str], noun: str) -> str:
    """What is wrong with a header's columns or a JSON object's keys ("" if nothing)."""
    problems = []
    if repeated := sorted({n for n in names if names.count(n) > 1}):
        problems.append(f"{noun} given more than once: {', '.join(repeated)}")
    if missing := [c for c in COLUMNS if c not in names]:
        problems.append(f"missing {noun}: {', '.join(missing)}")
    if extra := [n or '""' for n in names if n not in COLUMNS]:
        problems.append(f"unexpected {noun}: {', '.join(extra)}")
    return "; ".join(problems)


def _json_rows(path: Path, source: str) -> _Rows:
    with _open(path, source) as handle:
        data = handle.read()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError("not UTF-8 text", source=source, location=f"line {line}") from exc
    if not text.strip():
        raise InputError("empty file", source=source)
    try:
        document = _load_json(text)
    except json.JSONDecodeError as exc:
        location = f"line {exc.lineno}, column {exc.colno}"
        raise InputError(f"not valid JSON: {exc.msg}", source=source, location=location) from exc
    if not isinstance(document, list):
        raise InputError(f"must be a JSON array of result objects, not {_kind(document)}", source=source)
    for index, element in enumerate(document, start=1):
        yield index, _json_row(element, index)


def _jsonl_rows(path: Path, source: str) -> _Rows:
    seen_any = False
    with _open(path, source) as handle:
        for number, text in enumerate(_lines(handle, source), start=1):
            if not text.strip():
                continue
            seen_any = True
            try:
                element = _load_json(text)
            except json.JSONDecodeError as exc:
                yield number, RowError(number, None, f"not valid JSON: {exc.msg} (column {exc.colno})")
                continue
            yield number, _json_row(element, number)
    if not seen_any:
        raise InputError("empty file", source=source)


class _RepeatedKeys(tuple[str, ...]):
    """The keys of a JSON object that names a key twice (``json`` alone would keep the last)."""


def _load_json(text: str) -> object:
    """``json.loads`` with repeated keys marked; nesting too deep is a decoding error too."""
    try:
        return json.loads(text, object_pairs_hook=_json_object)
    except RecursionError:
        raise json.JSONDecodeError("nested too deeply", text, 0) from None


def _json_object(pairs: list[tuple[str, Any]]) -> dict[str, Any] | _RepeatedKeys:
    obj = dict(pairs)
    return obj if len(obj) == len(pairs) else _RepeatedKeys(key for key, _ in pairs)


def _json_row(element: object, line: int) -> Mapping[str, object] | RowError:
    if not isinstance(element, dict | _RepeatedKeys):
        return RowError(line, None, f"the row is {_kind(element)}, not an object")
    problems = _name_problems(list(element), "keys")
    return RowError(line, None, problems) if problems or isinstance(element, _RepeatedKeys) else element


_KINDS = ((bool, "a boolean"), (int | float, "a number"), (str, "a string"), (list, "an array"))


def _kind(value: object) -> str:
    """How a JSON value is named in a reason (``_RepeatedKeys`` and dicts are objects)."""
    if value is None:
        return "null"
    return next((name for kind, name in _KINDS if isinstance(value, kind)), "an object")


def _open(path: Path, source: str) -> BinaryIO:
    try:
        return path.open("rb")
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror or exc}", source=source) from exc


def _lines(handle: BinaryIO, source: str) -> Iterator[str]:
    """The file's lines as text, each decoded alone so that a bad byte is placed exactly."""
    number = 0
    while raw := handle.readline(MAX_LINE_BYTES + 1):
        number += 1
        if len(raw) > MAX_LINE_BYTES:
            raise InputError(f"longer than {MAX_LINE_BYTES} bytes", source=source, location=f"line {number}")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            location = f"line {number}, byte {exc.start + 1}"
            raise InputError("not UTF-8 text", source=source, location=location) from exc
        yield text[1:] if number == 1 and text.startswith("\ufeff") else text
