"""Structural limits: real credentials pass with room to spare, hostile ones are refused with 422.

Every limit of :data:`caiep.verifier.limits.LIMITS` is exercised at its value (answered) and one
past it (refused, naming the limit), through the JSON API, the form and ``caiep verify``; the
worst document inside every limit stays cheap to verify.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hostile_documents import EXTERNAL, Site, count_values, worst_inside_limits
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from caiep.verifier.limits import LIMITS, LimitExceeded, check_limits

BIN = Path(sys.executable).parent
REAL = sorted(
    path
    for path in [
        *EXTERNAL.glob("1edtech/*.json"),
        *EXTERNAL.glob("*/*signed*.json"),
        *EXTERNAL.glob("*/vector.json"),
    ]
    if json.loads(path.read_text(encoding="utf-8")).get("credentialSubject")
)


def _measures(document: Any) -> dict[str, int]:
    """What each limit measures in ``document``."""
    found = dict.fromkeys(LIMITS, 0)
    found["values"] = count_values(document)
    found["proofs"] = len(document.get("proof") or []) if isinstance(document.get("proof"), list) else 1
    status = document.get("credentialStatus")
    found["status_entries"] = len(status) if isinstance(status, list) else int(status is not None)
    pending: list[tuple[Any, int]] = [(document, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, str):
            found["string_chars"] = max(found["string_chars"], len(value))
        elif isinstance(value, list):
            found["depth"] = max(found["depth"], depth)
            found["array_items"] = max(found["array_items"], len(value))
            pending.extend((item, depth + 1) for item in value)
        elif isinstance(value, dict):
            found["depth"] = max(found["depth"], depth)
            for key, item in value.items():
                if key in ("evidence", "alignment", "result") and isinstance(item, list):
                    found[key] = max(found[key], len(item))
                pending.append((item, depth + 1))
    return found


@pytest.mark.parametrize("path", REAL, ids=[path.name for path in REAL])
def test_real_credentials_use_at_most_a_quarter_of_each_limit(path: Path) -> None:
    document = json.loads(path.read_text(encoding="utf-8"))
    check_limits(document)
    for name, used in _measures(document).items():
        if name not in ("proofs", "status_entries"):  # counted in ones: 1 of 4 is the room there
            assert used * 4 <= LIMITS[name], (name, used)
        else:
            assert used <= 1, (name, used)


def test_the_real_credentials_are_many() -> None:
    assert len(REAL) >= 8


# -- documents exactly at a limit, or one past it -------------------------------------------


def _nest(depth: int) -> Any:
    value: Any = 0
    for _ in range(depth):
        value = [value]
    return value


def _at(document: dict[str, Any], name: str, count: int) -> dict[str, Any]:
    """A copy of ``document`` whose measure ``name`` is exactly ``count``."""
    changed = copy.deepcopy(document)
    if name == "depth":
        changed["padding"] = _nest(count - 1)  # the credential itself is the first level
    elif name == "array_items":
        changed["padding"] = [0] * count
    elif name == "string_chars":
        changed["padding"] = "x" * count
    elif name == "proofs":
        proof = changed["proof"]
        changed["proof"] = [
            copy.deepcopy(proof[0] if isinstance(proof, list) else proof) for _ in range(count)
        ]
    elif name == "status_entries":
        changed["credentialStatus"] = [
            {"id": f"urn:example:status:{index}", "type": "BitstringStatusListEntry"}
            for index in range(count)
        ]
    elif name in ("evidence", "alignment", "result"):
        changed[name] = [{"id": f"urn:example:{name}:{index}"} for index in range(count)]
    elif name == "values":
        room = count - count_values(changed) - 1  # the padding array itself
        rows, rest = divmod(room, LIMITS["array_items"] + 1)
        padding: list[Any] = [[0] * LIMITS["array_items"] for _ in range(rows)]
        if rest:
            padding.append([0] * (rest - 1))
        changed["padding"] = padding
        assert count_values(changed) == count
    else:  # pragma: no cover - a new limit needs a row here
        raise AssertionError(f"no document for the limit {name!r}")
    return changed


@pytest.mark.parametrize("name", sorted(LIMITS))
def test_at_the_limit_passes_and_one_past_is_refused_naming_it(site: Site, name: str) -> None:
    document = json.loads(site.credential)
    check_limits(_at(document, name, LIMITS[name]))
    with pytest.raises(LimitExceeded) as refused:
        check_limits(_at(document, name, LIMITS[name] + 1))
    assert refused.value.limit == name
    assert f"over the limit {name!r} ({LIMITS[name]})" in refused.value.message


Post = Callable[[bytes], Any]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    name=st.sampled_from(sorted(LIMITS)),
    past=st.integers(min_value=0, max_value=3),
    route=st.sampled_from(["api", "form"]),
    inside=st.booleans(),
)
def test_the_service_answers_inside_and_refuses_past_every_limit(
    site: Site, name: str, past: int, route: str, inside: bool
) -> None:
    count = LIMITS[name] - past if inside else LIMITS[name] + 1 + past
    body = json.dumps(_at(json.loads(site.credential), name, count)).encode("utf-8")
    if route == "api":
        response = site.client.post("/api/v1/verify", data=body, content_type="application/json")
    else:
        response = site.client.post("/verify", data={"credential": body.decode("utf-8")})
    assert response.status_code < 500
    if inside:
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
        return
    assert response.status_code == 422
    if route == "api":
        error = response.get_json()["error"]
        assert error["code"] == "limit_exceeded"
        assert f"over the limit {name!r}" in error["message"]
    else:
        assert response.mimetype == "text/html"
        assert f"over the limit {name!r}" in response.get_data(as_text=True).replace("&#39;", "'")


def test_sixteen_thousand_evidence_items_are_refused_at_once(site: Site) -> None:
    document = json.loads(site.credential)
    document["evidence"] = [
        {"id": f"https://evidence.example/{i}", "type": ["Evidence"]} for i in range(16_000)
    ]
    body = json.dumps(document).encode("utf-8")
    assert 700_000 < len(body) < 1_048_576
    response = site.client.post("/api/v1/verify", data=body, content_type="application/json")
    assert response.status_code == 422
    assert response.get_json()["error"] == {
        "code": "limit_exceeded",
        "message": "too many evidence items: over the limit 'evidence' (100)",
    }


def test_caiep_verify_says_refused_on_one_line_and_exits_2(site: Site, tmp_path: Path) -> None:
    path = tmp_path / "over.json"
    path.write_text(json.dumps(_at(json.loads(site.credential), "evidence", 101)), encoding="utf-8")
    completed = subprocess.run(
        [str(BIN / "caiep"), "verify", str(path)], capture_output=True, text=True, timeout=60, check=False
    )
    assert completed.returncode == 2
    assert completed.stdout == ""
    assert completed.stderr == (
        f"caiep: refused: {path}:/evidence: too many evidence items: over the limit 'evidence' (100)\n"
    )


_MEASURE = """
import json, sys, time
from datetime import UTC, datetime
from caiep.verifier.fetch import MappingFetcher
from caiep.verifier.inputs import read_presented
from caiep.verifier.verify import verify
data = sys.stdin.buffer.read()
started = time.process_time()
result = verify(read_presented(data), now=datetime(2025, 3, 2, tzinfo=UTC), fetcher=MappingFetcher({}))
cpu = time.process_time() - started
proof = [check.outcome.value for check in result.checks if check.name == "proof"]
print(json.dumps({"cpu": cpu, "proof": proof[0]}))
"""


def test_the_worst_document_inside_every_limit_is_cheap_to_verify() -> None:
    document = worst_inside_limits()
    check_limits(document)
    assert count_values(document) > LIMITS["values"] * 0.9
    # A fresh process: nothing of this shape is cached, as for a hostile stranger's request.
    completed = subprocess.run(
        [sys.executable, "-c", _MEASURE],
        input=json.dumps(document).encode("utf-8"),
        capture_output=True,
        timeout=120,
        check=True,
    )
    measured = json.loads(completed.stdout)
    assert measured["proof"] == "valid"  # every check ran to the end
    assert measured["cpu"] < 1.0  # 0.4 s measured on a 2-core build machine; twice that as margin
