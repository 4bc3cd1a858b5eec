"""Where the verifier's documents come from: the guarded network, the instance's own did.json
and its own status lists.

``caiep verify`` and the web service hand the verifier a :class:`~caiep.verifier.fetch.Fetcher`.
By default it fetches over HTTPS (SSRF-guarded, cached). With an instance (``--home`` or
``CAIEP_HOME``), the issuer's own DID document is read from the instance's did.json first,
so a did:web issuer can check its credentials before it publishes that document, and its own
status lists (``<issuer_url>/status/<n>``) are read from its registry, afresh on every request
(:class:`OwnDocuments`). This module imports no database code: the caller hands in the function
that reads a list, so ``caiep verify`` opens the registry only for a credential of ours.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from caiep.addresses import ServiceAddresses
from caiep.errors import CaiepError, ConfigurationError, InputError, ResolutionError
from caiep.keys.did import did_web_document_url
from caiep.settings import SETTINGS_FILE, load_settings
from caiep.strictjson import loads_strict
from caiep.verifier.fetch import CachingFetcher, Fetcher, HttpFetcher, LocalFirstFetcher

DID_FILE = "did.json"


def make_fetcher(*, allow_http_base: str | None) -> Fetcher:
    """The verifier's network access: HTTPS only, SSRF-guarded, cached; loopback only when mapped.

    A bad ``allow_http_base`` is refused here. Without it, the HTTPS client (whose TLS
    context takes a noticeable part of ``caiep verify``'s start) is made at the first fetch,
    which a did:key credential without a status list never needs.
    """
    if allow_http_base is not None:
        return CachingFetcher(HttpFetcher(allow_http_base=allow_http_base))
    return CachingFetcher(_OnFirstUse(HttpFetcher))


class _OnFirstUse(Fetcher):
    """A fetcher made by ``make`` when the first document is asked for, then reused."""

    def __init__(self, make: Callable[[], Fetcher]) -> None:
        self._make = make
        self._fetcher: Fetcher | None = None
        self._lock = threading.Lock()

    def get_json(self, url: str, timeout: float | None = None) -> Any:
        """The document at ``url``, through the fetcher made on first use."""
        with self._lock:
            if self._fetcher is None:
                self._fetcher = self._make()
            fetcher = self._fetcher
        return fetcher.get_json(url, timeout=timeout)


def own_documents(home: Path) -> dict[str, Any]:
    """The instance's DID document by the URL did:web maps its DID to (empty for did:key).

    ConfigurationError when ``home`` is not an instance or its did.json is unreadable.
    """
    settings = load_settings(home)
    if settings.did_method != "web":
        return {}
    path = home / DID_FILE
    try:
        document = loads_strict(path.read_bytes(), source=str(path))
    except (OSError, InputError) as exc:
        raise ConfigurationError(
            f"{path} is missing or not JSON; run 'caiep did' to see the document"
        ) from exc
    if not isinstance(document, dict) or document.get("id") != settings.issuer_id:
        raise ConfigurationError(f"{path} is not the DID document of {settings.issuer_id}")
    return {did_web_document_url(settings.issuer_id): document}


ReadList = Callable[[int], "str | None"]
"""Reads the exact signed status list ``n`` from the registry (None: there is no such list)."""


class OwnDocuments(Mapping[str, Any]):
    """The issuer's own documents, by URL: fixed ones (its DID document) and its status lists.

    A status list URL of ours (``<base_url>/status/<n>``) is read with ``read_list`` when it
    is asked for, and kept only by this object: make one per fetch (``LocalFirstFetcher``
    calls its ``local`` function per URL), so every verification reads the registry as it is.
    A list of ours that the registry does not have, or a registry that cannot be read, is a
    :class:`ResolutionError` (the status is then undecided), never a request to ourselves.
    """

    def __init__(self, fixed: Mapping[str, Any], base_url: str | None, read_list: ReadList | None) -> None:
        self._fixed = fixed
        self._addresses = ServiceAddresses(base_url) if base_url and read_list is not None else None
        self._read_list = read_list
        self._read: dict[str, Any] = {}

    def __getitem__(self, url: str) -> Any:
        if url in self._fixed:
            return self._fixed[url]
        if url in self._read:
            return self._read[url]
        number = self._addresses.status_list_number(url) if self._addresses is not None else None
        if number is None or self._read_list is None:
            raise KeyError(url)
        try:
            text = self._read_list(number)
        except CaiepError as exc:
            raise ResolutionError(f"cannot read our registry: {exc.message}", url=url) from exc
        if text is None:
            raise ResolutionError(f"this issuer's registry has no status list {number}", url=url)
        self._read[url] = json.loads(text)
        return self._read[url]

    def __iter__(self) -> Iterator[str]:
        return iter(self._fixed)

    def __len__(self) -> int:
        return len(self._fixed)


class RecordingFetcher(Fetcher):
    """Serve the instance's own documents first, everything else through ``fallback``; note which
    were local."""

    def __init__(
        self,
        local: Mapping[str, Any],
        fallback: Fetcher,
        *,
        base_url: str | None = None,
        read_list: ReadList | None = None,
    ) -> None:
        self._local = dict(local)
        self._base_url = base_url
        self._read_list = read_list
        self._fallback = fallback
        self.served_locally: list[str] = []

    def get_json(self, url: str, timeout: float | None = None) -> Any:
        """The document at ``url``: the local copy when there is one, else the fallback's."""
        documents = OwnDocuments(self._local, self._base_url, self._read_list)
        if url in documents:
            self.served_locally.append(url)
            return copy.deepcopy(documents[url])
        return self._fallback.get_json(url, timeout=timeout)


def own_lists_first(
    fixed: Mapping[str, Any], base_url: str, read_list: ReadList, fallback: Fetcher
) -> LocalFirstFetcher:
    """A local-first fetcher that reads our own status lists (and ``fixed`` documents) locally."""
    return LocalFirstFetcher(lambda: OwnDocuments(fixed, base_url, read_list), fallback)


def verifier_fetcher(
    home: Path | None, *, allow_http_base: str | None, read_list: ReadList | None = None
) -> RecordingFetcher:
    """The fetcher of ``caiep verify``: the instance's own DID document and status lists first when
    ``home`` is given (``read_list`` reads a list from its registry)."""
    if home is None or not (home / SETTINGS_FILE).is_file():
        return RecordingFetcher({}, make_fetcher(allow_http_base=allow_http_base))
    base_url = load_settings(home).issuer_url
    return RecordingFetcher(
        own_documents(home),
        make_fetcher(allow_http_base=allow_http_base),
        base_url=base_url,
        read_list=read_list,
    )
