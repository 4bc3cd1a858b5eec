"""Reading the exam platform's three export formats (CSV, JSON, JSON Lines) into rows of values.

:func:`read_rows` yields (line, values) for each data row, or (line, :class:`RowError`) for a
row that cannot even be read as one (a malformed CSV row, a JSON value that is not an object
with exactly the columns); rules on the values are :mod:`~caiep.issuer.result_rules`'. Only a
file that cannot be read at all raises :class:`~caiep.errors.InputError`, when reading reaches
the fault (a byte that is not UTF-8 on line 800,000 is found there).

Line numbers: CSV and JSON Lines give the physical line where the row starts (the CSV header is
line 1; a quoted field may span lines); a JSON array gives the object's 1-based index. Memory:
CSV and JSON Lines stream (no line over :data:`MAX_LINE_BYTES`); a JSON array is parsed whole by
``json``: fine for moderate sizes; CSV and JSON Lines are for big exports.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO

from caiep.errors import InputError
from caiep.issuer.result_rules import COLUMNS, RENEWAL_COLUMNS, RowError, describe

MAX_LINE_BYTES = 1 << 20

_Rows = Iterator[tuple[int, Mapping[str, object] | RowError]]


def read_rows(path: Path, source: str) -> _Rows:
    """Each data row of ``path`` as (line, values) or (line, RowError), in file order.

    The format is the extension's (``.csv``, ``.json``, ``.jsonl``, any case); another is an
    :class:`InputError`, raised at once.
    """
    readers: dict[str, Callable[[Path, str], _Rows]] = {
        ".csv": _csv_rows,
        ".json": _json_rows,
        ".jsonl": _jsonl_rows,
    }
    reader = readers.get(path.suffix.lower())
    if reader is None:
        kind = f"unsupported file type {path.suffix or '(none)'!r}"
        raise InputError(f"{kind}: expected .csv, .json or .jsonl", source=source)
    return reader(path, source)


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
    if not set(names) & {*COLUMNS, *RENEWAL_COLUMNS}:
        problems = f"no header row: line 1 names none of the columns {', '.join(COLUMNS)}"
    if problems:
        raise InputError(problems, source=source, location="line 1")
    return names


def _name_problems(names: list[str], noun: str) -> str:
    """What is wrong with a header's columns or a JSON object's keys ("" if nothing)."""
    problems = []
    if repeated := sorted({n for n in names if names.count(n) > 1}):
        problems.append(f"{noun} given more than once: {', '.join(repeated)}")
    renewals = all(c in names for c in RENEWAL_COLUMNS)  # exam columns then optional
    if not renewals and (missing := [c for c in COLUMNS if c not in names]):
        problems.append(f"missing {noun}: {', '.join(missing)}")
    if extra := [n or '""' for n in names if n not in COLUMNS and n not in RENEWAL_COLUMNS]:
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
        raise InputError(f"must be a JSON array of result objects, not {describe(document)}", source=source)
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
        return RowError(line, None, f"the row is {describe(element)}, not an object")
    problems = _name_problems(list(element), "keys")
    return RowError(line, None, problems) if problems or isinstance(element, _RepeatedKeys) else element


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


_READERS: dict[str, Callable[[Path, str], _Rows]] = {
    ".csv": _csv_rows,
    ".json": _json_rows,
    ".jsonl": _jsonl_rows,
}
