"""Bitstring Status List 1.0 (W3C REC 2025-05-15): decode a list and read one credential's status.

A credential's ``credentialStatus`` entry (``BitstringStatusListEntry``, §2.1) points at a
position in a GZIP-compressed bitstring published inside a status list credential (§2.2).
This module does the data side of the Validate Algorithm (§3.2 steps 5–14, once the
caller has fetched the list and verified its proofs, steps 3–4): it checks the entry and the list,
expands the bitstring (§3.4, with :mod:`caiep.statuslist`, the codec the issuer shares) and
reads the status.

:func:`check_entry` never raises for bad data: it returns a :class:`StatusOutcome` whose
``error_code`` is one of the §3.5 codes (plus :data:`UNSUPPORTED_STATUS_SIZE`) when the
status cannot be decided. An undecided status is "unknown", never "not set".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

from caiep.errors import EncodingError
from caiep.statuslist import decode_status_list

#: §3.2 step 2: the smallest list (in entries) a verifier accepts, for herd privacy.
MIN_ENTRIES: Final = 131_072

#: §3.5: the list could not be dereferenced (reported by the caller that fetches it).
STATUS_RETRIEVAL_ERROR: Final = "STATUS_RETRIEVAL_ERROR"
#: §3.5: a proof on the list failed (caller) or the purposes of entry and list differ (§3.2).
STATUS_VERIFICATION_ERROR: Final = "STATUS_VERIFICATION_ERROR"
#: §3.5: the list has fewer entries than the minimum.
STATUS_LIST_LENGTH_ERROR: Final = "STATUS_LIST_LENGTH_ERROR"
#: §3.2: the entry's position lies outside the bitstring.
RANGE_ERROR: Final = "RANGE_ERROR"
#: §3: a property of the entry or of the list breaks one of the §2 "MUST" rules.
MALFORMED_VALUE_ERROR: Final = "MALFORMED_VALUE_ERROR"
#: Ours, not the W3C's: statusSize > 1, whose values this verifier does not interpret.
UNSUPPORTED_STATUS_SIZE: Final = "UNSUPPORTED_STATUS_SIZE"

#: §3.5: problem-details ``type`` URLs are this prefix followed by the code.
ERROR_TYPE_BASE: Final = "https://www.w3.org/ns/credentials/status-list#"
W3C_ERROR_CODES: Final = frozenset(
    {
        STATUS_RETRIEVAL_ERROR,
        STATUS_VERIFICATION_ERROR,
        STATUS_LIST_LENGTH_ERROR,
        RANGE_ERROR,
        MALFORMED_VALUE_ERROR,
    }
)

ENTRY_TYPE: Final = "BitstringStatusListEntry"
LIST_CREDENTIAL_TYPE: Final = "BitstringStatusListCredential"
LIST_TYPE: Final = "BitstringStatusList"

# Canonical base-10, as the W3C test suite checks it (String(parseInt(x)) === x): no sign,
# no leading zeros, no spaces, ASCII digits only (Python's int() would take "١٢" and "1_0").
_INDEX = re.compile(r"0|[1-9][0-9]*")
# An index this long (≥ 10**19) is beyond any bitstring caiep.statuslist.MAX_DECODED_BYTES allows.
_MAX_INDEX_DIGITS = 19
_STATUS_HEX = re.compile(r"0x[0-9a-fA-F]+")
_URL_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")


@dataclass(frozen=True)
class StatusOutcome:
    """What one status entry says about a credential (§3.2 steps 11–14), or why it cannot say.

    ``error_code`` is None exactly when ``status`` and ``set`` are known. ``set`` is None
    when the check could not be decided: treat that as "unknown", never as "not set".
    ``purpose`` is the entry's statusPurpose (None if the entry has none); ``message`` is
    a short English sentence for people, not the list's statusMessage text.
    """

    purpose: str | None
    status: int | None
    set: bool | None
    error_code: str | None
    message: str

    @property
    def is_decided(self) -> bool:
        """True when the status was read; False when ``error_code`` says why not."""
        return self.error_code is None

    @property
    def error_type(self) -> str | None:
        """The §3.5 problem-details ``type`` URL for a W3C error code, else None."""
        if self.error_code in W3C_ERROR_CODES:
            return ERROR_TYPE_BASE + self.error_code
        return None


@dataclass(frozen=True)
class _Entry:
    """A well-formed BitstringStatusListEntry, as §2.1 defines it."""

    purpose: str
    index: int | None  # None: too many digits to fall inside any bitstring we accept
    index_text: str
    status_size: int
    list_url: str


def _excerpt(value: str, limit: int = 80) -> str:
    """The start of a possibly huge value, for error fields."""
    return value if len(value) <= limit else value[:limit] + "…"


def status_at(bitstring: bytes, index: int, status_size: int = 1) -> int | None:
    """The status value stored for ``index``, or None when that position is outside the bitstring.

    §2.2 and §7.1: index 0 is the left-most (most significant) bit of byte 0; an entry of
    ``status_size`` bits starts at bit ``index * status_size`` and is read most significant
    bit first. A negative index has no position. ``status_size`` below 1 is a programming
    error (ValueError): entries are validated before this is called.
    """
    if status_size < 1:
        raise ValueError("status_size must be at least 1")
    if index < 0:
        return None
    start = index * status_size
    end = start + status_size
    if end > len(bitstring) * 8:
        return None
    first_byte, last_byte = start // 8, (end - 1) // 8
    window = int.from_bytes(bitstring[first_byte : last_byte + 1], "big")
    return (window >> ((last_byte + 1) * 8 - end)) & ((1 << status_size) - 1)


def validate_entry(entry: Mapping[str, Any], *, accept_numeric_index: bool = False) -> StatusOutcome | None:
    """Check a ``credentialStatus`` entry before fetching its list: None if well-formed (§2.1).

    Otherwise the MALFORMED_VALUE_ERROR outcome :func:`check_entry` would give. Use it to
    avoid a network request for an entry that cannot be checked anyway.
    """
    parsed = _parse_entry(entry, accept_numeric_index=accept_numeric_index)
    if isinstance(parsed, str):
        return StatusOutcome(_entry_purpose(entry), None, None, MALFORMED_VALUE_ERROR, parsed)
    return None


def check_entry(
    entry: Mapping[str, Any],
    list_credential: Mapping[str, Any],
    *,
    minimum_entries: int = MIN_ENTRIES,
    accept_numeric_index: bool = False,
) -> StatusOutcome:
    """Read a credential's status from its list: the Validate Algorithm, §3.2 steps 5–14.

    Call it with the entry from the credential and the list credential fetched from the
    entry's ``statusListCredential`` URL *after* that list's proofs have verified (§3.2
    step 4, STATUS_RETRIEVAL_ERROR / STATUS_VERIFICATION_ERROR, is the caller's). Checks,
    in order: the entry (§2.1), the list credential's and subject's types (§2.2), the
    purpose (step 5), the statusSize (values above 1 are reported as unsupported rather than
    guessed at), the encodedList (§3.4), the list length (step 9) and the index (step 10).

    The list's ``id`` is not compared with the entry's URL: §2.2 makes it a MAY. Dates of
    the list credential are the caller's too. ``accept_numeric_index`` lets a JSON number
    stand for the ``statusListIndex`` string, as the 1EdTech validator's test credentials
    write it; §2.1 requires a string, so it is off by default.
    """
    purpose = _entry_purpose(entry)

    def undecided(code: str, message: str) -> StatusOutcome:
        """An outcome that could not read the status, with its §3.5 code."""
        return StatusOutcome(purpose, None, None, code, message)

    parsed = _parse_entry(entry, accept_numeric_index=accept_numeric_index)
    if isinstance(parsed, str):
        return undecided(MALFORMED_VALUE_ERROR, parsed)

    if LIST_CREDENTIAL_TYPE not in _types(list_credential.get("type")):
        return undecided(
            MALFORMED_VALUE_ERROR, f"The status list credential is not a {LIST_CREDENTIAL_TYPE}."
        )
    subject = _single_subject(list_credential.get("credentialSubject"))
    if subject is None or LIST_TYPE not in _types(subject.get("type")):
        return undecided(MALFORMED_VALUE_ERROR, f"The status list credential's subject is not a {LIST_TYPE}.")
    list_purposes = _purposes(subject.get("statusPurpose"))
    if list_purposes is None:
        return undecided(MALFORMED_VALUE_ERROR, "The status list has no valid statusPurpose.")
    if parsed.purpose not in list_purposes:
        return undecided(
            STATUS_VERIFICATION_ERROR,
            f"The entry's purpose {parsed.purpose!r} is not a purpose of the status list.",
        )
    if parsed.status_size != 1:
        return undecided(
            UNSUPPORTED_STATUS_SIZE,
            f"Status entries of {parsed.status_size} bits are not supported; only 1-bit entries are read.",
        )

    encoded_list = subject.get("encodedList")
    if not isinstance(encoded_list, str):
        return undecided(MALFORMED_VALUE_ERROR, "The status list has no encodedList string.")
    try:
        bitstring = decode_status_list(encoded_list)
    except EncodingError as exc:
        return undecided(MALFORMED_VALUE_ERROR, f"The status list cannot be decoded: {exc.message}.")

    entries = len(bitstring) * 8 // parsed.status_size
    if entries < minimum_entries:
        return undecided(
            STATUS_LIST_LENGTH_ERROR,
            f"The status list holds {entries} entries; at least {minimum_entries} are required.",
        )
    status = None if parsed.index is None else status_at(bitstring, parsed.index, parsed.status_size)
    if status is None:
        shown = _excerpt(parsed.index_text, 24)
        return undecided(RANGE_ERROR, f"Index {shown} is outside the status list of {entries} entries.")
    is_set = status != 0
    return StatusOutcome(
        parsed.purpose,
        status,
        is_set,
        None,
        f"Index {parsed.index} of the {parsed.purpose} list is {'set' if is_set else 'not set'}.",
    )


def _entry_purpose(entry: Mapping[str, Any]) -> str | None:
    purpose = entry.get("statusPurpose") if isinstance(entry, Mapping) else None
    return purpose if isinstance(purpose, str) and purpose else None


def _parse_entry(entry: Mapping[str, Any], *, accept_numeric_index: bool) -> _Entry | str:
    """The entry's fields if §2.1 holds; otherwise a sentence saying which rule it breaks."""
    if not isinstance(entry, Mapping):
        return "The credentialStatus entry is not a JSON object."
    if entry.get("type") != ENTRY_TYPE:
        return f"The credentialStatus type must be {ENTRY_TYPE}."
    purpose = _entry_purpose(entry)
    if purpose is None:
        return "The credentialStatus statusPurpose must be a non-empty string."

    raw_index = entry.get("statusListIndex")
    if isinstance(raw_index, str) and _INDEX.fullmatch(raw_index):
        index_text = raw_index
    elif accept_numeric_index and type(raw_index) is int and raw_index >= 0:
        index_text = str(raw_index)
    else:
        return (
            "The statusListIndex must be a base-10 integer of 0 or more, "
            "written as a string without leading zeros."
        )
    index = int(index_text) if len(index_text) <= _MAX_INDEX_DIGITS else None

    list_url = entry.get("statusListCredential")
    if not isinstance(list_url, str) or not _is_absolute_url(list_url):
        return "The statusListCredential must be a URL."
    if entry.get("id") == list_url:
        return "The credentialStatus id must not be the status list's URL."

    raw_size = entry.get("statusSize", 1)
    # JSON has one number type: 2.0 is the integer 2 to other verifiers, so it is taken as one.
    is_integral = isinstance(raw_size, int) or (isinstance(raw_size, float) and raw_size.is_integer())
    if isinstance(raw_size, bool) or not is_integral:
        return "The statusSize must be an integer greater than zero."
    status_size = int(raw_size)
    if status_size < 1:
        return "The statusSize must be an integer greater than zero."
    messages = entry.get("statusMessage")
    if messages is None:
        if status_size > 1:
            return "A statusSize above 1 requires a statusMessage list."
    else:
        problem = _status_message_problem(messages, status_size)
        if problem is not None:
            return problem
    return _Entry(purpose, index, index_text, status_size, list_url)


def _status_message_problem(messages: object, status_size: int) -> str | None:
    """Why ``statusMessage`` breaks §2.1 (2**statusSize objects with status "0x…" and message)."""
    if not isinstance(messages, list):
        return "The statusMessage must be a list."
    # Beyond 2**32 entries no JSON document could list them all.
    if status_size > 32 or len(messages) != 1 << status_size:
        expected = 1 << min(status_size, 32)
        return f"The statusMessage must list {expected} values for a statusSize of {status_size}."
    for item in messages:
        if (
            not isinstance(item, Mapping)
            or not isinstance(item.get("status"), str)
            or not _STATUS_HEX.fullmatch(item["status"])
            or not isinstance(item.get("message"), str)
        ):
            return 'Each statusMessage item needs a status ("0x…") and a message string.'
    return None


def _is_absolute_url(value: str) -> bool:
    """True for an absolute URL with something after the scheme and no whitespace."""
    if not value or any(ch.isspace() or ord(ch) < 0x20 for ch in value):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return bool(_URL_SCHEME.fullmatch(parts.scheme)) and bool(parts.netloc or parts.path)


def _types(value: object) -> frozenset[str]:
    """The type names in a JSON-LD ``type`` value (a string or a list of strings)."""
    if isinstance(value, str):
        return frozenset({value})
    if isinstance(value, list):
        return frozenset(item for item in value if isinstance(item, str))
    return frozenset()


def _single_subject(value: object) -> Mapping[str, Any] | None:
    """The list credential's one subject (a bare object, or a list holding just one)."""
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    return value if isinstance(value, Mapping) else None


def _purposes(value: object) -> frozenset[str] | None:
    """The list's purposes: "one or more strings" (§2.2), else None."""
    if isinstance(value, str) and value:
        return frozenset({value})
    if isinstance(value, list) and value and all(isinstance(item, str) and item for item in value):
        return frozenset(value)
    return None
