"""Signed verification receipts: the verification service's own statement that it made a check.

A receipt is a W3C Verifiable Credential (VCDM 2.0) issued by the verification service under its
own DID, ``did:web:<host>:verifier`` (:func:`verifier_did`), with an ``eddsa-rdfc-2022`` proof by
the service's own key, never the charter issuer's: it says "this service checked this, then, and
found that", not that anyone holds a charter. Its terms are this project's receipt context
(``schemas/contexts/caiep-receipt-v1.jsonld``), which every instance serves at
``<service>/contexts/receipt/v1`` and every loader here serves from the package.

Three kinds, by the type of ``credentialSubject``:

- ``CredentialCheck``: ``checkedCredential`` (the credential's id, when it has one),
  ``checkedDigest`` (``sha256:<hex>`` of the exact bytes checked; never the credential itself),
  ``checks`` (each check's name and outcome), ``verdict``, ``checkedAt``;
- ``RegisterLookup``: the ``query`` as asked and the ``answers`` as given (and ``more``);
- ``RegisterBulkCheck``: the ``charterNumbers`` asked and one answer per number.

A receipt proves a check at ``checkedAt``; it says nothing of the charter's state afterwards.
:func:`verify_receipt` checks one against the verifier's DID document.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from caiep.errors import CaiepError, CredentialInvalid, EncodingError
from caiep.keys.did import did_web_for_url, verification_method_id
from caiep.keys.ed25519 import PublicKey, SigningKey
from caiep.proofs.dataintegrity import proofs_of, sign, verify_proof
from caiep.proofs.rdfc import canonicalize
from caiep.schemas.loader import RECEIPT_CONTEXT_PATH, receipt_context_url, receipt_loader
from caiep.verifier.receipt_rdf import receipt_quads
from caiep.verifier.result import Check, Verdict

VC_V2: Final = "https://www.w3.org/ns/credentials/v2"
RECEIPT_TYPE: Final = "VerificationReceipt"
#: The DID path segment of the verification service below the instance's did:web.
VERIFIER_SEGMENT: Final = "verifier"
#: The subject types, by kind of check.
KINDS: Final = {"credential": "CredentialCheck", "lookup": "RegisterLookup", "bulk": "RegisterBulkCheck"}
#: The members an answer may carry (each a term of the receipt context or of VCDM 2.0).
ANSWER_TERMS: Final = frozenset(
    {
        "charterNumber",
        "found",
        "name",
        "postNominal",
        "state",
        "stateSince",
        "reason",
        "firstAwarded",
        "currentUntil",
        "verificationPage",
    }
)
#: The register query's parameters, as the receipt names them.
QUERY_TERMS: Final = {"name": "fullName", "number": "charterNumber", "year": "yearAwarded"}
_TOP: Final = frozenset({"@context", "id", "type", "issuer", "validFrom", "credentialSubject", "proof"})
_SUBJECT: Final = {
    "CredentialCheck": frozenset(
        {"type", "checkedAt", "checkedCredential", "checkedDigest", "checks", "verdict"}
    ),
    "RegisterLookup": frozenset({"type", "checkedAt", "query", "answers", "more"}),
    "RegisterBulkCheck": frozenset({"type", "checkedAt", "query", "answers"}),
}
_QUERY: Final = frozenset({*QUERY_TERMS.values(), "charterNumbers"})


class ReceiptInvalid(CredentialInvalid):
    """A receipt that is malformed, not the verification service's, or whose proof fails."""

    code = "receipt_invalid"


def verifier_did(service_url: str) -> str:
    """The verification service's DID: the instance's did:web with the ``verifier`` path."""
    return f"{did_web_for_url(service_url.rstrip('/'))}:{VERIFIER_SEGMENT}"


def sha256_digest(data: bytes) -> str:
    """The ``checkedDigest`` of ``data``: ``sha256:`` and the hex digest, as ``sha256sum`` prints it."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def instant(moment: datetime) -> str:
    """A UTC instant to the second, as the receipt writes it."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class ReceiptIssuer:
    """Signs receipts with the verification service's current key.

    ``service_url`` is the instance's public URL (its ``issuer_url``); ``name`` the name the
    receipts give the service. Build it once per process: the loader it signs with is cached.
    """

    service_url: str
    name: str
    key: SigningKey = field(repr=False)

    @property
    def did(self) -> str:
        """The verification service's DID."""
        return verifier_did(self.service_url)

    @property
    def verification_method(self) -> str:
        """The DID URL of the signing key."""
        return verification_method_id(self.did, self.key.public_key)

    def for_credential(
        self,
        *,
        credential_id: str | None,
        digest: str,
        checks: Sequence[Check],
        verdict: Verdict,
        checked_at: datetime,
    ) -> dict[str, Any]:
        """A receipt for a check of one credential; ``digest`` from :func:`sha256_digest`."""
        subject: dict[str, Any] = {"type": KINDS["credential"], "checkedAt": instant(checked_at)}
        if credential_id:
            subject["checkedCredential"] = credential_id
        subject["checkedDigest"] = digest
        subject["checks"] = [{"check": c.name, "outcome": str(c.outcome)} for c in checks]
        subject["verdict"] = str(verdict)
        return self._sign(subject, checked_at)

    def for_register(
        self,
        *,
        kind: str,
        query: Mapping[str, Any],
        answers: Sequence[Mapping[str, Any]],
        checked_at: datetime,
        more: bool | None = None,
    ) -> dict[str, Any]:
        """A receipt for a register answer: ``kind`` ``lookup`` (``query`` as
        :meth:`~caiep.issuer.register.RegisterQuery.to_json` gives it, ``answers`` the matches as
        the API gives them) or ``bulk`` (``query`` ``{"charterNumbers": [...]}``, one answer each).
        Members whose value is None are left out; any member the receipt context does not define
        is a ValueError, so nothing is ever dropped silently from what is signed."""
        asked: dict[str, Any]
        if kind == "lookup":
            asked = {QUERY_TERMS[k]: str(v) for k, v in query.items() if v is not None}
        elif kind == "bulk":
            asked = {"charterNumbers": list(query["charterNumbers"])}
        else:
            raise ValueError(f"unknown receipt kind {kind!r}")
        subject: dict[str, Any] = {"type": KINDS[kind], "checkedAt": instant(checked_at), "query": asked}
        subject["answers"] = [_answer(a) for a in answers]
        if kind == "lookup":
            subject["more"] = bool(more)
        return self._sign(subject, checked_at)

    def _sign(self, subject: dict[str, Any], checked_at: datetime) -> dict[str, Any]:
        receipt = {
            "@context": [VC_V2, receipt_context_url(self.service_url)],
            "id": f"urn:uuid:{uuid.uuid4()}",
            "type": ["VerifiableCredential", RECEIPT_TYPE],
            "issuer": {"id": self.did, "name": self.name},
            "validFrom": instant(checked_at),
            "credentialSubject": subject,
        }
        nquads = canonicalize(receipt_quads(receipt))  # written directly: see verifier/receipt_rdf.py
        return sign(
            receipt,
            self.key,
            verification_method=self.verification_method,
            created=checked_at.replace(microsecond=0),
            document_loader=receipt_loader(self.service_url.rstrip("/")),
            document_hash=hashlib.sha256(nquads.encode("utf-8")).digest(),
        )


def _answer(answer: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(answer) - ANSWER_TERMS)
    if unknown:
        raise ValueError(f"answer members the receipt context does not define: {unknown}")
    return {k: v for k, v in answer.items() if v is not None}


@dataclass(frozen=True)
class VerifiedReceipt:
    """A receipt whose proof verified: who signed it, with which key, what it says."""

    receipt: dict[str, Any]
    kind: str
    service_url: str
    signer: str
    checked_at: str
    subject: dict[str, Any]


def service_of(receipt: Mapping[str, Any]) -> str:
    """The service a receipt names (from its context URL), checked against its issuer's DID.

    Raises :class:`ReceiptInvalid` before anything is fetched or canonicalised when the receipt
    is not shaped as this service's receipts are.
    """
    context = receipt.get("@context")
    if not isinstance(context, list) or len(context) != 2 or context[0] != VC_V2:
        raise ReceiptInvalid("a receipt's @context is the VC 2.0 context and a receipt context")
    url = context[1]
    if not isinstance(url, str) or not url.endswith(RECEIPT_CONTEXT_PATH) or len(url) > 300:
        raise ReceiptInvalid(f"a receipt's second context ends in {RECEIPT_CONTEXT_PATH}")
    service = url[: -len(RECEIPT_CONTEXT_PATH)]
    issuer = receipt.get("issuer")
    issuer_id = issuer.get("id") if isinstance(issuer, Mapping) else None
    try:
        expected = verifier_did(service)
    except EncodingError as exc:
        raise ReceiptInvalid("the receipt context is not served by an https service") from exc
    if issuer_id != expected:
        raise ReceiptInvalid(f"a receipt of {service} is issued by {expected}, not {issuer_id!r}")
    return service


def is_receipt(document: object) -> bool:
    """True for a JSON object typed as a verification receipt (not yet verified)."""
    if not isinstance(document, Mapping):
        return False
    kinds = document.get("type")
    return isinstance(kinds, list) and RECEIPT_TYPE in kinds


def verify_receipt(receipt: Mapping[str, Any], did_document: Mapping[str, Any]) -> VerifiedReceipt:
    """Verify ``receipt`` against the verification service's DID document.

    The receipt must be shaped as :class:`ReceiptIssuer` makes them, its issuer the DID of the
    service whose context it names, its one proof an ``eddsa-rdfc-2022`` proof by a key that
    ``did_document`` (whose ``id`` is that DID) lists for ``assertionMethod``: a retired key
    still verifies the receipts it signed. Raises :class:`ReceiptInvalid`.
    """
    service = service_of(receipt)
    _check_shape(receipt)
    signer = receipt["issuer"]["id"]
    if did_document.get("id") != signer:
        raise ReceiptInvalid(f"the DID document given is {did_document.get('id')!r}, not {signer}'s")
    proofs = proofs_of(receipt)
    if len(proofs) != 1:
        raise ReceiptInvalid("a receipt carries exactly one proof")
    [proof] = proofs
    method = proof.get("verificationMethod")
    key = _assertion_key(did_document, method)
    try:
        verify_proof(receipt, proof, key, document_loader=receipt_loader(service))
    except CaiepError as exc:
        raise ReceiptInvalid(f"the receipt's proof does not verify ({exc.code})") from exc
    subject = dict(receipt["credentialSubject"])
    kind = next(k for k, v in KINDS.items() if v == subject["type"])
    return VerifiedReceipt(dict(receipt), kind, service, signer, str(subject["checkedAt"]), subject)


def _assertion_key(did_document: Mapping[str, Any], method: object) -> PublicKey:
    listed = did_document.get("assertionMethod")
    if not isinstance(method, str) or not isinstance(listed, list) or method not in listed:
        raise ReceiptInvalid(f"the key {method!r} is not one the verification service signs with")
    for entry in _list(did_document.get("verificationMethod")):
        if isinstance(entry, Mapping) and entry.get("id") == method:
            try:
                return PublicKey.from_multibase(str(entry.get("publicKeyMultibase")))
            except EncodingError as exc:
                raise ReceiptInvalid(f"the DID document's key {method} is malformed") from exc
    raise ReceiptInvalid(f"the DID document does not describe the key {method}")


def _list(value: object) -> Iterable[object]:
    return value if isinstance(value, list) else ()


def _check_shape(receipt: Mapping[str, Any]) -> None:
    """Every member where this service puts it, and nothing else: a member the context does not
    define would be dropped from what the proof covers."""
    _members(receipt, _TOP, "the receipt")
    if receipt.get("type") != ["VerifiableCredential", RECEIPT_TYPE]:
        raise ReceiptInvalid("a receipt's type is [VerifiableCredential, VerificationReceipt]")
    issuer = receipt.get("issuer")
    if not isinstance(issuer, Mapping):
        raise ReceiptInvalid("a receipt's issuer is an object")
    _members(issuer, frozenset({"id", "name"}), "issuer")
    subject = receipt.get("credentialSubject")
    if not isinstance(subject, Mapping) or subject.get("type") not in _SUBJECT:
        raise ReceiptInvalid(f"a receipt's subject is one of {sorted(_SUBJECT)}")
    _members(subject, _SUBJECT[subject["type"]], "credentialSubject")
    if not isinstance(subject.get("checkedAt"), str):
        raise ReceiptInvalid("a receipt says when the check was made (checkedAt)")
    for answer in _list(subject.get("answers")):
        if not isinstance(answer, Mapping):
            raise ReceiptInvalid("each answer is an object")
        _members(answer, ANSWER_TERMS, "an answer")
    query = subject.get("query")
    if query is not None:
        if not isinstance(query, Mapping):
            raise ReceiptInvalid("the query is an object")
        _members(query, _QUERY, "query")
    for check in _list(subject.get("checks")):
        if not isinstance(check, Mapping):
            raise ReceiptInvalid("each check is an object")
        _members(check, frozenset({"check", "outcome"}), "a check")


def _members(value: Mapping[str, Any], allowed: frozenset[str], where: str) -> None:
    extra = sorted(set(value) - allowed)
    if extra:
        raise ReceiptInvalid(f"{where} has members a receipt does not carry: {extra}")
