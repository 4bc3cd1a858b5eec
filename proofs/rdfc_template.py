"""RDFC-1.0 for the quads of a compiled shape, straight from its slot texts.

A compiled shape (:mod:`proofs.shapes`) gives quads whose terms are constants, blank node
labels included, or slots filled with a document's strings. Its blank-node structure is
therefore fixed: which quads mention which blank node, and where. This module prepares, once
per template, the two texts RDFC-1.0 (W3C REC 2024-05-21) builds from those quads, as
constant pieces with a field per slot: each blank node's first-degree quads (§4.6, itself as
``_:a``, the others as ``_:z``) and the quads relabelled with canonical identifiers.

For a document, when the first-degree hashes of its blank nodes all differ, §4.4 issues the
canonical labels in hash order and no n-degree hash is needed; the canonical text is then
the sorted relabelled lines, exactly what :func:`proofs.rdfc.canonicalize` returns. Two blank
nodes with the same first-degree hash, or two quads that come out identical for this
document's strings (distinct blank nodes get distinct labels, so they are two identical
lines), are left to :func:`~proofs.rdfc.canonicalize` (``canonical`` returns None).

Lines are split on newlines and sorted without them: slot texts are escaped N-Quads terms,
which hold no raw newline, and no N-Quads line is a prefix of another (after its last term
comes `` .``, which cannot start a term), so the order is the one of the full lines.
"""

from __future__ import annotations

from collections.abc import Sequence
from hashlib import sha256
from operator import itemgetter

TemplateTerm = str | int
TemplateQuad = tuple[TemplateTerm, TemplateTerm, TemplateTerm, TemplateTerm]


def _is_blank(term: TemplateTerm) -> bool:
    return isinstance(term, str) and term.startswith("_:")


class _Text:
    """A text of constant pieces and numbered fields, assembled by one C-level gather and join.

    ``fill(fields)`` is what ``str.format`` would give with ``{i}`` fields, several times
    faster: ``itemgetter`` picks the pieces out of ``fields + constants`` in order.
    """

    def __init__(self, pieces: Sequence[str | int], field_count: int) -> None:
        merged: list[str | int] = []
        for piece in pieces:
            if isinstance(piece, str) and merged and isinstance(merged[-1], str):
                merged[-1] += piece
            elif piece != "":
                merged.append(piece)
        self.constants = tuple(piece for piece in merged if isinstance(piece, str))
        order: list[int] = []
        constant = field_count
        for piece in merged:
            if isinstance(piece, str):
                order.append(constant)
                constant += 1
            else:
                order.append(piece)
        self.field_count = field_count
        self.pick = itemgetter(*order, -1, -1)  # two spare items: a tuple even for one piece

    def fill(self, fields: list[str]) -> str:
        assert len(fields) == self.field_count
        fields.extend(self.constants)
        fields.append("")
        return "".join(self.pick(fields))


def _line(terms: Sequence[str | int], graph: TemplateTerm) -> list[str | int]:
    """One N-Quads line as pieces (as :func:`proofs.nquads.serialize_quad` writes it)."""
    pieces: list[str | int] = [terms[0], " ", terms[1], " ", terms[2]]
    if graph != "":
        pieces += [" ", terms[3]]
    pieces.append(" .\n")
    return pieces


class TemplatePlan:
    """The canonical form of a template's quads, prepared once and filled per document."""

    def __init__(self, quads: Sequence[TemplateQuad], slot_count: int) -> None:
        self.quads = tuple(quads)
        self.slot_count = slot_count
        blanks: dict[str, int] = {}
        for quad in self.quads:
            for term in (quad[0], quad[2], quad[3]):
                if _is_blank(term):
                    assert isinstance(term, str)
                    blanks.setdefault(term, len(blanks))
        self.blank_count = len(blanks)
        # Relabelled lines: blank node k becomes field slot_count + k (its canonical label).
        output: list[str | int] = []
        for quad in self.quads:
            terms = [slot_count + blanks[t] if isinstance(t, str) and t in blanks else t for t in quad]
            output += _line(terms, quad[3])
        self.output = _Text(output, slot_count + self.blank_count)
        # First-degree lines of every blank node, one node after another, and where each ends.
        hashed: list[str | int] = []
        self.bounds: list[tuple[int, int]] = []
        lines = 0
        for label in blanks:
            start = lines
            for quad in self.quads:
                if label in (quad[0], quad[2], quad[3]):
                    terms = [("_:a" if t == label else "_:z") if _is_blank(t) else t for t in quad]
                    hashed += _line(terms, quad[3])
                    lines += 1
            self.bounds.append((start, lines))
        self.hashed = _Text(hashed, slot_count)

    def canonical(self, texts: Sequence[str]) -> str | None:
        """The RDFC-1.0 canonical N-Quads for these slot texts, or None when it needs the
        general algorithm (tied first-degree hashes, or quads that coincide)."""
        if not self.quads:
            return ""
        labels: list[str] = []
        if self.blank_count:
            lines = self.hashed.fill(list(texts)).split("\n")
            digests = []
            for start, end in self.bounds:
                own = lines[start:end]
                own.sort()
                digests.append(sha256(("\n".join(own) + "\n").encode("utf-8")).hexdigest())
            if len(set(digests)) != len(digests):
                return None
            labels = [""] * self.blank_count
            for rank, node in enumerate(sorted(range(self.blank_count), key=digests.__getitem__)):
                labels[node] = f"_:c14n{rank}"
        lines = self.output.fill([*texts, *labels]).split("\n")
        lines.pop()  # after the last newline
        if len(set(lines)) != len(lines):
            # Two quads coincide for these strings: RDFC-1.0 counts them once, in the
            # first-degree hashes too, so they are the general algorithm's to handle.
            return None
        lines.sort()
        return "\n".join(lines) + "\n"
