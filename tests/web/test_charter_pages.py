"""The charter's standing on our own page and status API: revoked, suspended, renewed, lapsed,
read from the registry on every request (a change made while the app runs shows at once)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import lifecycle_support
import pytest
from flask.testing import FlaskClient

from caiep.app import AppConfig, create_app
from caiep.issuer.charter import CharterAward
from caiep.issuer.jobs import IssuedCredential, Signer, issue_one
from caiep.issuer.registry import Registry
from caiep.settings import database_url
from caiep.wiring import Instance, init_instance, upgrade_configured_database
from support import unlimited_rates

PASSPHRASE = "a throwaway test passphrase for charter pages"
NOW = datetime.now(UTC)


@dataclass
class Charters:
    client: FlaskClient
    home: Path
    registry: Registry
    signer: Signer


def _award(name: str) -> CharterAward:
    return CharterAward(
        name=name,
        email=f"{name.split()[0].lower()}@example.org",
        exam_date=date(2020, 1, 6),
        charter_number="",
        score="82",
        exam_version="2026.1",
        pathway="experience",
    )


def issue_at(site: Charters, name: str, when: datetime) -> IssuedCredential:
    """A charter awarded at ``when``; its list re-signed now, as the daily ``status publish`` does."""
    issued = issue_one(site.registry, site.signer, _award(name), now=when)
    lifecycle_support.resign_all(site.registry, site.signer)
    return issued


def new_version(site: Charters, issued: IssuedCredential, name: str, when: datetime, kind: str) -> str:
    return lifecycle_support.new_version(site.registry, site.signer, issued, name, when, kind)


def change_state(site: Charters, issued: IssuedCredential, state: str, reason: str) -> None:
    lifecycle_support.change_state(site.registry, site.signer, issued, state, reason, NOW)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Charters]:
    home = tmp_path_factory.mktemp("charters") / "home"
    init_instance(
        home,
        issuer_name="CAiEP Certification Board",
        issuer_url="https://credentials.caiep.example",
        did_method="web",
        passphrase=PASSPHRASE,
        now=NOW - timedelta(days=7 * 366),
    )
    instance = Instance(home)
    upgrade_configured_database(instance.configuration)
    registry = instance.registry()
    app = create_app(AppConfig(home=home, database_url=database_url(home), rate_limits=unlimited_rates()))
    yield Charters(app.test_client(), home, registry, instance.signer(PASSPHRASE))
    registry.dispose()
    app.extensions["caiep.registry"].dispose()


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
