"""The CAiEP® charter credential: an Open Badges 3.0 AchievementCredential (VCDM 2.0).

Shape (OB 3.0 §B.1 AchievementCredential, STANDARDS §1.6): the achievement is a
``Certification`` whose ``humanCode`` is the post-nominal "CAiEP"; the holder is named and
identified by a salted SHA-256 hash of their e-mail (an ``IdentityObject``, OB §B.1.9), never
the address itself; the charter is valid five calendar years from issue. Contexts are
VCDM 2.0, OB 3.0.3 and the OB extensions context, which is the only one that defines the
``1EdTechJsonSchemaValidator2019`` type used in ``credentialSchema``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from caiep.addresses import ServiceAddresses
from caiep.errors import InputError
from caiep.timestamps import format_timestamp

CONTEXTS = (
    "https://www.w3.org/ns/credentials/v2",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json",
)
OB_SCHEMA = "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json"
VALIDITY_YEARS = 5
CHARTER_NAME = "CAiEP® Charter"
POST_NOMINAL = "CAiEP"
CHARTER_DESCRIPTION = (
    "Chartered AI Engineering Professional: the senior charter for the architecture and "
    "system integration of AI engineering. Holders use the post-nominal CAiEP and renew every five years."
)
CRITERIA_NARRATIVE = (
    "Meet one eligibility pathway (professional experience, AI-engineering apprenticeship, "
    "academic, or exceptional contribution) and pass the CAiEP examination within the "
    "365-day exam window that starts at registration. Renew every five years."
)
PATHWAYS = {
    "experience": "professional experience",
    "aie": "AI-engineering apprenticeship",
    "academic": "academic qualification",
    "exceptional": "exceptional contribution",
}
# Deliberately simple: one @, no spaces, a dot in the domain. Full RFC 5322 is not the point;
# catching typos in an import is.
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+\Z")


@dataclass(frozen=True)
class IssuerProfile:
    """The certification body as it appears in every credential (OB Profile)."""

    id: str
    name: str
    url: str
    base_url: str

    def to_json(self) -> dict[str, Any]:
        """The issuer as the credential's ``issuer`` property (an OB 3.0 Profile)."""
        return {"id": self.id, "type": ["Profile"], "name": self.name, "url": self.url}


@dataclass(frozen=True)
class CharterAward:
    """What one credential states about its holder."""

    name: str
    email: str
    exam_date: date
    charter_number: str
    score: str | None = None
    exam_version: str | None = None
    pathway: str | None = None
    awarded: datetime | None = None


def normalise_email(email: str) -> str:
    """Trimmed and lower-cased, the form that is hashed at issue and at verification."""
    value = email.strip().lower()
    if not _EMAIL.match(value):
        raise InputError(f"not an e-mail address: {email!r}")
    return value


def identity_hash(email: str, salt: str) -> str:
    """OB 3.0 IdentityHash: ``sha256$`` + hex SHA-256 of the normalised e-mail followed by the salt."""
    return "sha256$" + hashlib.sha256((normalise_email(email) + salt).encode("utf-8")).hexdigest()


def add_years(moment: datetime, years: int) -> datetime:
    """The same instant ``years`` calendar years later; 29 February becomes 28 February."""
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:
        return moment.replace(year=moment.year + years, day=28)


def credential_url(base_url: str, credential_uuid: str) -> str:
    """The stable public id of a credential: ``<base>/credentials/<uuid>`` (see caiep.addresses)."""
    return ServiceAddresses(base_url).credential(credential_uuid)


def achievement_url(base_url: str) -> str:
    """Where the Achievement definition is published (see caiep.addresses)."""
    return ServiceAddresses(base_url).achievement()


def achievement(base_url: str) -> dict[str, Any]:
    """The charter's OB Achievement, the same in every credential."""
    home = achievement_url(base_url)
    return {
        "id": home,
        "type": ["Achievement"],
        "achievementType": "Certification",
        "name": CHARTER_NAME,
        "humanCode": POST_NOMINAL,
        "description": CHARTER_DESCRIPTION,
        "criteria": {"id": f"{home}/criteria", "narrative": CRITERIA_NARRATIVE},
        "image": {
            "id": ServiceAddresses(base_url).badge("png"),
            "type": "Image",
            "caption": "CAiEP charter badge",
        },
        "resultDescription": [
            {
                "id": f"{home}#score",
                "type": ["ResultDescription"],
                "name": "CAiEP examination score",
                "resultType": "ScaledScore",
                "valueMin": "0",
                "valueMax": "100",
                "requiredValue": "70",
            }
        ],
    }


def build_charter_credential(
    issuer: IssuerProfile,
    award: CharterAward,
    *,
    credential_uuid: str,
    now: datetime,
    salt: str,
    status: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The unsigned charter credential, valid from ``now`` for five calendar years.

    ``status`` is the copy's one ``credentialStatus`` (a ``BitstringStatusListEntry``); the
    1EdTech schema allows a single object, so there is never more than one.

    ``salt`` is random per credential (``secrets.token_hex(16)``), so the same e-mail in two
    credentials gives unrelated hashes. ``award.awarded`` keeps the first award date on
    renewal; it defaults to ``now``.
    """
    if not award.name.strip():
        raise InputError("the holder's name is empty")
    if award.exam_date > now.date():
        raise InputError(f"exam date {award.exam_date.isoformat()} is in the future")
    valid_from = now.astimezone(UTC).replace(microsecond=0)
    subject: dict[str, Any] = {
        "type": ["AchievementSubject"],
        "name": award.name.strip(),
        "identifier": [
            {
                "type": "IdentityObject",
                "identityHash": identity_hash(award.email, salt),
                "identityType": "emailAddress",
                "hashed": True,
                "salt": salt,
            }
        ],
        "licenseNumber": award.charter_number,
        "achievement": achievement(issuer.base_url),
    }
    if award.score is not None:
        subject["result"] = [
            {
                "type": ["Result"],
                "resultDescription": f"{achievement_url(issuer.base_url)}#score",
                "value": award.score,
            }
        ]
    credential: dict[str, Any] = {
        "@context": list(CONTEXTS),
        "id": credential_url(issuer.base_url, credential_uuid),
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": CHARTER_NAME,
        "description": CHARTER_DESCRIPTION,
        "issuer": issuer.to_json(),
        "validFrom": format_timestamp(valid_from),
        "validUntil": format_timestamp(add_years(valid_from, VALIDITY_YEARS)),
        "awardedDate": format_timestamp(award.awarded or valid_from),
        "credentialSubject": subject,
        "evidence": _evidence(award),
        "credentialSchema": [{"id": OB_SCHEMA, "type": "1EdTechJsonSchemaValidator2019"}],
    }
    if status is not None:
        credential["credentialStatus"] = status
    return credential


def _evidence(award: CharterAward) -> list[dict[str, Any]]:
    exam = f"CAiEP examination {award.exam_version}" if award.exam_version else "CAiEP examination"
    narrative = f"Examination passed on {award.exam_date.isoformat()}"
    narrative += f" with a scaled score of {award.score}." if award.score is not None else "."
    items: list[dict[str, Any]] = [{"type": ["Evidence"], "name": exam, "narrative": narrative}]
    if award.pathway is not None:
        label = PATHWAYS.get(award.pathway)
        if label is None:
            raise InputError(
                f"unknown eligibility pathway {award.pathway!r}; expected one of {', '.join(PATHWAYS)}"
            )
        items.append(
            {
                "type": ["Evidence"],
                "name": f"Eligibility pathway: {label}",
                "narrative": f"Eligible for the CAiEP examination through the {label} pathway.",
            }
        )
    return items
