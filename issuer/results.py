"""Reading the exam platform's export of results (CSV, JSON, JSON Lines), one row at a time.

Use :func:`iter_results` for ``caiep results import`` and :func:`check_results` for
``--dry-run``. Each data row yields one item, in file order: an :class:`ExamResult` or a
:class:`RowError` with the row's line and its first problem, and reading goes on. Only a file
that cannot be read at all raises :class:`~caiep.errors.InputError`, when the iteration
reaches the fault.

The work is shared by concern: :mod:`~caiep.issuer.result_formats` reads the three formats,
:mod:`~caiep.issuer.result_rules` holds the rules a row must meet, and this
module adds the one rule across rows: the same exam (:attr:`ExamResult.exam_key`) on a later row
is an error naming the line it duplicates (only valid rows claim a key); and the counts of a
whole file (:class:`ImportCheck`). The duplicate check keeps 24-48 bytes per distinct exam
(:class:`_FirstLines`).
"""

from __future__ import annotations

import hashlib
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from caiep.issuer.result_formats import MAX_LINE_BYTES, read_rows
from caiep.issuer.result_rules import (
    COLUMNS,
    EXAM_WINDOW_DAYS,
    RESULTS,
    ExamResult,
    RenewalRow,
    RowError,
    parse_row,
)

__all__ = [
    "COLUMNS",
    "EXAM_WINDOW_DAYS",
    "MAX_LINE_BYTES",
    "MAX_STORED_ERRORS",
    "RESULTS",
    "ExamResult",
    "ImportCheck",
    "RenewalRow",
    "RowError",
    "check_results",
    "iter_results",
]

MAX_STORED_ERRORS = 1_000


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
    renewals: int = 0

    def add(self, item: ExamResult | RenewalRow | RowError) -> None:
        """Count one item of :func:`iter_results`."""
        self.rows += 1
        if isinstance(item, RenewalRow):
            self.valid += 1
            self.renewals += 1
            return
        if isinstance(item, ExamResult):
            self.valid += 1
            self.passes += item.result == "pass"
            self.fails += item.result == "fail"
            return
        self.invalid += 1
        if len(self.errors) < MAX_STORED_ERRORS:
            self.errors.append(item)


def iter_results(path: Path, *, today: date) -> Iterator[ExamResult | RenewalRow | RowError]:
    """Each data row of ``path`` (``.csv``, ``.json``, ``.jsonl``) checked, in file order.

    Raises :class:`InputError` (``source`` the path, ``location`` the line where known) for
    another extension, a missing file, text that is not UTF-8, an empty file, a CSV header
    that is absent or wrong, or a JSON document that is not an array.
    """
    rows = read_rows(path, str(path))
    first_lines = _FirstLines()
    renewed: dict[str, int] = {}  # charter number -> its renewal row's line
    for line, values in rows:
        if isinstance(values, RowError):
            yield values
            continue
        item = parse_row(values, line, today)
        if isinstance(item, RenewalRow):
            first = renewed.setdefault(item.charter_number, line)
            if first != line:
                item = RowError(
                    line, "charter_number", f"{item.charter_number} is renewed on line {first} too"
                )
            yield item
            continue
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
