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
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from numbers import Number
from typing import Any, Final

from jsonschema import Draft201909Validator, FormatChecker
from jsonschema.exceptions import ValidationError

from caiep.errors import SchemaIssue, SchemaValidationError

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


# --- formats ------------------------------------------------------------------------------

_DATE_TIME: Final = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.\d+)?(?:Z|[+-](\d\d):(\d\d))", re.ASCII
)
_DATE: Final = re.compile(r"(\d{4})-(\d\d)-(\d\d)", re.ASCII)
_DAYS_IN_MONTH: Final = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _is_calendar_date(year: int, month: int, day: int) -> bool:
    if not 1 <= month <= 12 or day < 1:
        return False
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    return day <= (29 if month == 2 and leap else _DAYS_IN_MONTH[month - 1])


def is_date_time_stamp(value: object) -> bool:
    """True for an RFC 3339 date-time that is also an XSD 1.1 ``dateTimeStamp``.

    The JSON Schema ``date-time`` format (RFC 3339 §5.6) and OB's DateTimeZ both require the
    timezone; XSD additionally refuses second 60 and offsets beyond ±14:00, and wants ``T``
    and ``Z`` in upper case. Non-strings pass, as JSON Schema formats apply to strings only.
    """
    if not isinstance(value, str):
        return True
    match = _DATE_TIME.fullmatch(value)
    if match is None:
        return False
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    if not _is_calendar_date(year, month, day) or hour > 23 or minute > 59 or second > 59:
        return False
    off_hour, off_minute = match.group(7), match.group(8)
    if off_hour is None or off_minute is None:
        return True
    return int(off_minute) <= 59 and (int(off_hour), int(off_minute)) <= (14, 0)


def is_full_date(value: object) -> bool:
    """True for an RFC 3339 ``full-date`` (YYYY-MM-DD, a real calendar day): the ``date`` format."""
    if not isinstance(value, str):
        return True
    match = _DATE.fullmatch(value)
    return match is not None and _is_calendar_date(*(int(g) for g in match.groups()))


_FORMATS: Final[Mapping[str, Callable[[object], bool]]] = {
    "date-time": is_date_time_stamp,
    "date": is_full_date,
}


def _format_checker() -> FormatChecker:
    checker = FormatChecker(formats=())
    for name, check in _FORMATS.items():
        checker.checks(name)(check)
    return checker


# --- the compiled predicate ----------------------------------------------------------------

_Check = Callable[[Any], bool]

#: Keywords that carry no assertion (draft 2019-09 core and meta-data vocabularies).
_ANNOTATIONS: Final = frozenset({"$comment", "title", "description", "examples", "default"})
_ROOT_ONLY: Final = frozenset({"$schema", "$id", "$defs"})


# The same type predicates as jsonschema's draft 2019-09 type checker, so both evaluators agree.
_TYPES: Final[Mapping[str, _Check]] = {
    "array": lambda v: isinstance(v, list),
    "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: not isinstance(v, bool) and (
        isinstance(v, int) or (isinstance(v, float) and v.is_integer())
    ),
    "null": lambda v: v is None,
    "number": lambda v: isinstance(v, Number) and not isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "string": lambda v: isinstance(v, str),
}


def _always(instance: Any) -> bool:
    return True


def _never(instance: Any) -> bool:
    return False


def _all(checks: Sequence[_Check]) -> _Check:
    if not checks:
        return _always
    if len(checks) == 1:
        return checks[0]
    frozen = tuple(checks)

    def check(instance: Any) -> bool:
        for each in frozen:
            if not each(instance):
                return False
        return True

    return check


class _Compiler:
    """Turns a draft 2019-09 schema into nested closures that answer "is this valid?".

    It knows exactly the keywords the OB 3.0 schemas use and refuses any other, so a schema
    update that needs more fails when the validator is built, never silently at verify time.
    Every ``$ref`` must point into the root's ``$defs``; that also guarantees jsonschema never
    needs to look a reference up anywhere else.
    """

    def __init__(self, root: Mapping[str, Any]) -> None:
        self._defs: Mapping[str, Any] = root.get("$defs", {})
        self._compiled: dict[str, _Check] = {}

    def compile_root(self, root: Mapping[str, Any]) -> _Check:
        check = self._compile(root, root=True)
        # References are looked up when evaluated, so recursive definitions (Profile.parentOrg)
        # need no special care; every definition compiles, referenced or not.
        for name, definition in self._defs.items():
            self._compiled[name] = self._compile(definition)
        return check

    def _ref(self, ref: object) -> _Check:
        prefix = "#/$defs/"
        if not isinstance(ref, str) or not ref.startswith(prefix) or ref[len(prefix) :] not in self._defs:
            raise NotImplementedError(f"$ref {ref!r} does not name an entry of the root's $defs")
        name = ref[len(prefix) :]
        compiled = self._compiled

        def check(instance: Any) -> bool:
            return compiled[name](instance)

        return check

    def _compile(self, schema: Any, *, root: bool = False) -> _Check:
        if schema is True:
            return _always
        if schema is False:
            return _never
        if not isinstance(schema, dict):
            raise NotImplementedError(f"not a schema: {schema!r}")
        checks: list[_Check] = []
        handled = set(_ANNOTATIONS) | (set(_ROOT_ONLY) if root else set())
        if "type" in schema:
            checks.append(self._type(schema["type"]))
        if "enum" in schema:
            checks.append(self._enum(schema["enum"]))
        if "$ref" in schema:
            checks.append(self._ref(schema["$ref"]))
        for keyword in ("allOf", "anyOf", "oneOf"):
            if keyword in schema:
                checks.append(self._combinator(keyword, schema[keyword]))
        string = self._string(schema)
        array = self._array(schema)
        obj = self._object(schema)
        checks.extend(c for c in (string, array, obj) if c is not None)
        handled |= {"type", "enum", "$ref", "allOf", "anyOf", "oneOf", "pattern", "format"}
        handled |= {"items", "additionalItems", "minItems", "contains"}
        handled |= {"properties", "required", "additionalProperties"}
        unknown = set(schema) - handled
        if unknown:
            raise NotImplementedError(f"JSON Schema keywords not supported: {sorted(unknown)}")
        return _all(checks)

    def _type(self, expected: Any) -> _Check:
        names = [expected] if isinstance(expected, str) else list(expected)
        if not set(names) <= set(_TYPES):
            raise NotImplementedError(f"unknown JSON type in {expected!r}")
        predicates = tuple(_TYPES[name] for name in names)
        if len(predicates) == 1:
            return predicates[0]
        return lambda instance: any(p(instance) for p in predicates)

    def _enum(self, values: Any) -> _Check:
        if not all(isinstance(v, str) for v in values):
            raise NotImplementedError("only enums of strings are supported")
        allowed = frozenset(values)
        return lambda instance: isinstance(instance, str) and instance in allowed

    def _combinator(self, keyword: str, subschemas: Any) -> _Check:
        branches = tuple(self._compile(s) for s in subschemas)
        if keyword == "allOf":
            return _all(branches)
        if keyword == "anyOf":
            return lambda instance: any(b(instance) for b in branches)

        def one_of(instance: Any) -> bool:
            found = False
            for branch in branches:
                if branch(instance):
                    if found:
                        return False
                    found = True
            return found

        return one_of

    def _string(self, schema: Mapping[str, Any]) -> _Check | None:
        checks: list[_Check] = []
        if "pattern" in schema:
            # jsonschema applies ``re.search`` with Python's engine; doing the same keeps both
            # evaluators in agreement on every string.
            regex = re.compile(schema["pattern"])
            checks.append(lambda text: regex.search(text) is not None)
        if "format" in schema:
            name = schema["format"]
            if name not in _FORMATS:
                raise NotImplementedError(f"format {name!r} has no checker")
            checks.append(_FORMATS[name])
        if not checks:
            return None
        inner = _all(checks)
        return lambda instance: not isinstance(instance, str) or inner(instance)

    def _array(self, schema: Mapping[str, Any]) -> _Check | None:
        checks: list[_Check] = []
        if "minItems" in schema:
            least = int(schema["minItems"])
            checks.append(lambda items: len(items) >= least)
        items = schema.get("items")
        if isinstance(items, list):
            positional = tuple(self._compile(s) for s in items)
            rest = self._compile(schema.get("additionalItems", True))
            count = len(positional)

            def tuple_items(values: list[Any]) -> bool:
                for check, value in zip(positional, values, strict=False):
                    if not check(value):
                        return False
                return all(rest(value) for value in values[count:])

            checks.append(tuple_items)
        elif items is not None:
            each = self._compile(items)
            checks.append(lambda values: all(each(v) for v in values))
        if "contains" in schema:
            contained = self._compile(schema["contains"])
            checks.append(lambda values: any(contained(v) for v in values))
        if not checks:
            return None
        inner = _all(checks)
        return lambda instance: not isinstance(instance, list) or inner(instance)

    def _object(self, schema: Mapping[str, Any]) -> _Check | None:
        properties = {name: self._compile(s) for name, s in schema.get("properties", {}).items()}
        required = tuple(schema.get("required", ()))
        closed = schema.get("additionalProperties", True)
        if not isinstance(closed, bool):
            raise NotImplementedError("additionalProperties must be a boolean")
        closed = not closed
        if not properties and not required and not closed:
            return None

        def check(instance: Any) -> bool:
            if not isinstance(instance, dict):
                return True
            for name in required:
                if name not in instance:
                    return False
            for name, value in instance.items():
                inner = properties.get(name)
                if inner is None:
                    if closed:
                        return False
                elif not inner(value):
                    return False
            return True

        return check


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
        if _TYPES[name](value):
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
                kinds = [_ARTICLE.get(str(e.validator_value), str(e.validator_value))
                         for errs in branches.values() for e in errs
                         if e.validator == "type" and not e.relative_path]
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
    is_valid: _Check
    explainer: Draft201909Validator

    def issues(self, document: Any) -> list[SchemaIssue]:
        if self.is_valid(document):
            return []
        found = dict.fromkeys(_explain(self.explainer.iter_errors(document)))
        return sorted(found, key=_sort_key)


def load_schema(class_name: str) -> dict[str, Any]:
    """The parsed 1EdTech schema for AchievementCredential, EndorsementCredential or Profile."""
    data = resources.files("schemas").joinpath("jsonschema", _SCHEMA_FILES[class_name]).read_bytes()
    schema: dict[str, Any] = json.loads(data)
    return schema


@cache
def _schema(class_name: str) -> _Schema:
    schema = load_schema(class_name)
    predicate = _Compiler(schema).compile_root(schema)
    explainer = Draft201909Validator(schema, format_checker=_format_checker())
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
