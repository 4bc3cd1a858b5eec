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

A shape seen recently is recognised by a matcher generated for it (:mod:`proofs.shape_keys`)
instead of a walk, and :meth:`ShapeCache.canonical_nquads` goes from a template's slot texts
straight to the canonical text (:mod:`proofs.rdfc_template`) when RDFC-1.0 allows.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from caiep.caches import NamedCache
from caiep.errors import DataLossError, InvalidIRIError
from caiep.proofs.nquads import Quad, escape_literal, is_absolute_iri
from caiep.proofs.rdf import DocumentLoader, to_quads
from caiep.proofs.rdfc import Deadline, canonicalize
from caiep.proofs.rdfc_template import TemplatePlan
from caiep.proofs.shape_keys import SCHEME, STRUCTURAL_KEYS, Matcher, matcher_for, walk
from caiep.schemas.loader import document_loader as pinned_loader

_PLACEHOLDER = re.compile(r"caiepph(\d+)z")
_TRANSFORMED_DATATYPES = (
    "^^<http://www.w3.org/2001/XMLSchema#double>",
    "^^<http://www.w3.org/1999/02/22-rdf-syntax-ns#JSON>",
)
_MAX_ATTEMPTS = 6
_RECENT_SHAPES = 8

#: What a compiled shape weighs in memory per token of its shape (its templates, their RDFC plan
#: and its matcher): about 650 bytes measured on CPython 3.11 for credentials of 18 to 4,900
#: tokens, rounded up. The ``credential_shapes`` cache's byte bound counts shapes by it.
BYTES_PER_SHAPE_TOKEN = 800

Slot = tuple[int, str | None]
Term = str | int


@dataclass(frozen=True)
class _Template:
    structural: frozenset[int]
    # Each slot is a (leaf index, literal suffix) pair; suffix None means the leaf is an IRI.
    slots: tuple[Slot, ...]
    # One entry per quad: each term is a constant string or the index of a slot.
    quads: tuple[tuple[Term, Term, Term, Term], ...]

    @cached_property
    def last_terms(self) -> list[tuple[str, str] | None]:
        """Per slot, the last string filled in and its term (see :func:`_slot_texts`)."""
        return [None] * len(self.slots)

    @cached_property
    def plan(self) -> TemplatePlan:
        """RDFC-1.0 of this template's quads, prepared once (see :mod:`proofs.rdfc_template`)."""
        return TemplatePlan(self.quads, len(self.slots))


@dataclass
class _Family:
    """The templates of one shape: which leaves steer expansion, and a template per their values."""

    shape: tuple[Any, ...]
    structural: frozenset[int]
    templates: dict[tuple[str, ...], _Template | None]
    matcher: Matcher | None = None  # recognises this shape without a walk (shape_keys)


def _placeholder(value: str, index: int) -> str:
    match = SCHEME.match(value)
    return f"{match.group(0) if match else ''}caiepph{index}z"


def _substitute(node: Any, key: str | None, values: list[str], counter: list[int]) -> Any:
    """The document with its i-th placeholder-able string replaced by ``values[i]``."""
    if isinstance(node, dict):
        return {name: _substitute(node[name], name, values, counter) for name in sorted(node)}
    if isinstance(node, list):
        return [_substitute(item, key, values, counter) for item in node]
    if isinstance(node, str) and key not in STRUCTURAL_KEYS:
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
        self._families: NamedCache[int, _Family] = NamedCache(
            "credential_shapes", max_entries=max_shapes, size=_family_size
        )
        # The matchers of the last few shapes met, newest first, with each shape and its hash.
        # Replaced whole, never changed in place, so threads sharing this cache see one tuple.
        self._recent: tuple[tuple[Matcher, tuple[Any, ...], int], ...] = ()

    @property
    def max_shapes(self) -> int:
        """How many shapes are kept at most (the ``credential_shapes`` limit)."""
        return self._families.max_entries

    def to_quads(self, document: Mapping[str, Any]) -> list[Quad]:
        """Same result and errors as :func:`proofs.rdf.to_quads`, compiled shapes first."""
        template, leaves = self._template_for(document)
        if template is None:
            return to_quads(document, document_loader=self.document_loader)
        return _render(template, leaves)

    def canonical_nquads(self, document: Mapping[str, Any], *, deadline: Deadline | None = None) -> str:
        """Same result and errors as RDFC-1.0 over :func:`proofs.rdf.to_quads`, compiled shapes first.

        A compiled shape whose blank nodes its first-degree hashes tell apart (a credential's,
        always) goes straight from its strings to the canonical text; any other is rendered
        to quads and canonicalised by :func:`proofs.rdfc.canonicalize` (within ``deadline``).
        """
        template, leaves = self._template_for(document)
        if template is None:
            return canonicalize(to_quads(document, document_loader=self.document_loader), deadline=deadline)
        texts = _slot_texts(template, leaves)
        text = template.plan.canonical(texts)
        return text if text is not None else canonicalize(_fill(template, texts), deadline=deadline)

    def _recognise(self, document: Mapping[str, Any]) -> tuple[tuple[Any, ...], int, list[str], bool]:
        """The document's shape, its hash and its strings, and whether a recent shape's matcher
        knew it (else they come from a walk)."""
        recent = self._recent
        for position, (matches, shape, key) in enumerate(recent):
            leaves: list[str] = []
            if matches(document, leaves):
                if position:
                    self._recent = (recent[position], *recent[:position], *recent[position + 1 :])
                return shape, key, leaves, True
        tokens: list[Any] = []
        leaves = []
        walk(document, None, tokens, leaves)
        shape = tuple(tokens)
        return shape, hash(shape), leaves, False  # hashing a long tuple costs microseconds: once

    def _remember(
        self, document: Mapping[str, Any], shape: tuple[Any, ...], key: int, family: _Family
    ) -> None:
        """Put a compiled shape's matcher (built once per family) first among the recent ones."""
        if family.matcher is None:
            family.matcher = matcher_for(document)
        self._recent = ((family.matcher, shape, key), *self._recent)[:_RECENT_SHAPES]

    def _template_for(self, document: Mapping[str, Any]) -> tuple[_Template | None, list[str]]:
        shape, key, leaves, matched = self._recognise(document)
        family = self._families.get(key)
        if family is None or (family.shape is not shape and family.shape != shape):
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
        assert template is None or isinstance(template, _Template)
        if template is not None and not matched:
            self._remember(document, shape, key, family)
        return template, leaves

    def shape_count(self) -> int:
        """How many shapes are cached (for tests and diagnostics)."""
        return len(self._families)


def _family_size(family: _Family) -> int:
    """Bytes a shape's family takes, estimated from its shape's length and its template count
    (measuring the objects themselves would cost a tenth of compiling them)."""
    return BYTES_PER_SHAPE_TOKEN * len(family.shape) * max(1, len(family.templates))


def _render(template: _Template, leaves: list[str]) -> list[Quad]:
    return _fill(template, _slot_texts(template, leaves))


def _slot_texts(template: _Template, leaves: list[str]) -> list[str]:
    """Each slot's N-Quads term for these strings; InvalidIRIError for a malformed IRI.

    Most strings of a shape are the same in every document (issuer, achievement, contexts):
    each slot remembers its last string and term, so only the ones that change are checked
    and escaped again.
    """
    texts: list[str] = []
    append = texts.append
    last = template.last_terms
    for position, (index, suffix) in enumerate(template.slots):
        value = leaves[index]
        known = last[position]
        if known is not None and known[0] == value:
            append(known[1])
            continue
        if suffix is None:
            if not is_absolute_iri(value):
                raise InvalidIRIError(f"not a valid absolute IRI: {value!r}", iri=value)
            text = f"<{value}>"
        else:
            text = f'"{escape_literal(value)}"{suffix}'
        last[position] = (value, text)
        append(text)
    return texts


def _fill(template: _Template, texts: list[str]) -> list[Quad]:
    return [
        (
            s if isinstance(s, str) else texts[s],
            p if isinstance(p, str) else texts[p],
            o if isinstance(o, str) else texts[o],
            g if isinstance(g, str) else texts[g],
        )
        for s, p, o, g in template.quads
    ]
