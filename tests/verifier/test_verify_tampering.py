"""verify(): any change to a signed credential is detected."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from caiep.verifier.fetch import MappingFetcher
from caiep.verifier.result import Outcome, Verdict, VerificationResult
from caiep.verifier.verify import verify

if TYPE_CHECKING:
    from conftest import Issuer


from verifying import (
    COMPLETE_FIXTURE,
    NOW,
    assert_invalid,
    code_of,
    controller_document,
    load,
    outcome_of,
    summary,
)

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
    broken = {name for name in ("proof", "structure") if outcome_of(result, name) is Outcome.INVALID}
    assert broken, f"changing {path} left proof and structure valid: {summary(result)}"
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


def test_changing_any_leaf_of_the_1edtech_complete_credential_is_detected() -> None:
    """The 1EdTech validator's complete credential has numbers and booleans too."""
    credential = load(COMPLETE_FIXTURE)
    url, document = controller_document(credential["proof"][0]["verificationMethod"])
    fetcher = MappingFetcher({url: document})
    baseline = verify(credential, now=NOW, fetcher=fetcher)
    assert outcome_of(baseline, "proof") is Outcome.VALID
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

    assert outcome_of(result, "proof") is Outcome.VALID
    assert code_of(result, "structure") == "schema_invalid"
    assert "/credentialSubject/identifier/0/hashed" in result.checks[0].message
    assert_invalid(result)


def test_removing_the_proof_is_invalid(did_key_issuer: Issuer) -> None:
    credential = did_key_issuer.issue()
    del credential["proof"]

    result = verify(credential, now=NOW)

    assert code_of(result, "proof") == "proof_missing"
    assert_invalid(result)


def test_proof_fields_are_bound_too(did_key_issuer: Issuer) -> None:
    credential = did_key_issuer.issue()
    credential["proof"][0]["created"] = "2025-03-01T12:00:01Z"

    result = verify(credential, now=NOW)

    assert code_of(result, "proof") == "signature_invalid"
    assert_invalid(result)
