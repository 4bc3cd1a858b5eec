"""What a document's shape is: the walk that gives its key and strings, and matchers for known shapes.

:func:`walk` flattens a JSON-LD document into its shape tokens (keys, array lengths, the
values of structural keys such as ``type``, the IRI scheme of every other string) and the
strings a compiled shape substitutes (see :mod:`proofs.shapes`). A shape seen before is
recognised faster by the matcher :func:`matcher_for` builds from one document of that shape:
it checks the same things in place, without building the token tuple, and collects the
same strings in the same order.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

STRUCTURAL_KEYS = frozenset({"@context", "type", "@type", "@language", "@direction", "@version"})
SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):(//)?")
_PLAIN = ("s", "")

Matcher = Callable[[Any, list[str]], bool]


def _string_token(value: str) -> tuple[str, str]:
    """What of a string the shape depends on: its IRI scheme (and '//'), if it has one."""
    if ":" not in value:
        return _PLAIN
    match = SCHEME.match(value)
    return ("s", match.group(0)) if match else _PLAIN


def walk(node: Any, key: str | None, tokens: list[Any], leaves: list[str]) -> None:
    """Flatten a document into shape tokens and its placeholder-able strings, in key order."""
    kind = node.__class__
    if kind is dict:
        tokens.append("{")
        for name in sorted(node):
            tokens.append(name)
            value = node[name]
            if value.__class__ is str and name not in STRUCTURAL_KEYS:
                tokens.append(_string_token(value))
                leaves.append(value)
            else:
                walk(value, name, tokens, leaves)
        tokens.append("}")
    elif kind is list:
        tokens.append("[")
        for item in node:
            walk(item, key, tokens, leaves)
        tokens.append("]")
    elif kind is str:
        if key in STRUCTURAL_KEYS:
            tokens.append(("=", node))
        else:
            tokens.append(_string_token(node))
            leaves.append(node)
    else:
        tokens.append(("=", kind.__name__, node))


def matcher_for(node: Any) -> Matcher:
    """A test that a document has ``node``'s shape, collecting its strings as :func:`walk` does.

    ``matches(document, leaves)`` is True exactly when walking ``document`` would give the
    same tokens as walking ``node`` (it may say False for an equal shape it cannot prove, such
    as a NaN), and then ``leaves`` holds the strings :func:`walk` would have collected.

    The test is generated as the straight-line Python function of this one shape: a check per
    node, in :func:`walk`'s order, returning False at the first difference. Strings and keys
    are written into it as literals (``repr``); other values are passed in by name.
    """
    source = _Source()
    source.node(node, None, "d")
    code = "\n    ".join(["def matches(d, leaves):", "append = leaves.append", *source.lines, "return True"])
    namespace: dict[str, Any] = {"SCHEME_MATCH": SCHEME.match, **source.values}
    exec(compile(code, "<shape matcher>", "exec"), namespace)  # noqa: S102 - our own generated code
    matches: Matcher = namespace["matches"]
    return matches


class _Absent:
    """What a matcher reads for a missing key: of a class no JSON value has."""


class _Source:
    """The lines of a generated matcher and the non-string values it compares with."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.values: dict[str, Any] = {"ABSENT": _Absent()}
        self.count = 0

    def _name(self) -> str:
        self.count += 1
        return f"v{self.count}"

    def node(self, node: Any, key: str | None, var: str) -> None:
        add = self.lines.append
        kind = node.__class__
        if kind is dict:
            add(f"if {var}.__class__ is not dict or len({var}) != {len(node)}: return False")
            for name in sorted(node):
                child = self._name()
                add(f"{child} = {var}.get({self._literal(name)}, ABSENT)")
                self.node(node[name], name, child)
        elif kind is list:
            add(f"if {var}.__class__ is not list or len({var}) != {len(node)}: return False")
            for index, item in enumerate(node):
                child = self._name()
                add(f"{child} = {var}[{index}]")
                self.node(item, key, child)
        elif kind is str and key in STRUCTURAL_KEYS:
            add(f"if {var}.__class__ is not str or {var} != {node!r}: return False")
        elif kind is str:
            self._leaf(_string_token(node)[1], var)
        else:
            name = self._name()
            self.values[f"{name}_kind"] = kind
            add(
                f"if {var}.__class__ is not {name}_kind or not ({var} == {self._literal(node)}): return False"
            )

    def _literal(self, value: Any) -> str:
        """Source text for a value: a literal for a string, else a name bound to it."""
        if value.__class__ is str:
            return repr(value)
        name = self._name()
        self.values[name] = value
        return name

    def _leaf(self, scheme: str, var: str) -> None:
        """A string whose :func:`_string_token` is ``("s", scheme)``, appended to the leaves."""
        add = self.lines.append
        if not scheme:
            add(f"if {var}.__class__ is not str or (':' in {var} and SCHEME_MATCH({var})): return False")
        elif scheme.endswith("//"):
            add(f"if {var}.__class__ is not str or not {var}.startswith({scheme!r}): return False")
        else:
            # SCHEME is greedy up to the first ':', then takes '//' when present: without
            # '//' in the token, the value must go on with something else.
            add(
                f"if {var}.__class__ is not str or not {var}.startswith({scheme!r})"
                f" or {var}.startswith('//', {len(scheme)}): return False"
            )
        add(f"append({var})")
