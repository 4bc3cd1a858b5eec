"""A web app over a fresh instance whose charters tests award and change while it runs (the
charter pages and the holder's downloads), through the lifecycle building blocks."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import lifecycle_support
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


def open_site(home: Path) -> Iterator[Charters]:
    """The app over a new instance at ``home`` (did:web, no rate limits), until the caller is done."""
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
