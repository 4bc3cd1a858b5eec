"""Interoperability: our credentials verified by independent Node.js implementations, theirs by us.

* Ours → Digital Bazaar: charter credentials we sign with ``eddsa-rdfc-2022`` (did:key and
  did:web issuers, names full of Unicode and control characters) pass ``@digitalbazaar/vc``.
* Ours → ``jose``: our EdDSA VC-JWTs verify, and their registered claims state the credential.
* Digital Bazaar → ours: credentials DB signs (a single ``proof`` object) and the W3C vector.
* ``jose`` → ours: a VC-JWT signed by ``jose`` with our did:web key verifies with our verifier.
* Tampering: one changed leaf makes both sides refuse, for Data Integrity and for VC-JWT.
* The reference charter credential: proof valid, status undecidable, so the outcome is unknown.

Every Node call is batched: one per test (or per module fixture) whatever the number of
credentials. Verification time is fixed (``NOW``) inside every credential's validity period.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from caiep.errors import ProofInvalid
from issuer.charter import CharterAward, IssuerProfile, build_charter_credential
from issuer.issuance import issue_charter
from keys.did import build_controller_document, did_key_for, did_web_document_url, verification_method_id
from keys.ed25519 import PublicKey, SigningKey
from node import pinned_contexts, run_node
from proofs.dataintegrity import verify_proof
from verifier.fetch import MappingFetcher
from verifier.result import Outcome, VerificationResult
from verifier.verify import verify

pytestmark = pytest.mark.interop

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "external"
W3C = VECTORS / "vc-di-eddsa" / "TestVectors"

#: When every verification here happens: inside the validity period of every credential.
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
NOW_ISO = "2026-11-26T12:00:00Z"
FIRST_ISSUE = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)

DID_WEB = "did:web:credentials.example.org"
BASE_URL = "https://credentials.example.org"
JWT_CLAIMS = ("iss", "jti", "nbf", "exp")
VERIFIED = {"verified": True, "error": None, "proofVerified": True, "proofError": None, "statuses": None}

#: Holder names: accents, scripts, emoji (astral, ZWJ sequences), quotes, backslashes, ASCII
#: control characters (U+0000, U+0001, U+0007, U+001F, U+007F, tab, newline, CR) and other
#: characters that canonicalisation or JSON must escape or keep exactly. The builder strips
#: leading and trailing whitespace, so the control characters sit inside the names.
NAMES = (
    "Zoë Ångström-Núñez",
    "Łukasz Żółć-Brzęczyszczykiewicz",
    "山田 太郎",
    "王小明",
    "김민준",
    "Ωμέγα Ψυχή",
    "Иван Петров",
    "محمد الأحمد",
    "Dvořák 🎻 Antonín",
    "Family 👩‍👩‍👧‍👦 Emoji",
    'O\'Brien "The Quote" Smith',
    "Back\\slash \\\\ Double \\u0041",
    "Bell\x07Ring",
    "Start\x01Of Heading",
    "Unit\x1fSeparator",
    "Delete\x7fKey",
    "Tab\tSeparated\nNew Line",
    "Nul\x00Byte and\x08Backspace\x0cFeed",
    "𝔐𝔞𝔱𝔥 𝕊𝕔𝕣𝕚𝕡𝕥 𠜎",
    "Line\u2028Separator\u00a0NBSP\ufeffBOM",
    "Combining e\u0301 and ZWJ\u200d RTL\u202emark",
    "Carriage\rReturn\r\nCRLF",
)
PATHWAYS = (None, "experience", "aie", "academic", "exceptional")


def seed(label: str) -> bytes:
    """A fixed 32-byte seed per label: keys are the same on every run."""
    return hashlib.sha256(f"CAiEP interop test key: {label}".encode()).digest()


DID_KEY_SIGNERS = tuple(SigningKey.from_seed(seed(f"did:key {i}")) for i in range(4))
#: Two did:web keys, both in the DID document (a rotation: older credentials keep verifying).
DID_WEB_SIGNERS = tuple(SigningKey.from_seed(seed(f"did:web {i}")) for i in range(2))
DID_WEB_DOCUMENT = build_controller_document(DID_WEB, [key.public_key for key in DID_WEB_SIGNERS])
#: What the Node scripts resolve (keyed by the DID) and what our verifier fetches (by URL).
NODE_DOCUMENTS = {DID_WEB: DID_WEB_DOCUMENT}
OUR_DOCUMENTS = {did_web_document_url(DID_WEB): DID_WEB_DOCUMENT}


def fetcher() -> MappingFetcher:
    return MappingFetcher(OUR_DOCUMENTS)


def profile(issuer_id: str) -> IssuerProfile:
    return IssuerProfile(
        id=issuer_id, name="CAiEP Certification Body — Ünïcödé ✓", url=BASE_URL, base_url=BASE_URL
    )


def award(index: int, issued: datetime) -> CharterAward:
    return CharterAward(
        name=NAMES[index % len(NAMES)],
        email=f"Holder.{index}@Example.org",
        exam_date=issued.date() - timedelta(days=20 + index),
        charter_number=f"CAIEP-{issued.year}-{index:06d}",
        score=None if index % 4 == 0 else str(70 + index % 31),
        exam_version=None if index % 3 else f"2026.{index % 5}",
        pathway=PATHWAYS[index % len(PATHWAYS)],
    )


def credential_uuid(index: int) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{BASE_URL}/interop/{index}"))


def salt(index: int) -> str:
    return seed(f"salt {index}").hex()[:32]


def epoch(timestamp: str) -> int:
    return int(datetime.fromisoformat(timestamp).timestamp())


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class Issued:
    """One charter award issued by us in both formats."""

    index: int
    issuer_id: str
    key: SigningKey
    verification_method: str
    ldp: dict[str, Any]
    unsigned: dict[str, Any]
    jwt: str


OURS_COUNT = 40


@pytest.fixture(scope="module")
def contexts() -> dict[str, Any]:
    return pinned_contexts()


@pytest.fixture(scope="module")
def ours() -> list[Issued]:
    """40 charter credentials: even indexes did:key (4 keys), odd ones did:web (2 keys)."""
    issued_list = []
    for index in range(OURS_COUNT):
        if index % 2 == 0:
            key = DID_KEY_SIGNERS[(index // 2) % len(DID_KEY_SIGNERS)]
            issuer_id = did_key_for(key.public_key)
        else:
            key = DID_WEB_SIGNERS[(index // 2) % len(DID_WEB_SIGNERS)]
            issuer_id = DID_WEB
        method = verification_method_id(issuer_id, key.public_key)
        issued = FIRST_ISSUE + timedelta(days=11 * index, seconds=37 * index)
        made = {
            form: issue_charter(
                profile(issuer_id),
                award(index, issued),
                key,
                verification_method=method,
                now=issued,
                format=form,
                credential_uuid=credential_uuid(index),
                salt=salt(index),
            )
            for form in ("ldp", "jwt")
        }
        assert made["jwt"].token is not None
        issued_list.append(
            Issued(
                index,
                issuer_id,
                key,
                method,
                made["ldp"].credential,
                made["jwt"].credential,
                made["jwt"].token,
            )
        )
    return issued_list


def test_digital_bazaar_verifies_our_data_integrity_credentials(
    ours: list[Issued], contexts: dict[str, Any]
) -> None:
    assert sum(item.issuer_id.startswith("did:key:") for item in ours) == OURS_COUNT // 2
    assert sum(item.issuer_id == DID_WEB for item in ours) == OURS_COUNT // 2
    assert {item.ldp["credentialSubject"]["name"] for item in ours} == {name.strip() for name in NAMES}
    assert all(isinstance(item.ldp["proof"], list) for item in ours)  # our form: a proof array
    answer = run_node(
        "verify-di.mjs",
        {
            "contexts": contexts,
            "documents": NODE_DOCUMENTS,
            "credentials": [i.ldp for i in ours],
            "now": NOW_ISO,
        },
    )
    results = answer["results"]
    assert len(results) == OURS_COUNT
    refused = {
        f"#{item.index} {item.issuer_id[:12]} {item.ldp['credentialSubject']['name']!r}": result
        for item, result in zip(ours, results, strict=True)
        if result != VERIFIED
    }
    assert not refused, f"Digital Bazaar refused {len(refused)} of our credentials: {refused}"


def test_jose_verifies_our_vc_jwts(ours: list[Issued]) -> None:
    keys = {item.verification_method: item.key.public_key for item in ours}
    assert len(keys) == len(DID_KEY_SIGNERS) + len(DID_WEB_SIGNERS)
    jwks = [{**public_key.to_jwk(), "kid": kid} for kid, public_key in keys.items()]
    answer = run_node(
        "jose.mjs",
        {
            "op": "verify",
            "tokens": [item.jwt for item in ours],
            "jwks": jwks,
            "algorithms": ["EdDSA"],
            "now": NOW_ISO,
            "typ": "JWT",
        },
    )
    results = answer["results"]
    assert len(results) == OURS_COUNT
    for item, result in zip(ours, results, strict=True):
        assert result["verified"] is True, (item.index, result["error"])
        assert result["protectedHeader"] == {"alg": "EdDSA", "kid": item.verification_method, "typ": "JWT"}
        payload = result["payload"]
        credential = item.unsigned
        assert payload["iss"] == credential["issuer"]["id"] == item.issuer_id
        assert payload["jti"] == credential["id"]
        assert payload["nbf"] == epoch(credential["validFrom"])
        assert payload["exp"] == epoch(credential["validUntil"])
        # the rest of the payload is the credential itself (no subject id, so no `sub`)
        assert {k: v for k, v in payload.items() if k not in JWT_CLAIMS} == credential


DB_DID_KEY_SEED = seed("Digital Bazaar did:key")
DB_SIGNED_PER_CONTROLLER = 6
DB_CREATED = "2026-11-20T08:15:00Z"


@dataclass(frozen=True)
class DbSigned:
    controller: str
    public_key: PublicKey
    unsigned: list[dict[str, Any]]
    answer: dict[str, Any]


def _unsigned_batch(controller: str, offset: int) -> list[dict[str, Any]]:
    credentials = []
    for number in range(DB_SIGNED_PER_CONTROLLER):
        index = offset + number
        issued = datetime(2026, 11, 20, 8, 15, tzinfo=UTC) - timedelta(days=30 * number)
        credentials.append(
            build_charter_credential(
                profile(controller),
                award(index, issued),
                credential_uuid=credential_uuid(1000 + index),
                now=issued,
                salt=salt(1000 + index),
            )
        )
    return credentials


@pytest.fixture(scope="module")
def db_signed(contexts: dict[str, Any]) -> list[DbSigned]:
    """Charter credentials built by us, signed by Digital Bazaar: one did:key, one did:web run."""
    did_key_public = SigningKey.from_seed(DB_DID_KEY_SEED).public_key
    runs = [
        (did_key_for(did_key_public), DB_DID_KEY_SEED, did_key_public),
        (DID_WEB, seed("did:web 0"), DID_WEB_SIGNERS[0].public_key),
    ]
    signed = []
    for offset, (controller, key_seed, public_key) in zip((10, 12), runs, strict=True):
        unsigned = _unsigned_batch(controller, offset)
        answer = run_node(
            "sign-di.mjs",
            {
                "contexts": contexts,
                "documents": NODE_DOCUMENTS,
                "seedHex": key_seed.hex(),
                "controller": controller,
                "credentials": unsigned,
                "created": DB_CREATED,
            },
        )
        signed.append(DbSigned(controller, public_key, unsigned, answer))
    return signed


def _non_structure_checks_pass(result: VerificationResult) -> None:
    proof = result.check("proof")
    assert proof is not None
    assert (proof.outcome, proof.code) == (Outcome.VALID, "signature_valid"), proof
    for name, outcome in (
        ("contexts", Outcome.VALID),
        ("validity", Outcome.VALID),
        ("status", Outcome.NOT_APPLICABLE),
    ):
        check = result.check(name)
        assert check is not None
        assert check.outcome is outcome, check


def test_our_verifier_checks_digital_bazaar_proofs(db_signed: list[DbSigned]) -> None:
    assert len(db_signed) == 2
    for run in db_signed:
        answer = run.answer
        assert answer["publicKeyMultibase"] == run.public_key.multibase
        assert answer["verificationMethod"] == verification_method_id(run.controller, run.public_key)
        assert len(answer["credentials"]) == DB_SIGNED_PER_CONTROLLER
        for unsigned, credential in zip(run.unsigned, answer["credentials"], strict=True):
            assert "error" not in credential, credential
            proof = credential["proof"]
            assert isinstance(proof, dict)  # Digital Bazaar emits one proof object, not an array
            assert proof["verificationMethod"] == answer["verificationMethod"]
            assert proof["created"] == DB_CREATED
            assert {k: v for k, v in credential.items() if k != "proof"} == unsigned
            result = verify(credential, now=NOW, fetcher=fetcher())
            _non_structure_checks_pass(result)
            # the same proof inside an array (the 1EdTech schema's form) is accepted outright
            as_array = verify({**credential, "proof": [proof]}, now=NOW, fetcher=fetcher())
            assert as_array.outcome is Outcome.VALID, as_array.to_json()
            assert as_array.verified


def test_our_verifier_accepts_digital_bazaar_single_proof_object(db_signed: list[DbSigned]) -> None:
    for run in db_signed:
        for credential in run.answer["credentials"]:
            result = verify(credential, now=NOW, fetcher=fetcher())
            assert result.outcome is Outcome.VALID, result.to_json()
            assert result.verified


def test_w3c_vector_signed_with_digital_bazaar_libraries() -> None:
    """The W3C eddsa-rdfc-2022 vector (reproduced by sign-di in test_harness.py).

    Its issuer (https://vc.example/issuers/5678) does not control its did:key verification
    method: our verifier refuses that by design (key provenance), while the proof alone holds.
    """
    credential = json.loads((W3C / "eddsa-rdfc-2022" / "signedDataInt.json").read_text(encoding="utf-8"))
    public_key_multibase = json.loads((W3C / "keyPair.json").read_text(encoding="utf-8"))[
        "publicKeyMultibase"
    ]
    assert credential["issuer"] != credential["proof"]["verificationMethod"].split("#")[0]

    result = verify(credential, now=NOW, fetcher=MappingFetcher({}))
    proof_check = result.check("proof")
    assert proof_check is not None
    assert proof_check.outcome is Outcome.INVALID
    assert proof_check.code == "verification_method_invalid"
    assert "https://vc.example/issuers/5678" in proof_check.message
    assert result.outcome is Outcome.INVALID

    public_key = PublicKey.from_multibase(public_key_multibase)
    verify_proof(credential, credential["proof"], public_key)  # raises if the signature fails
    tampered = copy.deepcopy(credential)
    tampered["credentialSubject"]["alumniOf"] += "!"
    with pytest.raises(ProofInvalid) as caught:
        verify_proof(tampered, tampered["proof"], public_key)
    assert caught.value.code == "signature_invalid"


def _jwt_payload(credential: dict[str, Any]) -> dict[str, Any]:
    return {
        **credential,
        "iss": credential["issuer"]["id"],
        "jti": credential["id"],
        "nbf": epoch(credential["validFrom"]),
        "exp": epoch(credential["validUntil"]),
    }


def test_our_verifier_accepts_vc_jwts_signed_by_jose() -> None:
    key = DID_WEB_SIGNERS[1]  # the newer did:web key
    kid = verification_method_id(DID_WEB, key.public_key)
    unsigned = _unsigned_batch(DID_WEB, 30)
    payloads = [_jwt_payload(credential) for credential in unsigned]
    # a control the signature cannot rescue: a claim that contradicts the credential
    wrong_nbf = {**payloads[0], "nbf": payloads[0]["nbf"] + 3600}
    answer = run_node(
        "jose.mjs",
        {
            "op": "sign",
            "payloads": [*payloads, wrong_nbf],
            "privateJwk": key.private_jwk(),
            "kid": kid,
            "typ": "JWT",
        },
    )
    *tokens, wrong_token = answer["tokens"]
    assert len(tokens) == len(unsigned)
    for credential, token in zip(unsigned, tokens, strict=True):
        header = json.loads(b64url_decode(token.split(".")[0]))
        assert header == {"alg": "EdDSA", "kid": kid, "typ": "JWT"}
        result = verify(token, now=NOW, fetcher=fetcher())
        assert result.format == "jwt"
        assert result.outcome is Outcome.VALID, result.to_json()
        assert result.verified
        proof_check = result.check("proof")
        assert proof_check is not None
        assert proof_check.code == "signature_valid"
        assert result.credential == credential

    refused = verify(wrong_token, now=NOW, fetcher=fetcher())
    proof_check = refused.check("proof")
    assert proof_check is not None
    assert (proof_check.outcome, proof_check.code) == (Outcome.INVALID, "jwt_claim_mismatch")


# --- tampering ---------------------------------------------------------------------------------


def change_last_character(value: str) -> str:
    return value[:-1] + ("x" if value[-1:] != "x" else "y")


def one_second_later(value: str) -> str:
    moment = datetime.fromisoformat(value) + timedelta(seconds=1)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def one_day_later(value: str) -> str:
    moment = datetime.fromisoformat(value) + timedelta(days=1)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def tampered(
    credential: dict[str, Any], path: tuple[str | int, ...], change: Callable[[str], str]
) -> dict[str, Any]:
    """A copy of ``credential`` with the string leaf at ``path`` changed."""
    copied = copy.deepcopy(credential)
    node: Any = copied
    for step in path[:-1]:
        node = node[step]
    before = node[path[-1]]
    node[path[-1]] = change(before)
    assert node[path[-1]] != before
    return copied


NAME = ("credentialSubject", "name")
VALID_UNTIL = ("validUntil",)
ACHIEVEMENT_NAME = ("credentialSubject", "achievement", "name")
ISSUER_NAME = ("issuer", "name")
EVIDENCE_NARRATIVE = ("evidence", 0, "narrative")


def test_tampered_data_integrity_credentials_fail_both_verifiers(
    ours: list[Issued], db_signed: list[DbSigned], contexts: dict[str, Any]
) -> None:
    ours_created = ("proof", 0, "created")  # our proof is an array
    db_created = ("proof", "created")  # Digital Bazaar's is one object
    changes = [
        (NAME, change_last_character),
        (VALID_UNTIL, one_day_later),
        (ACHIEVEMENT_NAME, change_last_character),
        (ISSUER_NAME, change_last_character),
        (EVIDENCE_NARRATIVE, change_last_character),
    ]
    cases: list[tuple[str, dict[str, Any]]] = []
    controls: list[tuple[str, dict[str, Any]]] = []
    # ours: each change on a did:key and a did:web credential (names with control characters)
    for item in (ours[12], ours[13], ours[16], ours[17]):
        controls.append((f"ours #{item.index}", item.ldp))
    for number, (path, change) in enumerate([*changes, (ours_created, one_second_later)]):
        for item in (ours[12 + 4 * (number % 2)], ours[13 + 4 * (number % 2)]):
            cases.append((f"ours #{item.index} {path}", tampered(item.ldp, path, change)))
    # Digital Bazaar's: the same kinds of change on one credential of each controller
    for run in db_signed:
        first = run.answer["credentials"][0]
        controls.append((f"db {run.controller[:12]}", first))
        for path, change in [*changes[:3], (db_created, one_second_later)]:
            cases.append((f"db {run.controller[:12]} {path}", tampered(first, path, change)))
    assert len(cases) == 12 + 8

    everything = controls + cases
    answer = run_node(
        "verify-di.mjs",
        {
            "contexts": contexts,
            "documents": NODE_DOCUMENTS,
            "credentials": [c for _, c in everything],
            "now": NOW_ISO,
        },
    )
    results = dict(zip([label for label, _ in everything], answer["results"], strict=True))

    for label, credential in controls:
        assert results[label] == VERIFIED, (label, results[label])
        proof_check = verify(credential, now=NOW, fetcher=fetcher()).check("proof")
        assert proof_check is not None
        assert proof_check.outcome is Outcome.VALID, (label, proof_check)
    for label, credential in cases:
        theirs = results[label]
        assert theirs["verified"] is False, label
        assert theirs["proofVerified"] is False, label
        assert "Invalid signature" in theirs["proofError"], (label, theirs["proofError"])
        result = verify(credential, now=NOW, fetcher=fetcher())
        assert result.outcome is Outcome.INVALID, label
        proof_check = result.check("proof")
        assert proof_check is not None
        assert (proof_check.outcome, proof_check.code) == (Outcome.INVALID, "signature_invalid"), (
            label,
            proof_check,
        )


def _with_payload_text(token: str, edit: Callable[[str], str]) -> str:
    """The token with its payload JSON edited as text; header and signature kept."""
    header, payload, signature = token.split(".")
    text = b64url_decode(payload).decode("utf-8")
    edited = edit(text)
    assert edited != text
    assert len(edited) == len(text)
    return f"{header}.{b64url(edited.encode('utf-8'))}.{signature}"


def _change_character_at(text: str, position: int) -> str:
    old = text[position]
    new = "7" if old != "7" else "8"
    return text[:position] + new + text[position + 1 :]


def _change_license_digit(text: str) -> str:
    match = re.search(r'"licenseNumber":"CAIEP-\d{4}-\d{6}"', text)
    assert match is not None
    return _change_character_at(text, match.end() - 2)


def _change_exp_digit(text: str) -> str:
    match = re.search(r'"exp":(\d+)', text)
    assert match is not None
    return _change_character_at(text, match.end(1) - 1)


def _change_holder_name_character(name: str) -> Callable[[str], str]:
    def edit(text: str) -> str:
        # our payload writes non-ASCII unescaped: the name's JSON form occurs exactly once
        encoded = '"name":' + json.dumps(name, ensure_ascii=False)
        assert text.count(encoded) == 1
        return _change_character_at(text, text.index(encoded) + len('"name":"'))

    return edit


def _flip_payload_segment_character(token: str) -> str:
    header, payload, signature = token.split(".")
    middle = len(payload) // 2
    flipped = payload[:middle] + ("A" if payload[middle] != "A" else "B") + payload[middle + 1 :]
    return f"{header}.{flipped}.{signature}"


def test_tampered_vc_jwts_fail_both_verifiers(ours: list[Issued]) -> None:
    did_key_item, did_web_item = ours[14], ours[15]
    control = did_web_item.jwt
    cases = {
        "licence digit (did:key)": _with_payload_text(did_key_item.jwt, _change_license_digit),
        "exp digit (did:web)": _with_payload_text(did_web_item.jwt, _change_exp_digit),
        "holder name (did:web)": _with_payload_text(
            did_web_item.jwt,
            _change_holder_name_character(did_web_item.unsigned["credentialSubject"]["name"]),
        ),
    }
    flipped = _flip_payload_segment_character(did_key_item.jwt)
    jwks = [
        {**item.key.public_key.to_jwk(), "kid": item.verification_method}
        for item in (did_key_item, did_web_item)
    ]
    tokens = [control, *cases.values(), flipped]
    answer = run_node(
        "jose.mjs", {"op": "verify", "tokens": tokens, "jwks": jwks, "algorithms": ["EdDSA"], "now": NOW_ISO}
    )
    control_result, *case_results, flipped_result = answer["results"]

    assert control_result["verified"] is True, control_result
    assert verify(control, now=NOW, fetcher=fetcher()).outcome is Outcome.VALID
    for (label, token), theirs in zip(cases.items(), case_results, strict=True):
        assert theirs["verified"] is False, label
        assert theirs["error"].startswith("ERR_JWS_SIGNATURE_VERIFICATION_FAILED"), (label, theirs["error"])
        result = verify(token, now=NOW, fetcher=fetcher())
        assert result.outcome is Outcome.INVALID, label
        proof_check = result.check("proof")
        assert proof_check is not None
        assert (proof_check.outcome, proof_check.code) == (Outcome.INVALID, "jws_signature_invalid"), label
    # one base64url character of the payload segment changed: bytes no longer say the same thing
    assert flipped_result["verified"] is False
    flipped_ours = verify(flipped, now=NOW, fetcher=fetcher())
    assert flipped_ours.outcome is Outcome.INVALID
    assert not flipped_ours.verified


# --- the reference charter credential -----------------------------------------------------------


def test_reference_charter_credential_proof_valid_status_unknown() -> None:
    """Signed by Digital Bazaar with a did:key; its status list is not reachable offline."""
    credential = json.loads((VECTORS / "charter-credential" / "signed.json").read_text(encoding="utf-8"))
    result = verify(credential, now=NOW, fetcher=MappingFetcher({}))
    proof_check = result.check("proof")
    assert proof_check is not None
    assert (proof_check.outcome, proof_check.code) == (Outcome.VALID, "signature_valid")
    status = result.check("status")
    assert status is not None
    assert (status.outcome, status.code) == (Outcome.UNKNOWN, "STATUS_RETRIEVAL_ERROR")
    assert {c.name: c.outcome for c in result.checks if c.name not in ("proof", "status")} == {
        "structure": Outcome.VALID,
        "contexts": Outcome.VALID,
        "validity": Outcome.VALID,
    }
    assert result.outcome is Outcome.UNKNOWN
    assert not result.verified
