"""JSON-LD to RDF quads, refusing to lose data (VC Data Integrity 1.0 §2.4.3).

pyld expands the document with our offline loader; every property that does not expand to
an absolute IRI, and every ``@id`` or ``@type`` that stays relative, is a data-loss error
instead of being dropped silently as plain JSON-LD processors do. What cannot be signed
faithfully is never signed, and a verifier never accepts a signature over less than the
document says.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from frozendict import frozendict
from pyld import jsonld
from pyld.context_resolver import ContextResolver
from pyld.identifier_issuer import IdentifierIssuer

from caiep.caches import NamedCache, content_digest
from caiep.errors import CaiepError, CanonicalizationError, DataLossError, InvalidIRIError
from caiep.proofs.nquads import Quad, iri, is_absolute_iri, literal
from caiep.schemas.loader import document_loader as pinned_loader

DocumentLoader = Callable[[str, Any], Mapping[str, Any]]

_KEYWORDS_WITH_IRI = ("@id", "@type")
_UNSEEN = object()  # an IRI expansion may legitimately be None

# Processed contexts and expanded IRIs, remembered across documents. An active context is
# named by the "_uuid" pyld gives each context it builds: pyld freezes a context once built and
# keys its own caches on that identifier, which is never reused. Only frozen contexts are
# memoised (a context still being built changes under the same identifier).
_contexts: NamedCache[tuple[Any, ...], Any] = NamedCache("jsonld_contexts")
_iris: NamedCache[tuple[Any, ...], tuple[Any]] = NamedCache("jsonld_iris")


class _Processor(jsonld.JsonLdProcessor):  # type: ignore[misc]
    """pyld's processor with context processing and IRI expansion memoised across documents.

    pyld caches a processed context under the active context's ``_uuid``; a type-scoped
    context first clones the active context (new uuid), so every credential re-processes
    the OB and VC contexts from scratch. Processed contexts are frozen by pyld, so the same
    (active context, local context) pair always gives the same result: we memoise on the
    active context's ``_uuid`` and the local context's URL or content digest.
    """

    def _process_context(
        self,
        active_ctx: Any,
        local_ctx: Any,
        options: Any,
        override_protected: bool = False,
        propagate: bool = True,
        validate_scoped: bool = True,
        cycles: Any = None,
    ) -> Any:
        """pyld's context processing (JSON-LD 1.1 API §4.1), answered from memory when known."""
        active_key = _frozen_context_key(active_ctx)
        local_key = _context_key(local_ctx)
        if active_key is None or local_key is None:
            return super()._process_context(
                active_ctx, local_ctx, options, override_protected, propagate, validate_scoped, cycles
            )
        key = (
            active_key,
            local_key,
            options["documentLoader"],
            override_protected,
            propagate,
            validate_scoped,
        )
        hit = _contexts.get(key)
        if hit is not None:
            return hit
        result = super()._process_context(
            active_ctx, local_ctx, options, override_protected, propagate, validate_scoped, cycles
        )
        _contexts.put(key, result)
        return result

    def __init__(self, on_property_dropped: Callable[[str | None], None]) -> None:
        super().__init__(on_property_dropped=on_property_dropped)
        # IRIs already expanded in this one expansion (a document repeats its terms): a plain
        # dict in front of the shared cache, dropped with the processor when the call ends.
        self._expanded_here: dict[tuple[Any, ...], Any] = {}

    def _expand_iri(
        self,
        active_ctx: Any,
        value: Any,
        base: Any = None,
        vocab: bool = False,
        local_ctx: Any = None,
        defined: Any = None,
    ) -> Any:
        """pyld's IRI expansion (JSON-LD 1.1 API §4.3), answered from memory when known."""
        # Outside context processing (no local context being defined), the expansion of a
        # string depends only on the frozen active context: memoise it the same way.
        if (
            local_ctx is not None
            or defined is not None
            or not isinstance(value, str)
            or not isinstance(active_ctx, frozendict)
            or not isinstance(active_key := active_ctx.get("_uuid"), str)
        ):
            return super()._expand_iri(active_ctx, value, base, vocab, local_ctx, defined)
        key = (active_key, value, base, vocab)
        found = self._expanded_here.get(key, _UNSEEN)
        if found is not _UNSEEN:
            return found
        hit = _iris.get(key)
        if hit is None:
            hit = (super()._expand_iri(active_ctx, value, base, vocab, local_ctx, defined),)
            _iris.put(key, hit)
        self._expanded_here[key] = hit[0]
        return hit[0]


def _frozen_context_key(active_ctx: Any) -> str | None:
    """The ``_uuid`` of a frozen (finished) active context, else None (not memoised)."""
    if isinstance(active_ctx, frozendict):
        key = active_ctx.get("_uuid")
        if isinstance(key, str):
            return key
    return None


class _DigestedContext(dict[str, Any]):
    """An object inside a loaded context document, with the digest of its content.

    Scoped contexts reach context processing as these objects, document after document;
    computing their digest once, when the document is loaded, keeps the memo key cheap.
    """

    digest: bytes


def _digested(value: Any) -> Any:
    """A copy of a JSON value whose objects are :class:`_DigestedContext` (digest computed once)."""
    if isinstance(value, Mapping):
        result = _DigestedContext((key, _digested(item)) for key, item in value.items())
        result.digest = content_digest(value)
        return result
    if isinstance(value, list):
        return [_digested(item) for item in value]
    return value


def _context_key(local_ctx: Any) -> Any:
    """A hashable key for a local context's content: URLs as they are, objects by digest."""
    if isinstance(local_ctx, str):
        return local_ctx
    if isinstance(local_ctx, list):
        parts = tuple(_context_key(item) for item in local_ctx)
        return None if None in parts else parts
    if isinstance(local_ctx, _DigestedContext):
        return local_ctx.digest
    if isinstance(local_ctx, Mapping):
        try:
            return content_digest(local_ctx)
        except (TypeError, ValueError):
            return None
    return None


def _tagged(loader: DocumentLoader) -> DocumentLoader:
    """Wrap a loader so pyld keeps the contexts it resolves ("static" tag) between calls.

    The documents it returns carry content digests on every object (see _DigestedContext).
    """

    def load(url: str, options: Any = None) -> Mapping[str, Any]:
        """The loader's answer with digested objects and the "static" tag pyld keeps."""
        remote = loader(url, options)
        return {**remote, "document": _digested(remote.get("document")), "tag": "static"}

    return load


# Per document loader (the key is the loader itself, which the cache keeps alive): the tagged
# loader and the loader's cache of resolved context documents, shared by every expansion.
_resolvers: NamedCache[DocumentLoader, tuple[DocumentLoader, NamedCache[str, Any]]] = NamedCache(
    "context_resolvers"
)


def _resolver_for(loader: DocumentLoader) -> tuple[DocumentLoader, Any]:
    """A fresh pyld context resolver for one expansion, sharing the loader's locked cache."""
    tagged, shared = _resolvers.get_or_compute(
        loader, lambda: (_tagged(loader), NamedCache("resolved_contexts"))
    )
    return tagged, ContextResolver(shared, tagged)


def to_quads(document: Mapping[str, Any], *, document_loader: DocumentLoader = pinned_loader) -> list[Quad]:
    """The RDF dataset of a JSON-LD document as quads of N-Quads terms.

    Raises DataLossError for a term that does not expand, InvalidIRIError for a malformed IRI,
    DocumentLoaderError for a context the loader refuses, CanonicalizationError otherwise.
    """
    dropped: list[str | None] = []
    processor = _Processor(on_property_dropped=dropped.append)
    tagged, resolver = _resolver_for(document_loader)
    options = {
        "documentLoader": tagged,
        "contextResolver": resolver,
        "base": None,
        "processingMode": "json-ld-1.1",
    }
    try:
        expanded = processor.expand(dict(document), options)
    except jsonld.JsonLdError as exc:
        raise _project_error(exc) from exc
    if dropped:
        terms = sorted({term or "?" for term in dropped})
        names = sorted(_undefined_keys(document, set(terms)))
        shown = names or terms
        raise DataLossError(
            f"term(s) not defined by the document's contexts: {', '.join(shown)}",
            terms=shown,
            json_pointer=_pointer_of_key(document, shown[0]) if names else None,
        )
    for value, where in _iri_values(expanded):
        if not value.startswith("_:") and not is_absolute_iri(value):
            if value and ":" not in value:
                raise DataLossError(
                    f"{where} value {value!r} is not defined by the contexts and is not an absolute IRI",
                    terms=[value],
                )
            raise InvalidIRIError(f"{where} value is not a valid absolute IRI: {value!r}", iri=value)
    issuer = IdentifierIssuer("_:b")
    node_map: dict[str, Any] = {"@default": {}}
    try:
        processor._create_node_map(expanded, node_map, "@default", issuer)
        quads: list[Quad] = []
        for graph_name, graph in sorted(node_map.items()):
            graph_term = "" if graph_name == "@default" else _node_term(graph_name)
            for triple in processor._graph_to_rdf(graph, issuer, options):
                quads.append(
                    (
                        _node_term(triple["subject"]["value"]),
                        iri(triple["predicate"]["value"]),
                        _object_term(triple["object"]),
                        graph_term,
                    )
                )
    except jsonld.JsonLdError as exc:
        raise _project_error(exc) from exc
    return quads


def _node_term(value: str) -> str:
    return value if value.startswith("_:") else iri(value)


def _object_term(obj: Mapping[str, Any]) -> str:
    kind = obj["type"]
    if kind == "literal":
        return literal(obj["value"], obj.get("datatype"), obj.get("language"))
    return _node_term(obj["value"])


def _iri_values(node: Any, where: str = "@id") -> Iterator[tuple[str, str]]:
    """Every @id and @type string in expanded JSON-LD (node types and value datatypes)."""
    if isinstance(node, list):
        for item in node:
            yield from _iri_values(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key in _KEYWORDS_WITH_IRI:
                if key == "@type" and value == "@json":
                    continue
                for item in value if isinstance(value, list) else [value]:
                    if isinstance(item, str):
                        yield item, key
            elif key != "@value":
                yield from _iri_values(value)


def _undefined_keys(document: Any, expanded_terms: set[str]) -> Iterator[str]:
    """Names of JSON keys whose expansion was dropped (pyld reports the expanded form)."""
    if isinstance(document, list):
        for item in document:
            yield from _undefined_keys(item, expanded_terms)
    elif isinstance(document, dict):
        for key, value in document.items():
            if key in expanded_terms or (key not in ("@context",) and "?" in expanded_terms):
                yield key
            if key != "@context":
                yield from _undefined_keys(value, expanded_terms)


def _pointer_of_key(document: Any, key: str, prefix: str = "") -> str | None:
    """RFC 6901 pointer to the first occurrence of ``key`` in the document."""
    if isinstance(document, dict):
        for name, value in document.items():
            here = f"{prefix}/{name.replace('~', '~0').replace('/', '~1')}"
            if name == key:
                return here
            if name != "@context":
                found = _pointer_of_key(value, key, here)
                if found:
                    return found
    elif isinstance(document, list):
        for index, item in enumerate(document):
            found = _pointer_of_key(item, key, f"{prefix}/{index}")
            if found:
                return found
    return None


def _project_error(exc: BaseException) -> CaiepError:
    """The project error behind a pyld failure (a refused context), or a wrapping one."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, CaiepError):
            return cause
        cause = cause.__cause__ or cause.__context__
    message = exc.args[0] if exc.args and isinstance(exc.args[0], str) else type(exc).__name__
    return CanonicalizationError(f"JSON-LD processing failed: {message}")
