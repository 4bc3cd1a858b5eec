"""What the issuer publishes (a Flask blueprint): hosted credentials, its DID document, the Achievement.

``/credentials/<uuid>`` is each credential's id: machines get the exact signed document
(``application/vc+ld+json``, or the compact JWS as ``text/plain``, OB 3.0 §"Web resource");
a browser asking for HTML is sent to the verification page instead.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, abort, redirect, request
from werkzeug.wrappers import Response as BaseResponse

from caiep.addresses import ACHIEVEMENT_ROUTE, CREDENTIAL_ROUTE, DID_DOCUMENT_ROUTE, page_path
from caiep.issuer.charter import CONTEXTS, achievement


@dataclass(frozen=True)
class IssuerServices:
    """What the issuer's pages need from the instance, passed in by the application."""

    find_document: Callable[[str], str | None]  # credential uuid -> exact stored document
    did_document: Callable[[], Mapping[str, Any]]
    base_url: str


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

    return blueprint
