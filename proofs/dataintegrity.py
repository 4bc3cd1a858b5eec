"""Data Integrity proofs with Ed25519: ``eddsa-rdfc-2022`` create and verify, legacy verify.

Implements W3C vc-di-eddsa (REC 2025-05-15) §3.3 on top of VC Data Integrity 1.0 §4:
the signature covers ``SHA-256(canonical proof configuration) ‖ SHA-256(canonical
document)``, proof hash first, and ``proofValue`` is ``z`` + base58btc of the 64-byte
signature. ``Ed25519Signature2020`` (vc-di-eddsa Appendix A) and the draft cryptosuite
name ``eddsa-2022`` hash the same way and are accepted when verifying older credentials;
we only ever create ``eddsa-rdfc-2022``.

This module checks a proof against a public key; *which* key may sign for an issuer
(controller binding, ``assertionMethod``) is the verifier's business.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from caiep.caches import NamedCache, content_digest
from caiep.errors import EncodingError, ProofInvalid
from caiep.keys.base58 import b58decode, b58encode
from caiep.keys.ed25519 import PublicKey, SigningKey
from caiep.proofs.nquads import Quad
from caiep.proofs.rdf import DocumentLoader
from caiep.proofs.rdfc import Deadline
from caiep.proofs.shapes import ShapeCache
from caiep.schemas.loader import document_loader as pinned_loader
from caiep.timestamps import format_timestamp, is_xsd_datetime

CRYPTOSUITE = "eddsa-rdfc-2022"
DATA_INTEGRITY_PROOF = "DataIntegrityProof"
LEGACY_PROOF_TYPE = "Ed25519Signature2020"
LEGACY_CRYPTOSUITE = "eddsa-2022"
ED25519_2020_CONTEXT = "https://w3id.org/security/suites/ed25519-2020/v1"

# One shape cache per document loader, keyed by the loader itself (the key keeps it alive, so
# a later loader can never be mistaken for it), and canonical proof configurations by digest.
_shape_caches: NamedCache[DocumentLoader, ShapeCache] = NamedCache("shape_caches")
_proof_hashes: NamedCache[tuple[DocumentLoader, bytes], bytes] = NamedCache("proof_configurations")


class _ProofError(ProofInvalid):
    """A proof problem with its own stable code (``code`` set per instance)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _cache_for(loader: DocumentLoader) -> ShapeCache:
    """The compiled-shape cache of ``loader`` (shapes depend on the contexts it serves)."""
    return _shape_caches.get_or_compute(loader, lambda: ShapeCache(loader))


def canonical_quads(
    document: Mapping[str, Any], *, document_loader: DocumentLoader = pinned_loader
) -> list[Quad]:
    """Quads of a JSON-LD document through the compiled-shape cache (general path as fallback)."""
    return _cache_for(document_loader).to_quads(document)


def canonical_nquads(
    document: Mapping[str, Any],
    *,
    document_loader: DocumentLoader = pinned_loader,
    deadline: Deadline | None = None,
) -> str:
    """RDFC-1.0 canonical N-Quads of a JSON-LD document (compiled shapes first).

    With a ``deadline``, canonicalisation stops when ``deadline.check()`` raises.
    """
    return _cache_for(document_loader).canonical_nquads(document, deadline=deadline)


def proofs_of(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The document's proofs as a list (``proof`` may be one object or an array)."""
    proof = document.get("proof")
    if proof is None:
        return []
    items = proof if isinstance(proof, list) else [proof]
    if not items or not all(isinstance(item, Mapping) for item in items):
        raise _ProofError("proof_malformed", "'proof' must be an object or a non-empty array of objects")
    return items


def unsecured(document: Mapping[str, Any]) -> dict[str, Any]:
    """The document without its proofs."""
    return {key: value for key, value in document.items() if key != "proof"}


def hash_data(
    unsecured_document: Mapping[str, Any],
    proof_config: Mapping[str, Any],
    *,
    document_loader: DocumentLoader = pinned_loader,
    document_hash: bytes | None = None,
    deadline: Deadline | None = None,
) -> bytes:
    """vc-di-eddsa §3.3.4: SHA-256 of the canonical proof configuration, then of the document."""
    proof_hash = _proof_hash(proof_config, document_loader)
    if document_hash is None:
        document_hash = hashlib.sha256(
            canonical_nquads(unsecured_document, document_loader=document_loader, deadline=deadline).encode(
                "utf-8"
            )
        ).digest()
    return proof_hash + document_hash


def _proof_hash(proof_config: Mapping[str, Any], document_loader: DocumentLoader) -> bytes:
    """SHA-256 of the canonical proof configuration, remembered for recent configurations.

    A signing job stamps every credential of a batch with the same ``created``, key and
    purpose, and a verifier sees the same configuration on many credentials: canonicalising
    it once per distinct configuration is enough (the result depends on nothing else).
    """
    key = (document_loader, content_digest(proof_config))
    digest = _proof_hashes.get(key)
    if digest is None:
        nquads = canonical_nquads(proof_config, document_loader=document_loader)
        digest = hashlib.sha256(nquads.encode("utf-8")).digest()
        _proof_hashes.put(key, digest)
    return digest


def create_proof(
    document: Mapping[str, Any],
    signing_key: SigningKey,
    *,
    verification_method: str,
    created: datetime | None,
    proof_purpose: str = "assertionMethod",
    document_loader: DocumentLoader = pinned_loader,
    proof_id: str | None = None,
    previous_proof: str | list[str] | None = None,
    document_hash: bytes | None = None,
) -> dict[str, Any]:
    """An ``eddsa-rdfc-2022`` DataIntegrityProof over ``document`` (its proofs excluded).

    vc-di-eddsa §3.3.1 Create Proof. ``created`` is a parameter so output is reproducible.
    ``proof_id`` sets the proof's ``id``; ``previous_proof`` names (by ``id``) proofs already
    in ``document`` that this one chains to: they are signed with the document (VC Data
    Integrity 1.0 §4.2, proof chains). Raises ProofInvalid when a named proof is missing.
    ``document_hash`` is the SHA-256 of the document's canonical N-Quads when the caller has
    it already (a document whose quads it writes itself); it is ignored for a chained proof.
    """
    options: dict[str, Any] = {"type": DATA_INTEGRITY_PROOF, "cryptosuite": CRYPTOSUITE}
    if proof_id is not None:
        options["id"] = proof_id
    if created is not None:
        options["created"] = format_timestamp(created)
    options["verificationMethod"] = verification_method
    options["proofPurpose"] = proof_purpose
    if previous_proof is not None:
        options["previousProof"] = previous_proof
    body = chained_document(document, options)
    config = {**options, "@context": body.get("@context")}
    if "proof" in body:
        document_hash = None
    signature = signing_key.sign(
        hash_data(body, config, document_loader=document_loader, document_hash=document_hash)
    )
    return {**options, "proofValue": "z" + b58encode(signature)}


def previous_proof_ids(proof: Mapping[str, Any]) -> list[str]:
    """The ids a proof's ``previousProof`` names (a string or a list of strings), maybe none.

    Raises ProofInvalid (``proof_malformed``) for any other value.
    """
    previous = proof.get("previousProof")
    if previous is None:
        return []
    names = previous if isinstance(previous, list) else [previous]
    if not names or not all(isinstance(name, str) and name for name in names):
        raise _ProofError("proof_malformed", "previousProof must name a proof id or a list of proof ids")
    return list(names)


def chained_document(document: Mapping[str, Any], proof: Mapping[str, Any]) -> dict[str, Any]:
    """The document a proof covers: without proofs, plus those its ``previousProof`` names.

    VC Data Integrity 1.0 §4.2/§4.6: a chained proof signs the document with the proofs it
    follows as its ``proof``. Raises ProofInvalid (``previous_proof_missing``) when a named
    proof is not in the document.
    """
    body = unsecured(document)
    names = previous_proof_ids(proof)
    if not names:
        return body
    existing = proofs_of(document)
    matching: list[Mapping[str, Any]] = []
    for name in names:
        found = [item for item in existing if item.get("id") == name]
        if not found:
            raise _ProofError(
                "previous_proof_missing", f"previousProof names {name!r}, but no proof of the set has that id"
            )
        matching.extend(found)
    return {**body, "proof": matching}


def sign(
    document: Mapping[str, Any],
    signing_key: SigningKey,
    *,
    verification_method: str,
    created: datetime | None,
    document_loader: DocumentLoader = pinned_loader,
    proof_id: str | None = None,
    previous_proof: str | list[str] | None = None,
    document_hash: bytes | None = None,
) -> dict[str, Any]:
    """The document with an ``eddsa-rdfc-2022`` proof added to its ``proof`` array.

    ``proof`` is always an array, as the 1EdTech OB 3.0 JSON Schema requires; an existing
    proof is kept, making a proof set (VC Data Integrity §2.1.2), or a chain when
    ``previous_proof`` names existing proofs by id.
    """
    proof = create_proof(
        document,
        signing_key,
        verification_method=verification_method,
        created=created,
        document_loader=document_loader,
        proof_id=proof_id,
        previous_proof=previous_proof,
        document_hash=document_hash,
    )
    return {**unsecured(document), "proof": [*proofs_of(document), proof]}


def verify_proof(
    document: Mapping[str, Any],
    proof: Mapping[str, Any],
    public_key: PublicKey,
    *,
    expected_purpose: str = "assertionMethod",
    document_loader: DocumentLoader = pinned_loader,
    document_hash: bytes | None = None,
    deadline: Deadline | None = None,
) -> None:
    """Check one proof of ``document`` with ``public_key``; raise ProofInvalid if it fails.

    VC Data Integrity §4.4 Verify Proof with vc-di-eddsa §3.3.2; the document is taken
    without any of its proofs (proof sets, §4.5), except those a ``previousProof`` names
    (chains, §4.6). ``document_hash`` may carry the SHA-256 of the canonical unsecured
    document when several proofs are checked against it (unused for a chained proof). A
    ``deadline`` bounds the canonicalisation of a chained document (see :func:`canonical_nquads`).
    """
    check_proof_shape(proof, expected_purpose=expected_purpose)
    body = chained_document(document, proof)
    if "proof" in body:
        document_hash = None
    proof_context = proof.get("@context")
    if proof_context is not None:
        document_context = body.get("@context")
        wanted = proof_context if isinstance(proof_context, list) else [proof_context]
        have = document_context if isinstance(document_context, list) else [document_context]
        if have[: len(wanted)] != wanted:
            raise _ProofError("proof_context_mismatch", "the proof's @context does not start the document's")
    config = {key: value for key, value in proof.items() if key not in ("proofValue", "@context")}
    config["@context"] = body.get("@context")
    try:
        signature = b58decode(proof["proofValue"][1:])
    except EncodingError as exc:
        raise _ProofError("proof_value_malformed", "proofValue is not valid base58btc") from exc
    if len(signature) != 64:
        raise _ProofError("proof_value_malformed", f"proofValue holds {len(signature)} bytes, not 64")
    data = hash_data(
        body, config, document_loader=document_loader, document_hash=document_hash, deadline=deadline
    )
    try:
        public_key.verify(signature, data)
    except ProofInvalid as exc:
        raise _ProofError("signature_invalid", "the signature does not match the credential") from exc


def check_proof_shape(proof: Mapping[str, Any], *, expected_purpose: str = "assertionMethod") -> None:
    """The checks VC Data Integrity §4.4 makes before any cryptography."""
    kind = proof.get("type")
    suite = proof.get("cryptosuite")
    if kind == DATA_INTEGRITY_PROOF:
        if suite not in (CRYPTOSUITE, LEGACY_CRYPTOSUITE):
            raise _ProofError("unsupported_cryptosuite", f"unsupported cryptosuite {suite!r}")
    elif kind != LEGACY_PROOF_TYPE:
        raise _ProofError("unsupported_proof_type", f"unsupported proof type {kind!r}")
    for field in ("verificationMethod", "proofPurpose", "proofValue"):
        if not isinstance(proof.get(field), str) or not proof.get(field):
            raise _ProofError("proof_malformed", f"the proof has no {field}")
    if proof["proofPurpose"] != expected_purpose:
        raise _ProofError(
            "proof_purpose_mismatch",
            f"proofPurpose is {proof['proofPurpose']!r}, expected {expected_purpose!r}",
        )
    if not proof["proofValue"].startswith("z"):
        raise _ProofError("proof_value_malformed", "proofValue must be multibase base58btc ('z' prefix)")
    created = proof.get("created")
    if created is not None and not is_xsd_datetime(created):
        raise _ProofError("proof_malformed", f"created is not an XSD dateTime: {created!r}")


def is_legacy(proof: Mapping[str, Any]) -> bool:
    """True for proof formats we verify but never create."""
    return proof.get("type") == LEGACY_PROOF_TYPE or proof.get("cryptosuite") == LEGACY_CRYPTOSUITE


def sort_proofs(proofs: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Current-suite proofs first, so a verifier tries what we issue before legacy ones."""
    return sorted(proofs, key=is_legacy)
