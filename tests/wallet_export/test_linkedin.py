"""LinkedIn's "Add to profile" URL, parsed back with the standard library's URL parser."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlsplit

import pytest

from caiep.errors import InputError
from caiep.wallet_export.charter import ExportedCharter, NotCurrent
from caiep.wallet_export.linkedin import add_to_profile_url

RENEWED = ExportedCharter(
    credential_id="5d0f3a52-1f7e-4c1b-9d1e-0c5f6a7b8c9d",
    url="https://credentials.caiep.example/credentials/5d0f3a52-1f7e-4c1b-9d1e-0c5f6a7b8c9d",
    page_url="https://credentials.caiep.example/c/5d0f3a52-1f7e-4c1b-9d1e-0c5f6a7b8c9d",
    charter_number="CAIEP-000042",
    holder_name="Zoë Ångström",
    charter_name="CAiEP® Charter",
    issuer_name="CAiEP Certification Board",
    state="current",
    # First awarded in March 2021, renewed early in 2025: the new version runs to June 2031.
    awarded=datetime(2021, 3, 9, 10, 0, tzinfo=UTC),
    valid_from=datetime(2025, 11, 2, tzinfo=UTC),
    valid_until=datetime(2031, 6, 30, 23, 59, 59, tzinfo=UTC),
    forms={"ldp": "{}"},
)


def _fields(url: str) -> dict[str, str]:
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "www.linkedin.com", "/profile/add")
    pairs = parse_qsl(parts.query, strict_parsing=True, keep_blank_values=True)
    assert len(pairs) == len(dict(pairs))  # each parameter once
    return dict(pairs)


def test_a_renewed_charter_is_issued_in_its_first_year_and_expires_with_its_new_version() -> None:
    fields = _fields(add_to_profile_url(RENEWED))

    assert fields == {
        "startTask": "CERTIFICATION_NAME",
        "name": "CAiEP® Charter",
        "organizationName": "CAiEP Certification Board",
        "issueYear": "2021",
        "issueMonth": "3",
        "expirationYear": "2031",
        "expirationMonth": "6",
        "certUrl": RENEWED.page_url,
        "certId": "CAIEP-000042",
    }


@pytest.mark.parametrize(
    "name",
    [
        "Board of AI & Data Engineering",
        "C++ #1 Guild + Friends",
        "Société Française d'Ingénierie — IA",
        "Ελληνικό Συμβούλιο Μηχανικών",
        "Российский совет инженеров",
        "中国人工智能工程师协会",
        "الهيئة العربية لمهندسي الذكاء الاصطناعي",
        "100% = done? yes; a/b",
    ],
)
def test_names_with_reserved_characters_and_any_script_survive(name: str) -> None:
    charter = replace(RENEWED, issuer_name=name, charter_name=f"{name} Charter")

    url = add_to_profile_url(charter)

    assert url.isascii()
    assert " " not in url
    fields = _fields(url)
    assert fields["organizationName"] == name
    assert fields["name"] == f"{name} Charter"
    assert fields["certUrl"] == RENEWED.page_url


def test_the_organization_id_replaces_the_name() -> None:
    fields = _fields(add_to_profile_url(RENEWED, organization_id="2414183"))

    assert fields["organizationId"] == "2414183"
    assert "organizationName" not in fields


@pytest.mark.parametrize("bad", ["", "12a", "1&name=x", "-5"])
def test_an_organization_id_that_is_not_linkedins_number_is_refused(bad: str) -> None:
    with pytest.raises(InputError, match="numeric company id"):
        add_to_profile_url(RENEWED, organization_id=bad)


@pytest.mark.parametrize("state", ["revoked", "suspended", "lapsed"])
def test_only_a_current_charter_is_offered(state: str) -> None:
    with pytest.raises(NotCurrent) as refused:
        add_to_profile_url(replace(RENEWED, state=state))

    assert refused.value.state == state
    assert f"is {state}" in refused.value.message
