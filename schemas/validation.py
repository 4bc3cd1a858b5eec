"""Validate Open Badges 3.0 documents against the 1EdTech JSON Schemas, reporting every failure.

OB 3.0 §9.1 (Verification), step 1: a credential whose ``credentialSchema`` names the type
``1EdTechJsonSchemaValidator2019`` is validated against that JSON Schema (VCCS 1.0), and its
``credentialSubject`` must carry an ``id`` or at least one ``identifier``. The schemas are the
canonical (``/schema/json/``, arrays everywhere) draft 2019-09 files kept in
``schemas/jsonschema`` (see ``schemas/SOURCES.md``).

Two evaluators give one answer. A predicate compiled once from the schema decides valid or
invalid in a few tens of microseconds, because the verifier runs this for every credential;
only when it says "invalid" does jsonschema's ``Draft201909Validator`` walk the unmodified
schema to explain each failure as a :class:`SchemaIssue` with an RFC 6901 pointer. The tests
check that the two agree on valid, invalid and randomly mutated documents.

Formats: the schemas use ``date-time`` (DateTimeZ) and ``date`` only. Both are asserted, not
treated as annotations: a date-time must be RFC 3339 *and* an XSD ``dateTimeStamp`` (the
timezone is required, hour 24 and leap second 60 are refused, offsets stay within ±14:00),
because the JSON-LD contexts type these values as ``xsd:dateTime``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from numbers import Number
from typing import Any, Final

from jsonschema import Draft201909Validator
from jsonschema.exceptions import ValidationError

from caiep.errors import SchemaIssue, SchemaValidationError
from caiep.schemas.compiled import TYPES, Compiler, Predicate
from caiep.schemas.formats import format_checker, is_date_time_stamp, is_full_date

__all__ = [
    "SUBJECT_IDENTITY_KEYWORD",
    "achievement_credential_issues",
    "endorsement_credential_issues",
    "is_date_time_stamp",
    "is_full_date",
    "load_schema",
    "profile_issues",
    "validate_achievement_credential",
    "validate_endorsement_credential",
    "validate_profile",
]

#: Keyword of the issue raised when ``credentialSubject`` has neither ``id`` nor ``identifier``
#: (OB 3.0 AchievementSubject ``id``; §9.1 step 1). The JSON Schema cannot express this rule.
SUBJECT_IDENTITY_KEYWORD: Final = "x-ob-subject-identity"

#: Schema files in ``schemas/jsonschema``: the gh-pages builds of the 1EdTech OB 3.0 schemas.
_SCHEMA_FILES: Final[Mapping[str, str]] = {
    "AchievementCredential": "ob_v3p0_achievementcredential_schema.gh-pages.json",
    "EndorsementCredential": "ob_v3p0_endorsementcredential_schema.gh-pages.json",
    "Profile": "ob_v3p0_profile_schema.gh-pages.json",
}

_MAX_MESSAGE: Final = 200


# --- explaining failures ----------------------------------------------------------------------

_ARTICLE: Final = {
    "array": "an array",
    "boolean": "a boolean",
    "integer": "an integer",
    "null": "null",
    "number": "a number",
    "object": "an object",
    "string": "a string",
}


def _json_type(value: object) -> str:
    for name in ("null", "boolean", "number", "string", "array", "object"):
        if TYPES[name](value):
            return _ARTICLE[name]
    return type(value).__name__


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _show(value: object) -> str:
    """A short rendering of an instance value: quoted strings, never a whole object."""
    if isinstance(value, str):
        return repr(_shorten(value, 60))
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, Number):
        return _shorten(repr(value), 30)
    return _json_type(value)


def _pointer(path: Iterable[str | int]) -> str:
    """The RFC 6901 JSON pointer for a path of property names and array indexes."""
    return "".join("/" + str(t).replace("~", "~0").replace("/", "~1") for t in path)


def _subject(path: Sequence[str | int]) -> str:
    if not path:
        return "the document"
    last = path[-1]
    if isinstance(last, int):
        if len(path) > 1 and isinstance(path[-2], str):
            return f"'{path[-2]}' item {last}"
        return f"item {last}"
    return f"'{last}'"


def _choices(values: Sequence[Any]) -> str:
    shown = [_show(v) for v in values[:3]]
    if len(values) == 1:
        return shown[0]
    if len(values) <= 3:
        return ", ".join(shown[:-1]) + " or " + shown[-1]
    return ", ".join(shown) + f", … ({len(values)} values)"


def _predicate(error: ValidationError, *, show_value: bool = True) -> str:
    """What the instance fails to be, e.g. "must be an array, not a string"."""
    keyword, expected, instance = error.validator, error.validator_value, error.instance
    got = f", got {_show(instance)}" if show_value else ""
    if keyword == "type":
        names = [expected] if isinstance(expected, str) else list(expected)
        wanted = " or ".join(_ARTICLE.get(n, n) for n in names)
        return f"must be {wanted}, not {_json_type(instance)}"
    if keyword == "enum":
        values = list(expected)
        return f"must be {'' if len(values) == 1 else 'one of '}{_choices(values)}{got}"
    if keyword == "pattern":
        return f"must match the pattern {expected}{got}"
    if keyword == "format":
        if expected == "date-time":
            return f"must be a date-time with a timezone, e.g. 2026-01-01T00:00:00Z{got}"
        if expected == "date":
            return f"must be a date YYYY-MM-DD{got}"
        return f"must be a valid {expected}{got}"
    if keyword == "minItems":
        return f"must have at least {expected} item{'s' if expected != 1 else ''}, has {len(instance)}"
    if keyword == "contains":
        if isinstance(expected, dict) and isinstance(expected.get("enum"), list):
            return f"must contain {_choices(expected['enum'])}"
        return "must contain at least one item matching the schema"
    if keyword == "additionalProperties":
        known = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
        extras = sorted(str(k) for k in instance if k not in known)
        noun = "property" if len(extras) == 1 else "properties"
        return f"does not allow {noun} " + ", ".join(repr(e) for e in extras)
    if keyword == "oneOf" and not error.context:
        return "matches more than one of the allowed forms"
    return f"fails the '{keyword}' keyword"


def _message(error: ValidationError) -> str:
    return _shorten(f"{_subject(list(error.absolute_path))} {_predicate(error)}", _MAX_MESSAGE)


def _branches(error: ValidationError) -> dict[int, list[ValidationError]]:
    grouped: dict[int, list[ValidationError]] = {}
    for sub in error.context or ():
        grouped.setdefault(int(sub.relative_schema_path[0]), []).append(sub)
    return grouped


def _is_shape_mismatch(errors: Sequence[ValidationError]) -> bool:
    """True when a oneOf/anyOf branch fails because the value is of another JSON type."""
    return any(e.validator == "type" and not e.relative_path for e in errors)


def _explain(errors: Iterable[ValidationError]) -> Iterator[SchemaIssue]:
    """Turn jsonschema errors into issues, looking inside oneOf/anyOf where one branch fits.

    ``issuer`` is a string or a Profile (``ProfileRef``): for an object, the useful report is
    what the Profile branch found, not "matches none of the alternatives".
    """
    for error in errors:
        keyword = str(error.validator)
        path = list(error.absolute_path)
        if keyword in ("oneOf", "anyOf") and error.context:
            branches = _branches(error)
            fitting = [errs for errs in branches.values() if not _is_shape_mismatch(errs)]
            if len(fitting) == 1:
                yield from _explain(fitting[0])
                continue
            if fitting:
                parts = dict.fromkeys(
                    _predicate(e, show_value=False) for errs in fitting for e in errs if not e.relative_path
                )
                text = f"{_subject(path)} is {_show(error.instance)} but " + "; or ".join(parts)
            else:
                kinds = [
                    _ARTICLE.get(str(e.validator_value), str(e.validator_value))
                    for errs in branches.values()
                    for e in errs
                    if e.validator == "type" and not e.relative_path
                ]
                text = f"{_subject(path)} must be " + " or ".join(dict.fromkeys(kinds))
                text += f", not {_json_type(error.instance)}"
            yield SchemaIssue(_pointer(path), _shorten(text, _MAX_MESSAGE), keyword)
            continue
        if keyword == "required" and isinstance(error.instance, dict):
            # jsonschema reports each missing name in its message only; recompute them all
            # (duplicates collapse when the caller de-duplicates).
            for name in error.validator_value:
                if name not in error.instance:
                    message = _shorten(f"missing required property {name!r}", _MAX_MESSAGE)
                    yield SchemaIssue(_pointer(path), message, keyword)
            continue
        yield SchemaIssue(_pointer(path), _message(error), keyword)


def _sort_key(issue: SchemaIssue) -> tuple[tuple[tuple[int, int, str], ...], str, str]:
    tokens = issue.json_pointer.split("/")[1:]
    order = tuple((0, int(t), "") if t.isdigit() else (1, 0, t) for t in tokens)
    return order, issue.keyword, issue.message


# --- the validators ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Schema:
    """One 1EdTech schema, ready: the fast predicate and the explaining validator."""

    class_name: str
    is_valid: Predicate
    explainer: Draft201909Validator

    def issues(self, document: Any) -> list[SchemaIssue]:
        """Every way ``document`` breaks the schema, by JSON pointer; empty when it is valid."""
        if self.is_valid(document):
            return []
        found = dict.fromkeys(_explain(self.explainer.iter_errors(document)))
        return sorted(found, key=_sort_key)


def load_schema(class_name: str) -> dict[str, Any]:
    """The parsed 1EdTech schema for AchievementCredential, EndorsementCredential or Profile."""
    data = resources.files("caiep.schemas").joinpath("jsonschema", _SCHEMA_FILES[class_name]).read_bytes()
    schema: dict[str, Any] = json.loads(data)
    return schema


@cache
def _schema(class_name: str) -> _Schema:
    schema = load_schema(class_name)
    predicate = Compiler(schema).compile_root(schema)
    explainer = Draft201909Validator(schema, format_checker=format_checker())
    return _Schema(class_name, predicate, explainer)


def _as_instance(document: Mapping[str, Any]) -> Any:
    # jsonschema's "object" is a dict; a read-only Mapping view is validated as its copy.
    if isinstance(document, Mapping) and not isinstance(document, dict):
        return dict(document)
    return document


def _subject_identity_issues(document: Any) -> list[SchemaIssue]:
    """OB 3.0 AchievementSubject: "either id or at least one identifier MUST be supplied"."""
    subject = document.get("credentialSubject") if isinstance(document, dict) else None
    if not isinstance(subject, dict):
        return []  # the schema already reports a missing or malformed credentialSubject
    identifier = subject.get("identifier")
    if subject.get("id") not in (None, "") or (isinstance(identifier, list) and identifier):
        return []
    return [
        SchemaIssue(
            "/credentialSubject",
            "'credentialSubject' must have an 'id' or at least one 'identifier'",
            SUBJECT_IDENTITY_KEYWORD,
        )
    ]


def _raise_if_any(class_name: str, issues: list[SchemaIssue]) -> None:
    if issues:
        first = issues[0]
        where = f" at {first.json_pointer}" if first.json_pointer else ""
        more = f" (and {len(issues) - 1} more)" if len(issues) > 1 else ""
        message = f"not a valid OB 3.0 {class_name}: {first.message}{where}{more}"
        raise SchemaValidationError(message, issues=issues)


def achievement_credential_issues(document: Mapping[str, Any]) -> list[SchemaIssue]:
    """Every way ``document`` fails the OB 3.0 AchievementCredential schema, sorted by pointer.

    Use it to report all problems at once (the verifier's conformance check, OB 3.0 §9.1 step 1):
    the 1EdTech JSON Schema (VCDM 2.0 form) plus the rule that ``credentialSubject`` has an
    ``id`` or an ``identifier``. Empty when the document is valid.
    """
    instance = _as_instance(document)
    issues = _schema("AchievementCredential").issues(instance) + _subject_identity_issues(instance)
    return sorted(issues, key=_sort_key)


def validate_achievement_credential(document: Mapping[str, Any]) -> None:
    """Raise SchemaValidationError listing every issue unless ``document`` is a valid
    AchievementCredential (OB 3.0 §9.1 step 1); see :func:`achievement_credential_issues`."""
    _raise_if_any("AchievementCredential", achievement_credential_issues(document))


def endorsement_credential_issues(document: Mapping[str, Any]) -> list[SchemaIssue]:
    """Every way ``document`` fails the OB 3.0 EndorsementCredential schema, sorted by pointer.

    For endorsements embedded in a credential or profile (OB 3.0 §9.1 step 6 verifies each
    by the same steps). EndorsementSubject requires ``id``, so no extra subject rule applies.
    """
    return _schema("EndorsementCredential").issues(_as_instance(document))


def validate_endorsement_credential(document: Mapping[str, Any]) -> None:
    """Raise SchemaValidationError listing every issue unless ``document`` is a valid
    EndorsementCredential; see :func:`endorsement_credential_issues`."""
    _raise_if_any("EndorsementCredential", endorsement_credential_issues(document))


def profile_issues(document: Mapping[str, Any]) -> list[SchemaIssue]:
    """Every way ``document`` fails the OB 3.0 Profile schema (an issuer profile), sorted by pointer."""
    return _schema("Profile").issues(_as_instance(document))


def validate_profile(document: Mapping[str, Any]) -> None:
    """Raise SchemaValidationError listing every issue unless ``document`` is a valid OB 3.0
    Profile, e.g. the issuer profile served at ``issuer.id``; see :func:`profile_issues`."""
    _raise_if_any("Profile", profile_issues(document))
