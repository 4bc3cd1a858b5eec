"""Proof sets and chains we sign, verified by Digital Bazaar's libraries as well as by ours.

A chained proof (VC Data Integrity 1.0 §4.2, ``previousProof``) covers the proof it follows:
Digital Bazaar's verifier accepts our chain, and both verifiers refuse it once the first proof
changed. Where the two differ, ours is the stricter one: every proof of a set must verify.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from caiep.keys.base58 import b58encode
from caiep.keys.did import did_key_for, verification_method_id
from caiep.keys.ed25519 import SigningKey
from caiep.proofs.dataintegrity import sign
from caiep.verifier.result import Verdict
from caiep.verifier.verify import verify
from node import run_node
from support import unsigned_charter

KEY = SigningKey.from_seed(bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"))
DID = did_key_for(KEY.public_key)
VM = verification_method_id(DID, KEY.public_key)
SIGNED = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)
CHAINED = datetime(2025, 3, 2, 12, 0, 0, tzinfo=UTC)
NOW = datetime(2025, 3, 3, 0, 0, 0, tzinfo=UTC)


def _chain() -> dict[str, Any]:
    first = sign(
        unsigned_charter(DID, now=SIGNED), KEY, verification_method=VM, created=SIGNED, proof_id="urn:uuid:p1"
    )
    return sign(
        first,
        KEY,
        verification_method=VM,
        created=CHAINED,
        proof_id="urn:uuid:p2",
        previous_proof="urn:uuid:p1",
    )


def test_our_proof_chain_and_set_with_digital_bazaar_and_ours(contexts: dict[str, Any]) -> None:
    chain = _chain()
    changed_first = _chain()
    changed_first["proof"][0]["created"] = "2025-03-01T12:00:01Z"
    one_bad = sign(unsigned_charter(DID, now=SIGNED), KEY, verification_method=VM, created=SIGNED)
    one_bad = sign(one_bad, KEY, verification_method=VM, created=CHAINED)
    one_bad["proof"][1]["proofValue"] = "z" + b58encode(KEY.sign(b"other bytes"))

    answer = run_node(
        "verify-di.mjs",
        {"contexts": contexts, "credentials": [chain, changed_first, one_bad], "now": NOW.isoformat()},
    )
    theirs = answer["results"]

    assert theirs[0]["verified"] is True, theirs[0]
    assert theirs[0]["proofError"] in (None, ""), theirs[0]
    assert verify(chain, now=NOW).verdict is Verdict.VALID
    # p1 changed: p1 fails, and so does p2, whose signature covers p1
    assert theirs[1]["proofVerified"] is False
    assert theirs[1]["proofError"].count("Invalid signature") == 2, theirs[1]
    assert verify(changed_first, now=NOW).verdict is Verdict.INVALID
    # a set with one bad proof: invalid for us (every proof of a set must verify)
    assert verify(one_bad, now=NOW).verdict is Verdict.INVALID
