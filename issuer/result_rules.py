"""The rules one row of an exam results export must meet, and the row it becomes.

Every column present and non-empty once trimmed (``score`` may be empty); no control characters
in any field; ``candidate_id`` 1-64 characters of ``A-Za-z0-9._-``; ISO 8601 calendar dates; an
exam not after ``today``, not before registration, and inside the 365-day exam window that
starts at registration: ``exam_date - registered_on <= 365 days``, so registration + 365 days is
the last allowed day; ``result`` pass|fail and ``pathway`` a key of ``issuer.charter.PATHWAYS``,
both case-insensitive, stored lower-case; ``score`` decimal text within 0-100, kept as given.
:func:`parse_row` applies them to a row's values and returns an :class:`ExamResult` or the
:class:`RowError` of the first rule that fails.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from caiep.errors import InputError
from caiep.issuer.charter import PATHWAYS, normalise_email

COLUMNS = (
    "candidate_id", "given_name", "family_name", "email", "registered_on",
    "exam_date", "result", "score", "exam_version", "pathway",
)  # fmt: skip
EXAM_WINDOW_DAYS = 365
RESULTS = ("pass", "fail")
#: Optional columns: ``kind`` (award | renewal, default award) and the ``charter_number`` a
#: renewal row renews. A file that names both may leave out the exam columns, which a renewal
#: row does not need (an award row still needs every one of them).
RENEWAL_COLUMNS = ("kind", "charter_number")
KINDS = ("award", "renewal")
_CHARTER_NUMBER = re.compile(r"CAIEP-[0-9]{6,}", re.IGNORECASE)

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
class RenewalRow:
    """One valid renewal row: the charter it renews and on which day (its exam_date, when given)."""

    charter_number: str
    on: date | None
    line: int


@dataclass(frozen=True, slots=True)
class RowError:
    """Why one data row is refused: its line, the field at fault (None: the whole row), a sentence."""

    line: int
    field: str | None
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


class _Bad(Exception):
    """A rule failed: ``args`` are the field and the reason of the row's RowError."""


def parse_row(values: Mapping[str, object], line: int, today: date) -> ExamResult | RenewalRow | RowError:
    """The row of ``line`` checked against every rule: its :class:`ExamResult` (an award row),
    :class:`RenewalRow`, or its first problem.

    ``values`` has the columns of :data:`COLUMNS` (a file naming both :data:`RENEWAL_COLUMNS` may
    leave some out: empty); ``today`` bounds the exam date.
    """
    try:
        kind = _optional("kind", values.get("kind")).lower() or "award"
        if kind not in KINDS:
            raise _Bad("kind", f"kind {kind!r} is not one of {', '.join(KINDS)}")
        number = _optional("charter_number", values.get("charter_number"))
        if kind == "renewal":
            return _renewal(values, number, line, today)
        if number:
            raise _Bad("charter_number", "an award row has no charter_number (it is given at issue)")
        text = {name: _text(name, values.get(name, "")) for name in COLUMNS}
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


def _optional(name: str, value: object) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _Bad(name, f"{name} must be a string, not {describe(value)}")
    value = value.strip()
    if _CONTROL.search(value):
        raise _Bad(name, f"{name} contains a control character")
    return value


def _renewal(values: Mapping[str, object], number: str, line: int, today: date) -> RenewalRow:
    """A renewal row: a charter number (required), the exam columns optional; its exam_date, when
    given, is the renewal date."""
    if not number:
        raise _Bad("charter_number", "a renewal row needs a charter_number (CAIEP-000042)")
    if not _CHARTER_NUMBER.fullmatch(number):
        raise _Bad("charter_number", f"charter_number {number!r} is not a charter number like CAIEP-000042")
    day = _optional("exam_date", values.get("exam_date"))
    on = _date("exam_date", day) if day else None
    if on is not None and on > today:
        raise _Bad("exam_date", f"exam_date {day} is in the future (today is {today.isoformat()})")
    return RenewalRow(number.upper(), on, line)


def _text(name: str, value: object) -> str:
    if value is None and name == "score":
        return ""
    if not isinstance(value, str):
        raise _Bad(name, f"{name} must be a string, not {describe(value)}")
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


_KINDS = ((bool, "a boolean"), (int | float, "a number"), (str, "a string"), (list, "an array"))


def describe(value: object) -> str:
    """How a JSON value is named in a reason: "null", "a number", "an object" (dicts and anything else)."""
    if value is None:
        return "null"
    return next((name for kind, name in _KINDS if isinstance(value, kind)), "an object")
