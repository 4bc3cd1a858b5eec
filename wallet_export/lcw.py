"""The Learner Credential Wallet's VC-API exchange: the request it reads, the presentation it signs.

The Digital Credentials Consortium's wallet (LCW, ``exchanges.ts``) speaks the VC-API exchange
of VCALM: it POSTs ``{}`` to the exchange URL and reads a ``VerifiablePresentationRequest``
asking for ``DIDAuthentication`` with a ``challenge`` and ``domain``; it POSTs back
``{"verifiablePresentation": …}``, a presentation whose ``holder`` is its did:key, signed with
``proofPurpose: authentication``; it receives ``{"verifiablePresentation": {…,
"verifiableCredential": [VC]}}``. LCW 2.1 signs with ``Ed25519Signature2020``, LCW 2.2 can
sign ``eddsa-rdfc-2022`` too: both are checked here (``proofs.dataintegrity``).

A holder reaches the exchange by a deep link, ``https://lcw.app/request?request=…`` or
``dccrequest://request?request=…``, whose ``request`` is the JSON
``{"credentialRequestOrigin": <issuer origin>, "protocols": {"vcapi": <exchange URL>}}``.

Every message is read bounded before any work: :data:`MAX_MESSAGE_BYTES`, :data:`MAX_DEPTH`,
and a presentation of exactly the DID Authentication shape (known contexts, no credentials,
one proof with known members), so canonicalising it costs a few quads, whoever sent it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final
from urllib.parse import quote, urlsplit

from caiep.errors import CaiepError, EncodingError, InputError
from caiep.keys.did import resolve_did_key
from caiep.keys.ed25519 import PublicKey
from caiep.proofs import dataintegrity
from caiep.proofs.rdf import DocumentLoader
from caiep.schemas.loader import document_loader as pinned_loader
from caiep.strictjson import loads_strict
from caiep.wallet_export.qr import qr_svg

#: The largest exchange message read (a DID Authentication presentation is about 1 KiB).
MAX_MESSAGE_BYTES: Final = 16_384
#: The deepest nesting of arrays and objects read in an exchange message.
MAX_DEPTH: Final = 8
#: A did:key of an Ed25519 key is 56 characters; anything much longer is refused unread.
MAX_DID_LENGTH: Final = 128
#: What the wallet may sign its presentation with.
SUITES: Final = (dataintegrity.CRYPTOSUITE, dataintegrity.LEGACY_PROOF_TYPE)
#: The contexts a DID Authentication presentation may use (all pinned in ``schemas``).
CONTEXTS: Final = frozenset(
    {
        "https://www.w3.org/2018/credentials/v1",
        "https://www.w3.org/ns/credentials/v2",
        dataintegrity.ED25519_2020_CONTEXT,
        "https://w3id.org/security/data-integrity/v2",
        "https://w3id.org/security/data-integrity/v1",
    }
)
_PRESENTATION_MEMBERS: Final = frozenset(
    {"@context", "id", "type", "holder", "proof", "verifiableCredential"}
)
_PROOF_MEMBERS: Final = frozenset(
    {
        "type",
        "cryptosuite",
        "created",
        "verificationMethod",
        "proofPurpose",
        "challenge",
        "domain",
        "proofValue",
        "id",
        "@context",
    }
)
LCW_UNIVERSAL: Final = "https://lcw.app/request"
LCW_SCHEME: Final = "dccrequest://request"


class ExchangeInputError(InputError):
    """An exchange message we refuse, with a stable ``code`` and what was wrong, and where."""

    def __init__(self, code: str, message: str, *, location: str | None = None) -> None:
        super().__init__(message, location=location)
        self.code = code


def origin_of(url: str) -> str:
    """The origin (``scheme://host[:port]``) of an absolute URL: the presentation's ``domain``."""
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        raise ValueError(f"not an absolute URL: {url!r}")
    return f"{parts.scheme}://{parts.netloc}"


def presentation_request(challenge: str, domain: str) -> dict[str, Any]:
    """The answer to the wallet's first POST: a DID Authentication request (VPR §DIDAuthentication)."""
    return {
        "verifiablePresentationRequest": {
            "query": [
                {
                    "type": "DIDAuthentication",
                    "acceptedMethods": [{"method": "key"}],
                    "acceptedCryptosuites": [{"cryptosuite": suite} for suite in SUITES],
                }
            ],
            "challenge": challenge,
            "domain": domain,
        }
    }


def credential_presentation(credential: Mapping[str, Any]) -> dict[str, Any]:
    """The answer to the signed presentation: an unsigned presentation carrying the credential."""
    return {
        "verifiablePresentation": {
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "type": "VerifiablePresentation",
            "verifiableCredential": [dict(credential)],
        }
    }


@dataclass(frozen=True)
class DeepLinks:
    """What the holder's page shows for one exchange: the request JSON and its two links."""

    request: str
    universal: str
    custom: str


def deep_links(origin: str, exchange_url: str) -> DeepLinks:
    """LCW's Wallet API request for an exchange, as its universal link and its custom scheme."""
    request = json.dumps(
        {"credentialRequestOrigin": origin, "protocols": {"vcapi": exchange_url}}, separators=(",", ":")
    )
    encoded = quote(request, safe="")
    return DeepLinks(request, f"{LCW_UNIVERSAL}?request={encoded}", f"{LCW_SCHEME}?request={encoded}")


def read_message(body: bytes) -> dict[str, Any]:
    """An exchange message: a JSON object, bounded in size and depth before it is parsed."""
    if len(body) > MAX_MESSAGE_BYTES:
        raise ExchangeInputError("too_large", f"an exchange message is at most {MAX_MESSAGE_BYTES} bytes")
    if not body.strip():
        return {}
    try:
        message = loads_strict(body, max_depth=MAX_DEPTH, source="request body")
    except InputError as exc:
        raise ExchangeInputError("invalid_json", exc.message, location=exc.location) from exc
    if not isinstance(message, dict):
        raise ExchangeInputError("invalid_request", "an exchange message is a JSON object")
    unknown = sorted(set(message) - {"verifiablePresentation"})
    if unknown:
        raise ExchangeInputError(
            "invalid_request", f"unexpected member {unknown[0]!r}", location=f"/{unknown[0]}"
        )
    return message


def check_did_authentication(
    presentation: Any,
    *,
    challenge: str,
    domain: str,
    document_loader: DocumentLoader = pinned_loader,
) -> str:
    """The holder DID a signed DID Authentication presentation proves control of.

    Checks (VC Data Integrity §4.4 with the VPR's DIDAuthentication): the shape, a ``holder``
    that is an Ed25519 did:key, one proof of a supported suite with ``proofPurpose``
    ``authentication``, the exchange's ``challenge`` and ``domain``, a verification method of
    the holder's own DID, and the signature. Raises :class:`ExchangeInputError` naming what failed.
    """
    where = "/verifiablePresentation"
    if not isinstance(presentation, dict):
        raise ExchangeInputError("invalid_presentation", "the presentation is a JSON object", location=where)
    _check_shape(presentation, where)
    holder, public_key = _holder_key(presentation.get("holder"), where)
    try:
        proofs = dataintegrity.proofs_of(presentation)
    except CaiepError as exc:
        raise ExchangeInputError("invalid_proof", exc.message, location=f"{where}/proof") from exc
    if len(proofs) != 1:
        raise ExchangeInputError(
            "invalid_proof", "the presentation carries exactly one proof", location=f"{where}/proof"
        )
    proof = proofs[0]
    _check_proof_members(proof, where)
    if proof.get("challenge") != challenge:
        raise ExchangeInputError(
            "wrong_challenge",
            "the proof's challenge is not this exchange's",
            location=f"{where}/proof/challenge",
        )
    if proof.get("domain") != domain:
        raise ExchangeInputError(
            "wrong_domain", f"the proof's domain must be {domain!r}", location=f"{where}/proof/domain"
        )
    method = proof.get("verificationMethod")
    if not isinstance(method, str) or method.partition("#")[0] != holder:
        raise ExchangeInputError(
            "wrong_key",
            "the proof is not made with a key of the holder's DID",
            location=f"{where}/proof/verificationMethod",
        )
    try:
        resolve_did_key(method)
        dataintegrity.verify_proof(
            presentation,
            proof,
            public_key,
            expected_purpose="authentication",
            document_loader=document_loader,
        )
    except CaiepError as exc:  # a proof, canonicalisation or encoding problem: an answer, not a crash
        code = getattr(exc, "code", "invalid_proof")
        raise ExchangeInputError(
            "invalid_proof",
            f"the presentation's proof does not verify ({code}): {exc.message}",
            location=f"{where}/proof",
        ) from exc
    return holder


def _check_shape(presentation: Mapping[str, Any], where: str) -> None:
    unknown = sorted(set(presentation) - _PRESENTATION_MEMBERS)
    if unknown:
        raise ExchangeInputError(
            "invalid_presentation", f"unexpected member {unknown[0]!r}", location=f"{where}/{unknown[0]}"
        )
    context = presentation.get("@context")
    if not isinstance(context, list) or not context or not all(isinstance(item, str) for item in context):
        raise ExchangeInputError(
            "invalid_presentation", "@context is a list of URLs", location=f"{where}/@context"
        )
    strange = [item for item in context if item not in CONTEXTS]
    if strange:
        raise ExchangeInputError(
            "invalid_presentation", f"unsupported context {strange[0][:100]!r}", location=f"{where}/@context"
        )
    kind = presentation.get("type")
    kinds = kind if isinstance(kind, list) else [kind]
    if kinds != ["VerifiablePresentation"]:
        raise ExchangeInputError(
            "invalid_presentation", "type must be VerifiablePresentation", location=f"{where}/type"
        )
    if presentation.get("verifiableCredential") not in (None, []):
        raise ExchangeInputError(
            "invalid_presentation",
            "a DID Authentication presentation carries no credentials",
            location=f"{where}/verifiableCredential",
        )
    if "id" in presentation and not isinstance(presentation["id"], str):
        raise ExchangeInputError("invalid_presentation", "id is a URL", location=f"{where}/id")


def _holder_key(holder: Any, where: str) -> tuple[str, PublicKey]:
    """The holder's DID and its Ed25519 key, or ExchangeInputError."""
    if not isinstance(holder, str) or not holder:
        raise ExchangeInputError(
            "invalid_holder", "the presentation names no holder", location=f"{where}/holder"
        )
    if len(holder) > MAX_DID_LENGTH or not holder.startswith("did:key:") or "#" in holder:
        raise ExchangeInputError(
            "invalid_holder", "the holder must be a did:key DID", location=f"{where}/holder"
        )
    try:
        document = resolve_did_key(holder)
        return holder, PublicKey.from_multibase(document["verificationMethod"][0]["publicKeyMultibase"])
    except EncodingError as exc:
        raise ExchangeInputError(
            "invalid_holder",
            f"the holder is not an Ed25519 did:key: {exc.message}",
            location=f"{where}/holder",
        ) from exc


def _check_proof_members(proof: Mapping[str, Any], where: str) -> None:
    unknown = sorted(set(proof) - _PROOF_MEMBERS)
    if unknown:
        raise ExchangeInputError(
            "invalid_proof", f"unexpected proof member {unknown[0]!r}", location=f"{where}/proof/{unknown[0]}"
        )
    suite = (
        proof.get("cryptosuite")
        if proof.get("type") == dataintegrity.DATA_INTEGRITY_PROOF
        else proof.get("type")
    )
    if suite not in SUITES:
        raise ExchangeInputError(
            "unsupported_suite",
            f"the proof must be {' or '.join(SUITES)}, not {str(suite)[:60]!r}",
            location=f"{where}/proof",
        )
    if not all(isinstance(value, str) for key, value in proof.items() if key != "@context"):
        raise ExchangeInputError(
            "invalid_proof", "the proof's members are strings", location=f"{where}/proof"
        )


@dataclass(frozen=True)
class LcwOffer:
    """An exchange as the holder's page shows it: its links, the QR code of the universal link
    (inline SVG markup, safe to embed) and when it stops working."""

    links: DeepLinks
    qr_svg: str
    expires_at: datetime


def lcw_offer(origin: str, exchange_url: str, expires_at: datetime) -> LcwOffer:
    """The page's view of a new exchange: deep links and a QR code a phone camera or LCW reads."""
    links = deep_links(origin, exchange_url)
    drawing = qr_svg(links.universal)
    drawing = re.sub(r'width="[0-9.]+mm" height="[0-9.]+mm"', 'width="240" height="240"', drawing, count=1)
    drawing = drawing.replace(
        "<svg ",
        '<svg role="img" aria-label="QR code: add your charter to the Learner Credential Wallet" class="qr" ',
        1,
    )
    view = re.search(r'viewBox="0 0 ([0-9]+) ([0-9]+)"', drawing)
    if view is not None:  # a white ground under the modules, whatever the page's colours
        ground = f'<rect width="{view.group(1)}" height="{view.group(2)}" fill="#fff"/>'
        drawing = drawing.replace("<path ", ground + "<path ", 1)
    return LcwOffer(links, drawing, expires_at)
