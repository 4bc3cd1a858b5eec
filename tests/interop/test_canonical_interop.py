"""Our RDFC-1.0 canonical N-Quads, byte for byte against jsonld.js (Digital Bazaar's rdf-canonize).

A signature only crosses implementations when both sides hash the same bytes. For every
document here three canonical forms must be identical strings:

* ours, fast path: ``proofs.dataintegrity.canonical_nquads`` (compiled credential shapes);
* ours, general path: ``proofs.rdfc.canonicalize(proofs.rdf.to_quads(document))``;
* jsonld.js ``canonize`` (RDFC-1.0, safe mode), run once for the whole corpus.

The corpus is ~300 charter-like credentials from a seeded ``random.Random`` (the same documents
on every run, one Node call for all of them), the external 1EdTech and W3C examples without
their proofs, and the proof configurations of the signed ones.
"""

from __future__ import annotations

import copy
import difflib
import json
import random
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pyld import jsonld

from caiep.issuer.charter import CharterAward, IssuerProfile, build_charter_credential
from caiep.keys.did import did_key_for
from caiep.keys.ed25519 import SigningKey
from caiep.proofs.dataintegrity import canonical_nquads
from caiep.proofs.rdf import to_quads
from caiep.proofs.rdfc import canonicalize
from caiep.schemas.loader import document_loader
from node import pinned_contexts, run_node

pytestmark = pytest.mark.interop

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "external"
W3C = VECTORS / "vc-di-eddsa" / "TestVectors"
EXTERNAL_DOCUMENTS = 14
EXTERNAL_PROOF_CONFIGURATIONS = 10
SEED = 20261126
GENERATED_COUNT = 300
CONTROL_CHARACTERS = [chr(code) for code in range(0x20)] + ["\x7f"]

# Character pools for generated text. Python strings of code points, so astral characters
# are single characters and no lone surrogate can occur.
PRINTABLE_ASCII = "".join(chr(code) for code in range(0x20, 0x7F))
LATIN = "àáâãäåæçèéêëìíîïðñòóôõöøùúûüýþÿßÆØŒœŁłŃńŚśŹźŻżĞğİı"
C1_CONTROLS = "".join(chr(code) for code in range(0x80, 0xA0))
CJK = "名前証明書資格技術者認定日本語中文汉字한국어ひらがなカタカナ"
SPECIAL = "\u00a0\u00ad\u0301\u0308\u200b\u200c\u200d\u200e\u200f\u2028\u2029\u202e\ufeff\ufffd\ufffe\uffff"
ASTRAL_RANGES = (
    (0x1F300, 0x1F64F),  # pictographs and emoticons
    (0x1F900, 0x1F9FF),
    (0x1D400, 0x1D7FF),  # mathematical alphanumerics
    (0x20000, 0x2A6DF),  # CJK extension B
    (0x10000, 0x1007F),  # Linear B
    (0xE0001, 0xE007F),  # tags
    (0x10FFF0, 0x10FFFD),  # plane 16 private use
)
# Text that looks like something else to a careless processor: IRIs, numbers, booleans,
# JSON-LD keywords, N-Quads syntax, and the fast path's own placeholder spelling.
TRICKY = (
    "https://example.org/not/an/iri/here",
    "urn:uuid:00000000-0000-0000-0000-000000000000",
    "mailto:someone@example.org",
    "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
    "_:b0",
    "<https://schema.org/name>",
    '"quoted" .\n_:c14n0 <p> "o" .',
    "@id",
    "@type",
    "true",
    "82",
    "8.2E1",
    "null",
    "caiepph0z",
    "https://caiepph1z",
    "caiepph12z caiepph3z",
    "\\u0001",
    "\\\\",
    "\\",
    '"',
    "",
    " ",
)


def random_character(rng: random.Random) -> str:
    pool = rng.choices(
        ["ascii", "control", "json", "latin", "c1", "cjk", "special", "astral"],
        weights=[40, 10, 6, 10, 4, 10, 6, 14],
    )[0]
    if pool == "ascii":
        return rng.choice(PRINTABLE_ASCII)
    if pool == "control":
        return rng.choice(CONTROL_CHARACTERS)
    if pool == "json":
        return rng.choice("\"\\/'")
    if pool == "latin":
        return rng.choice(LATIN)
    if pool == "c1":
        return rng.choice(C1_CONTROLS)
    if pool == "cjk":
        return rng.choice(CJK)
    if pool == "special":
        return rng.choice(SPECIAL)
    low, high = rng.choice(ASTRAL_RANGES)
    return chr(rng.randint(low, high))


def random_text(rng: random.Random) -> str:
    """Arbitrary Unicode text: empty, short, medium or very long; sometimes a tricky value."""
    kind = rng.choices(["empty", "tricky", "short", "medium", "long"], weights=[6, 10, 57, 25, 2])[0]
    if kind == "empty":
        return ""
    if kind == "tricky":
        return rng.choice(TRICKY)
    if kind == "long":
        # drawn from a palette of random characters: per-character draws would dominate the run
        palette = [random_character(rng) for _ in range(64)]
        return "".join(rng.choices(palette, k=rng.randint(5_000, 20_000)))
    length = rng.randint(1, 20) if kind == "short" else rng.randint(21, 300)
    return "".join(random_character(rng) for _ in range(length))


def _issuer(rng: random.Random, index: int) -> IssuerProfile:
    kind = index % 4
    if kind == 0:
        key = SigningKey.from_seed(rng.randbytes(32))
        issuer_id = did_key_for(key.public_key)
    elif kind == 1:
        issuer_id = "did:web:credentials.example.org"
    elif kind == 2:
        issuer_id = "did:web:example.com%3A8443:bodies:caiep"
    else:
        issuer_id = "https://credentials.example.org/issuers/caiep"
    base_url = rng.choice(
        [
            "https://credentials.example.org",
            "https://example.org/a/b/",
            "https://例え.jp/証明書",
            "https://example.org/%E2%9C%93/x",
        ]
    )
    return IssuerProfile(id=issuer_id, name="Example Certification Body", url=base_url, base_url=base_url)


def generated_credential(rng: random.Random, index: int) -> dict[str, Any]:
    """One charter-like credential: the product's builder, then free text and optional parts varied."""
    issued = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randint(0, 3 * 365 * 86_400))
    award = CharterAward(
        name="placeholder",  # replaced below: the builder refuses an empty name, the corpus wants one
        email=f"holder{index}@example.org",
        exam_date=issued.date() - timedelta(days=rng.randint(0, 300)),
        charter_number=f"CAIEP-{issued.year}-{index:06d}",
        score=str(rng.randint(70, 100)) if rng.random() < 0.6 else None,
        exam_version=rng.choice([None, "2026.1", "v2 beta"]),
        pathway=rng.choice([None, "experience", "aie", "academic", "exceptional"]),
    )
    document = build_charter_credential(
        _issuer(rng, index),
        award,
        credential_uuid=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        now=issued,
        salt=rng.randbytes(16).hex(),
    )
    subject = document["credentialSubject"]
    achievement = subject["achievement"]
    subject["name"] = random_text(rng)
    if index < len(CONTROL_CHARACTERS):
        # every ASCII control character, alone and inside text, at least once
        control = CONTROL_CHARACTERS[index]
        subject["name"] = f"Name{control}with {control!r} control{control}"
        document["description"] = control
    if rng.random() < 0.5:
        document["description"] = random_text(rng)
    if rng.random() < 0.3:
        document["name"] = random_text(rng)
    if rng.random() < 0.4:
        achievement["description"] = random_text(rng)
    if rng.random() < 0.4:
        achievement["criteria"]["narrative"] = random_text(rng)
    if rng.random() < 0.2:
        achievement["name"] = random_text(rng)
    if rng.random() < 0.2:
        subject["licenseNumber"] = random_text(rng)
    if rng.random() < 0.2:
        document["issuer"]["name"] = random_text(rng)
    for item in document["evidence"]:
        if rng.random() < 0.5:
            item["narrative"] = random_text(rng)
        if rng.random() < 0.3:
            item["name"] = random_text(rng)
    extra = rng.choices([0, 1, 2, 3], weights=[60, 20, 12, 8])[0]
    for _ in range(extra):
        document["evidence"].append(
            {"type": ["Evidence"], "name": random_text(rng), "narrative": random_text(rng)}
        )
    if rng.random() < 0.08:
        # two identical evidence nodes: blank nodes RDFC-1.0 can only tell apart by N-degree hashing
        document["evidence"].append(copy.deepcopy(document["evidence"][0]))
    if rng.random() < 0.08:
        del document["evidence"]
    if rng.random() < 0.1:
        del document["description"]
    return document


def generated_corpus() -> list[dict[str, Any]]:
    rng = random.Random(SEED)
    return [generated_credential(rng, index) for index in range(GENERATED_COUNT)]


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def external_examples() -> dict[str, dict[str, Any]]:
    """The 1EdTech and W3C examples without proof, and the proof configuration of each proof."""
    paths = [
        *sorted((VECTORS / "1edtech").glob("*.json")),
        W3C / "unsigned.json",
        W3C / "eddsa-rdfc-2022" / "signedDataInt.json",
        W3C / "Ed25519Signature2020" / "signedEdSig.json",
        VECTORS / "charter-credential" / "unsigned.json",
        VECTORS / "charter-credential" / "signed.json",
        VECTORS / "ob-v3p0-impl-guide" / "unsigned-credential.json",
    ]
    examples: dict[str, dict[str, Any]] = {}
    for path in paths:
        document = load_json(path)
        label = str(path.relative_to(VECTORS))
        proof = document.pop("proof", None)
        examples[label] = document
        proofs = proof if isinstance(proof, list) else [proof] if proof else []
        for number, item in enumerate(proofs):
            config = {k: v for k, v in item.items() if k != "proofValue"}
            config["@context"] = document["@context"]
            examples[f"{label} proof[{number}] configuration"] = config
    return examples


PITFALL_DOCUMENT_NAME = "Zoë A\x01B"


def pitfall_document() -> dict[str, Any]:
    profile = IssuerProfile(
        id="did:web:credentials.example.org",
        name="Example Certification Body",
        url="https://credentials.example.org",
        base_url="https://credentials.example.org",
    )
    award = CharterAward(
        name=PITFALL_DOCUMENT_NAME,
        email="holder@example.org",
        exam_date=date(2026, 10, 1),
        charter_number="CAIEP-2026-000001",
        score="82",
    )
    return build_charter_credential(
        profile,
        award,
        credential_uuid="6f1d2c3e-8a4b-4f5e-9c7d-0b1a2c3d4e5f",
        now=datetime(2026, 11, 26, tzinfo=UTC),
        salt="3f9a1c52e07b4d68",
    )


@pytest.fixture(scope="module")
def corpus() -> dict[str, dict[str, Any]]:
    documents = {f"generated[{i}]": doc for i, doc in enumerate(generated_corpus())}
    documents.update(external_examples())
    documents["pitfall"] = pitfall_document()
    return documents


@pytest.fixture(scope="module")
def jsonld_js(corpus: dict[str, dict[str, Any]]) -> dict[str, str]:
    """jsonld.js canonical N-Quads of every corpus document, from one Node run."""
    labels = list(corpus)
    answer = run_node(
        "canonize.mjs", {"contexts": pinned_contexts(), "documents": [corpus[k] for k in labels]}
    )
    results = answer["results"]
    assert len(results) == len(labels)
    errors = {label: r["error"] for label, r in zip(labels, results, strict=True) if r["error"] is not None}
    assert not errors, f"jsonld.js refused documents: {errors}"
    return {label: r["nquads"] for label, r in zip(labels, results, strict=True)}


def _first_difference(label: str, expected: str, actual: str, which: str) -> str:
    diff = difflib.unified_diff(
        expected.splitlines(keepends=True), actual.splitlines(keepends=True), "jsonld.js", which, n=0
    )
    return f"{label}: {which} differs from jsonld.js:\n" + "".join(list(diff)[:12])


def _compare(labels: list[str], corpus: dict[str, dict[str, Any]], jsonld_js: dict[str, str]) -> list[str]:
    paths: dict[str, Callable[[dict[str, Any]], str]] = {
        "fast path": canonical_nquads,
        "general path": lambda document: canonicalize(to_quads(document)),
    }
    problems = []
    for label in labels:
        expected = jsonld_js[label]
        for which, path in paths.items():
            actual = path(copy.deepcopy(corpus[label]))
            if actual != expected:
                problems.append(_first_difference(label, expected, actual, which))
    return problems


def test_generated_credentials_canonicalise_like_jsonld_js(
    corpus: dict[str, dict[str, Any]], jsonld_js: dict[str, str]
) -> None:
    labels = [label for label in corpus if label.startswith("generated[")]
    assert len(labels) == GENERATED_COUNT
    problems = _compare(labels, corpus, jsonld_js)
    assert not problems, f"{len(problems)} mismatches; first:\n" + "\n".join(problems[:3])


def test_generated_corpus_covers_what_it_claims(corpus: dict[str, dict[str, Any]]) -> None:
    """Guards the generator: a corpus that lost its hard cases would prove nothing."""
    documents = [doc for label, doc in corpus.items() if label.startswith("generated[")]
    text = "\n".join(json.dumps(doc, ensure_ascii=False) for doc in documents)
    names = "".join(doc["credentialSubject"]["name"] for doc in documents)
    for control in CONTROL_CHARACTERS:
        assert control in names, f"no generated name holds {control!r}"
    strings = [s for doc in documents for s in _strings(doc)]
    assert "" in strings
    assert any(len(s) >= 5_000 for s in strings)
    assert any(any(ord(c) > 0xFFFF for c in s) for s in strings)
    assert any('"' in s and "\\" in s for s in strings)
    assert "caiepph0z" in text
    assert any("result" in doc["credentialSubject"] for doc in documents)
    assert any("result" not in doc["credentialSubject"] for doc in documents)
    evidence_counts = {len(doc.get("evidence", [])) for doc in documents}
    assert {0, 1, 2, 3}.issubset(evidence_counts)
    issuers = {doc["issuer"]["id"].split(":")[1] for doc in documents}
    assert issuers == {"key", "web", "//credentials.example.org/issuers/caiep"}
    shapes = {_shape(doc) for doc in documents}
    assert len(shapes) >= 20, f"only {len(shapes)} document shapes"


def _strings(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [s for value in node.values() for s in _strings(value)]
    if isinstance(node, list):
        return [s for value in node for s in _strings(value)]
    return [node] if isinstance(node, str) else []


def _shape(node: Any) -> Any:
    """The JSON structure with every string dropped: documents that differ only in text share it."""
    if isinstance(node, dict):
        return tuple((key, _shape(value)) for key, value in sorted(node.items()))
    if isinstance(node, list):
        return tuple(_shape(value) for value in node)
    return type(node).__name__


def test_external_examples_canonicalise_like_jsonld_js(
    corpus: dict[str, dict[str, Any]], jsonld_js: dict[str, str]
) -> None:
    labels = [label for label in corpus if not label.startswith("generated[") and label != "pitfall"]
    assert len([label for label in labels if "configuration" not in label]) == EXTERNAL_DOCUMENTS
    assert len([label for label in labels if "configuration" in label]) == EXTERNAL_PROOF_CONFIGURATIONS
    problems = _compare(labels, corpus, jsonld_js)
    assert not problems, "\n".join(problems[:3])


def test_pyld_normalize_does_not_escape_control_characters_but_we_do(
    corpus: dict[str, dict[str, Any]], jsonld_js: dict[str, str]
) -> None:
    """STANDARDS §9 pitfall 2: pyld leaves U+0001 raw in canonical N-Quads; RDFC-1.0 escapes it.

    A signature computed over pyld's output would not verify anywhere else, which is why the
    product canonicalises with its own serialiser.
    """
    document = corpus["pitfall"]
    theirs = jsonld_js["pitfall"]
    pyld_output = jsonld.normalize(
        copy.deepcopy(document),
        {"algorithm": "URDNA2015", "format": "application/n-quads", "documentLoader": document_loader},
    )
    assert '<https://schema.org/name> "Zoë A\\u0001B" .\n' in theirs
    assert pyld_output != theirs
    assert '<https://schema.org/name> "Zoë A\x01B" .\n' in pyld_output
    # the only difference is that one escape
    assert pyld_output == theirs.replace("A\\u0001B", "A\x01B")
    assert canonical_nquads(document) == theirs
    assert canonicalize(to_quads(document)) == theirs
