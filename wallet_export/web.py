"""QR codes of the verification pages (a Flask blueprint), for certificates and sharing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, abort

from caiep.addresses import QR_PNG_ROUTE, QR_SVG_ROUTE
from caiep.wallet_export.qr import qr_png, qr_svg


def create_blueprint(page_url: Callable[[str], str | None]) -> Blueprint:
    """``page_url(uuid)`` is the public verification URL of one of our credentials, or None."""
    blueprint = Blueprint("wallet_export", __name__)

    def url_or_404(credential_id: Any) -> str:
        """The page URL of one of our credentials, or a 404 when it is not ours."""
        url = page_url(str(credential_id))
        if url is None:
            abort(404, description="There is no CAiEP credential at this address.")
        return url

    @blueprint.get(QR_PNG_ROUTE)
    def qr_png_image(credential_id: Any) -> Response:
        """GET /c/<uuid>/qr.png: the QR code of the credential's page, as PNG."""
        return _image(qr_png(url_or_404(credential_id)), "image/png")

    @blueprint.get(QR_SVG_ROUTE)
    def qr_svg_image(credential_id: Any) -> Response:
        """GET /c/<uuid>/qr.svg: the QR code of the credential's page, as SVG."""
        return _image(qr_svg(url_or_404(credential_id)), "image/svg+xml")

    return blueprint


def _image(body: bytes | str, mimetype: str) -> Response:
    """A QR image; the page URL it encodes never changes, so caches may keep it for a day."""
    response = Response(body, mimetype=mimetype)
    response.cache_control.public = True
    response.cache_control.max_age = 86400
    return response
