"""The compiled-shape fast paths: shape matchers and canonical text straight from slot texts.

Each must give exactly what the slower path gives, or step aside: a matcher accepts a document
only when walking it gives the same tokens and strings, and a template's canonical form is
byte for byte RDFC-1.0's, or None when the general algorithm is needed.
"""

from __future__ import annotations

import copy
import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from caiep.errors import InvalidIRIError
from caiep.issuer.charter import CharterAward, IssuerProfile, build_charter_credential
from caiep.proofs.nquads import is_absolute_iri
from caiep.proofs.rdf import to_quads
from caiep.proofs.rdfc import canonicalize
from caiep.proofs.rdfc_template import TemplatePlan
from caiep.proofs.shape_keys import matcher_for, walk
from caiep.proofs.shapes import ShapeCache

PROFILE = IssuerProfile(
    id="did:web:credentials.example.org",
    name="Example Body",
    url="https://credentials.example.org",
    base_url="https://credentials.example.org",
)
ODD = "".join(chr(c) for c in range(0x20)) + '\x7f"\\{}\u0085\u2028\u2029\u0301😀ß'
NOW = datetime(2026, 11, 26, tzinfo=UTC)


def _text(rng: random.Random, size: int) -> str:
    pool = ODD + "abcdefghij ÀéîõüÇñ中文-'.,:/"
    return "".join(rng.choice(pool) for _ in range(rng.randint(0, size)))


def _charter(rng: random.Random) -> dict[str, Any]:
    award = CharterAward(
        name=_text(rng, 20) + "x",
        email=f"user{rng.randint(0, 10**6)}@example.org",
        exam_date=date(2026, 1, 1) + timedelta(days=rng.randint(0, 300)),
        charter_number=_text(rng, 10),
        score=rng.choice([None, str(rng.randint(0, 100)), _text(rng, 4)]),
        exam_version=rng.choice([None, "2026.1", _text(rng, 6)]),
        pathway=rng.choice([None, "experience", "aie", "academic", "exceptional"]),
    )
    return build_charter_credential(
        PROFILE,
        award,
        credential_uuid=f"{rng.getrandbits(128):032x}",
        now=NOW + timedelta(seconds=rng.randint(0, 10**8)),
        salt=f"{rng.getrandbits(64):016x}",
    )


def _general(document: dict[str, Any]) -> str:
    return canonicalize(to_quads(document))


def _walked(document: Any) -> tuple[tuple[Any, ...], list[str]]:
    tokens: list[Any] = []
    leaves: list[str] = []
    walk(document, None, tokens, leaves)
    return tuple(tokens), leaves


# --- canonical text from compiled shapes --------------------------------------------------


def test_canonical_text_of_generated_charter_credentials_is_the_general_paths():
    cache = ShapeCache()
    rng = random.Random(4412)
    for _ in range(1500):
        document = _charter(rng)
        assert cache.canonical_nquads(document) == _general(document)


def test_blank_nodes_that_tie_on_first_degree_hashes_fall_back_to_the_general_algorithm():
    # Two identical evidence items are two blank nodes with the same first-degree hash: the
    # plan steps aside and RDFC-1.0's n-degree hashing decides, as in the general path.
    cache = ShapeCache()
    document = _charter(random.Random(1))
    document["evidence"] = [{"type": ["Evidence"], "narrative": "same"}] * 2
    for narrative in ("same", "other", "same"):
        variant = copy.deepcopy(document)
        variant["evidence"][1]["narrative"] = narrative
        assert cache.canonical_nquads(variant) == _general(variant)


def test_bad_iri_is_refused_by_the_canonical_fast_path():
    cache = ShapeCache()
    document = _charter(random.Random(2))
    cache.canonical_nquads(document)
    with pytest.raises(InvalidIRIError):
        cache.canonical_nquads({**document, "id": "https://credentials.example.org/a b"})


def _plan_case(rng: random.Random) -> tuple[list[tuple[str | int, ...]], int]:
    """A random template: blank nodes, IRIs, literals (braces included) and slots."""
    slots = rng.randint(1, 6)
    blanks = [f"_:b{i}" for i in range(rng.randint(0, 4))]
    constants = ["<https://example.org/{x}>", '"a {0} b"', "<urn:p>", '"c"@en']
    quads = []
    for _ in range(rng.randint(1, 10)):
        subject = rng.choice([*blanks, "<urn:s>"] or ["<urn:s>"])
        objects: list[str | int] = [*blanks, *constants, *range(slots)]
        graph: str | int = rng.choice(["", "", rng.randrange(slots), *blanks])
        quads.append((subject, rng.choice(["<urn:p>", "<urn:q>"]), rng.choice(objects), graph))
    return list(dict.fromkeys(quads)), slots


def _filled(quads: list[tuple[str | int, ...]], texts: list[str]) -> list[tuple[str, str, str, str]]:
    terms = [[texts[t] if isinstance(t, int) else t for t in quad] for quad in quads]
    return [(s, p, o, g) for s, p, o, g in terms]


def test_template_plan_gives_rdfc_output_or_steps_aside():
    rng = random.Random(77)
    answered = stepped_aside = 0
    for _ in range(3000):
        quads, slots = _plan_case(rng)
        plan = TemplatePlan(quads, slots)  # type: ignore[arg-type]
        # Few distinct texts, so that quads coincide and blank nodes tie now and then.
        texts = [rng.choice(['"x"', '"y"', "<urn:x>", '"{1}"']) for _ in range(slots)]
        expected = canonicalize(_filled(quads, texts))
        text = plan.canonical(texts)
        if text is None:
            stepped_aside += 1
        else:
            answered += 1
            assert text == expected
    assert answered > 1000
    assert stepped_aside > 100


def test_template_plan_steps_aside_for_coinciding_quads():
    quads = [("_:b0", "<urn:p>", 0, ""), ("_:b0", "<urn:p>", 1, ""), ("_:b1", "<urn:q>", "_:b0", "")]
    plan = TemplatePlan(quads, 2)
    assert plan.canonical(['"a"', '"b"']) == canonicalize(_filled(quads, ['"a"', '"b"']))  # type: ignore[arg-type]
    assert plan.canonical(['"a"', '"a"']) is None  # the same quad twice: RDFC-1.0 counts it once


def test_template_without_blank_nodes_or_quads():
    assert TemplatePlan([], 0).canonical([]) == canonicalize([])
    quads = [("<urn:s>", "<urn:p>", 0, ""), ("<urn:s>", "<urn:p>", '"{0}"', 1)]
    texts = ['"z"', "<urn:g>"]
    assert TemplatePlan(quads, 2).canonical(texts) == canonicalize(_filled(quads, texts))  # type: ignore[arg-type]


# --- shape matchers ------------------------------------------------------------------------


def _mutations(document: dict[str, Any], rng: random.Random) -> list[Any]:
    """Variants of a document: same shape with other strings, and near misses of every kind."""
    variants: list[Any] = []
    same = copy.deepcopy(document)
    same["name"] = _text(rng, 12)
    same["credentialSubject"]["name"] = "no scheme: at all"  # a colon, but not a scheme
    variants.append(same)
    for key, value in (
        ("id", "urn:uuid:1"),  # another scheme
        ("id", "https:no-slashes"),  # the same scheme without '//'
        ("id", "HTTPS://credentials.example.org/x"),  # schemes are case-sensitive tokens
        ("issuer", {**document["issuer"], "id": "did://web:x"}),  # 'did:' becomes 'did://'
        ("issuer", {**document["issuer"], "id": "did:example:x"}),  # same scheme, other string
        ("issuer", {**document["issuer"], "extra": "x"}),  # one key more
        ("type", ["VerifiableCredential"]),  # a structural value
        ("type", ["VerifiableCredential", "OpenBadgeCredential", "X"]),  # a longer list
        ("name", 7),  # a number for a string
        ("name", True),
        ("name", None),
    ):
        variants.append({**document, key: value})
    variants.append({k: v for k, v in document.items() if k != "evidence"})  # one key fewer
    missing = dict(document)
    del missing["name"]
    missing["nome"] = "x"  # same number of keys, another name
    variants.append(missing)

    class Text(str):
        pass

    variants.append({**document, "name": Text(document["name"])})  # a str subclass
    variants.append([document])
    return variants


def test_a_matcher_accepts_exactly_the_documents_of_its_shape():
    rng = random.Random(9)
    for _ in range(200):
        document = _charter(rng)
        matches = matcher_for(document)
        tokens, _ = _walked(document)
        for variant in [document, *_mutations(document, rng), _charter(rng)]:
            leaves: list[str] = []
            accepted = matches(variant, leaves)
            their_tokens, their_leaves = _walked(variant)
            assert accepted == (their_tokens == tokens)
            if accepted:
                assert leaves == their_leaves


def test_matchers_compare_scalars_by_type_and_keys_of_any_kind():
    document = {"a": 1, "b": True, "c": None, "d": 1.5, 3: "three", "type": "T"}
    matches = matcher_for({k: v for k, v in document.items() if k != 3})
    assert matches({"a": 1, "b": True, "c": None, "d": 1.5, "type": "T"}, [])
    assert not matches({"a": True, "b": True, "c": None, "d": 1.5, "type": "T"}, [])  # True == 1
    assert not matches({"a": 1.0, "b": True, "c": None, "d": 1.5, "type": "T"}, [])
    assert not matches({"a": 1, "b": True, "c": None, "d": 1.5, "type": "U"}, [])
    int_keyed = matcher_for({3: "x", 4: "mailto:y"})
    leaves: list[str] = []
    assert int_keyed({3: "z", 4: "mailto:w"}, leaves)
    assert leaves == ["z", "mailto:w"]
    assert not int_keyed({"3": "z", 4: "mailto:w"}, [])


def test_absolute_iri_check_is_scheme_then_no_forbidden_character():
    for value in ("https://a.example/x", "urn:x", "a+b.c-d:", "did:web:x#k?q=1", "x:é😀"):
        assert is_absolute_iri(value)
    for value in ("", ":x", "1a:x", "a b:x", "https://a b", "urn:<x>", "urn:x\u0085", "urn:{x}", "noscheme"):
        assert not is_absolute_iri(value)
