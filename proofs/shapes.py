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
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from caiep.errors import DataLossError, InvalidIRIError
from proofs.nquads import Quad, escape_literal, is_absolute_iri
from proofs.rdf import DocumentLoader, to_quads
from schemas.loader import document_loader as pinned_loader

_STRUCTURAL_KEYS = frozenset({"@context", "type", "@type", "@language", "@direction", "@version"})
_PLACEHOLDER = re.compile(r"caiepph(\d+)z")
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):(//)?")
_TRANSFORMED_DATATYPES = (
    "^^<http://www.w3.org/2001/XMLSchema#double>",
    "^^<http://www.w3.org/1999/02/22-rdf-syntax-ns#JSON>",
)
_MAX_SHAPES = 512
_MAX_ATTEMPTS = 6


@dataclass(frozen=True)
class _Template:
    structural: frozenset[int]
    # One entry per quad: each term is a constant string or (leaf index, literal suffix or None for IRI).
    quads: tuple[tuple[str | tuple[int, str | None], ...], ...]


def _walk(node: Any, key: str | None, tokens: list[Any], leaves: list[str]) -> None:
    """Flatten a document into shape tokens and its placeholder-able strings, in key order."""
    if isinstance(node, dict):
        tokens.append("{")
        for name in sorted(node):
            tokens.append(name)
            _walk(node[name], name, tokens, leaves)
        tokens.append("}")
    elif isinstance(node, list):
        tokens.append("[")
        for item in node:
            _walk(item, key, tokens, leaves)
        tokens.append("]")
    elif isinstance(node, str):
        if key in _STRUCTURAL_KEYS:
            tokens.append(("=", node))
        else:
            match = _SCHEME.match(node)
            tokens.append(("s", match.group(0)) if match else ("s", ""))
            leaves.append(node)
    else:
        tokens.append(("=", type(node).__name__, node))


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


def _compile(document: Mapping[str, Any], leaves: list[str], loader: DocumentLoader) -> _Template | None:
    structural: set[int] = set()
    for _ in range(_MAX_ATTEMPTS):
        values = [leaf if i in structural else _placeholder(leaf, i) for i, leaf in enumerate(leaves)]
        try:
            quads = to_quads(_substitute(document, None, values, [0]), document_loader=loader)
        except (DataLossError, InvalidIRIError) as exc:
            # A placeholder where the context expects a term (an @vocab value such as
            # proofPurpose) cannot expand: that value steers expansion, so it becomes part
            # of the shape. An error naming no placeholder is the document's own.
            mentioned = " ".join((*getattr(exc, "terms", ()), getattr(exc, "iri", "")))
            named = {int(i) for i in _PLACEHOLDER.findall(mentioned)}
            if not named or named <= structural:
                return None
            structural |= named
            continue
        except Exception:
            return None
        failed: set[int] = set()
        seen: set[int] = set()
        compiled: list[tuple[str | tuple[int, str | None], ...]] = []
        for quad in quads:
            terms: list[str | tuple[int, str | None]] = []
            for term in quad:
                found = [int(m) for m in _PLACEHOLDER.findall(term)]
                if not found:
                    terms.append(term)
                    continue
                seen.update(found)
                index = found[0]
                token = values[index]
                if len(found) == 1 and index not in structural and term == f"<{token}>":
                    terms.append((index, None))
                elif len(found) == 1 and index not in structural and term.startswith(f'"{token}"'):
                    suffix = term[len(token) + 2 :]
                    if suffix in _TRANSFORMED_DATATYPES:
                        failed.add(index)
                    terms.append((index, suffix))
                else:
                    failed.update(i for i in found if i not in structural)
                    terms.append(term)
            compiled.append(tuple(terms))
        failed.update(i for i in range(len(leaves)) if i not in seen and i not in structural)
        if not failed:
            return _Template(frozenset(structural), tuple(compiled))
        structural |= failed
    return None


class ShapeCache:
    """Templates of the shapes seen so far, for one document loader (LRU-bounded)."""

    def __init__(
        self, document_loader: DocumentLoader = pinned_loader, *, max_shapes: int = _MAX_SHAPES
    ) -> None:
        self.document_loader = document_loader
        self.max_shapes = max_shapes
        # shape -> (structural leaf indexes, {structural values: template or None})
        self._families: OrderedDict[tuple[Any, ...], dict[tuple[str, ...], _Template | None]] = OrderedDict()
        self._structural: dict[tuple[Any, ...], frozenset[int]] = {}

    def to_quads(self, document: Mapping[str, Any]) -> list[Quad]:
        """Same result and errors as :func:`proofs.rdf.to_quads`, compiled shapes first."""
        tokens: list[Any] = []
        leaves: list[str] = []
        _walk(document, None, tokens, leaves)
        shape = tuple(tokens)
        family = self._families.get(shape)
        structural = self._structural.get(shape, frozenset())
        fixed = tuple(leaves[i] for i in sorted(structural))
        template = family.get(fixed, False) if family is not None else False
        if template is False:
            template = _compile(document, leaves, self.document_loader)
            if template is not None and template.structural != structural:
                structural = template.structural
                self._structural[shape] = structural
                fixed = tuple(leaves[i] for i in sorted(structural))
                family = None
            if family is None:
                family = self._families.setdefault(shape, {})
            family[fixed] = template
            self._families.move_to_end(shape)
            while len(self._families) > self.max_shapes:
                dropped, _ = self._families.popitem(last=False)
                self._structural.pop(dropped, None)
        if template is None:
            return to_quads(document, document_loader=self.document_loader)
        assert isinstance(template, _Template)
        return _render(template, leaves)


def _render(template: _Template, leaves: list[str]) -> list[Quad]:
    rendered: dict[tuple[int, str | None], str] = {}
    out: list[Quad] = []
    for quad in template.quads:
        terms = []
        for term in quad:
            if isinstance(term, str):
                terms.append(term)
                continue
            text = rendered.get(term)
            if text is None:
                index, suffix = term
                value = leaves[index]
                if suffix is None:
                    if not is_absolute_iri(value):
                        raise InvalidIRIError(f"not a valid absolute IRI: {value!r}", iri=value)
                    text = f"<{value}>"
                else:
                    text = f'"{escape_literal(value)}"{suffix}'
                rendered[term] = text
            terms.append(text)
        out.append((terms[0], terms[1], terms[2], terms[3]))
    return out
