"""Our RDFC-1.0 against rdf-canonize, the reference implementation, on hard graphs."""

from __future__ import annotations

import random

import pytest

from caiep.errors import CanonicalizationError
from caiep.proofs.nquads import serialize_quad
from caiep.proofs.rdfc import canonicalize
from node import run_node

pytestmark = pytest.mark.interop


def _graph(rng: random.Random) -> list[tuple[str, str, str, str]]:
    """Blank-node-heavy graphs: automorphisms, self-loops, blank graph names, duplicated hashes."""
    nodes = [f"_:n{i}" for i in range(rng.randint(2, 8))]
    quads = set()
    for _ in range(rng.randint(2, 14)):
        quads.add(
            (
                rng.choice([*nodes, "<https://example.org/a>"]),
                rng.choice(["<https://example.org/p>", "<https://example.org/q>"]),
                rng.choice([*nodes, "<https://example.org/b>", '"x"', '"\\u0001"']),
                rng.choice(["", "", "<https://example.org/g>", rng.choice(nodes)]),
            )
        )
    return sorted(quads)


def test_blank_node_labelling_matches_rdf_canonize():
    graphs = [_graph(random.Random(seed)) for seed in range(400)]
    # Rings of identical blank nodes: only the n-degree algorithm separates them.
    for size in (3, 4, 6):
        ring = [(f"_:r{i}", "<https://example.org/next>", f"_:r{(i + 1) % size}", "") for i in range(size)]
        graphs.append(ring)
        graphs.append([*ring, ("_:r0", "<https://example.org/mark>", '"start"', "")])
    datasets = ["".join(serialize_quad(q) for q in graph) for graph in graphs]
    results = run_node("canonize-nquads.mjs", {"datasets": datasets})["results"]
    mismatches = []
    refused = 0
    for index, (graph, result) in enumerate(zip(graphs, results, strict=True)):
        try:
            ours = canonicalize(graph)
        except CanonicalizationError:
            ours = None
        refused += ours is None
        if ours != result["nquads"]:
            mismatches.append(index)
    assert mismatches == []
    # Both refuse the same poison graphs (the bare rings) and no others.
    assert 3 <= refused < 20
