"""Compiled credential shapes: JSON-LD to quads without re-running JSON-LD expansion.

JSON-LD expansion is what makes canonicalisation slow, yet what it does to a credential
depends only on the credential's *shape*: its keys, array lengths, contexts, types and the
kind of each string (term-like, or an IRI of a given scheme). We expand each new shape
once, through the general path, with every string replaced by a unique placeholder, and
record where each placeholder lands in the quads. A later credential of the same shape
gets its quads by substituting its own strings into that template; RDFC-1.0 then runs on
them as usual. A string whose value the expansion depends on (it is expanded against the
vocabulary, or is re-written like an ``xsd:double``) becomes part of the shape instead.
Anything we cannot compile falls back to the general path, so output is always identical
to :func:`proofs.rdf.to_quads` (tests assert it over thousands of generated documents).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from caiep.caches import NamedCache
from caiep.errors import DataLossError, InvalidIRIError
from caiep.proofs.nquads import Quad, escape_literal, is_absolute_iri
from caiep.proofs.rdf import DocumentLoader, to_quads
from caiep.schemas.loader import document_loader as pinned_loader

_STRUCTURAL_KEYS = frozenset({"@context", "type", "@type", "@language", "@direction", "@version"})
_PLACEHOLDER = re.compile(r"caiepph(\d+)z")
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):(//)?")
_TRANSFORMED_DATATYPES = (
    "^^<http://www.w3.org/2001/XMLSchema#double>",
    "^^<http://www.w3.org/1999/02/22-rdf-syntax-ns#JSON>",
)
_MAX_ATTEMPTS = 6
_PLAIN = ("s", "")

Slot = tuple[int, str | None]
Term = str | int


@dataclass(frozen=True)
class _Template:
    structural: frozenset[int]
    # Each slot is a (leaf index, literal suffix) pair; suffix None means the leaf is an IRI.
    slots: tuple[Slot, ...]
    # One entry per quad: each term is a constant string or the index of a slot.
    quads: tuple[tuple[Term, Term, Term, Term], ...]


@dataclass
class _Family:
    """The templates of one shape: which leaves steer expansion, and a template per their values."""

    shape: tuple[Any, ...]
    structural: frozenset[int]
    templates: dict[tuple[str, ...], _Template | None]


def _string_token(value: str) -> tuple[str, str]:
    """What of a string the shape depends on: its IRI scheme (and '//'), if it has one."""
    if ":" not in value:
        return _PLAIN
    match = _SCHEME.match(value)
    return ("s", match.group(0)) if match else _PLAIN


def _walk(node: Any, key: str | None, tokens: list[Any], leaves: list[str]) -> None:
    """Flatten a document into shape tokens and its placeholder-able strings, in key order."""
    kind = node.__class__
    if kind is dict:
        tokens.append("{")
        for name in sorted(node):
            tokens.append(name)
            value = node[name]
            if value.__class__ is str and name not in _STRUCTURAL_KEYS:
                tokens.append(_string_token(value))
                leaves.append(value)
            else:
                _walk(value, name, tokens, leaves)
        tokens.append("}")
    elif kind is list:
        tokens.append("[")
        for item in node:
            _walk(item, key, tokens, leaves)
        tokens.append("]")
    elif kind is str:
        if key in _STRUCTURAL_KEYS:
            tokens.append(("=", node))
        else:
            tokens.append(_string_token(node))
            leaves.append(node)
    else:
        tokens.append(("=", kind.__name__, node))


def _placeholder(value: str, index: int) -> str:
    match = _SCHEME.match(value)
    return f"{match.group(0) if match else ''}caiepph{index}z"


def _substitute(node: Any, key: str | None, values: list[str], counter: list[int]) -> Any:
    """The document with its i-th placeholder-able string replaced by ``values[i]``."""
    if isinstance(node, dict):
        return {name: _substitute(node[name], name, values, counter) for name in sorted(node)}
    if isinstance(node, list):
        return [_substitute(item, key, values, counter) for item in node]
    if isinstance(node, str) and key not in _STRUCTURAL_KEYS:
        index = counter[0]
        counter[0] += 1
        return values[index]
    return node


def _expand_placeholders(
    document: Mapping[str, Any], leaves: list[str], structural: set[int], loader: DocumentLoader
) -> tuple[list[str], list[Quad]] | set[int] | None:
    """Expand the document with placeholders: (values, quads), or leaves to fix, or None."""
    values = [leaf if i in structural else _placeholder(leaf, i) for i, leaf in enumerate(leaves)]
    try:
        return values, to_quads(_substitute(document, None, values, [0]), document_loader=loader)
    except (DataLossError, InvalidIRIError) as exc:
        # A placeholder where the context expects a term (an @vocab value such as
        # proofPurpose) cannot expand: that value steers expansion, so it becomes part of
        # the shape. An error naming no placeholder is the document's own.
        mentioned = " ".join((*getattr(exc, "terms", ()), getattr(exc, "iri", "")))
        named = {int(i) for i in _PLACEHOLDER.findall(mentioned)}
        return named - structural or None
    except Exception:
        return None


def _compile(document: Mapping[str, Any], leaves: list[str], loader: DocumentLoader) -> _Template | None:
    structural: set[int] = set()
    for _ in range(_MAX_ATTEMPTS):
        expanded = _expand_placeholders(document, leaves, structural, loader)
        if expanded is None:
            return None
        if isinstance(expanded, set):
            structural |= expanded
            continue
        values, quads = expanded
        failed: set[int] = set()
        seen: set[int] = set()
        slots: dict[Slot, int] = {}
        compiled: list[tuple[Term, Term, Term, Term]] = []
        for quad in quads:
            terms: list[Term] = []
            for term in quad:
                found = [int(m) for m in _PLACEHOLDER.findall(term)]
                seen.update(found)
                slot = _slot_of(term, found, values, structural)
                if slot is None:
                    failed.update(i for i in found if i not in structural)
                    terms.append(term)
                else:
                    if slot[1] in _TRANSFORMED_DATATYPES:
                        failed.add(slot[0])
                    terms.append(slots.setdefault(slot, len(slots)))
            compiled.append((terms[0], terms[1], terms[2], terms[3]))
        failed.update(i for i in range(len(leaves)) if i not in seen and i not in structural)
        if not failed:
            return _Template(frozenset(structural), tuple(slots), tuple(compiled))
        structural |= failed
    return None


def _slot_of(term: str, found: list[int], values: list[str], structural: set[int]) -> Slot | None:
    """The slot a term is, when it is exactly one placeholder as an IRI or a literal."""
    if len(found) != 1 or found[0] in structural:
        return None
    index = found[0]
    token = values[index]
    if term == f"<{token}>":
        return (index, None)
    if term.startswith(f'"{token}"'):
        return (index, term[len(token) + 2 :])
    return None


class ShapeCache:
    """Templates of the shapes seen so far, for one document loader.

    The templates live in a ``credential_shapes`` cache (:mod:`caiep.caches`): bounded LRU,
    locked, keyed by a hash of the shape (a description of the document's content, never an
    object's identity), computed once per document; a hit is confirmed by comparing the
    shapes themselves, so two shapes with one hash never share templates. ``max_shapes``
    overrides the default bound. Safe to share between threads: two threads meeting a new
    shape at once may both compile it.
    """

    def __init__(
        self, document_loader: DocumentLoader = pinned_loader, *, max_shapes: int | None = None
    ) -> None:
        self.document_loader = document_loader
        self._families: NamedCache[int, _Family] = NamedCache("credential_shapes", max_entries=max_shapes)

    @property
    def max_shapes(self) -> int:
        """How many shapes are kept at most (the ``credential_shapes`` limit)."""
        return self._families.max_entries

    def to_quads(self, document: Mapping[str, Any]) -> list[Quad]:
        """Same result and errors as :func:`proofs.rdf.to_quads`, compiled shapes first."""
        tokens: list[Any] = []
        leaves: list[str] = []
        _walk(document, None, tokens, leaves)
        shape = tuple(tokens)
        key = hash(shape)  # hashing a long tuple costs microseconds: once per document
        family = self._families.get(key)
        if family is None or family.shape != shape:
            family = _Family(shape, frozenset(), {})
        fixed = tuple(leaves[i] for i in sorted(family.structural))
        template = family.templates.get(fixed, False)
        if template is False:
            template = _compile(document, leaves, self.document_loader)
            if template is not None and template.structural != family.structural:
                # More of this shape steers expansion than we knew: start its family afresh.
                family = _Family(shape, template.structural, {})
                fixed = tuple(leaves[i] for i in sorted(family.structural))
            family.templates[fixed] = template
            self._families.put(key, family)
        if template is None:
            return to_quads(document, document_loader=self.document_loader)
        assert isinstance(template, _Template)
        return _render(template, leaves)

    def shape_count(self) -> int:
        """How many shapes are cached (for tests and diagnostics)."""
        return len(self._families)


def _render(template: _Template, leaves: list[str]) -> list[Quad]:
    texts: list[str] = []
    for index, suffix in template.slots:
        value = leaves[index]
        if suffix is None:
            if not is_absolute_iri(value):
                raise InvalidIRIError(f"not a valid absolute IRI: {value!r}", iri=value)
            texts.append(f"<{value}>")
        else:
            texts.append(f'"{escape_literal(value)}"{suffix}')
    return [
        (
            s if isinstance(s, str) else texts[s],
            p if isinstance(p, str) else texts[p],
            o if isinstance(o, str) else texts[o],
            g if isinstance(g, str) else texts[g],
        )
        for s, p, o, g in template.quads
    ]
