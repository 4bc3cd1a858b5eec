"""The charter credential: its shape, dates, hashed identity, schema validity, golden bytes."""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, date, datetime

import pytest

from caiep.errors import InputError
from caiep.issuer.charter import (
    CharterAward,
    IssuerProfile,
    add_years,
    build_charter_credential,
    identity_hash,
    normalise_email,
)
from caiep.issuer.issuance import issue_charter
from caiep.keys.did import verification_method_id
from caiep.schemas.validation import achievement_credential_issues
from caiep.verifier.verify import verify
from support import EXTERNAL, GOLDEN, load_json

PROFILE = IssuerProfile(
    id="did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
    name="CAiEP Certification Board",
    url="https://credentials.caiep.example",
    base_url="https://credentials.caiep.example",
)
AWARD = CharterAward(
    name="Jane Doe",
    email=" Jane.Doe@Example.org ",
    exam_date=date(2026, 6, 1),
    charter_number="CAIEP-2026-000123",
    score="82",
    exam_version="2026.1",
    pathway="experience",
)
NOW = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)


def _build(**overrides):
    arguments = {
        "credential_uuid": "6f1d2c3e-8a4b-4f5e-9c7d-0b1a2c3d4e5f",
        "now": NOW,
        "salt": "3f9a1c52e07b4d68",
    }
    award = overrides.pop("award", AWARD)
    return build_charter_credential(PROFILE, award, **{**arguments, **overrides})


def test_valid_five_calendar_years_from_issue():
    doc = _build()
    assert doc["validFrom"] == "2026-11-26T09:30:00Z"
    assert doc["validUntil"] == "2031-11-26T09:30:00Z"
    assert doc["awardedDate"] == doc["validFrom"]


def test_29_february_ends_on_28_february():
    assert add_years(datetime(2028, 2, 29, 12, tzinfo=UTC), 5) == datetime(2033, 2, 28, 12, tzinfo=UTC)
    assert add_years(datetime(2028, 2, 29, tzinfo=UTC), 4) == datetime(2032, 2, 29, tzinfo=UTC)
    doc = _build(now=datetime(2028, 2, 29, 8, tzinfo=UTC), award=AWARD)
    assert doc["validUntil"] == "2033-02-28T08:00:00Z"


def test_renewal_keeps_the_first_award_date():
    first = datetime(2021, 3, 1, tzinfo=UTC)
    doc = _build(award=CharterAward(**{**AWARD.__dict__, "awarded": first}))
    assert doc["awardedDate"] == "2021-03-01T00:00:00Z"
    assert doc["validFrom"] == "2026-11-26T09:30:00Z"


def test_identity_hash_matches_the_ob_specification_example():
    assert identity_hash("a@example.com", "Kosher") == (
        "sha256$b5809d8a92f8858436d7e6b87c12ebc0ae1eac4baecc2c0b913aee2c922ef399"
    )


def test_email_is_normalised_hashed_and_never_stored_in_clear():
    doc = _build()
    identifier = doc["credentialSubject"]["identifier"][0]
    expected = hashlib.sha256(b"jane.doe@example.org3f9a1c52e07b4d68").hexdigest()
    assert identifier == {
        "type": "IdentityObject",
        "identityHash": f"sha256${expected}",
        "identityType": "emailAddress",
        "hashed": True,
        "salt": "3f9a1c52e07b4d68",
    }
    assert "example.org" not in str(doc).replace("credentials.caiep.example", "")


@pytest.mark.parametrize("email", ["", "jane", "jane@", "@example.org", "jane doe@example.org", "a@b@c.org"])
def test_not_an_email_is_refused(email):
    with pytest.raises(InputError):
        normalise_email(email)


def test_charter_facts_are_where_employers_and_wallets_look():
    subject = _build()["credentialSubject"]
    achievement = subject["achievement"]
    assert achievement["achievementType"] == "Certification"
    assert achievement["humanCode"] == "CAiEP"
    assert achievement["id"] == "https://credentials.caiep.example/achievements/caiep"
    assert subject["licenseNumber"] == "CAIEP-2026-000123"
    assert subject["result"] == [
        {
            "type": ["Result"],
            "resultDescription": "https://credentials.caiep.example/achievements/caiep#score",
            "value": "82",
        }
    ]
    assert subject["name"] == "Jane Doe"


def test_same_shape_as_the_reference_charter_credential():
    reference = load_json(EXTERNAL / "charter-credential" / "unsigned.json")
    ours = _build()
    assert ours["@context"] == reference["@context"]
    assert set(ours) == set(reference) - {"credentialStatus"}
    assert set(ours["credentialSubject"]) == set(reference["credentialSubject"])
    assert set(ours["credentialSubject"]["achievement"]) == set(reference["credentialSubject"]["achievement"])


def test_the_built_credential_is_valid_against_the_1edtech_schema():
    assert achievement_credential_issues(_build()) == []
    assert (
        achievement_credential_issues(
            _build(award=CharterAward("Jane Doe", "j@example.org", date(2026, 1, 1), "C"))
        )
        == []
    )


@pytest.mark.parametrize(
    ("award", "message"),
    [
        (CharterAward("   ", "j@example.org", date(2026, 6, 1), "C"), "name is empty"),
        (CharterAward("Jane", "j@example.org", date(2026, 12, 1), "C"), "in the future"),
        (CharterAward("Jane", "j@example.org", date(2026, 6, 1), "C", pathway="luck"), "pathway"),
    ],
)
def test_bad_awards_are_refused(award, message):
    with pytest.raises(InputError, match=message):
        _build(award=award)


def _golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert text.encode("utf-8") == path.read_bytes(), (
        f"{path} differs; rerun with UPDATE_GOLDEN=1 if intended"
    )


@pytest.mark.parametrize("fmt", ["ldp", "jwt"])
def test_signed_output_is_byte_identical_to_the_golden_file(fmt):
    from caiep.keys.ed25519 import SigningKey

    key = SigningKey.from_seed(bytes(32))
    signed = issue_charter(
        PROFILE,
        AWARD,
        key,
        verification_method=verification_method_id(PROFILE.id, key.public_key),
        now=NOW,
        format=fmt,
        credential_uuid="6f1d2c3e-8a4b-4f5e-9c7d-0b1a2c3d4e5f",
        salt="3f9a1c52e07b4d68",
    )
    _golden(f"charter-credential.{'json' if fmt == 'ldp' else 'jwt'}", signed.serialize())
    result = verify(signed.token or signed.credential, now=NOW)
    assert result.verified, result.to_json()
