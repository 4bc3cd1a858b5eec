"""What the issuer publishes (a Flask blueprint): hosted credentials, its DID document, the Achievement.

``/credentials/<uuid>`` is each credential's id: machines get the exact signed document
(``application/vc+ld+json``, or the compact JWS as ``text/plain``, OB 3.0 §"Web resource");
a browser asking for HTML is sent to the verification page instead.

``/status/<n>`` is the issuer's Bitstring Status List ``n``: the signed list credential exactly as
the registry stores it, read on every request, with ``Cache-Control: max-age`` = its ``ttl`` and
an ``ETag`` (the SHA-256 of its bytes) that answers ``If-None-Match`` with 304.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, abort, redirect, request
from werkzeug.wrappers import Response as BaseResponse

from caiep.addresses import (
    ACHIEVEMENT_ROUTE,
    CREDENTIAL_ROUTE,
    DID_DOCUMENT_ROUTE,
    STATUS_LIST_ROUTE,
    page_path,
)
from caiep.issuer.charter import CONTEXTS, achievement


@dataclass(frozen=True)
class IssuerServices:
    """What the issuer's pages need from the instance, passed in by the application."""

    find_document: Callable[[str], str | None]  # credential uuid -> exact stored document
    did_document: Callable[[], Mapping[str, Any]]
    base_url: str
    find_status_list: Callable[[int], str | None] = lambda number: None  # exact signed list, or None
    status_list_max_age: int = 3600  # seconds: the lists' ttl


def create_blueprint(services: IssuerServices) -> Blueprint:
    """The issuer's own pages: hosted credentials (content-negotiated) and the achievement."""
    blueprint = Blueprint("issuer", __name__)

    @blueprint.get(CREDENTIAL_ROUTE)
    def hosted_credential(credential_id: Any) -> BaseResponse:
        document = services.find_document(str(credential_id))
        if document is None:
            abort(404, description="There is no CAiEP credential at this address.")
        best = request.accept_mimetypes.best_match(
            ["application/vc+ld+json", "application/ld+json", "application/json", "text/plain", "text/html"],
            default="application/vc+ld+json",
        )
        if (
            best == "text/html"
            and request.accept_mimetypes["text/html"] > request.accept_mimetypes["application/json"]
        ):
            return redirect(page_path(str(credential_id)), code=303)
        if not document.lstrip().startswith("{"):
            return Response(document, mimetype="text/plain")
        mimetype = best if best in ("application/ld+json", "application/json") else "application/vc+ld+json"
        return Response(document, mimetype=mimetype)

    @blueprint.get(DID_DOCUMENT_ROUTE)
    def did_document() -> Response:
        return Response(json.dumps(services.did_document(), indent=2), mimetype="application/did+ld+json")

    @blueprint.get(ACHIEVEMENT_ROUTE)
    def achievement_definition() -> Response:
        body = {"@context": list(CONTEXTS[:2]), **achievement(services.base_url)}
        return Response(json.dumps(body, indent=2, ensure_ascii=False), mimetype="application/ld+json")

    @blueprint.get(STATUS_LIST_ROUTE)
    def status_list(number: int) -> Response:
        # Read from the registry on every request: a list re-signed by the CLI is served at once.
        document = services.find_status_list(number)
        if document is None:
            abort(404, description="There is no status list at this address.")
        body = document.encode("utf-8")
        tag = '"' + hashlib.sha256(body).hexdigest() + '"'
        headers = {"Cache-Control": f"max-age={services.status_list_max_age}", "ETag": tag}
        if tag in request.if_none_match or request.if_none_match.contains_weak(tag.strip('"')):
            return Response(status=304, headers=headers)
        return Response(body, mimetype="application/vc+ld+json", headers=headers)

    return blueprint
