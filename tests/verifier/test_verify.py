"""verify(): valid credentials, the validity window and structure, on real signed credentials.

Credentials come from the real issuer code with a fixed seed, time, uuid and salt (see
conftest.py). did:key issuers resolve locally; a did:web issuer's DID document is served by a
MappingFetcher under ``did_web_document_url(did)``; nothing leaves the machine.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from caiep.keys.did import did_key_for
from caiep.keys.ed25519 import SigningKey
from caiep.verifier.fetch import MappingFetcher
from caiep.verifier.result import Outcome, Verdict
from caiep.verifier.verify import verify

if TYPE_CHECKING:
    from conftest import Issuer


from verifying import (
    END,
    NOW,
    SKEW,
    VALID_FROM,
    VALID_LDP_CHECKS,
    VALID_UNTIL,
    VCDM11_FIXTURE,
    assert_invalid,
    assert_undecided,
    code_of,
    controller_document,
    load,
    outcome_of,
    summary,
)

# --- valid credentials -------------------------------------------------------------------------


def test_valid_ldp_credential_passes_every_check(issuer: Issuer) -> None:
    credential = issuer.issue()
    assert credential["proof"][0]["verificationMethod"] == issuer.vm

    result = verify(credential, now=NOW, fetcher=issuer.fetcher())

    assert summary(result) == VALID_LDP_CHECKS
    assert result.verified
    assert result.outcome is Outcome.VALID
    assert result.verdict is Verdict.VALID
    assert result.format == "ldp"
    report = result.to_json()
    assert (report["verified"], report["status"], report["outcome"]) == (True, "valid", "valid")
    assert [c["name"] for c in report["checks"]] == ["structure", "contexts", "proof", "validity", "status"]


def test_valid_jwt_passes_every_check(issuer: Issuer) -> None:
    token = issuer.jwt()

    result = verify(token, now=NOW, fetcher=issuer.fetcher())

    assert summary(result) == VALID_LDP_CHECKS
    assert result.verdict is Verdict.VALID
    assert result.format == "jwt"
    assert result.credential is not None
    assert result.credential["credentialSubject"]["name"] == "Jane Doe"


def test_did_web_document_is_fetched_from_the_did_web_url(did_web_issuer: Issuer) -> None:
    fetcher = did_web_issuer.fetcher()

    result = verify(did_web_issuer.issue(), now=NOW, fetcher=fetcher)

    assert result.verdict is Verdict.VALID
    assert fetcher.requested == ["https://credentials.caiep.example/.well-known/did.json"]


def test_did_key_issuer_needs_no_network(did_key_issuer: Issuer) -> None:
    assert verify(did_key_issuer.issue(), now=NOW, fetcher=None).verdict is Verdict.VALID


def test_mapping_input_is_not_modified(did_key_issuer: Issuer) -> None:
    credential = did_key_issuer.issue()
    before = copy.deepcopy(credential)
    verify(credential, now=NOW)
    assert credential == before


def test_naive_now_is_refused(did_key_issuer: Issuer) -> None:
    with pytest.raises(ValueError, match="timezone"):
        verify(did_key_issuer.issue(), now=NOW.replace(tzinfo=None))


# --- the validity window ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "verdict", "code"),
    [
        pytest.param(END + SKEW + timedelta(seconds=1), Verdict.EXPIRED, "expired", id="past-skew"),
        pytest.param(END + timedelta(days=400), Verdict.EXPIRED, "expired", id="long-expired"),
        pytest.param(END + SKEW, Verdict.VALID, "within_validity", id="at-skew-limit"),
        pytest.param(END + timedelta(minutes=4), Verdict.VALID, "within_validity", id="within-skew"),
        pytest.param(NOW - SKEW, Verdict.VALID, "within_validity", id="early-within-skew"),
        pytest.param(NOW - SKEW - timedelta(seconds=1), Verdict.NOT_YET_VALID, "not_yet_valid", id="early"),
    ],
)
def test_validity_window_with_five_minute_skew(
    issuer: Issuer, moment: datetime, verdict: Verdict, code: str
) -> None:
    credential = issuer.issue()
    assert (credential["validFrom"], credential["validUntil"]) == (VALID_FROM, VALID_UNTIL)

    for presented in (credential, issuer.jwt()):
        result = verify(presented, now=moment, fetcher=issuer.fetcher())
        assert code_of(result, "validity") == code
        assert outcome_of(result, "proof") is Outcome.VALID
        assert result.verdict is verdict


def test_clock_skew_is_a_parameter(did_key_issuer: Issuer) -> None:
    credential = did_key_issuer.issue()
    late = END + timedelta(seconds=1)
    assert verify(credential, now=late).verdict is Verdict.VALID
    assert verify(credential, now=late, max_clock_skew=timedelta(0)).verdict is Verdict.EXPIRED


def test_valid_from_after_valid_until_is_invalid(did_key_issuer: Issuer) -> None:
    unsigned = did_key_issuer.unsigned()
    unsigned["validFrom"], unsigned["validUntil"] = VALID_UNTIL, VALID_FROM

    result = verify(did_key_issuer.sign(unsigned), now=NOW + timedelta(days=1))

    assert outcome_of(result, "proof") is Outcome.VALID
    assert code_of(result, "validity") == "validity_inverted"
    assert_invalid(result)


def test_integrity_failures_dominate_expiry(did_key_issuer: Issuer) -> None:
    credential = did_key_issuer.issue()
    credential["name"] = "Forged"

    result = verify(credential, now=END + timedelta(days=1))

    assert code_of(result, "validity") == "expired"
    assert result.verdict is Verdict.INVALID  # tampered, not merely "expired"


def _vcdm11_fetcher(*, listed_for: str = "assertionMethod") -> tuple[dict[str, Any], MappingFetcher]:
    credential = load(VCDM11_FIXTURE)
    method_id = credential["proof"][0]["verificationMethod"]
    url, document = controller_document(method_id, method_type="Ed25519VerificationKey2020")
    document["@context"] = [
        "https://www.w3.org/ns/did/v1",
        "https://w3id.org/security/suites/ed25519-2020/v1",
    ]
    if listed_for != "assertionMethod":
        document[listed_for] = document.pop("assertionMethod")
    return credential, MappingFetcher({url: document})


def test_vcdm11_fixture_verifies_with_itscontroller_document() -> None:
    """1EdTech's VCDM 1.1 fixture (Ed25519Signature2020, issuanceDate, https issuer).

    Its issuer https://example.com/issuers/876543 cannot be fetched offline, so we serve a
    controller document holding the key its proof names (the ``z6Mk…`` fragment of the
    verificationMethod). The signature is genuine for that key, so the legacy suite, the https
    Retrieve Verification Method path and the VCDM 1.1 date fields all verify.
    """
    credential, fetcher = _vcdm11_fetcher()

    result = verify(credential, now=NOW, fetcher=fetcher)

    assert summary(result) == [
        ("structure", Outcome.VALID, "structure_valid"),
        ("contexts", Outcome.VALID, "contexts_pinned"),
        ("proof", Outcome.VALID, "signature_valid"),
        ("validity", Outcome.VALID, "within_validity"),
        ("status", Outcome.NOT_APPLICABLE, "no_status"),
    ]
    assert result.verdict is Verdict.VALID


def test_vcdm11_fixture_reads_issuance_date() -> None:
    credential, fetcher = _vcdm11_fetcher()
    assert credential["issuanceDate"] == "2010-01-01T00:00:00Z"
    before = NOW.replace(year=2009, month=12, day=31, hour=23, minute=54)

    result = verify(credential, now=before, fetcher=fetcher)

    assert code_of(result, "validity") == "not_yet_valid"
    assert result.verdict is Verdict.NOT_YET_VALID


def test_vcdm11_fixture_tampered_is_invalid() -> None:
    credential, fetcher = _vcdm11_fetcher()
    credential["credentialSubject"]["achievement"]["name"] = "Leadership"

    result = verify(credential, now=NOW, fetcher=fetcher)

    assert code_of(result, "proof") == "signature_invalid"
    assert_invalid(result)


def test_vcdm11_fixture_key_only_for_authentication_is_invalid() -> None:
    credential, fetcher = _vcdm11_fetcher(listed_for="authentication")

    result = verify(credential, now=NOW, fetcher=fetcher)

    assert code_of(result, "proof") == "verification_method_invalid"
    assert_invalid(result)


def test_vcdm11_fixture_without_its_controller_document_cannot_be_verified() -> None:
    credential, _ = _vcdm11_fetcher()
    assert_undecided(verify(credential, now=NOW, fetcher=MappingFetcher({})), "proof")
    assert_undecided(verify(credential, now=NOW, fetcher=None), "proof")


# --- structure -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("edit", "pointer"),
    [
        pytest.param(
            lambda c: c["issuer"].__setitem__("type", "Profile"), "/issuer/type", id="issuer-type-string"
        ),
        pytest.param(
            lambda c: c["credentialSubject"].__setitem__("type", "AchievementSubject"),
            "/credentialSubject/type",
            id="subject-type-string",
        ),
        pytest.param(lambda c: c.pop("issuer"), "/:", id="missing-issuer"),
        pytest.param(
            lambda c: c["credentialSubject"]["identifier"][0].__setitem__("identityType", "shoeSize"),
            "/credentialSubject/identifier/0/identityType",
            id="bad-enum",
        ),
        pytest.param(
            lambda c: c["credentialSubject"].pop("identifier"), "/credentialSubject", id="no-recipient"
        ),
    ],
)
def test_schema_failures_name_a_json_pointer(
    did_key_issuer: Issuer, edit: Callable[[dict[str, Any]], Any], pointer: str
) -> None:
    """Signed as is: the proof holds, so only the structure check can catch these."""
    unsigned = did_key_issuer.unsigned()
    edit(unsigned)

    result = verify(did_key_issuer.sign(unsigned), now=NOW)

    structure = result.checks[0]
    assert (structure.name, structure.outcome, structure.code) == (
        "structure",
        Outcome.INVALID,
        "schema_invalid",
    )
    assert structure.message.startswith(pointer)
    assert_invalid(result)


def test_missing_issuer_message_names_the_property(did_key_issuer: Issuer) -> None:
    unsigned = did_key_issuer.unsigned()
    del unsigned["issuer"]
    message = verify(did_key_issuer.sign(unsigned), now=NOW).checks[0].message
    assert "issuer" in message


def test_type_without_open_badge_is_not_an_open_badge(did_key_issuer: Issuer) -> None:
    credential = did_key_issuer.issue()
    credential["type"] = "VerifiableCredential"

    result = verify(credential, now=NOW)

    assert code_of(result, "structure") == "not_an_open_badge"
    assert_invalid(result)


def test_single_proof_object_is_accepted(did_key_issuer: Issuer) -> None:
    """Digital Bazaar's libraries emit ``proof`` as one object (VCDM 2.0 allows it); it means
    the one-element array the 1EdTech schema asks for, so it verifies."""
    credential = did_key_issuer.issue()
    credential["proof"] = credential["proof"][0]

    result = verify(credential, now=NOW)

    assert summary(result) == VALID_LDP_CHECKS


def test_lone_proof_object_is_still_schema_checked(did_key_issuer: Issuer) -> None:
    credential = did_key_issuer.issue()
    credential["proof"] = credential["proof"][0]
    credential["issuer"]["type"] = "Profile"

    result = verify(credential, now=NOW)

    assert code_of(result, "structure") == "schema_invalid"
    assert result.checks[0].message.startswith("/issuer/type")
    assert_invalid(result)


def test_vcdm11_credential_without_issuer_id_is_not_valid(
    key_b: SigningKey, make_issuer: type[Issuer]
) -> None:
    """STANDARDS §2.5: if key provenance cannot be verified, the credential is invalid."""
    credential = load(VCDM11_FIXTURE)
    del credential["proof"]
    credential["@context"].append("https://w3id.org/security/data-integrity/v2")
    credential["issuer"] = {"type": ["Profile"], "name": "Example Corp"}
    anyone = make_issuer(did_key_for(key_b.public_key), key_b)

    result = verify(anyone.sign(credential), now=NOW)

    assert not result.verified
    assert outcome_of(result, "proof") is not Outcome.VALID
