"""A JSON Schema compiled once into a plain predicate: valid or not, in microseconds.

Only the keywords the 1EdTech OB 3.0 schemas use are supported (anything else raises
NotImplementedError at compile time), and every ``$ref`` must point into the schema's own
``$defs``, so nothing is ever fetched. It answers yes or no; explaining a "no" is
jsonschema's job (see :mod:`schemas.validation`), and tests keep the two in agreement.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from numbers import Number
from typing import Any, Final

from caiep.schemas.formats import FORMATS

#: A compiled schema (or part of one): True when an instance is valid, False otherwise.
Predicate = Callable[[Any], bool]

#: Keywords that carry no assertion (draft 2019-09 core and meta-data vocabularies).
_ANNOTATIONS: Final = frozenset({"$comment", "title", "description", "examples", "default"})
_ROOT_ONLY: Final = frozenset({"$schema", "$id", "$defs"})


# The same type predicates as jsonschema's draft 2019-09 type checker, so both evaluators agree.
TYPES: Final[Mapping[str, Predicate]] = {
    "array": lambda v: isinstance(v, list),
    "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: (
        not isinstance(v, bool) and (isinstance(v, int) or (isinstance(v, float) and v.is_integer()))
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


def _all(checks: Sequence[Predicate]) -> Predicate:
    if not checks:
        return _always
    if len(checks) == 1:
        return checks[0]
    frozen = tuple(checks)

    def check(instance: Any) -> bool:
        """True when the instance passes this part of the schema."""
        for each in frozen:
            if not each(instance):
                return False
        return True

    return check


class Compiler:
    """Turns a draft 2019-09 schema into nested closures that answer "is this valid?".

    It knows exactly the keywords the OB 3.0 schemas use and refuses any other, so a schema
    update that needs more fails when the validator is built, never silently at verify time.
    Every ``$ref`` must point into the root's ``$defs``; that also guarantees jsonschema never
    needs to look a reference up anywhere else.
    """

    def __init__(self, root: Mapping[str, Any]) -> None:
        self._defs: Mapping[str, Any] = root.get("$defs", {})
        self._compiled: dict[str, Predicate] = {}

    def compile_root(self, root: Mapping[str, Any]) -> Predicate:
        """The predicate of a whole schema; every ``$defs`` entry is compiled too."""
        check = self._compile(root, root=True)
        # References are looked up when evaluated, so recursive definitions (Profile.parentOrg)
        # need no special care; every definition compiles, referenced or not.
        for name, definition in self._defs.items():
            self._compiled[name] = self._compile(definition)
        return check

    def _ref(self, ref: object) -> Predicate:
        prefix = "#/$defs/"
        if not isinstance(ref, str) or not ref.startswith(prefix) or ref[len(prefix) :] not in self._defs:
            raise NotImplementedError(f"$ref {ref!r} does not name an entry of the root's $defs")
        name = ref[len(prefix) :]
        compiled = self._compiled

        def check(instance: Any) -> bool:
            """True when the instance passes this part of the schema."""
            return compiled[name](instance)

        return check

    def _compile(self, schema: Any, *, root: bool = False) -> Predicate:
        if schema is True:
            return _always
        if schema is False:
            return _never
        if not isinstance(schema, dict):
            raise NotImplementedError(f"not a schema: {schema!r}")
        checks: list[Predicate] = []
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

    def _type(self, expected: Any) -> Predicate:
        names = [expected] if isinstance(expected, str) else list(expected)
        if not set(names) <= set(TYPES):
            raise NotImplementedError(f"unknown JSON type in {expected!r}")
        predicates = tuple(TYPES[name] for name in names)
        if len(predicates) == 1:
            return predicates[0]
        return lambda instance: any(p(instance) for p in predicates)

    def _enum(self, values: Any) -> Predicate:
        if not all(isinstance(v, str) for v in values):
            raise NotImplementedError("only enums of strings are supported")
        allowed = frozenset(values)
        return lambda instance: isinstance(instance, str) and instance in allowed

    def _combinator(self, keyword: str, subschemas: Any) -> Predicate:
        branches = tuple(self._compile(s) for s in subschemas)
        if keyword == "allOf":
            return _all(branches)
        if keyword == "anyOf":
            return lambda instance: any(b(instance) for b in branches)

        def one_of(instance: Any) -> bool:
            """``oneOf``: exactly one branch holds."""
            found = False
            for branch in branches:
                if branch(instance):
                    if found:
                        return False
                    found = True
            return found

        return one_of

    def _string(self, schema: Mapping[str, Any]) -> Predicate | None:
        checks: list[Predicate] = []
        if "pattern" in schema:
            # jsonschema applies ``re.search`` with Python's engine; doing the same keeps both
            # evaluators in agreement on every string.
            regex = re.compile(schema["pattern"])
            checks.append(lambda text: regex.search(text) is not None)
        if "format" in schema:
            name = schema["format"]
            if name not in FORMATS:
                raise NotImplementedError(f"format {name!r} has no checker")
            checks.append(FORMATS[name])
        if not checks:
            return None
        inner = _all(checks)
        return lambda instance: not isinstance(instance, str) or inner(instance)

    def _array(self, schema: Mapping[str, Any]) -> Predicate | None:
        checks: list[Predicate] = []
        if "minItems" in schema:
            least = int(schema["minItems"])
            checks.append(lambda items: len(items) >= least)
        items = schema.get("items")
        if isinstance(items, list):
            positional = tuple(self._compile(s) for s in items)
            rest = self._compile(schema.get("additionalItems", True))
            count = len(positional)

            def tuple_items(values: list[Any]) -> bool:
                """Positional ``items``: each position by its schema, the rest by ``additionalItems``."""
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

    def _object(self, schema: Mapping[str, Any]) -> Predicate | None:
        properties = {name: self._compile(s) for name, s in schema.get("properties", {}).items()}
        required = tuple(schema.get("required", ()))
        closed = schema.get("additionalProperties", True)
        if not isinstance(closed, bool):
            raise NotImplementedError("additionalProperties must be a boolean")
        closed = not closed
        if not properties and not required and not closed:
            return None

        def check(instance: Any) -> bool:
            """True when the instance passes this part of the schema."""
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
