"""The charter's standing on our own page and status API: revoked, suspended, renewed, lapsed,
read from the registry on every request (a change made while the app runs shows at once)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from charter_site import NOW, Charters, change_state, issue_at, new_version, open_site


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Charters]:
    yield from open_site(tmp_path_factory.mktemp("charters") / "home")


def status_of(site: Charters, credential_id: str) -> dict:
    response = site.client.get(f"/api/v1/credentials/{credential_id}/status")
    assert response.status_code == 200
    return response.get_json()


def test_a_current_charter_names_its_state_version_and_first_award(site: Charters) -> None:
    awarded = NOW - timedelta(days=40)
    issued = issue_at(site, "Cara Current", awarded)
    body = status_of(site, issued.credential_id)
    assert (body["status"], body["state"], body["version"], body["publicReason"]) == (
        "valid",
        "current",
        "current",
        None,
    )
    assert body["holderSince"][:10] == awarded.date().isoformat()
    assert body["lapses"] == []
    page = site.client.get(f"/c/{issued.credential_id}").get_data(as_text=True)
    assert "Charter holder since" in page
    assert f"{awarded.day} {awarded:%B %Y}" in page


def test_a_revocation_made_while_the_app_runs_shows_at_once_with_its_reason(site: Charters) -> None:
    issued = issue_at(site, "Rex Revoked", NOW - timedelta(days=3))
    assert status_of(site, issued.credential_id)["status"] == "valid"
    change_state(site, issued, "revoked", "Charter withdrawn by the disciplinary panel")
    body = status_of(site, issued.credential_id)
    assert (body["verified"], body["status"], body["state"]) == (False, "revoked", "revoked")
    assert body["publicReason"] == "Charter withdrawn by the disciplinary panel"
    assert body["stateSince"][:10] == NOW.date().isoformat()
    page = site.client.get(f"/c/{issued.credential_id}").get_data(as_text=True)
    assert 'class="verdict revoked"' in page
    assert "Charter withdrawn by the disciplinary panel" in page
    assert f"revoked this credential on {NOW.day} {NOW:%B %Y}" in page


def test_a_suspension_is_shown_as_suspended_from_the_registry_not_as_revoked(site: Charters) -> None:
    issued = issue_at(site, "Sam Suspended", NOW - timedelta(days=3))
    change_state(site, issued, "suspended", "Under investigation")
    body = status_of(site, issued.credential_id)
    assert (body["status"], body["state"], body["publicReason"]) == (
        "suspended",
        "suspended",
        "Under investigation",
    )
    status_check = next(c for c in body["checks"] if c["name"] == "status")
    assert (status_check["outcome"], status_check["code"]) == ("invalid", "suspended")
    page = site.client.get(f"/c/{issued.credential_id}").get_data(as_text=True)
    assert 'class="verdict suspended"' in page
    assert '<h1 id="verdict">Suspended</h1>' in page
    assert "Under investigation" in page
    assert f"suspended this credential since {NOW.day} {NOW:%B %Y}" in page


def test_an_older_version_verifies_as_renewed_with_a_link_to_the_current_state(site: Charters) -> None:
    issued = issue_at(site, "Rene Renewed", NOW - timedelta(days=4 * 365))
    renewed = NOW - timedelta(days=2)
    current = new_version(site, issued, "Rene Renewed", renewed, "renewal")
    old = site.client.post("/verify", data={"credential": issued.document})
    text = old.get_data(as_text=True)
    assert '<h1 id="verdict">Renewed</h1>' in text
    assert "renewed — current until" in text
    assert f'href="/c/{issued.credential_id}"' in text
    now_page = site.client.post("/verify", data={"credential": current}).get_data(as_text=True)
    assert '<h1 id="verdict">Valid</h1>' in now_page
    body = status_of(site, issued.credential_id)
    assert (body["status"], body["state"], body["version"]) == ("valid", "current", "current")
    assert body["currentUntil"][:10] == json.loads(current)["validUntil"][:10]


def test_a_renewal_after_a_lapse_shows_the_lapse_and_a_lapsed_charter_says_lapsed(site: Charters) -> None:
    issued = issue_at(site, "Lea Lapsed", NOW - timedelta(days=6 * 366))
    body = status_of(site, issued.credential_id)
    assert (body["status"], body["state"]) == ("expired", "lapsed")
    assert body["stateSince"][:10] == json.loads(issued.document)["validUntil"][:10]
    back = NOW - timedelta(days=1)
    new_version(site, issued, "Lea Lapsed", back, "renewal")
    body = status_of(site, issued.credential_id)
    assert (body["status"], body["state"]) == ("valid", "current")
    [lapse] = body["lapses"]
    assert lapse["from"][:10] == json.loads(issued.document)["validUntil"][:10]
    assert lapse["to"][:10] == back.date().isoformat()
    page = site.client.get(f"/c/{issued.credential_id}").get_data(as_text=True)
    assert "<dt>Lapsed</dt>" in page
    assert f"to {back.day} {back:%B %Y}" in page


def test_a_document_that_fails_is_never_joined_with_the_registry(site: Charters) -> None:
    issued = issue_at(site, "Tia Tampered", NOW - timedelta(days=3))
    forged = issued.document.replace("Tia Tampered", "Tia Trusted")
    text = site.client.post("/verify", data={"credential": forged}).get_data(as_text=True)
    assert "Charter holder since" not in text
    assert '<h1 id="verdict">Invalid</h1>' in text


def test_the_api_says_an_older_version_is_superseded(site: Charters) -> None:
    issued = issue_at(site, "Vic Version", NOW - timedelta(days=3 * 365))
    current = new_version(site, issued, "Vic Version", NOW - timedelta(days=1), "renewal")
    old = site.client.post("/api/v1/verify", json=json.loads(issued.document)).get_json()
    assert (old["status"], old["state"], old["version"]) == ("valid", "current", "superseded")
    assert old["currentUntil"][:10] == json.loads(current)["validUntil"][:10]
    now = site.client.post("/api/v1/verify", json=json.loads(current)).get_json()
    assert (now["status"], now["version"]) == ("valid", "current")
    foreign = site.client.post("/api/v1/verify", json={"not": "a credential"}).get_json()
    assert "state" not in foreign
