"""Revoke, suspend, reinstate and renew with the CLI while our app serves the lists (gunicorn, two
workers): at the next request our verifier and Digital Bazaar's (``@digitalbazaar/vc`` with
``@digitalbazaar/vc-bitstring-status-list``, reading the list from the app on loopback) agree.

Digital Bazaar's library reports a set bit in its status results (``statuses[0].set``); the
assertions are on those, beside its top-level ``verified``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_interop_status import (  # the status tests' gunicorn set-up and helpers, reused
    Served,
    _caiep,
    _digital_bazaar,
    _get,
    _post_json,
    _status_check,
    serve_instance,
)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    yield from serve_instance(tmp_path_factory.mktemp("lifecycle"))


def _ours(served: Served, credential: dict[str, Any]) -> tuple[str, str]:
    return _status_check(_post_json(f"{served.base}/api/v1/verify", credential))


def _theirs(served: Served, contexts: dict[str, Any], credentials: list[dict[str, Any]]) -> list[bool]:
    """Whether Digital Bazaar found each credential's bit set (its list checked first)."""
    found = []
    for result in _digital_bazaar(served, contexts, credentials):
        [entry] = result["statuses"]
        assert entry["checked"] is True, entry
        assert result["verified"] is (not entry["set"]), result
        found.append(bool(entry["set"]))
    return found


def _cli(served: Served, *args: str, env: dict[str, str] | None = None) -> str:
    run = _caiep({**served.environment, **(env or {})}, "--home", str(served.home), *args)
    assert run.returncode == 0, run.stderr
    return run.stdout


def test_revoke_with_the_cli_while_the_app_runs(served: Served, contexts: dict[str, Any]) -> None:
    target, bystander = served.credentials[0], served.credentials[1]
    etag = _get(f"{served.base}/status/1")[1]["ETag"]
    _cli(served, "revoke", target["id"], "--reason", "withdrawn by the board")
    for _ in range(6):  # two workers: each answers some of these
        status, headers, _ = _get(f"{served.base}/status/1", **{"If-None-Match": etag})
        assert (status, headers["ETag"] != etag) == (200, True)
        assert _ours(served, target) == ("invalid", "revoked")
        assert _ours(served, bystander) == ("valid", "not_revoked")
    assert _theirs(served, contexts, [target, bystander]) == [True, False]


def test_suspend_then_reinstate(served: Served, contexts: dict[str, Any], tmp_path: Path) -> None:
    target = served.credentials[2]
    _cli(served, "suspend", target["id"], "--reason", "under review")
    # The list holds a revocation bit; our verifier reads the registry and says why.
    assert _ours(served, target) == ("invalid", "suspended")
    assert _theirs(served, contexts, [target]) == [True]

    out = tmp_path / "reinstated.json"
    _cli(served, "reinstate", target["id"], "--out", str(out))
    reinstated = json.loads(out.read_text(encoding="utf-8"))
    assert reinstated["id"] == target["id"]
    assert reinstated["validUntil"] == target["validUntil"]
    assert reinstated["validFrom"] > target["validFrom"]
    hosted = _get(f"{served.base}/credentials/{target['id'].rsplit('/', 1)[1]}", Accept="application/json")
    assert json.loads(hosted[2]) == reinstated  # the hosted URL serves the new version
    for _ in range(4):
        assert _ours(served, reinstated) == ("valid", "not_revoked")
        assert _ours(served, target) == ("invalid", "revoked")  # the suspended copy stays revoked
    assert _theirs(served, contexts, [reinstated, target]) == [False, True]


def test_renew(served: Served, contexts: dict[str, Any], tmp_path: Path) -> None:
    target = served.credentials[3]
    out = tmp_path / "renewed.json"
    # A charter issued today is years from its renewal window: open it wide for this test.
    _cli(served, "renew", target["id"], "--out", str(out), env={"CAIEP_RENEWAL_WINDOW_MONTHS": "60"})
    renewed = json.loads(out.read_text(encoding="utf-8"))
    assert renewed["id"] == target["id"]
    assert renewed["awardedDate"] == target["awardedDate"]
    assert int(renewed["validUntil"][:4]) == int(target["validUntil"][:4]) + 5
    for _ in range(4):
        assert _ours(served, renewed) == ("valid", "not_revoked")
        assert _ours(served, target) == ("valid", "not_revoked")  # the older version keeps verifying
    assert _theirs(served, contexts, [renewed, target]) == [False, False]
    too_early = _caiep(served.environment, "--home", str(served.home), "renew", target["id"])
    assert too_early.returncode == 2
    assert "too early to renew" in too_early.stderr
