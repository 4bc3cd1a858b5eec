"""Where the verifier's documents come from: the guarded network, and the instance's own did.json.

``caiep verify`` and the web service hand the verifier a :class:`~caiep.verifier.fetch.Fetcher`.
By default it fetches over HTTPS (SSRF-guarded, cached). With an instance (``--home`` or
``CAIEP_HOME``), the issuer's own DID document is read from the instance's did.json first,
so a did:web issuer can check its credentials before it publishes that document. This module
reads no registry and imports no database code: ``caiep verify`` loads it on its fast path.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from caiep.errors import ConfigurationError, InputError
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


class RecordingFetcher(Fetcher):
    """Serve ``local`` documents first, everything else through ``fallback``; note which were local."""

    def __init__(self, local: Mapping[str, Any], fallback: Fetcher) -> None:
        self._local = dict(local)
        self._inner = LocalFirstFetcher(lambda: self._local, fallback)
        self.served_locally: list[str] = []

    def get_json(self, url: str, timeout: float | None = None) -> Any:
        """The document at ``url``: the local copy when there is one, else the fallback's."""
        if url in self._local:
            self.served_locally.append(url)
        return self._inner.get_json(url, timeout=timeout)


def verifier_fetcher(home: Path | None, *, allow_http_base: str | None) -> RecordingFetcher:
    """The fetcher of ``caiep verify``: the instance's own DID document first when ``home`` is given."""
    local = own_documents(home) if home is not None and (home / SETTINGS_FILE).is_file() else {}
    return RecordingFetcher(local, make_fetcher(allow_http_base=allow_http_base))
