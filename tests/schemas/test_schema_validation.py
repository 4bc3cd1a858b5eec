"""Validation against the 1EdTech OB 3.0 JSON Schemas: vectors, common mistakes, pointers, messages."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from jsonschema import Draft201909Validator

from caiep.errors import SchemaIssue, SchemaValidationError
from caiep.schemas import validation
from caiep.schemas.compiled import Compiler
from caiep.schemas.validation import (
    SUBJECT_IDENTITY_KEYWORD,
    achievement_credential_issues,
    endorsement_credential_issues,
    is_date_time_stamp,
    is_full_date,
    profile_issues,
    validate_achievement_credential,
    validate_endorsement_credential,
    validate_profile,
)

VECTORS = Path(__file__).parents[1] / "vectors" / "external"
ONE_EDTECH = VECTORS / "1edtech"


def load(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_bytes())
    return document


@pytest.fixture
def charter() -> dict[str, Any]:
    """A fresh copy of the signed charter credential, free to mutate."""
    return load(VECTORS / "charter-credential" / "signed.json")


def where(issues: list[SchemaIssue]) -> list[tuple[str, str]]:
    return [(i.json_pointer, i.keyword) for i in issues]


# --- valid documents -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["signed.json", "unsigned.json"])
def test_the_charter_credential_is_valid(name: str) -> None:
    document = load(VECTORS / "charter-credential" / name)
    assert achievement_credential_issues(document) == []
    validate_achievement_credential(document)


# The 1EdTech examples. The four AchievementCredentials in VCDM 2.0 form with `proof` as an array
# (or no proof) pass. Two fail, and the real schema is right to fail them: the validator's
# bitstring fixture and the implementation guide's signed example carry `proof` as a single
# object, while the canonical schema's `proof` is `{"type": "array"}` (OB issue #473). Their
# signatures verify all the same; only the schema shape is wrong. The last two files are not
# VCDM 2.0 AchievementCredentials at all and are listed to record what the schema says of them.
ONE_EDTECH_EXPECTED: dict[str, list[tuple[str, str]]] = {
    "1edtech-validator-simple.eddsa-rdfc-2022.json": [],
    "1edtech-validator-simple-did-key.eddsa-rdfc-2022.json": [],
    "1edtech-validator-complete.eddsa-rdfc-2022.json": [],
    "ob3-spec-complete-openbadgecredential.unsigned.json": [],
    "1edtech-validator-bitstring-revoked-credential.json": [("/proof", "type")],
    "ob3-impl-guide-signed.eddsa-rdfc-2022.json": [("/proof", "type")],
    # VCDM 1.1: the 2.0 schema wants the v2 context first and `validFrom`.
    "1edtech-validator-simple-vcdm1.1.Ed25519Signature2020.json": [("", "required"), ("/@context/0", "enum")],
    # A BitstringStatusListCredential, not an AchievementCredential.
    "1edtech-validator-bitstring-status-list-credential.json": [
        ("/@context", "minItems"),
        ("/credentialSubject", "required"),
        ("/credentialSubject/type", "type"),
        ("/type", "contains"),
    ],
}


def test_every_1edtech_json_example_is_covered() -> None:
    assert sorted(ONE_EDTECH_EXPECTED) == sorted(p.name for p in ONE_EDTECH.glob("*.json"))


@pytest.mark.parametrize(("name", "expected"), sorted(ONE_EDTECH_EXPECTED.items()))
def test_1edtech_examples_fare_as_the_schema_says(name: str, expected: list[tuple[str, str]]) -> None:
    assert where(achievement_credential_issues(load(ONE_EDTECH / name))) == expected


def test_the_implementation_guide_unsigned_credential_is_valid() -> None:
    document = load(VECTORS / "ob-v3p0-impl-guide" / "unsigned-credential.json")
    assert achievement_credential_issues(document) == []


def test_the_proof_object_message_names_the_shapes() -> None:
    issues = achievement_credential_issues(load(ONE_EDTECH / "ob3-impl-guide-signed.eddsa-rdfc-2022.json"))
    assert issues == [SchemaIssue("/proof", "'proof' must be an array, not an object", "type")]


def test_a_read_only_mapping_is_accepted(charter: dict[str, Any]) -> None:
    assert achievement_credential_issues(MappingProxyType(charter)) == []


# --- one invalid case per common mistake ----------------------------------------------------------


def test_proof_as_an_object(charter: dict[str, Any]) -> None:
    charter["proof"] = charter["proof"][0]
    assert where(achievement_credential_issues(charter)) == [("/proof", "type")]


def test_credential_status_as_an_array_of_two(charter: dict[str, Any]) -> None:
    suspension = dict(charter["credentialStatus"], statusPurpose="suspension")
    charter["credentialStatus"] = [charter["credentialStatus"], suspension]
    issues = achievement_credential_issues(charter)
    assert where(issues) == [("/credentialStatus", "type")]
    assert issues[0].message == "'credentialStatus' must be an object, not an array"


def test_type_as_a_string_on_the_credential(charter: dict[str, Any]) -> None:
    charter["type"] = "OpenBadgeCredential"
    issues = achievement_credential_issues(charter)
    # Both branches of the schema's allOf fail the same way; the report says it once.
    assert issues == [SchemaIssue("/type", "'type' must be an array, not a string", "type")]


def test_type_without_verifiable_credential(charter: dict[str, Any]) -> None:
    charter["type"] = ["OpenBadgeCredential"]
    issues = achievement_credential_issues(charter)
    assert issues == [SchemaIssue("/type", "'type' must contain 'VerifiableCredential'", "contains")]


def test_image_as_a_bare_string(charter: dict[str, Any]) -> None:
    achievement = charter["credentialSubject"]["achievement"]
    achievement["image"] = achievement["image"]["id"]
    assert where(achievement_credential_issues(charter)) == [("/credentialSubject/achievement/image", "type")]


def test_image_with_an_unknown_property(charter: dict[str, Any]) -> None:
    charter["credentialSubject"]["achievement"]["image"]["width"] = 400
    issues = achievement_credential_issues(charter)
    assert where(issues) == [("/credentialSubject/achievement/image", "additionalProperties")]
    assert issues[0].message == "'image' does not allow property 'width'"


def test_missing_issuer(charter: dict[str, Any]) -> None:
    del charter["issuer"]
    assert achievement_credential_issues(charter) == [
        SchemaIssue("", "missing required property 'issuer'", "required")
    ]


def test_valid_from_without_timezone(charter: dict[str, Any]) -> None:
    charter["validFrom"] = "2026-11-26T00:00:00"
    issues = achievement_credential_issues(charter)
    assert where(issues) == [("/validFrom", "format")]
    assert "timezone" in issues[0].message
    assert "'2026-11-26T00:00:00'" in issues[0].message


def test_identity_object_type_as_an_array(charter: dict[str, Any]) -> None:
    charter["credentialSubject"]["identifier"][0]["type"] = ["IdentityObject"]
    # IdentityObject.type is {"type": "string", "enum": ["IdentityObject"]}: both keywords fail.
    assert where(achievement_credential_issues(charter)) == [
        ("/credentialSubject/identifier/0/type", "enum"),
        ("/credentialSubject/identifier/0/type", "type"),
    ]


def test_empty_credential_subject(charter: dict[str, Any]) -> None:
    charter["credentialSubject"] = {}
    assert where(achievement_credential_issues(charter)) == [
        ("/credentialSubject", "required"),
        ("/credentialSubject", "required"),
        ("/credentialSubject", SUBJECT_IDENTITY_KEYWORD),
    ]


def test_subject_without_id_or_identifier_breaks_only_the_ob_rule(charter: dict[str, Any]) -> None:
    del charter["credentialSubject"]["identifier"]
    assert achievement_credential_issues(charter) == [
        SchemaIssue(
            "/credentialSubject",
            "'credentialSubject' must have an 'id' or at least one 'identifier'",
            SUBJECT_IDENTITY_KEYWORD,
        )
    ]


def test_an_empty_identifier_list_is_not_an_identifier(charter: dict[str, Any]) -> None:
    charter["credentialSubject"]["identifier"] = []
    assert where(achievement_credential_issues(charter)) == [("/credentialSubject", SUBJECT_IDENTITY_KEYWORD)]


def test_a_subject_id_alone_is_enough(charter: dict[str, Any]) -> None:
    del charter["credentialSubject"]["identifier"]
    charter["credentialSubject"]["id"] = "did:example:recipient"
    assert achievement_credential_issues(charter) == []


# --- alternatives, several failures, messages --------------------------------------------------------


def test_an_issuer_profile_is_explained_by_its_profile_errors(charter: dict[str, Any]) -> None:
    del charter["issuer"]["type"]
    # ProfileRef is oneOf [string, Profile]: for an object only the Profile branch fits.
    assert achievement_credential_issues(charter) == [
        SchemaIssue("/issuer", "missing required property 'type'", "required")
    ]


def test_an_issuer_of_neither_shape(charter: dict[str, Any]) -> None:
    charter["issuer"] = 42
    assert achievement_credential_issues(charter) == [
        SchemaIssue("/issuer", "'issuer' must be a string or an object, not a number", "oneOf")
    ]


def test_an_unknown_achievement_type(charter: dict[str, Any]) -> None:
    charter["credentialSubject"]["achievement"]["achievementType"] = "Charter"
    issues = achievement_credential_issues(charter)
    assert where(issues) == [("/credentialSubject/achievement/achievementType", "oneOf")]
    assert issues[0].message == (
        "'achievementType' is 'Charter' but must be one of 'Achievement', 'ApprenticeshipCertificate', "
        "'Assessment', … (31 values); or must match the pattern (ext:)[a-z|A-Z|0-9|.|-|_]+"
    )


def test_an_extension_achievement_type_is_allowed(charter: dict[str, Any]) -> None:
    charter["credentialSubject"]["achievement"]["achievementType"] = "ext:Charter"
    assert achievement_credential_issues(charter) == []


def test_every_failure_is_reported_sorted_by_pointer(charter: dict[str, Any]) -> None:
    charter["proof"] = charter["proof"][0]
    charter["validUntil"] = "2031-11-26"
    charter["@context"] = charter["@context"][:1]
    charter["evidence"][1]["type"] = "Evidence"
    charter["evidence"][0]["type"] = ["Proof"]
    del charter["credentialSubject"]["achievement"]["criteria"]
    issues = achievement_credential_issues(charter)
    assert where(issues) == [
        ("/@context", "minItems"),
        ("/credentialSubject/achievement", "required"),
        ("/evidence/0/type", "contains"),
        ("/evidence/1/type", "type"),
        ("/proof", "type"),
        ("/validUntil", "format"),
    ]
    with pytest.raises(SchemaValidationError) as caught:
        validate_achievement_credential(charter)
    assert list(caught.value.issues) == issues
    assert caught.value.code == "schema_invalid"
    assert "AchievementCredential" in caught.value.message
    assert "/@context" in caught.value.message


def test_array_indexes_sort_as_numbers(charter: dict[str, Any]) -> None:
    evidence = charter["evidence"][0]
    charter["evidence"] = [copy.deepcopy(evidence) for _ in range(12)]
    charter["evidence"][2]["type"] = "Evidence"
    charter["evidence"][10]["type"] = "Evidence"
    assert [i.json_pointer for i in achievement_credential_issues(charter)] == [
        "/evidence/2/type",
        "/evidence/10/type",
    ]


def test_messages_stay_short_whatever_the_instance(charter: dict[str, Any]) -> None:
    huge = {f"key{i}": "x" * 1000 for i in range(100)}
    charter["type"] = huge
    charter["proof"] = huge
    charter["validFrom"] = "y" * 5000
    charter["credentialSubject"]["achievement"]["achievementType"] = "z" * 5000
    issues = achievement_credential_issues(charter)
    assert len(issues) >= 4
    assert all(len(i.message) <= 200 for i in issues)
    assert not any("key1" in i.message for i in issues)


def test_a_document_that_is_not_an_object() -> None:
    assert achievement_credential_issues([]) == [  # type: ignore[arg-type]
        SchemaIssue("", "the document must be an object, not an array", "type")
    ]


# --- endorsements and profiles ------------------------------------------------------------------------


def test_embedded_endorsements_and_profiles_of_the_complete_example_are_valid() -> None:
    complete = load(ONE_EDTECH / "1edtech-validator-complete.eddsa-rdfc-2022.json")
    endorsements = complete["endorsement"] + complete["credentialSubject"]["achievement"]["endorsement"]
    assert endorsements
    for endorsement in endorsements:
        assert endorsement_credential_issues(endorsement) == []
        validate_endorsement_credential(endorsement)
    validate_profile(complete["issuer"])
    validate_profile(complete["credentialSubject"]["achievement"]["creator"])


def test_an_endorsement_without_name_or_subject_id() -> None:
    complete = load(ONE_EDTECH / "1edtech-validator-complete.eddsa-rdfc-2022.json")
    endorsement = complete["endorsement"][0]
    del endorsement["name"]
    del endorsement["credentialSubject"]["id"]
    assert where(endorsement_credential_issues(endorsement)) == [
        ("", "required"),
        ("/credentialSubject", "required"),
    ]
    with pytest.raises(SchemaValidationError):
        validate_endorsement_credential(endorsement)


def test_a_profile_with_a_bad_date_of_birth_and_string_type(charter: dict[str, Any]) -> None:
    profile = dict(charter["issuer"], type="Profile", dateOfBirth="1990-02-30")
    assert where(profile_issues(profile)) == [("/dateOfBirth", "format"), ("/type", "type")]
    with pytest.raises(SchemaValidationError) as caught:
        validate_profile(profile)
    assert len(caught.value.issues) == 2


# --- formats ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "2026-11-26T00:00:00Z",
        "2010-01-01T19:23:24.123456Z",
        "2021-09-07T02:09:59+02:00",
        "2024-02-29T23:59:59-14:00",
        "2000-02-29T00:00:00+14:00",
        "0001-01-01T00:00:00Z",
    ],
)
def test_date_time_stamps_that_pass(value: str) -> None:
    assert is_date_time_stamp(value)


@pytest.mark.parametrize(
    "value",
    [
        "2026-11-26T00:00:00",  # no timezone: a dateTime, not a dateTimeStamp
        "2026-11-26",
        "2026-11-26 00:00:00Z",
        "2026-11-26t00:00:00z",
        "2026-11-26T00:00Z",
        "2026-11-26T24:00:00Z",
        "2016-12-31T23:59:60Z",
        "2023-02-29T00:00:00Z",
        "1900-02-29T00:00:00Z",
        "2026-13-01T00:00:00Z",
        "2026-00-10T00:00:00Z",
        "2026-04-31T00:00:00Z",
        "2026-11-26T00:00:00+14:30",
        "2026-11-26T00:00:00+05:60",
        "2026-11-26T00:00:00+0200",
        "2026-11-26T00:00:00.Z",
        "2026-11-26T00:00:00Z\n",
        "+2026-11-26T00:00:00Z",
        "12026-11-26T00:00:00Z",
        "２０２６-11-26T00:00:00Z",
        "",
    ],
)
def test_date_time_stamps_that_fail(value: str) -> None:
    assert not is_date_time_stamp(value)


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("1990-02-28", True),
        ("2000-02-29", True),
        ("1990-02-29", False),
        ("1990-2-1", False),
        ("1990-02-28Z", False),
        ("1990-02-28T00:00:00Z", False),
    ],
)
def test_full_dates(value: str, valid: bool) -> None:
    assert is_full_date(value) is valid


def test_formats_ignore_non_strings() -> None:
    # JSON Schema formats apply to strings only; `type` reports the rest.
    assert is_date_time_stamp(20261126)
    assert is_full_date(None)


# --- the schemas and the compiled predicate -------------------------------------------------------


@pytest.mark.parametrize("class_name", ["AchievementCredential", "EndorsementCredential", "Profile"])
def test_each_schema_is_a_valid_draft_2019_09_schema(class_name: str) -> None:
    schema = validation.load_schema(class_name)
    assert schema["$schema"] == "https://json-schema.org/draft/2019-09/schema#"
    Draft201909Validator.check_schema(schema)


def test_the_compiler_refuses_keywords_it_does_not_implement() -> None:
    schema: dict[str, Any]
    for schema in (
        {"not": {}},
        {"format": "uri"},
        {"$ref": "https://example.org/s.json"},
        {"properties": {"a": {"minLength": 1}}},
        {"enum": [1, 2]},
    ):
        with pytest.raises(NotImplementedError):
            Compiler(schema).compile_root(schema)


def test_the_validators_are_built_once() -> None:
    assert validation._schema("AchievementCredential") is validation._schema("AchievementCredential")
