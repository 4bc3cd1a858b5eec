"""The ``proof`` check of a credential with embedded Data Integrity proofs: one proof or a set.

VC Data Integrity 1.0 §4.6 (Verify Proof Sets and Chains): when ``proof`` is a set, **every**
proof in it must verify, and a proof with ``previousProof`` is checked over the document with
the proofs it names, which must exist in the set and verify first. OB 3.0 key provenance
applies to every proof: each key must be the issuer's.

Everything that needs no network is checked on every proof before any key is fetched: the
proof's form (type, cryptosuite, ``verificationMethod``, purpose), its ``previousProof``
references, and that a DID URL key belongs to the issuer's DID. So a credential naming an
attacker's key is invalid at once, with nothing asked of the attacker's host.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from caiep.errors import CaiepError, CredentialInvalid, EncodingError, ResolutionError, TimeBudgetExceeded
from caiep.keys.ed25519 import PublicKey
from caiep.proofs.dataintegrity import check_proof_shape, previous_proof_ids, proofs_of, verify_proof
from caiep.verifier.budget import Deadline, fetch_all
from caiep.verifier.resolve import KeyResolver, check_key_owner, document_url, issuer_id
from caiep.verifier.result import Check, Outcome

#: Codes kept as they are when a member of a set fails (they say more than "a member failed").
_OWN_CODES = frozenset({"key_not_issuers", "previous_proof_missing", "previous_proof_cycle"})


class _ChainError(CredentialInvalid):
    """The proofs' ``previousProof`` references cannot be put in an order (a cycle, shared ids)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def check_ldp_proof(
    credential: Mapping[str, Any],
    resolver: KeyResolver,
    document_hash: bytes | None,
    *,
    deadline: Deadline | None = None,
) -> Check:
    """The ``proof`` check: valid only when every proof verifies with a key of the issuer.

    ``document_hash`` is the SHA-256 of the canonical credential without proofs (None when it
    could not be canonicalised: then no proof can hold). Invalid as soon as one proof fails;
    unknown when a key could not be retrieved and nothing failed. The proofs' key documents
    are fetched at once; :class:`TimeBudgetExceeded` propagates when ``deadline`` passes.
    """
    try:
        proofs = proofs_of(credential)
    except CredentialInvalid as exc:
        return Check("proof", Outcome.INVALID, exc.code, exc.message)
    if not proofs:
        return Check("proof", Outcome.INVALID, "proof_missing", "the credential carries no proof")
    if document_hash is None:
        return Check(
            "proof",
            Outcome.INVALID,
            "not_canonicalizable",
            "the credential cannot be canonicalised, so no proof can hold",
        )
    issuer = issuer_id(credential)
    try:
        for index, proof in enumerate(proofs):
            _check_locally(proof, index, proofs, issuer)
        order = _chain_order(proofs)
    except _MemberFailure as failure:
        return failure.check
    except _ChainError as exc:
        return Check("proof", Outcome.INVALID, exc.code, exc.message)
    fetch_all(resolver.fetcher, (document_url(str(proofs[index]["verificationMethod"])) for index in order))
    keys: dict[str, PublicKey] = {}
    checked: set[int] = set()
    undecided: Check | None = None
    for index in order:
        proof = proofs[index]
        if not _previous_checked(proof, proofs, checked):
            continue  # it follows a proof whose key could not be retrieved: undecided as well
        method = str(proof["verificationMethod"])
        try:
            if method not in keys:
                keys[method] = resolver.public_key(method, issuer=issuer, purpose="assertionMethod")
            verify_proof(credential, proof, keys[method], document_hash=document_hash, deadline=deadline)
        except TimeBudgetExceeded:
            raise
        except ResolutionError as exc:
            undecided = undecided or Check(
                "proof", Outcome.UNKNOWN, exc.code, f"the issuer's key could not be retrieved: {exc.message}"
            )
            continue
        except (CredentialInvalid, EncodingError, CaiepError) as exc:
            return _member_check(exc, index, proofs)
        checked.add(index)
    if undecided is not None:
        return undecided
    return Check("proof", Outcome.VALID, "signature_valid", _valid_message(proofs))


class _MemberFailure(Exception):
    """Carries the check a failing proof of the set gives (raised and caught in this module)."""

    def __init__(self, check: Check) -> None:
        super().__init__(check.message)
        self.check = check


def _check_locally(
    proof: Mapping[str, Any], index: int, proofs: Sequence[Mapping[str, Any]], issuer: str | None
) -> None:
    """Form, previousProof references and DID key ownership of one proof: nothing fetched."""
    try:
        check_proof_shape(proof)
        ids = {item.get("id") for item in proofs}
        for name in previous_proof_ids(proof):
            if name not in ids:
                raise _ChainError(
                    "previous_proof_missing",
                    f"previousProof names {name!r}, but no proof of the set has that id",
                )
        check_key_owner(str(proof["verificationMethod"]), issuer)
    except (CredentialInvalid, EncodingError) as exc:
        raise _MemberFailure(_member_check(exc, index, proofs)) from exc


def _chain_order(proofs: Sequence[Mapping[str, Any]]) -> list[int]:
    """Indexes of the proofs, each after every proof its ``previousProof`` names."""
    by_id: dict[str, int] = {}
    for index, proof in enumerate(proofs):
        proof_id = proof.get("id")
        if isinstance(proof_id, str):
            if proof_id in by_id:
                raise _ChainError("proof_malformed", f"two proofs of the set have the id {proof_id!r}")
            by_id[proof_id] = index
    order: list[int] = []
    pending = list(range(len(proofs)))
    while pending:
        ready = [
            index
            for index in pending
            if all(by_id[name] in order for name in previous_proof_ids(proofs[index]))
        ]
        if not ready:
            raise _ChainError(
                "previous_proof_cycle",
                "the proofs' previousProof references form a cycle, so none comes first",
            )
        order.extend(ready)
        pending = [index for index in pending if index not in ready]
    return order


def _previous_checked(
    proof: Mapping[str, Any], proofs: Sequence[Mapping[str, Any]], checked: set[int]
) -> bool:
    """True when every proof that ``proof`` follows has verified."""
    names = set(previous_proof_ids(proof))
    return all(index in checked for index, item in enumerate(proofs) if item.get("id") in names)


def _member_check(exc: CaiepError, index: int, proofs: Sequence[Mapping[str, Any]]) -> Check:
    """The invalid check for proof ``index``; in a set, it says which proof failed."""
    code = getattr(exc, "code", "proof_invalid")
    if len(proofs) == 1:
        return Check("proof", Outcome.INVALID, code, exc.message)
    suite = proofs[index].get("cryptosuite") or proofs[index].get("type")
    return Check(
        "proof",
        Outcome.INVALID,
        code if code in _OWN_CODES else "proof_set_member_invalid",
        f"proof {index + 1} of {len(proofs)} ({suite}) does not hold, and every proof of a set must: "
        f"{exc.message}",
    )


def _valid_message(proofs: Sequence[Mapping[str, Any]]) -> str:
    """What a valid proof check says: who signed, with which suite."""
    first = proofs[0]
    if len(proofs) == 1:
        suite = first.get("cryptosuite") or first.get("type")
        return f"signed ({suite}) by {first['verificationMethod']}, a key of the issuer"
    chained = sum(1 for proof in proofs if proof.get("previousProof") is not None)
    chain = f", {chained} of them chained to an earlier proof" if chained else ""
    return f"all {len(proofs)} proofs verify, each by a key of the issuer{chain}"
