"""The compiled predicate and jsonschema give the same verdict on every document.

validation.py answers "valid?" with a predicate compiled from the schema and asks jsonschema
only to explain failures. If the predicate ever accepted what jsonschema rejects, an invalid
credential would pass; these tests mutate real credentials at random and compare.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from caiep.schemas import validation

EXTERNAL = Path(__file__).parents[1] / "vectors" / "external"
CHARTER = json.loads((EXTERNAL / "charter-credential" / "signed.json").read_bytes())
COMPLETE = json.loads((EXTERNAL / "1edtech" / "1edtech-validator-complete.eddsa-rdfc-2022.json").read_bytes())

# Strings the schemas care about, so that mutations often land on the edge of validity.
MEANINGFUL = [
    "VerifiableCredential",
    "OpenBadgeCredential",
    "AchievementCredential",
    "EndorsementCredential",
    "AchievementSubject",
    "Achievement",
    "Profile",
    "Image",
    "IdentityObject",
    "IdentifierEntry",
    "Evidence",
    "Result",
    "ResultDescription",
    "Alignment",
    "Address",
    "GeoCoordinates",
    "https://www.w3.org/ns/credentials/v2",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    "https://purl.imsglobal.org/spec/ob/v3p0/context.json",
    "2026-01-01T00:00:00Z",
    "2026-01-01T00:00:00",
    "2026-02-30T00:00:00Z",
    "1990-01-01",
    "ext:Custom",
    "Certification",
    "emailAddress",
    "Completed",
    "en",
    "en-US",
    "a.b.c",
    "a..c",
    "",
]

leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.floats(allow_nan=False, width=32),
    st.sampled_from(MEANINGFUL),
    st.text(max_size=4),
)
values = st.recursive(
    leaves,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["id", "type", "name", "x"]), inner, max_size=3)
    ),
    max_leaves=6,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


@st.composite
def mutated(draw: st.DrawFn, original: dict[str, Any]) -> Any:
    """``original`` with one to three random edits: replace, delete, wrap, unwrap or add a key."""
    document: Any = copy.deepcopy(original)
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(document)
        path = draw(st.sampled_from(paths))
        operation = draw(st.sampled_from(["replace", "delete", "wrap", "unwrap", "add"]))
        if not path:
            if operation == "wrap":
                document = [document]
            continue
        parent = document
        for step in path[:-1]:
            parent = parent[step]
        key, current = path[-1], parent[path[-1]]
        if operation == "replace":
            parent[key] = draw(values)
        elif operation == "delete":
            del parent[key]
        elif operation == "wrap":
            parent[key] = [current]
        elif operation == "unwrap" and isinstance(current, list) and current:
            parent[key] = current[0]
        elif operation == "add" and isinstance(current, dict):
            current[draw(st.sampled_from(["id", "type", "identifier", "image", "extra"]))] = draw(values)
    return document


def _assert_agree(class_name: str, document: Any) -> None:
    schema = validation._schema(class_name)
    fast = schema.is_valid(document)
    reference = schema.explainer.is_valid(document)
    assert fast == reference, f"compiled predicate says {fast}, jsonschema says {reference}"
    assert (schema.issues(document) == []) == reference


AGREEMENT = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@AGREEMENT
@given(mutated(CHARTER))
def test_agreement_on_mutated_charter_credentials(document: Any) -> None:
    _assert_agree("AchievementCredential", document)


@AGREEMENT
@given(mutated(COMPLETE))
def test_agreement_on_mutated_complete_credentials(document: Any) -> None:
    _assert_agree("AchievementCredential", document)


@AGREEMENT
@given(mutated(COMPLETE["endorsement"][0]))
def test_agreement_on_mutated_endorsements(document: Any) -> None:
    _assert_agree("EndorsementCredential", document)


@AGREEMENT
@given(mutated(COMPLETE["issuer"]))
def test_agreement_on_mutated_profiles(document: Any) -> None:
    _assert_agree("Profile", document)


@pytest.mark.parametrize("path", sorted(EXTERNAL.rglob("*.json")), ids=lambda p: p.name)
def test_agreement_on_every_json_vector(path: Path) -> None:
    document = json.loads(path.read_bytes())
    for class_name in ("AchievementCredential", "EndorsementCredential", "Profile"):
        _assert_agree(class_name, document)
