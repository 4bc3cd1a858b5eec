"""The quads a receipt is signed over, written directly, are exactly what JSON-LD to RDF gives
(the general path through the pinned contexts), for every kind of receipt and many answer sets."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from caiep.keys.did import build_controller_document
from caiep.keys.ed25519 import SigningKey
from caiep.proofs.dataintegrity import canonical_nquads, unsecured
from caiep.proofs.rdfc import canonicalize
from caiep.schemas.loader import receipt_loader
from caiep.verifier.receipt_rdf import receipt_quads
from caiep.verifier.receipts import ReceiptIssuer, verify_receipt
from caiep.verifier.result import Check, Outcome, Verdict

SERVICE = "https://credentials.caiep.example"
ISSUER = ReceiptIssuer(SERVICE, "CAiEP Board verification service", SigningKey.from_seed(bytes(range(32))))
WHEN = datetime(2026, 12, 5, 9, 30, tzinfo=UTC)

texts = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
days = st.dates().map(lambda d: d.isoformat())
answers = st.one_of(
    st.fixed_dictionaries({"charterNumber": texts, "found": st.just(False)}),
    st.fixed_dictionaries(
        {
            "charterNumber": texts,
            "found": st.just(True),
            "name": texts,
            "state": st.sampled_from(["current", "lapsed"]),
        },
        optional={"firstAwarded": days, "currentUntil": days, "postNominal": st.just("CAiEP")},
    ),
    st.fixed_dictionaries(
        {
            "charterNumber": texts,
            "found": st.just(True),
            "name": texts,
            "state": st.sampled_from(["suspended", "revoked"]),
        },
        optional={"stateSince": days, "reason": st.none() | texts, "firstAwarded": days},
    ),
)


def _general(receipt: dict[str, Any]) -> str:
    return canonical_nquads(unsecured(receipt), document_loader=receipt_loader(SERVICE))


def _direct(receipt: dict[str, Any]) -> str:
    return canonicalize(receipt_quads(unsecured(receipt)))


@settings(max_examples=60, deadline=None)
@given(st.lists(answers, max_size=12))
def test_bulk_receipts_written_directly_equal_the_general_path(given_answers: list[dict[str, Any]]) -> None:
    numbers = [a["charterNumber"] for a in given_answers]
    receipt = ISSUER.for_register(
        kind="bulk", query={"charterNumbers": numbers}, answers=given_answers, checked_at=WHEN
    )
    assert _direct(receipt) == _general(receipt)


@settings(max_examples=30, deadline=None)
@given(st.lists(answers, max_size=4), texts, st.none() | st.integers(1990, 2100), st.booleans())
def test_lookup_receipts_written_directly_equal_the_general_path(
    given_answers: list[dict[str, Any]], name: str, year: int | None, more: bool
) -> None:
    query = {"name": name, "number": None, "year": year}
    receipt = ISSUER.for_register(
        kind="lookup", query=query, answers=given_answers, checked_at=WHEN, more=more
    )
    assert _direct(receipt) == _general(receipt)


def test_credential_receipts_written_directly_equal_the_general_path() -> None:
    checks = [Check(n, o, "c", "m") for n, o in zip(("structure", "proof", "status"), Outcome, strict=False)]
    for credential_id in ("https://credentials.caiep.example/credentials/1", None, 'a "quoted"\nid'):
        receipt = ISSUER.for_credential(
            credential_id=credential_id,
            digest="sha256:" + "0" * 64,
            checks=checks,
            verdict=Verdict.INVALID,
            checked_at=WHEN,
        )
        assert _direct(receipt) == _general(receipt)


def _made(index: int, number: str) -> dict[str, Any]:
    if index % 7 == 0:
        return {"charterNumber": number, "found": False}
    answer = {"charterNumber": number, "found": True, "name": f"Holder {index}", "firstAwarded": "2020-01-02"}
    if index % 5 == 0:
        return {
            **answer,
            "state": "revoked",
            "stateSince": "2026-01-02",
            "reason": None if index % 2 else "Misconduct",
        }
    return {**answer, "state": "current", "currentUntil": "2031-01-02"}


def test_a_bulk_receipt_of_500_new_answers_verifies_by_the_general_path() -> None:
    numbers = [f"CAIEP-{n:06d}" for n in range(500)]
    made = [_made(i, n) for i, n in enumerate(numbers)]
    receipt = ISSUER.for_register(
        kind="bulk", query={"charterNumbers": numbers}, answers=made, checked_at=WHEN
    )
    document = build_controller_document(ISSUER.did, [ISSUER.key.public_key])
    assert verify_receipt(receipt, document).kind == "bulk"
