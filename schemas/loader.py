"""The offline JSON-LD document loader: serves the pinned contexts and refuses every other URL.

VC Data Integrity §2.4.1 and VCDM 2.0 §B.1 tell verifiers not to fetch contexts at verify
time. We serve the copies kept in ``schemas/contexts`` (exact bytes, see SOURCES.md there);
where the W3C publishes a SHA-256 digest, the file is checked against it before first use.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from importlib import resources
from typing import Any

from caiep.errors import DocumentLoaderError

#: Context URL -> file in ``schemas/contexts``.
CONTEXT_FILES: dict[str, str] = {
    "https://www.w3.org/ns/credentials/v2": "credentials-v2.jsonld",
    "https://www.w3.org/2018/credentials/v1": "credentials-v1.jsonld",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json": "ob-v3p0-context-3.0.3.validator-2026-06-29.json",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.2.json": "ob-v3p0-context-3.0.2.json",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.1.json": "ob-v3p0-context-3.0.1.json",
    "https://purl.imsglobal.org/spec/ob/v3p0/context.json": "ob-v3p0-context-3.0.0.json",
    "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json": "ob-v3p0-extensions.json",
    "https://w3id.org/security/data-integrity/v2": "data-integrity-v2.jsonld",
    "https://w3id.org/security/data-integrity/v1": "data-integrity-v1.jsonld",
    "https://w3id.org/security/suites/ed25519-2020/v1": "ed25519-2020-v1.jsonld",
    "https://w3id.org/security/multikey/v1": "multikey-v1.jsonld",
    "https://www.w3.org/ns/did/v1": "did-v1.jsonld",
    "https://www.w3.org/ns/cid/v1": "cid-v1.jsonld",
    "https://www.w3.org/ns/credentials/status/v1": "credentials-status-v1.jsonld",
    "https://w3id.org/vc/status-list/2021/v1": "vc-status-list-2021-v1.jsonld",
    "https://www.w3.org/ns/credentials/examples/v2": "credentials-examples-v2.jsonld",
}

#: SHA-256 digests published by the W3C for these contexts (VCDM 2.0 §B.1, VC Data
#: Integrity 1.0 §2.4, Controlled Identifiers 1.0 §4.2, Bitstring Status List 1.0 §5.2).
PUBLISHED_DIGESTS: dict[str, str] = {
    "https://www.w3.org/ns/credentials/v2": "59955ced6697d61e03f2b2556febe5308ab16842846f5b586d7f1f7adec92734",
    "https://w3id.org/security/data-integrity/v2": "67f21e6e33a6c14e5ccfd2fc7865f7474fb71a04af7e94136cb399dfac8ae8f4",
    "https://w3id.org/security/multikey/v1": "ba2c182de2d92f7e47184bcca8fcf0beaee6d3986c527bf664c195bbc7c58597",
    "https://www.w3.org/ns/cid/v1": "ea216ecc1cb02cd39b693dba2250141e270ba0bf95890be107dd9a9e8e43de85",
    "https://www.w3.org/ns/credentials/status/v1": "fda5add353231e6a6884a46b12e6c75464281900cb348284d9c360f62381d9f7",
}


def context_bytes(url: str) -> bytes:
    """The exact bytes of the pinned context for ``url``; digest-checked where one is published."""
    name = CONTEXT_FILES.get(url)
    if name is None:
        raise DocumentLoaderError(
            f"refusing to load {url!r}: not one of the {len(CONTEXT_FILES)} pinned JSON-LD contexts",
            url=url,
        )
    data = resources.files("caiep.schemas").joinpath("contexts", name).read_bytes()
    expected = PUBLISHED_DIGESTS.get(url)
    if expected is not None and hashlib.sha256(data).hexdigest() != expected:
        raise DocumentLoaderError(
            f"pinned context {name} does not match the SHA-256 digest published for {url}", url=url
        )
    return data


@cache
def load_context(url: str) -> dict[str, Any]:
    """The parsed pinned context for ``url``. Raises DocumentLoaderError for any other URL."""
    document: dict[str, Any] = json.loads(context_bytes(url))
    return document


def document_loader(url: str, options: Any = None) -> dict[str, Any]:
    """A pyld/jsonld.js-style document loader serving only the pinned contexts."""
    return {"contextUrl": None, "documentUrl": url, "document": load_context(url)}


#: The path at which an instance serves its receipt context, and the pinned file behind it.
RECEIPT_CONTEXT_PATH = "/contexts/receipt/v1"
RECEIPT_CONTEXT_FILE = "caiep-receipt-v1.jsonld"


def receipt_context_url(service_url: str) -> str:
    """The URL of the receipt context as the service at ``service_url`` serves it."""
    return service_url.rstrip("/") + RECEIPT_CONTEXT_PATH


def receipt_context_bytes() -> bytes:
    """The exact bytes of this project's receipt context (``schemas/contexts``)."""
    return resources.files("caiep.schemas").joinpath("contexts", RECEIPT_CONTEXT_FILE).read_bytes()


@cache
def _receipt_context() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(receipt_context_bytes())
    return document


@cache
def receipt_loader(service_url: str) -> Any:
    """A document loader serving the pinned contexts and, for the one URL
    ``<service_url>/contexts/receipt/v1``, the pinned receipt context: nothing is ever fetched.

    Cached per service, so the proof layer's per-loader caches are kept across receipts.
    """
    own = receipt_context_url(service_url)

    def load(url: str, options: Any = None) -> dict[str, Any]:
        if url == own:
            return {"contextUrl": None, "documentUrl": url, "document": _receipt_context()}
        return document_loader(url, options)

    return load


def is_known_context(url: str) -> bool:
    """True when ``url`` is one of the pinned contexts."""
    return url in CONTEXT_FILES
