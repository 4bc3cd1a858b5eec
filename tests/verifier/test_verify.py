"""verify(): every OB 3.0 §9.1 step on real signed credentials, good and bad.

Credentials come from the real issuer code with a fixed seed, time, uuid and salt (see
conftest.py). did:key issuers resolve locally; a did:web issuer's DID document is served by a
MappingFetcher under ``did_web_document_url(did)``; nothing leaves the machine.
"""

from __future__ import annotations

import copy
import json
import socket
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from caiep.errors import DataLossError, InputError, ResolutionError
from keys.base64url import b64url_decode, b64url_encode
from keys.did import build_controller_document, did_key_for, did_web_document_url
from keys.ed25519 import SigningKey
from verifier.bitstring import MIN_ENTRIES, encode_status_list
from verifier.fetch import MappingFetcher
from verifier.result import Outcome, Verdict, VerificationResult
from verifier.verify import verify

if TYPE_CHECKING:
    from conftest import Issuer

# The conftest issuers sign at NOW; their credentials run from VALID_FROM to VALID_UNTIL.
NOW = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)
END = datetime(2030, 3, 1, 12, 0, 0, tzinfo=UTC)
VALID_FROM = "2025-03-01T12:00:00Z"
VALID_UNTIL = "2030-03-01T12:00:00Z"
BASE_URL = "https://credentials.caiep.example"
WEB_DID = "did:web:credentials.caiep.example"

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "external" / "1edtech"
VCDM11_FIXTURE = VECTORS / "1edtech-validator-simple-vcdm1.1.Ed25519Signature2020.json"
COMPLETE_FIXTURE = VECTORS / "1edtech-validator-complete.eddsa-rdfc-2022.json"
LIST_URL = f"{BASE_URL}/status/1"
STATUS_INDEX = 94567
SKEW = timedelta(minutes=5)

VALID_LDP_CHECKS = [
    ("structure", Outcome.VALID, "schema_valid"),
    ("contexts", Outcome.VALID, "contexts_pinned"),
    ("proof", Outcome.VALID, "signature_valid"),
    ("validity", Outcome.VALID, "within_validity"),
    ("status", Outcome.NOT_APPLICABLE, "no_status"),
]


def _summary(result: VerificationResult) -> list[tuple[str, Outcome, str]]:
    return [(check.name, check.outcome, check.code) for check in result.checks]


def _outcome(result: VerificationResult, name: str) -> Outcome:
    check = result.check(name)
    assert check is not None, f"no {name} check in {_summary(result)}"
    return check.outcome


def _code(result: VerificationResult, name: str) -> str:
    check = result.check(name)
    assert check is not None, f"no {name} check in {_summary(result)}"
    return check.code


def _assert_invalid(result: VerificationResult) -> None:
    assert not result.verified
    assert result.outcome is Outcome.INVALID
    assert result.verdict is Verdict.INVALID


def _assert_undecided(result: VerificationResult, check: str) -> None:
    """The answer is "cannot be verified": never valid, never a definite invalid."""
    assert _outcome(result, check) is Outcome.UNKNOWN
    assert not result.verified
    assert result.outcome is Outcome.UNKNOWN
    assert result.verdict is Verdict.UNVERIFIABLE
    assert result.to_json()["status"] == "cannot_be_verified"


@pytest.fixture(params=["did:key", "did:web"])
def issuer(request: pytest.FixtureRequest) -> Issuer:
    name = "did_key_issuer" if request.param == "did:key" else "did_web_issuer"
    fixture: Issuer = request.getfixturevalue(name)
    return fixture


# --- valid credentials -------------------------------------------------------------------------


def test_valid_ldp_credential_passes_every_check(issuer: Issuer) -> None:
    credential = issuer.issue()
    assert credential["proof"][0]["verificationMethod"] == issuer.vm

    result = verify(credential, now=NOW, fetcher=issuer.fetcher())

    assert _summary(result) == VALID_LDP_CHECKS
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

    assert _summary(result) == VALID_LDP_CHECKS
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


# --- tampering: any single changed leaf breaks the credential ----------------------------------


Path_ = tuple[str | int, ...]


def _leaves(node: Any, path: Path_ = ()) -> Iterator[tuple[Path_, Any]]:
    """Every JSON leaf outside the top-level ``proof``, with its path."""
    if isinstance(node, dict):
        for key, value in node.items():
            if not path and key == "proof":
                continue
            yield from _leaves(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _leaves(value, (*path, index))
    else:
        yield path, node


def _changed(value: Any) -> Any:
    """The brief's edit: strings get a character, numbers +1, booleans flipped."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 1
    if isinstance(value, str):
        return value + "x"
    raise AssertionError(f"unexpected leaf {value!r}")


def _with_leaf(document: dict[str, Any], path: Path_, value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    node: Any = changed
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return changed


def _assert_tampering_detected(result: VerificationResult, path: Path_) -> None:
    broken = {name for name in ("proof", "structure") if _outcome(result, name) is Outcome.INVALID}
    assert broken, f"changing {path} left proof and structure valid: {_summary(result)}"
    assert not result.verified, path
    assert result.verdict is Verdict.INVALID, path


def _tamper_all(credential: dict[str, Any], fetcher: MappingFetcher | None) -> int:
    leaves = list(_leaves(credential))
    for path, value in leaves:
        result = verify(_with_leaf(credential, path, _changed(value)), now=NOW, fetcher=fetcher)
        _assert_tampering_detected(result, path)
    return len(leaves)


def test_changing_any_leaf_of_a_charter_credential_is_detected(issuer: Issuer) -> None:
    credential = issuer.issue()
    assert verify(credential, now=NOW, fetcher=issuer.fetcher()).verified  # the baseline holds

    walked = _tamper_all(credential, issuer.fetcher())

    assert walked >= 50  # the walk really visited the credential (issuer, subject, evidence...)


def _controller_document(method_id: str, *, method_type: str = "Multikey") -> tuple[str, dict[str, Any]]:
    """An https controller document for a ``<url>#<publicKeyMultibase>`` method id."""
    url, _, multibase = method_id.partition("#")
    document = {
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
        "id": url,
        "verificationMethod": [
            {"id": method_id, "type": method_type, "controller": url, "publicKeyMultibase": multibase}
        ],
        "assertionMethod": [method_id],
    }
    return url, document


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def test_changing_any_leaf_of_the_1edtech_complete_credential_is_detected() -> None:
    """The 1EdTech validator's complete credential has numbers and booleans too."""
    credential = _load(COMPLETE_FIXTURE)
    url, document = _controller_document(credential["proof"][0]["verificationMethod"])
    fetcher = MappingFetcher({url: document})
    baseline = verify(credential, now=NOW, fetcher=fetcher)
    assert _outcome(baseline, "proof") is Outcome.VALID
    leaves = [value for _, value in _leaves(credential)]
    assert any(isinstance(v, bool) for v in leaves)
    assert any(isinstance(v, int | float) and not isinstance(v, bool) for v in leaves)

    assert _tamper_all(credential, fetcher) > 100


def _replacement(original: Any) -> st.SearchStrategy[Any]:
    """Any JSON scalar other than ``original`` (same type or not)."""
    scalars = st.one_of(
        st.text(max_size=30),
        st.integers(min_value=-(2**53), max_value=2**53),
        st.floats(allow_nan=False, allow_infinity=False),
        st.booleans(),
        st.none(),
    )
    same_type: st.SearchStrategy[Any]
    if isinstance(original, bool):
        same_type = st.just(not original)
    elif isinstance(original, str):
        same_type = st.one_of(
            st.text(max_size=30),
            st.builds(
                lambda s, i: original[:i] + s + original[i:],
                st.text(min_size=1),
                st.integers(0, len(original)),
            ),
        )
    else:
        same_type = scalars
    return st.one_of(same_type, scalars).filter(lambda v: not (v == original and type(v) is type(original)))


@pytest.fixture(scope="module")
def signed_for_property(did_key_issuer: Issuer) -> dict[str, Any]:
    return did_key_issuer.issue()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_property_any_leaf_replaced_by_any_value_is_detected(
    signed_for_property: dict[str, Any], data: st.DataObject
) -> None:
    paths = [path for path, _ in _leaves(signed_for_property)]
    path = data.draw(st.sampled_from(paths), label="leaf")
    node: Any = signed_for_property
    for step in path:
        node = node[step]
    replacement = data.draw(_replacement(node), label="replacement")

    result = verify(_with_leaf(signed_for_property, path, replacement), now=NOW)

    _assert_tampering_detected(result, path)


def test_same_rdf_different_json_is_caught_by_the_schema(did_key_issuer: Issuer) -> None:
    """``"hashed": "true"`` canonicalises like ``true`` (the context types it xsd:boolean), so
    the signature still holds; the JSON Schema is what rejects it."""
    credential = did_key_issuer.issue()
    credential["credentialSubject"]["identifier"][0]["hashed"] = "true"

    result = verify(credential, now=NOW)

    assert _outcome(result, "proof") is Outcome.VALID
    assert _code(result, "structure") == "schema_invalid"
    assert "/credentialSubject/identifier/0/hashed" in result.checks[0].message
    _assert_invalid(result)


def test_removing_the_proof_is_invalid(did_key_issuer: Issuer) -> None:
    credential = did_key_issuer.issue()
    del credential["proof"]

    result = verify(credential, now=NOW)

    assert _code(result, "proof") == "proof_missing"
    _assert_invalid(result)


def test_proof_fields_are_bound_too(did_key_issuer: Issuer) -> None:
    credential = did_key_issuer.issue()
    credential["proof"][0]["created"] = "2025-03-01T12:00:01Z"

    result = verify(credential, now=NOW)

    assert _code(result, "proof") == "signature_invalid"
    _assert_invalid(result)


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
        assert _code(result, "validity") == code
        assert _outcome(result, "proof") is Outcome.VALID
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

    assert _outcome(result, "proof") is Outcome.VALID
    assert _code(result, "validity") == "validity_inverted"
    _assert_invalid(result)


def test_integrity_failures_dominate_expiry(did_key_issuer: Issuer) -> None:
    credential = did_key_issuer.issue()
    credential["name"] = "Forged"

    result = verify(credential, now=END + timedelta(days=1))

    assert _code(result, "validity") == "expired"
    assert result.verdict is Verdict.INVALID  # tampered, not merely "expired"


def _vcdm11_fetcher(*, listed_for: str = "assertionMethod") -> tuple[dict[str, Any], MappingFetcher]:
    credential = _load(VCDM11_FIXTURE)
    method_id = credential["proof"][0]["verificationMethod"]
    url, document = _controller_document(method_id, method_type="Ed25519VerificationKey2020")
    document["@context"] = [
        "https://www.w3.org/ns/did/v1",
        "https://w3id.org/security/suites/ed25519-2020/v1",
    ]
    if listed_for != "assertionMethod":
        document[listed_for] = document.pop("assertionMethod")
    return credential, MappingFetcher({url: document})


def test_vcdm11_fixture_verifies_with_its_controller_document() -> None:
    """1EdTech's VCDM 1.1 fixture (Ed25519Signature2020, issuanceDate, https issuer).

    Its issuer https://example.com/issuers/876543 cannot be fetched offline, so we serve a
    controller document holding the key its proof names (the ``z6Mk…`` fragment of the
    verificationMethod). The signature is genuine for that key, so the legacy suite, the https
    Retrieve Verification Method path and the VCDM 1.1 date fields all verify.
    """
    credential, fetcher = _vcdm11_fetcher()

    result = verify(credential, now=NOW, fetcher=fetcher)

    assert _summary(result) == [
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

    assert _code(result, "validity") == "not_yet_valid"
    assert result.verdict is Verdict.NOT_YET_VALID


def test_vcdm11_fixture_tampered_is_invalid() -> None:
    credential, fetcher = _vcdm11_fetcher()
    credential["credentialSubject"]["achievement"]["name"] = "Leadership"

    result = verify(credential, now=NOW, fetcher=fetcher)

    assert _code(result, "proof") == "signature_invalid"
    _assert_invalid(result)


def test_vcdm11_fixture_key_only_for_authentication_is_invalid() -> None:
    credential, fetcher = _vcdm11_fetcher(listed_for="authentication")

    result = verify(credential, now=NOW, fetcher=fetcher)

    assert _code(result, "proof") == "verification_method_invalid"
    _assert_invalid(result)


def test_vcdm11_fixture_without_its_controller_document_cannot_be_verified() -> None:
    credential, _ = _vcdm11_fetcher()
    _assert_undecided(verify(credential, now=NOW, fetcher=MappingFetcher({})), "proof")
    _assert_undecided(verify(credential, now=NOW, fetcher=None), "proof")


# --- the wrong key ---------------------------------------------------------------------------


def test_signed_by_another_key_naming_ours_is_invalid(issuer: Issuer, key_b: SigningKey) -> None:
    credential = issuer.sign(issuer.unsigned(), key=key_b, vm=issuer.vm)

    result = verify(credential, now=NOW, fetcher=issuer.fetcher())

    assert _code(result, "proof") == "signature_invalid"
    _assert_invalid(result)


def test_jwt_signed_by_another_key_naming_ours_is_invalid(issuer: Issuer, key_b: SigningKey) -> None:
    result = verify(issuer.jwt(key=key_b, kid=issuer.vm), now=NOW, fetcher=issuer.fetcher())

    assert _code(result, "proof") == "jws_signature_invalid"
    _assert_invalid(result)


@pytest.fixture
def web_issuer_with(make_issuer: type[Issuer]) -> Callable[[dict[str, Any], SigningKey], Issuer]:
    """A did:web issuer (our DID) signing with ``key`` whose DID document is ``document``."""

    def build(document: dict[str, Any], key: SigningKey) -> Issuer:
        return make_issuer(WEB_DID, key, {did_web_document_url(WEB_DID): document})

    return build


WebIssuerWith = Callable[[dict[str, Any], SigningKey], "Issuer"]


def test_key_listed_only_for_authentication_is_invalid(
    key_a: SigningKey, key_b: SigningKey, web_issuer_with: WebIssuerWith
) -> None:
    """Key B is in the DID document and under ``authentication``, but only A may assert."""
    document = build_controller_document(
        WEB_DID, [key_a.public_key, key_b.public_key], current=key_b.public_key
    )
    document["assertionMethod"] = [document["verificationMethod"][0]["id"]]
    issuer = web_issuer_with(document, key_b)
    assert issuer.vm in document["authentication"]
    assert issuer.vm in [method["id"] for method in document["verificationMethod"]]

    for presented in (issuer.issue(), issuer.jwt()):
        result = verify(presented, now=NOW, fetcher=issuer.fetcher())
        assert _code(result, "proof") == "verification_method_invalid"
        _assert_invalid(result)
    # and key A, which is listed for assertionMethod, is accepted from the same document
    assert verify(web_issuer_with(document, key_a).issue(), now=NOW, fetcher=issuer.fetcher()).verified


def test_key_of_a_different_did_than_the_issuer_is_invalid(did_web_issuer: Issuer, key_a: SigningKey) -> None:
    """Same key bytes, but the proof names the did:key method: not a key *of the issuer*."""
    foreign_vm = f"{did_key_for(key_a.public_key)}#{key_a.public_key.multibase}"
    credential = did_web_issuer.sign(did_web_issuer.unsigned(), vm=foreign_vm)

    result = verify(credential, now=NOW, fetcher=did_web_issuer.fetcher())

    assert _code(result, "proof") == "verification_method_invalid"
    _assert_invalid(result)


def test_method_whose_controller_is_another_did_is_invalid(
    key_a: SigningKey, web_issuer_with: WebIssuerWith
) -> None:
    document = build_controller_document(WEB_DID, [key_a.public_key])
    document["verificationMethod"][0]["controller"] = "did:web:attacker.example"
    issuer = web_issuer_with(document, key_a)

    result = verify(issuer.issue(), now=NOW, fetcher=issuer.fetcher())

    assert _code(result, "proof") == "verification_method_invalid"
    _assert_invalid(result)


def test_did_web_document_with_another_id_is_invalid(
    key_a: SigningKey, web_issuer_with: WebIssuerWith
) -> None:
    document = build_controller_document("did:web:attacker.example", [key_a.public_key])
    issuer = web_issuer_with(document, key_a)

    result = verify(issuer.issue(), now=NOW, fetcher=issuer.fetcher())

    assert _code(result, "proof") == "verification_method_invalid"
    assert "did:web:attacker.example" in result.checks[2].message
    _assert_invalid(result)


class _FailingFetcher:
    def __init__(self) -> None:
        self.calls = 0

    def get_json(self, url: str) -> Any:
        self.calls += 1
        raise ResolutionError("the server refused the connection", url=url)


def test_unreachable_did_web_document_cannot_be_verified(did_web_issuer: Issuer) -> None:
    fetcher = _FailingFetcher()
    for presented in (did_web_issuer.issue(), did_web_issuer.jwt()):
        result = verify(presented, now=NOW, fetcher=fetcher)
        assert _code(result, "proof") == "resolution_error"
        _assert_undecided(result, "proof")
    assert fetcher.calls == 2


def test_did_web_without_a_fetcher_cannot_be_verified(did_web_issuer: Issuer) -> None:
    _assert_undecided(verify(did_web_issuer.issue(), now=NOW, fetcher=None), "proof")


# --- contexts --------------------------------------------------------------------------------


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test on any attempt to resolve a name or open a connection."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


def test_unknown_context_url_is_refused_without_fetching(did_web_issuer: Issuer, no_network: None) -> None:
    unknown = "https://contexts.attacker.example/badge-v1.jsonld"
    credential = did_web_issuer.issue()
    credential["@context"].append(unknown)
    fetcher = did_web_issuer.fetcher()

    result = verify(credential, now=NOW, fetcher=fetcher)

    assert _code(result, "contexts") == "context_not_allowed"
    assert unknown in result.checks[1].message
    assert unknown not in fetcher.requested
    _assert_invalid(result)


def test_inline_context_object_is_refused(did_key_issuer: Issuer) -> None:
    credential = did_key_issuer.issue()
    credential["@context"].append({"favouriteColour": "https://example.org/vocab#favouriteColour"})
    credential["favouriteColour"] = "blue"

    result = verify(credential, now=NOW)

    assert _outcome(result, "contexts") is Outcome.INVALID
    assert _code(result, "contexts") == "context_not_allowed"
    _assert_invalid(result)


@pytest.mark.parametrize("where", [(), ("credentialSubject",), ("credentialSubject", "achievement")])
def test_undefined_term_is_data_loss(did_key_issuer: Issuer, where: tuple[str, ...]) -> None:
    credential = did_key_issuer.issue()
    node = credential
    for step in where:
        node = node[step]
    node["favouriteColour"] = "blue"

    result = verify(credential, now=NOW)

    assert _code(result, "contexts") == "DATA_LOSS_DETECTION_ERROR"
    assert "favouriteColour" in result.checks[1].message
    assert _outcome(result, "proof") is Outcome.INVALID
    _assert_invalid(result)


def test_issuer_refuses_to_sign_an_undefined_term(did_key_issuer: Issuer) -> None:
    unsigned = did_key_issuer.unsigned()
    unsigned["credentialSubject"]["favouriteColour"] = "blue"
    with pytest.raises(DataLossError):
        did_key_issuer.sign(unsigned)


def test_schema_validator_type_without_the_extensions_context_is_data_loss(did_key_issuer: Issuer) -> None:
    """``1EdTechJsonSchemaValidator2019`` is defined only in the OB extensions context."""
    credential = did_key_issuer.issue()
    assert credential["credentialSchema"][0]["type"] == "1EdTechJsonSchemaValidator2019"
    credential["@context"].remove("https://purl.imsglobal.org/spec/ob/v3p0/extensions.json")

    result = verify(credential, now=NOW)

    assert _code(result, "contexts") == "DATA_LOSS_DETECTION_ERROR"
    assert "1EdTechJsonSchemaValidator2019" in result.checks[1].message
    _assert_invalid(result)
    with pytest.raises(DataLossError):
        did_key_issuer.sign({k: v for k, v in credential.items() if k != "proof"})


def test_jwt_with_unknown_context_is_invalid(did_key_issuer: Issuer) -> None:
    unsigned = did_key_issuer.unsigned()
    unsigned["@context"].append("https://contexts.attacker.example/v1")

    result = verify(did_key_issuer.jwt(unsigned), now=NOW)

    assert _outcome(result, "proof") is Outcome.VALID
    assert _code(result, "contexts") == "context_not_allowed"
    _assert_invalid(result)


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
    _assert_invalid(result)


def test_missing_issuer_message_names_the_property(did_key_issuer: Issuer) -> None:
    unsigned = did_key_issuer.unsigned()
    del unsigned["issuer"]
    message = verify(did_key_issuer.sign(unsigned), now=NOW).checks[0].message
    assert "issuer" in message


def test_type_without_open_badge_is_not_an_open_badge(did_key_issuer: Issuer) -> None:
    credential = did_key_issuer.issue()
    credential["type"] = "VerifiableCredential"

    result = verify(credential, now=NOW)

    assert _code(result, "structure") == "not_an_open_badge"
    _assert_invalid(result)


def test_single_proof_object_is_accepted(did_key_issuer: Issuer) -> None:
    """Digital Bazaar's libraries emit ``proof`` as one object (VCDM 2.0 allows it); it means
    the one-element array the 1EdTech schema asks for, so it verifies."""
    credential = did_key_issuer.issue()
    credential["proof"] = credential["proof"][0]

    result = verify(credential, now=NOW)

    assert _summary(result) == VALID_LDP_CHECKS


def test_lone_proof_object_is_still_schema_checked(did_key_issuer: Issuer) -> None:
    credential = did_key_issuer.issue()
    credential["proof"] = credential["proof"][0]
    credential["issuer"]["type"] = "Profile"

    result = verify(credential, now=NOW)

    assert _code(result, "structure") == "schema_invalid"
    assert result.checks[0].message.startswith("/issuer/type")
    _assert_invalid(result)


def test_vcdm11_credential_without_issuer_id_is_not_valid(
    key_b: SigningKey, make_issuer: type[Issuer]
) -> None:
    """STANDARDS §2.5: if key provenance cannot be verified, the credential is invalid."""
    credential = _load(VCDM11_FIXTURE)
    del credential["proof"]
    credential["@context"].append("https://w3id.org/security/data-integrity/v2")
    credential["issuer"] = {"type": ["Profile"], "name": "Example Corp"}
    anyone = make_issuer(did_key_for(key_b.public_key), key_b)

    result = verify(anyone.sign(credential), now=NOW)

    assert not result.verified
    assert _outcome(result, "proof") is not Outcome.VALID


# --- status ----------------------------------------------------------------------------------


def _bits(*set_indexes: int) -> bytearray:
    bits = bytearray(MIN_ENTRIES // 8)
    for index in set_indexes:
        bits[index // 8] |= 0x80 >> (index % 8)
    return bits


def _status_list(signer: Issuer, purpose: str, *set_indexes: int) -> dict[str, Any]:
    unsigned = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": LIST_URL,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": signer.did,
        "validFrom": "2025-01-01T00:00:00Z",
        "credentialSubject": {
            "id": f"{LIST_URL}#list",
            "type": "BitstringStatusList",
            "statusPurpose": purpose,
            "encodedList": encode_status_list(_bits(*set_indexes)),
        },
    }
    return signer.sign(unsigned)


def _with_status(
    issuer: Issuer, purpose: str = "revocation", kind: str = "BitstringStatusListEntry"
) -> dict[str, Any]:
    unsigned = issuer.unsigned()
    unsigned["credentialStatus"] = {
        "id": f"{LIST_URL}#{STATUS_INDEX}",
        "type": kind,
        "statusPurpose": purpose,
        "statusListIndex": str(STATUS_INDEX),
        "statusListCredential": LIST_URL,
    }
    return issuer.sign(unsigned)


@pytest.mark.parametrize("purpose", ["revocation", "suspension"])
def test_status_bit_clear_is_valid(issuer: Issuer, purpose: str) -> None:
    # neighbours set on both sides: only the credential's own bit may count
    status_list = _status_list(issuer, purpose, STATUS_INDEX - 1, STATUS_INDEX + 1)
    fetcher = issuer.fetcher({LIST_URL: status_list})

    result = verify(_with_status(issuer, purpose), now=NOW, fetcher=fetcher)

    expected = "not_revoked" if purpose == "revocation" else "not_suspended"
    assert _summary(result)[-1] == ("status", Outcome.VALID, expected)
    assert result.verdict is Verdict.VALID
    assert LIST_URL in fetcher.requested


@pytest.mark.parametrize(
    ("purpose", "verdict"), [("revocation", Verdict.REVOKED), ("suspension", Verdict.SUSPENDED)]
)
def test_status_bit_set(issuer: Issuer, purpose: str, verdict: Verdict) -> None:
    fetcher = issuer.fetcher({LIST_URL: _status_list(issuer, purpose, STATUS_INDEX)})

    result = verify(_with_status(issuer, purpose), now=NOW, fetcher=fetcher)

    assert _outcome(result, "proof") is Outcome.VALID
    assert _summary(result)[-1] == (
        "status",
        Outcome.INVALID,
        "revoked" if purpose == "revocation" else "suspended",
    )
    assert result.verdict is verdict
    assert result.to_json()["status"] == verdict.value
    assert not result.verified


def test_revoked_dominates_expired(did_key_issuer: Issuer) -> None:
    fetcher = did_key_issuer.fetcher({LIST_URL: _status_list(did_key_issuer, "revocation", STATUS_INDEX)})
    result = verify(_with_status(did_key_issuer), now=END + timedelta(days=1), fetcher=fetcher)
    assert _code(result, "validity") == "expired"
    assert result.verdict is Verdict.REVOKED


def test_jwt_status_is_checked_too(did_key_issuer: Issuer) -> None:
    unsigned = _with_status(did_key_issuer)
    del unsigned["proof"]
    fetcher = did_key_issuer.fetcher({LIST_URL: _status_list(did_key_issuer, "revocation", STATUS_INDEX)})

    result = verify(did_key_issuer.jwt(unsigned), now=NOW, fetcher=fetcher)

    assert _outcome(result, "proof") is Outcome.VALID
    assert result.verdict is Verdict.REVOKED


def test_status_list_unreachable_cannot_be_verified(did_key_issuer: Issuer) -> None:
    credential = _with_status(did_key_issuer)
    result = verify(credential, now=NOW, fetcher=did_key_issuer.fetcher())
    assert _code(result, "status") == "STATUS_RETRIEVAL_ERROR"
    _assert_undecided(result, "status")


def test_status_entry_without_network_is_not_skipped(did_key_issuer: Issuer) -> None:
    result = verify(_with_status(did_key_issuer), now=NOW, fetcher=None)
    _assert_undecided(result, "status")


def test_status_list_of_another_issuer_cannot_be_verified(
    did_key_issuer: Issuer, key_b: SigningKey, make_issuer: type[Issuer]
) -> None:
    """A well-signed list, but of another issuer: it says nothing about our credential."""
    stranger = make_issuer(did_key_for(key_b.public_key), key_b)
    fetcher = did_key_issuer.fetcher({LIST_URL: _status_list(stranger, "revocation", STATUS_INDEX)})

    result = verify(_with_status(did_key_issuer), now=NOW, fetcher=fetcher)

    assert _code(result, "status") == "STATUS_VERIFICATION_ERROR"
    _assert_undecided(result, "status")


def test_status_list_naming_our_issuer_but_signed_by_another_key(
    did_key_issuer: Issuer, key_b: SigningKey, make_issuer: type[Issuer]
) -> None:
    stranger = make_issuer(did_key_for(key_b.public_key), key_b)
    genuine = _status_list(did_key_issuer, "revocation", STATUS_INDEX)
    forged = stranger.sign({k: v for k, v in genuine.items() if k != "proof"})
    assert forged["issuer"] == did_key_issuer.did
    fetcher = did_key_issuer.fetcher({LIST_URL: forged})

    result = verify(_with_status(did_key_issuer), now=NOW, fetcher=fetcher)

    assert _code(result, "status") == "STATUS_VERIFICATION_ERROR"
    _assert_undecided(result, "status")


def test_status_list_with_a_broken_signature_cannot_be_verified(did_key_issuer: Issuer) -> None:
    """Someone flips the bit in a list they cannot re-sign: not "revoked", but undecided."""
    status_list = _status_list(did_key_issuer, "revocation")
    status_list["credentialSubject"]["encodedList"] = encode_status_list(_bits(STATUS_INDEX))
    fetcher = did_key_issuer.fetcher({LIST_URL: status_list})

    result = verify(_with_status(did_key_issuer), now=NOW, fetcher=fetcher)

    assert _code(result, "status") == "STATUS_VERIFICATION_ERROR"
    _assert_undecided(result, "status")


def test_status_list_for_another_purpose_cannot_be_verified(did_key_issuer: Issuer) -> None:
    fetcher = did_key_issuer.fetcher({LIST_URL: _status_list(did_key_issuer, "suspension", STATUS_INDEX)})
    result = verify(_with_status(did_key_issuer, "revocation"), now=NOW, fetcher=fetcher)
    assert _code(result, "status") == "STATUS_VERIFICATION_ERROR"
    _assert_undecided(result, "status")


def test_1edtech_revocation_list_is_unsupported(did_key_issuer: Issuer) -> None:
    unsigned = did_key_issuer.unsigned()
    unsigned["credentialStatus"] = {"id": f"{BASE_URL}/revocations", "type": "1EdTechRevocationList"}
    fetcher = did_key_issuer.fetcher()

    result = verify(did_key_issuer.sign(unsigned), now=NOW, fetcher=fetcher)

    assert _outcome(result, "proof") is Outcome.VALID
    assert _code(result, "status") == "unsupported_status_method"
    _assert_undecided(result, "status")


# --- VC-JWT attacks --------------------------------------------------------------------------


def _segments(token: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    header, payload, signature = token.split(".")
    return json.loads(b64url_decode(header)), json.loads(b64url_decode(payload)), signature


def _encode(part: dict[str, Any]) -> str:
    return b64url_encode(json.dumps(part).encode("utf-8"))


@pytest.mark.parametrize("signature", ["", "c2lnbmF0dXJl"], ids=["empty-signature", "junk-signature"])
def test_jwt_alg_none_is_invalid(did_key_issuer: Issuer, signature: str) -> None:
    header, payload, _ = _segments(did_key_issuer.jwt())
    token = f"{_encode({**header, 'alg': 'none'})}.{_encode(payload)}.{signature}"

    result = verify(token, now=NOW)

    assert _code(result, "proof") == "jws_alg_not_allowed"
    _assert_invalid(result)


def test_jwt_hs256_keyed_with_the_public_key_is_invalid(did_key_issuer: Issuer) -> None:
    """The algorithm-confusion attack: an HMAC keyed with the issuer's public key bytes."""
    import hashlib
    import hmac

    header, payload, _ = _segments(did_key_issuer.jwt())
    signing_input = f"{_encode({**header, 'alg': 'HS256'})}.{_encode(payload)}"
    mac = hmac.new(did_key_issuer.key.public_key.raw, signing_input.encode("ascii"), hashlib.sha256).digest()

    result = verify(f"{signing_input}.{b64url_encode(mac)}", now=NOW)

    assert _code(result, "proof") == "jws_alg_not_allowed"
    _assert_invalid(result)


def test_jwt_payload_tampered_is_invalid(did_key_issuer: Issuer) -> None:
    token = did_key_issuer.jwt()
    header, payload, signature = token.split(".")
    claims = json.loads(b64url_decode(payload))
    claims["credentialSubject"]["name"] = "Mallory"

    result = verify(f"{header}.{_encode(claims)}.{signature}", now=NOW)

    assert _code(result, "proof") == "jws_signature_invalid"
    _assert_invalid(result)


def test_jwt_header_swapped_to_an_inline_key_is_invalid(did_key_issuer: Issuer, key_b: SigningKey) -> None:
    header, payload, _ = _segments(did_key_issuer.jwt())
    del header["kid"]
    header["jwk"] = key_b.public_key.to_jwk()
    signing_input = f"{_encode(header)}.{_encode(payload)}"
    token = f"{signing_input}.{b64url_encode(key_b.sign(signing_input.encode('ascii')))}"

    result = verify(token, now=NOW)

    assert _outcome(result, "proof") is Outcome.INVALID
    _assert_invalid(result)


def test_truncated_jwt_is_never_valid_and_never_crashes(did_key_issuer: Issuer) -> None:
    """Every cut keeps the answer "invalid"; a cut that leaves no three segments is unreadable
    input (InputError), which is how verify() reports bytes that are not a credential."""
    token = did_key_issuer.jwt()
    header_end = token.index(".")
    signature_start = token.rindex(".") + 1
    cuts = sorted(
        {1, 2, 3, 10, 43, 86, len(token) - signature_start, len(token) - signature_start + 1}
        | set(range(1, len(token) - header_end, 97))
    )
    unreadable = 0
    for cut in cuts:
        truncated = token[:-cut]
        try:
            result = verify(truncated, now=NOW)
        except InputError:
            assert truncated.count(".") < 2, f"a three-segment token was called unreadable: cut {cut}"
            unreadable += 1
            continue
        _assert_invalid(result)
    assert unreadable < len(cuts)  # most cuts produce a readable, invalid token
