"""What the interop tests share: keys, issuers, our credentials and Digital Bazaar's.

The expensive batches (our 40 credentials, one Node signing run per controller) are built by
the session fixtures in conftest.py from the functions here.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from caiep.issuer.charter import CharterAward, IssuerProfile, build_charter_credential
from caiep.issuer.issuance import issue_charter
from caiep.keys.did import (
    build_controller_document,
    did_key_for,
    did_web_document_url,
    verification_method_id,
)
from caiep.keys.ed25519 import PublicKey, SigningKey
from caiep.verifier.fetch import MappingFetcher
from node import run_node

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


def issue_ours() -> list[Issued]:
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


def sign_with_digital_bazaar(contexts: dict[str, Any]) -> list[DbSigned]:
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
