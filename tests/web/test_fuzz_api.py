"""The OpenAPI document against the live service: it validates, and schema-driven fuzzing finds no 5xx.

schemathesis loads ``/openapi.json`` from gunicorn on loopback (the rate limit raised out of
reach, so every request is judged) and sends up to ``MAX_EXAMPLES`` generated requests per
operation, valid and invalid ones. Each answer must not be a server error, and must match what
the document promises: a listed status code and content type, and a body matching its schema.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import TYPE_CHECKING, Any

import jsonschema
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

if TYPE_CHECKING:
    from conftest import Issued, LiveServer

MAX_EXAMPLES = 50
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
OPERATIONS = {
    "POST /api/v1/verify",
    "GET /api/v1/credentials/{id}/status",
    "GET /credentials/{id}",
    "GET /c/{id}",
    "GET /.well-known/did.json",
    "GET /achievements/caiep",
    "GET /achievements/caiep/badge.png",
    "GET /achievements/caiep/badge.svg",
    "GET /.well-known/openid-credential-issuer",
    "GET /.well-known/oauth-authorization-server",
    "GET /oid4vci/offers/{token}",
    "POST /oid4vci/token",
    "POST /oid4vci/nonce",
    "POST /oid4vci/credential",
    "POST /exchanges/{id}",
    "GET /api/v1/register",
    "GET /verifier/did.json",
    "GET /contexts/receipt/v1",
    "GET /c/{id}/receipt.json",
    "POST /api/v1/register/check",
}
# Positive cases for every operation; negative ones where there is input to get wrong.
FUZZED = [
    *((operation, GenerationMode.POSITIVE) for operation in sorted(OPERATIONS)),
    *((operation, GenerationMode.NEGATIVE) for operation in sorted(OPERATIONS) if "{id}" in operation),
    ("POST /api/v1/verify", GenerationMode.NEGATIVE),
    ("POST /oid4vci/token", GenerationMode.NEGATIVE),
    ("POST /oid4vci/credential", GenerationMode.NEGATIVE),
    ("GET /api/v1/register", GenerationMode.NEGATIVE),
    ("POST /api/v1/register/check", GenerationMode.NEGATIVE),
]


@pytest.fixture(scope="session")
def api_schema(fuzz_server: LiveServer) -> Any:
    return schemathesis.openapi.from_url(
        f"{fuzz_server.base_url}/openapi.json", config=schemathesis.Config.from_dict({}), timeout=10
    )


def test_openapi_document_loads_and_validates(api_schema: Any, fuzz_server: LiveServer) -> None:
    """OpenAPI 3.1 meta-schema, every component a valid JSON Schema 2020-12, every operation listed."""
    api_schema.validate()  # raises on the first violation of the OpenAPI 3.1 meta-schema
    raw = api_schema.raw_schema
    assert raw["openapi"].startswith("3.1.")
    for component in raw["components"]["schemas"].values():
        jsonschema.Draft202012Validator.check_schema(component)  # raises SchemaError, naming the keyword
    operations = {f"{method.upper()} {path}" for path, item in raw["paths"].items() for method in item}
    assert operations == OPERATIONS
    response = requests.get(f"{fuzz_server.base_url}/openapi.json", timeout=10)
    assert response.headers["Content-Type"].startswith("application/json")


# schemathesis' own pytest wiring (``schemathesis.pytest.from_fixture(...).parametrize()``) reads
# ``item._nodeid``, which pytest 9 no longer has; a plain hypothesis test over each operation's
# strategy does the same work.
@pytest.mark.parametrize(("operation", "mode"), FUZZED, ids=[f"{o}-{m.value}" for o, m in FUZZED])
def test_no_server_errors_and_answers_match_the_document(
    api_schema: Any, operation: str, mode: GenerationMode
) -> None:
    method, path = operation.split(" ", 1)
    described = api_schema.raw_schema["paths"][path][method.lower()]
    if mode is GenerationMode.NEGATIVE:
        assert described.get("parameters") or described.get("requestBody"), "nothing to make invalid"
    strategy = api_schema[path][method].as_strategy(generation_mode=mode)

    @given(case=strategy)
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def call(case: Any) -> None:
        case.call_and_validate(checks=CHECKS, timeout=10)

    call()


BY_ID = ["GET /api/v1/credentials/{id}/status", "GET /credentials/{id}", "GET /c/{id}"]


@pytest.mark.parametrize("operation", BY_ID)
def test_our_credentials_with_generated_headers_match_the_document(
    api_schema: Any, issued: Issued, operation: str
) -> None:
    """Random uuids only reach the 404s: here the ids are ours, so the 200 answers are checked too."""
    method, path = operation.split(" ", 1)
    ids = [issued.valid, issued.expired, issued.tampered, issued.jwt]
    strategy = st.sampled_from(ids).flatmap(
        lambda credential_id: api_schema[path][method].as_strategy(path_parameters={"id": credential_id})
    )
    seen: Counter[int] = Counter()

    @given(case=strategy)
    @settings(max_examples=20, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def call(case: Any) -> None:
        seen[case.call_and_validate(checks=CHECKS, timeout=10).status_code] += 1

    call()
    assert seen[200] > 0, dict(seen)


def test_verify_answers_for_real_credentials_match_the_document(api_schema: Any, issued: Issued) -> None:
    """Each accepted way of sending a credential gets a result matching ``VerificationResult``."""
    operation = api_schema["/api/v1/verify"]["POST"]
    valid = json.loads(issued.documents[issued.valid])
    token = issued.documents[issued.jwt].strip()
    expectations = [
        (operation.Case(body=valid, media_type="application/json"), "valid", "ldp"),
        (operation.Case(body=token, media_type="text/plain"), "valid", "jwt"),
        (operation.Case(body=token, media_type="application/json"), "valid", "jwt"),
        (
            operation.Case(body=json.loads(issued.documents[issued.expired]), media_type="application/json"),
            "expired",
            "ldp",
        ),
        (
            operation.Case(body=json.loads(issued.documents[issued.tampered]), media_type="application/json"),
            "invalid",
            "ldp",
        ),
    ]
    for case, status, format in expectations:
        response = case.call_and_validate(checks=CHECKS, timeout=10)
        assert response.status_code == 200
        answer = response.json()
        assert (answer["status"], answer["format"]) == (status, format), case.media_type
        assert answer["verified"] is (status == "valid")
