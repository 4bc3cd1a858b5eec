"""The private pyld interfaces proofs/rdf.py relies on, pinned so that an upgrade fails here, loudly.

proofs/rdf.py subclasses ``JsonLdProcessor`` to memoise ``_process_context`` and ``_expand_iri``,
calls ``_create_node_map`` and ``_graph_to_rdf`` directly, builds its own ``ContextResolver``
around a shared cache, and keys its memos on the ``_uuid`` of frozen active contexts. None of
that is public API. pyproject.toml pins pyld to the tested range; this file says exactly what
was tested, so a change of signature or behaviour is caught before it corrupts a signature.
"""

from __future__ import annotations

import inspect
from importlib.metadata import version
from typing import Any

import pytest
from frozendict import frozendict
from pyld import jsonld
from pyld.context_resolver import ContextResolver
from pyld.identifier_issuer import IdentifierIssuer

from caiep.caches import NamedCache
from caiep.proofs import rdf
from caiep.schemas.loader import document_loader

Processor = jsonld.JsonLdProcessor

# Each parameter as "name" or "name=default" (a callable default shows as "<callable>").
SIGNATURES = {
    (Processor, "__init__"): ["self", "on_property_dropped=<callable>"],
    (Processor, "expand"): ["self", "input_", "options"],
    (Processor, "_process_context"): [
        "self",
        "active_ctx",
        "local_ctx",
        "options",
        "override_protected=False",
        "propagate=True",
        "validate_scoped=True",
        "cycles=None",
    ],
    (Processor, "_expand_iri"): [
        "self",
        "active_ctx",
        "value",
        "base=None",
        "vocab=False",
        "local_ctx=None",
        "defined=None",
    ],
    (Processor, "_create_node_map"): [
        "self",
        "input_",
        "graph_map",
        "active_graph",
        "issuer",
        "active_subject=None",
        "active_property=None",
        "list_=None",
    ],
    (Processor, "_graph_to_rdf"): ["self", "graph", "issuer", "options"],
    (Processor, "_get_initial_context"): ["self", "options"],
    (ContextResolver, "__init__"): ["self", "shared_cache", "document_loader", "max_context_urls=10"],
    (IdentifierIssuer, "__init__"): ["self", "prefix"],
}


def _parameters(method: Any) -> list[str]:
    """A method's parameters as SIGNATURES spells them (annotations left out)."""
    spelled = []
    for parameter in inspect.signature(method).parameters.values():
        if parameter.default is inspect.Parameter.empty:
            spelled.append(parameter.name)
        elif callable(parameter.default):
            spelled.append(f"{parameter.name}=<callable>")
        else:
            spelled.append(f"{parameter.name}={parameter.default!r}")
    return spelled


def _expansion_options() -> dict[str, Any]:
    """The options proofs/rdf.py expands with: our tagged loader and a resolver on a NamedCache."""
    tagged = rdf._tagged(document_loader)
    return {
        "documentLoader": tagged,
        "contextResolver": ContextResolver(NamedCache("resolved_contexts"), tagged),
        "base": None,
        "processingMode": "json-ld-1.1",
    }


def test_pyld_is_the_tested_version() -> None:
    assert version("pyld").startswith("3.3."), "proofs/rdf.py was tested against pyld 3.3: re-check its hooks"


@pytest.mark.parametrize(
    ("owner", "name"), list(SIGNATURES), ids=lambda value: getattr(value, "__name__", value)
)
def test_hook_exists_with_the_tested_signature(owner: type, name: str) -> None:
    method = getattr(owner, name, None)
    assert callable(method), f"pyld no longer has {owner.__name__}.{name}"
    assert _parameters(method) == SIGNATURES[(owner, name)], f"{owner.__name__}.{name} changed"


def test_our_overrides_keep_pyld_signatures() -> None:
    for name in ("_process_context", "_expand_iri"):
        assert _parameters(getattr(rdf._Processor, name)) == SIGNATURES[(Processor, name)], name


def test_contexts_pyld_builds_are_frozen_and_carry_a_fresh_uuid() -> None:
    """The memo keys on ``_uuid`` rely on this: frozen contexts, never two with one uuid."""
    processor = Processor()
    initial = processor._get_initial_context({"processingMode": "json-ld-1.1"})
    assert isinstance(initial, frozendict)
    assert isinstance(initial["_uuid"], str)
    options = _expansion_options()
    first = Processor._process_context(processor, initial, "https://www.w3.org/ns/credentials/v2", options)
    local = {"@vocab": "https://pyld-hooks.example/"}
    second = Processor._process_context(processor, first, local, options)
    assert isinstance(first, frozendict)
    assert isinstance(second, frozendict)
    assert len({initial["_uuid"], first["_uuid"], second["_uuid"]}) == 3


def test_the_context_resolver_uses_only_get_and_item_assignment_on_its_shared_cache() -> None:
    """The shared cache handed to pyld is a NamedCache, which offers exactly these two."""
    source = inspect.getsource(ContextResolver)
    uses = {line.strip() for line in source.splitlines() if "self.shared_cache" in line and "=" in line}
    assert uses <= {
        "self.shared_cache = shared_cache",
        "tag_map = self.shared_cache.get(key)",
        "self.shared_cache[key] = tag_map",
    }, uses


def test_expansion_drops_are_reported_through_the_hook_we_pass() -> None:
    dropped: list[str | None] = []
    processor = rdf._Processor(on_property_dropped=dropped.append)
    options = _expansion_options()
    processor.expand({"@context": "https://www.w3.org/ns/credentials/v2", "notATerm": 1}, options)
    assert dropped
