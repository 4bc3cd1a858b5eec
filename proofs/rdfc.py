"""RDF Dataset Canonicalization 1.0 (W3C REC 2024-05-21), over quads of N-Quads terms.

Our own implementation rather than pyld's: pyld 3.3 does not escape control characters
other than tab, newline and carriage return, so credentials containing them would be signed
over a canonical form no other implementation produces. Labels follow the reference
implementations exactly (issued identifiers carry the ``_:`` prefix, as in their hashes).
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterable, Sequence
from typing import Protocol

from caiep.errors import CanonicalizationError
from caiep.proofs.nquads import Quad, serialize_quad

_POSITIONS = ("s", "o", "g")


class Deadline(Protocol):
    """When to stop: ``check()`` raises (:class:`caiep.errors.TimeBudgetExceeded`) once it has passed."""

    def check(self) -> None:
        """Raise once the deadline has passed; return otherwise."""
        ...


class _Issuer:
    """Identifier issuer (RDFC-1.0 §4.5): old label -> issued label, remembering order."""

    __slots__ = ("counter", "issued", "prefix")

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.counter = 0
        self.issued: dict[str, str] = {}

    def issue(self, old: str) -> str:
        """The canonical label of blank node ``old``, issuing the next one on first sight (RDFC-1.0 §4.5)."""
        label = self.issued.get(old)
        if label is None:
            label = f"{self.prefix}{self.counter}"
            self.counter += 1
            self.issued[old] = label
        return label

    def copy(self) -> _Issuer:
        """An independent copy of this issuer (RDFC-1.0 §4.8.3 step 5.4.4)."""
        twin = _Issuer(self.prefix)
        twin.counter = self.counter
        twin.issued = dict(self.issued)
        return twin


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class _Canonicalizer:
    def __init__(self, quads: Sequence[Quad], max_work_factor: int, deadline: Deadline | None) -> None:
        self.quads = quads
        self.max_work_factor = max_work_factor
        self.deadline = deadline
        self.remaining_deep_iterations = 0
        self.bnode_quads: dict[str, list[Quad]] = {}
        for quad in quads:
            for term in (quad[0], quad[2], quad[3]):
                if term.startswith("_:"):
                    bucket = self.bnode_quads.setdefault(term, [])
                    if not bucket or bucket[-1] is not quad:
                        bucket.append(quad)
        self.canonical = _Issuer("_:c14n")
        self._first_degree: dict[str, str] = {}

    def hash_first_degree(self, node: str) -> str:
        """RDFC-1.0 §4.6: hash of the node's quads with itself as _:a and others as _:z."""
        cached = self._first_degree.get(node)
        if cached is not None:
            return cached
        lines = []
        for s, p, o, g in self.bnode_quads[node]:
            if s.startswith("_:"):
                s = "_:a" if s == node else "_:z"
            if o.startswith("_:"):
                o = "_:a" if o == node else "_:z"
            if g.startswith("_:"):
                g = "_:a" if g == node else "_:z"
            lines.append(serialize_quad((s, p, o, g)))
        lines.sort()
        digest = _sha256("".join(lines))
        self._first_degree[node] = digest
        return digest

    def hash_related(self, related: str, quad: Quad, issuer: _Issuer, position: str) -> str:
        """RDFC-1.0 §4.7."""
        label = self.canonical.issued.get(related) or issuer.issued.get(related)
        if label is None:
            label = self.hash_first_degree(related)
        predicate = quad[1] if position != "g" else ""
        return _sha256(position + predicate + label)

    def hash_n_degree(self, node: str, issuer: _Issuer) -> tuple[str, _Issuer]:
        """RDFC-1.0 §4.8, bounded as §4.1 asks of implementations facing poison datasets."""
        if self.remaining_deep_iterations <= 0:
            raise CanonicalizationError(
                "the document's blank nodes are too symmetric to canonicalise within the work limit"
            )
        self.remaining_deep_iterations -= 1
        if self.deadline is not None:
            self.deadline.check()
        related_by_hash: dict[str, list[str]] = {}
        for quad in self.bnode_quads[node]:
            for position, term in zip(_POSITIONS, (quad[0], quad[2], quad[3]), strict=True):
                if term.startswith("_:") and term != node:
                    digest = self.hash_related(term, quad, issuer, position)
                    related_by_hash.setdefault(digest, []).append(term)
        data = hashlib.sha256()
        for related_hash in sorted(related_by_hash):
            data.update(related_hash.encode())
            chosen_path = ""
            chosen_issuer: _Issuer | None = None
            for permutation in itertools.permutations(related_by_hash[related_hash]):
                candidate = issuer.copy()
                path = ""
                recursion: list[str] = []
                for related in permutation:
                    label = self.canonical.issued.get(related)
                    if label is None:
                        if related not in candidate.issued:
                            recursion.append(related)
                        label = candidate.issue(related)
                    path += label
                    if chosen_path and len(path) >= len(chosen_path) and path > chosen_path:
                        break
                else:
                    for related in recursion:
                        result_hash, candidate = self.hash_n_degree(related, candidate)
                        path += candidate.issue(related) + "<" + result_hash + ">"
                        if chosen_path and len(path) >= len(chosen_path) and path > chosen_path:
                            break
                    else:
                        if not chosen_path or path < chosen_path:
                            chosen_path = path
                            chosen_issuer = candidate
            data.update(chosen_path.encode())
            assert chosen_issuer is not None
            issuer = chosen_issuer
        return data.hexdigest(), issuer

    def run(self) -> list[str]:
        """The canonical N-Quads lines of the dataset, sorted (RDFC-1.0 §4.4 steps 2-7)."""
        by_hash: dict[str, list[str]] = {}
        for node in self.bnode_quads:
            by_hash.setdefault(self.hash_first_degree(node), []).append(node)
        shared: list[list[str]] = []
        for digest in sorted(by_hash):
            nodes = by_hash[digest]
            if len(nodes) == 1:
                self.canonical.issue(nodes[0])
            else:
                shared.append(nodes)
        # The reference implementation's bound (rdf-canonize, maxWorkFactor): this many
        # n-degree hashes at most, so we refuse exactly the datasets it refuses.
        self.remaining_deep_iterations = sum(len(nodes) for nodes in shared) ** self.max_work_factor
        for nodes in shared:
            results = []
            for node in nodes:
                if node in self.canonical.issued:
                    continue
                temporary = _Issuer("_:b")
                temporary.issue(node)
                results.append(self.hash_n_degree(node, temporary))
            results.sort(key=lambda result: result[0])
            for _, issuer in results:
                for old in issuer.issued:
                    self.canonical.issue(old)
        relabel = self.canonical.issued
        lines = {
            serialize_quad(
                (
                    relabel.get(s, s),
                    p,
                    relabel.get(o, o) if o.startswith("_:") else o,
                    relabel.get(g, g) if g.startswith("_:") else g,
                )
            )
            for s, p, o, g in self.quads
        }
        return sorted(lines)


def canonicalize(quads: Iterable[Quad], *, max_work_factor: int = 1, deadline: Deadline | None = None) -> str:
    """The RDFC-1.0 canonical N-Quads document (UTF-8 text, one line per quad, sorted).

    Raises CanonicalizationError when telling the blank nodes apart would take more than
    (number of blank nodes sharing a first-degree hash) ** ``max_work_factor`` n-degree hashes,
    and lets ``deadline.check()`` raise (it is asked before every n-degree hash, the only
    step whose count grows faster than the document) once the caller's time is up.
    """
    unique = list(dict.fromkeys(quads))
    return "".join(_Canonicalizer(unique, max_work_factor, deadline).run())
