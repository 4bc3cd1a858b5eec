"""What holders and displayers fetch (Flask blueprints): QR codes of the verification pages, and
the charter badge every credential names as its achievement's image."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, abort, request
from werkzeug.wrappers import Response as BaseResponse

from caiep.addresses import BADGE_PNG_ROUTE, BADGE_SVG_ROUTE, QR_PNG_ROUTE, QR_SVG_ROUTE
from caiep.wallet_export.badge import badge_etag, badge_png, badge_svg
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


def create_badge_blueprint() -> Blueprint:
    """``/achievements/caiep/badge.png`` and ``badge.svg``: the charter badge, the same for everyone.

    Every credential names the PNG's URL as ``achievement.image.id`` inside its signed bytes, so
    the URL can never carry a version. The answer may be kept for a week (``Cache-Control:
    public, max-age=604800``, set with the other headers by :mod:`caiep.webheaders`): wallets
    and displayers fetch it for every credential they show, while a redesigned badge still
    reaches them within a week. After that a cache revalidates with ``If-None-Match`` and the
    strong ``ETag`` (the SHA-256 of the bytes, the same in every worker), answered 304.
    """
    blueprint = Blueprint("badge", __name__)

    @blueprint.get(BADGE_PNG_ROUTE)
    def badge_png_image() -> BaseResponse:
        """GET /achievements/caiep/badge.png: the charter badge, 600×600 PNG."""
        return _badge(badge_png(), "image/png", badge_etag("png"))

    @blueprint.get(BADGE_SVG_ROUTE)
    def badge_svg_image() -> BaseResponse:
        """GET /achievements/caiep/badge.svg: the charter badge as SVG."""
        return _badge(badge_svg().encode("utf-8"), "image/svg+xml", badge_etag("svg"))

    return blueprint


def _badge(body: bytes, mimetype: str, etag: str) -> BaseResponse:
    """The badge, or 304 Not Modified when the client already holds these bytes."""
    response = Response(body, mimetype=mimetype)
    response.set_etag(etag.strip('"'))
    return response.make_conditional(request)
