"""The compiled-shape fast path gives exactly what the general path gives, or falls back."""

from __future__ import annotations

import copy
import random
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from caiep.errors import DataLossError, InvalidIRIError
from caiep.issuer.charter import CharterAward, IssuerProfile, build_charter_credential
from caiep.proofs.rdf import to_quads
from caiep.proofs.rdfc import canonicalize
from caiep.proofs.shapes import ShapeCache

PROFILE = IssuerProfile(
    id="did:web:credentials.example.org",
    name="Example Body",
    url="https://credentials.example.org",
    base_url="https://credentials.example.org",
)
# Every ASCII control character, quotes, backslashes, non-BMP characters, combining marks,
# bidi controls, NEL and the line/paragraph separators.
AWKWARD = "".join(chr(c) for c in range(0x20)) + '\x7f"\\\u0085\u2028\u2029\u200f\u0301😀𝔘ß'


def _text(rng: random.Random, size: int) -> str:
    pool = AWKWARD + "abcdefghijklmnopqrstuvwxyz ÀéîõüÇñ中文한국어العربية-'.,"
    return "".join(rng.choice(pool) for _ in range(rng.randint(0, size)))


def _charter(rng: random.Random) -> dict:
    award = CharterAward(
        name=_text(rng, 30) + "x",
        email=f"user{rng.randint(0, 10**6)}@example.org",
        exam_date=date(2026, 1, 1) + timedelta(days=rng.randint(0, 300)),
        charter_number=_text(rng, 12),
        score=rng.choice([None, str(rng.randint(0, 100)), _text(rng, 5)]),
        exam_version=rng.choice([None, "2026.1", _text(rng, 8)]),
        pathway=rng.choice([None, "experience", "aie", "academic", "exceptional"]),
    )
    doc = build_charter_credential(
        PROFILE,
        award,
        credential_uuid=f"{rng.getrandbits(128):032x}",
        now=datetime(2026, 11, 26, tzinfo=UTC) + timedelta(seconds=rng.randint(0, 10**8)),
        salt=f"{rng.getrandbits(64):016x}",
    )
    doc["description"] = _text(rng, 60)
    doc["credentialSubject"]["achievement"]["criteria"]["narrative"] = _text(rng, 80)
    return doc


def _jane() -> dict:
    return build_charter_credential(
        PROFILE,
        CharterAward("Jane Doe", "jane@example.org", date(2026, 6, 1), "C-1"),
        credential_uuid="0" * 32,
        now=datetime(2026, 11, 26, tzinfo=UTC),
        salt="00",
    )


def _general(doc: dict) -> str:
    return canonicalize(to_quads(doc))


def test_thousands_of_generated_charter_credentials_match_the_general_path():
    cache = ShapeCache()
    rng = random.Random(20261126)
    documents = [_charter(rng) for _ in range(2000)]
    for doc in documents:
        assert canonicalize(cache.to_quads(doc)) == _general(doc)
    # A handful of shapes serve all of them: the optional fields make the variants.
    assert cache.shape_count() <= 32


def test_values_that_steer_expansion_become_part_of_the_shape():
    cache = ShapeCache()
    base = _jane()
    cache.to_quads(base)
    for achievement_type in ("Certification", "License", "ext:Charter"):
        doc = copy.deepcopy(base)
        doc["credentialSubject"]["achievement"]["achievementType"] = achievement_type
        assert canonicalize(cache.to_quads(doc)) == _general(doc)


def test_iri_values_of_other_schemes_are_separate_shapes():
    cache = ShapeCache()
    base = _jane()
    for ident in (
        "https://credentials.example.org/credentials/1",
        "urn:uuid:7d1c",
        "did:example:1",
        "urn:x:a/../b",
    ):
        doc = {**base, "id": ident}
        assert canonicalize(cache.to_quads(doc)) == _general(doc)


def test_bad_iri_is_refused_on_the_fast_path_too():
    cache = ShapeCache()
    base = _jane()
    cache.to_quads(base)
    with pytest.raises(InvalidIRIError):
        cache.to_quads({**base, "id": "https://credentials.example.org/a b"})


def test_unknown_shapes_fall_back_and_keep_their_errors():
    cache = ShapeCache()
    doc = {"@context": ["https://www.w3.org/ns/credentials/v2"], "id": "urn:uuid:1", "colour": "blue"}
    with pytest.raises(DataLossError):
        cache.to_quads(doc)
    with pytest.raises(DataLossError):  # the failed shape is remembered, the error is not lost
        cache.to_quads(doc)


@settings(max_examples=300, deadline=None)
@given(
    name=st.text(max_size=40),
    narrative=st.text(max_size=80),
    number=st.text(max_size=10),
    extra_evidence=st.integers(min_value=0, max_value=3),
)
def test_fast_path_equals_general_path_for_any_strings(name, narrative, number, extra_evidence):
    cache = _shared_cache
    doc = build_charter_credential(
        PROFILE,
        CharterAward(name + "x", "jane@example.org", date(2026, 6, 1), number),
        credential_uuid="f" * 32,
        now=datetime(2026, 11, 26, tzinfo=UTC),
        salt="ab",
    )
    doc["evidence"] += [{"type": ["Evidence"], "narrative": narrative}] * extra_evidence
    try:
        expected = _general(doc)
    except (DataLossError, InvalidIRIError) as exc:
        with pytest.raises(type(exc)):
            cache.to_quads(doc)
        return
    assert canonicalize(cache.to_quads(doc)) == expected


_shared_cache = ShapeCache()


def test_vocabulary_valued_strings_compile_as_part_of_the_shape():
    # proofPurpose is expanded against the vocabulary ("assertionMethod" is a term): a
    # placeholder there cannot expand, so the value joins the shape and the rest compiles.
    cache = ShapeCache()
    config = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-rdfc-2022",
        "created": "2026-11-26T09:30:00Z",
        "verificationMethod": "did:web:credentials.example.org#z6Mk",
        "proofPurpose": "assertionMethod",
    }
    for purpose in ("assertionMethod", "authentication", "assertionMethod"):
        for created in ("2026-11-26T09:30:00Z", "2027-01-01T00:00:00Z"):
            doc = {**config, "proofPurpose": purpose, "created": created}
            assert canonicalize(cache.to_quads(doc)) == _general(doc)
    [family] = cache._families.values()
    assert all(template is not None for template in family.templates.values())
    assert len(family.templates) == 2  # one template per purpose, shared by every other value
