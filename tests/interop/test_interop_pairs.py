"""The JSON form stored beside a VC-JWT is a credential Digital Bazaar verifies: the form signed at
``caiep issue --format jwt`` and the one ``caiep credentials backfill`` signs for a VC-JWT issued
alone, both read from the registry (as exports read them), their status list from our app on
loopback; after ``caiep revoke`` Digital Bazaar finds the pair's one bit set."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from old_registry import issued_the_old_way
from test_interop_lifecycle import _cli, _theirs
from test_interop_status import Served, serve_instance

from caiep.wiring import Instance


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    yield from serve_instance(tmp_path_factory.mktemp("pairs"))


def _json_form(served: Served, credential_id: str) -> dict[str, Any]:
    with Instance(served.home).registry() as registry:
        copies = registry.issued_copies(credential_id, now=datetime.now(UTC))
    assert copies.served_form == "jwt"
    document: dict[str, Any] = json.loads(copies.forms["ldp"])
    return document


def test_digital_bazaar_verifies_the_json_forms_of_vc_jwts(served: Served, contexts: dict[str, Any]) -> None:
    issued = _cli(
        served, "issue", "--format", "jwt", "--name", "Jo Token", "--email", "jo@example.org",
        "--exam-date", "2026-10-01",
    )  # fmt: skip
    assert issued.count(".") == 2
    instance = Instance(served.home)
    signer = instance.signer(served.environment["CAIEP_KEY_PASSPHRASE"], format="jwt")
    with instance.registry() as registry:
        old = issued_the_old_way(registry, signer, "old@example.org", datetime.now(UTC))
    with instance.registry() as registry:
        [fresh] = [r for r in registry.credentials(holder_email="jo@example.org")]
    assert _cli(served, "credentials", "backfill") == "signed 1 missing form\n"

    forms = [_json_form(served, fresh.credential_id), _json_form(served, old.credential_id)]
    assert _theirs(served, contexts, forms) == [False, False]  # verified, bit not set

    _cli(served, "revoke", old.credential_id, "--reason", "withdrawn by the board")
    assert _theirs(served, contexts, forms) == [False, True]
