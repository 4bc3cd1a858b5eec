"""The offline JSON-LD document loader: pinned contexts only, W3C digests enforced, no network."""

from __future__ import annotations

import copy
import json
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from cachetools import LRUCache
from pyld import jsonld
from pyld.context_resolver import ContextResolver

from caiep import schemas
from caiep.errors import DocumentLoaderError
from caiep.schemas import loader
from caiep.schemas.loader import CONTEXT_FILES, PUBLISHED_DIGESTS

PACKAGE = Path(schemas.__file__).parent
VECTORS = Path(__file__).parents[1] / "vectors" / "external"
OB_303 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a socket fails the test: the loader must never fetch."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the document loader tried to open a network connection")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture
def fresh_cache() -> Iterator[None]:
    """Empty the parsed-context cache around a test that swaps the files underneath it."""
    loader.load_context.cache_clear()
    yield
    loader.load_context.cache_clear()


@pytest.fixture
def package_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_cache: None) -> Path:
    """A temporary copy of the package data that the loader reads instead of the real files."""
    shutil.copytree(PACKAGE / "contexts", tmp_path / "contexts")
    monkeypatch.setattr(loader, "resources", SimpleNamespace(files=lambda package: tmp_path))
    return tmp_path


@pytest.mark.parametrize("url", sorted(CONTEXT_FILES))
def test_every_pinned_url_loads_as_a_json_ld_context(url: str) -> None:
    remote = loader.document_loader(url, {})
    assert remote["documentUrl"] == url
    assert remote["contextUrl"] is None
    assert "@context" in remote["document"]
    assert loader.is_known_context(url)


@pytest.mark.parametrize("url", sorted(CONTEXT_FILES))
def test_context_bytes_are_the_file_bytes(url: str) -> None:
    assert loader.context_bytes(url) == (PACKAGE / "contexts" / CONTEXT_FILES[url]).read_bytes()


@pytest.mark.parametrize("url", sorted(PUBLISHED_DIGESTS))
def test_a_tampered_w3c_context_is_refused(url: str, package_copy: Path) -> None:
    target = package_copy / "contexts" / CONTEXT_FILES[url]
    data = bytearray(target.read_bytes())
    data[data.index(b"@context")] ^= 0x01  # one flipped bit is enough
    target.write_bytes(bytes(data))
    with pytest.raises(DocumentLoaderError) as caught:
        loader.load_context(url)
    assert caught.value.url == url
    assert url in str(caught.value)
    assert CONTEXT_FILES[url] in str(caught.value)


@pytest.mark.parametrize("url", sorted(PUBLISHED_DIGESTS))
def test_an_untouched_copy_passes_the_same_digest_check(url: str, package_copy: Path) -> None:
    assert loader.load_context(url) == json.loads((PACKAGE / "contexts" / CONTEXT_FILES[url]).read_bytes())


def test_a_truncated_w3c_context_is_refused(package_copy: Path) -> None:
    url = "https://www.w3.org/ns/credentials/v2"
    target = package_copy / "contexts" / CONTEXT_FILES[url]
    target.write_bytes(target.read_bytes()[:-1])
    with pytest.raises(DocumentLoaderError):
        loader.context_bytes(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://example.org/contexts/unknown.jsonld",
        "http://www.w3.org/ns/credentials/v2",  # the pinned URL is https only
        "https://www.w3.org/ns/credentials/v2/",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.4.json",
        "https://w3id.org/citizenship/v4rc1",
        "did:example:123",
        "",
    ],
)
def test_any_other_url_is_refused_naming_it(url: str) -> None:
    assert not loader.is_known_context(url)
    with pytest.raises(DocumentLoaderError) as caught:
        loader.document_loader(url, {})
    assert caught.value.url == url
    assert repr(url) in str(caught.value)
    assert caught.value.code == "document_not_allowed"


def test_pyld_refuses_a_document_with_an_unpinned_context() -> None:
    document = {"@context": ["https://www.w3.org/ns/credentials/v2", "https://example.org/evil.jsonld"]}
    with pytest.raises(jsonld.JsonLdError) as caught:
        jsonld.expand(document, {"documentLoader": loader.document_loader})
    chain = []
    cause: BaseException | None = caught.value
    while cause is not None:
        chain.append(cause)
        cause = cause.__cause__
    assert any(isinstance(c, DocumentLoaderError) for c in chain)


def _nquads(document: dict[str, Any]) -> str:
    # A private context cache: pyld's shared one is keyed by URL and would hide a swapped file.
    options = {
        "algorithm": "URDNA2015",
        "format": "application/n-quads",
        "documentLoader": loader.document_loader,
        "contextResolver": ContextResolver(LRUCache(maxsize=100), loader.document_loader),
    }
    result: str = jsonld.normalize(document, options)
    return result


def test_the_charter_credential_canonicalises_offline() -> None:
    unsigned = json.loads((VECTORS / "charter-credential" / "unsigned.json").read_bytes())
    quads = _nquads(unsigned)
    assert "<https://purl.imsglobal.org/spec/vc/ob/vocab.html#AchievementSubject>" in quads


def test_both_copies_of_the_303_context_give_the_same_quads_when_jti_and_endorsement_jwt_are_unused(
    monkeypatch: pytest.MonkeyPatch, fresh_cache: None
) -> None:
    # The claim SOURCES.md makes for serving the 2026-06-29 update under the 3.0.3 URL.
    unsigned = json.loads((VECTORS / "charter-credential" / "unsigned.json").read_bytes())
    assert OB_303 in unsigned["@context"]
    with_jti = dict(unsigned, jti="urn:uuid:0b1a2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d")
    served, served_jti = _nquads(copy.deepcopy(unsigned)), _nquads(copy.deepcopy(with_jti))
    older = dict(CONTEXT_FILES, **{OB_303: "ob-v3p0-context-3.0.3.json"})
    monkeypatch.setattr(loader, "CONTEXT_FILES", older)
    loader.load_context.cache_clear()
    assert _nquads(copy.deepcopy(unsigned)) == served
    # Control: the swap really took effect, since the older copy silently drops `jti`.
    assert "<https://www.iana.org/assignments/jwt#jti>" in served_jti
    assert _nquads(copy.deepcopy(with_jti)) == served


def test_only_the_served_303_copy_defines_jti_and_endorsement_jwt() -> None:
    served = loader.load_context(OB_303)["@context"]
    older = json.loads((PACKAGE / "contexts" / "ob-v3p0-context-3.0.3.json").read_bytes())["@context"]
    assert {"jti", "endorsementJwt"} <= set(served)
    assert not {"jti", "endorsementJwt"} & set(older)
    assert {k: v for k, v in served.items() if k not in ("jti", "endorsementJwt")} == older
