"""The holder's downloads on the public page (a Flask blueprint): the stored credential and its
VC-JWT form, the baked badges and the printable certificate.

Every file is made from the copies stored when the version was issued; the web app that serves
them holds no signing key. A charter that is not current (revoked, suspended, lapsed) still
has its stored JSON and VC-JWT (a verifier reads their status), but no baked badge or
certificate is made of it: those answer 410 Gone, so a withdrawn charter cannot be freshly
printed. Certificates are cached per version and paper (bounded), since a PDF takes tens of
milliseconds to lay out; the charter's state is read before each answer, never cached.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, abort, request

from caiep.addresses import (
    BAKED_PNG_ROUTE,
    BAKED_SVG_ROUTE,
    CERTIFICATE_ROUTE,
    CREDENTIAL_JSON_ROUTE,
    CREDENTIAL_JWT_ROUTE,
    page_path,
)
from caiep.caches import NamedCache
from caiep.errors import InputError
from caiep.wallet_export import outputs
from caiep.wallet_export.charter import ExportedCharter, NotCurrent

#: ``find(uuid)``: the charter credential with this uuid, or None when there is none.
Finder = Callable[[str], ExportedCharter | None]


def download_links(credential_id: str, forms: frozenset[str]) -> list[tuple[str, str, str]]:
    """(label, path, media type) of the downloads of a current charter stored in ``forms``
    (``ldp``, ``jwt``): what its public page lists under "Download"."""
    page = page_path(credential_id)
    links = [
        ("Certificate to print (PDF, A4)", f"{page}/certificate.pdf", "application/pdf"),
        ("Certificate to print (PDF, US Letter)", f"{page}/certificate.pdf?paper=letter", "application/pdf"),
    ]
    if "ldp" in forms:
        links += [
            ("Badge with the credential inside (PNG)", f"{page}/badge.png", "image/png"),
            ("Badge with the credential inside (SVG)", f"{page}/badge.svg", "image/svg+xml"),
            ("Credential (JSON)", f"{page}/credential.json", "application/vc+ld+json"),
        ]
    if "jwt" in forms:
        links.append(("Credential (VC-JWT)", f"{page}/credential.jwt", "application/vc+jwt"))
    return links


def create_blueprint(find: Finder) -> Blueprint:
    """The download routes, reading charters through ``find``."""
    blueprint = Blueprint("downloads", __name__)
    certificates: NamedCache[tuple[str, str, str], outputs.Output] = NamedCache(
        "rendered_certificates", size=lambda output: len(output.data) + 256
    )

    def charter_or_404(credential_id: Any) -> ExportedCharter:
        found = find(str(credential_id))
        if found is None:
            abort(404, description="There is no CAiEP credential at this address.")
        return found

    @blueprint.get(CREDENTIAL_JSON_ROUTE)
    def credential_json(credential_id: Any) -> Response:
        """GET /c/<uuid>/credential.json: the current version's stored JSON credential."""
        return _made(lambda: outputs.credential_file(charter_or_404(credential_id), "json"))

    @blueprint.get(CREDENTIAL_JWT_ROUTE)
    def credential_jwt(credential_id: Any) -> Response:
        """GET /c/<uuid>/credential.jwt: the current version's stored VC-JWT."""
        return _made(lambda: outputs.credential_file(charter_or_404(credential_id), "jwt"))

    @blueprint.get(BAKED_PNG_ROUTE)
    def baked_png(credential_id: Any) -> Response:
        """GET /c/<uuid>/badge.png[?form=jwt]: the charter badge with the credential baked in."""
        form = _choice("form", ("json", "jwt"), "json")
        return _made(lambda: outputs.baked_badge(charter_or_404(credential_id), "png", form))

    @blueprint.get(BAKED_SVG_ROUTE)
    def baked_svg(credential_id: Any) -> Response:
        """GET /c/<uuid>/badge.svg[?form=jwt]: the charter badge with the credential baked in."""
        form = _choice("form", ("json", "jwt"), "json")
        return _made(lambda: outputs.baked_badge(charter_or_404(credential_id), "svg", form))

    @blueprint.get(CERTIFICATE_ROUTE)
    def certificate(credential_id: Any) -> Response:
        """GET /c/<uuid>/certificate.pdf[?paper=letter]: the printable certificate."""
        paper = _choice("paper", outputs.PAPERS, "a4")

        def make() -> outputs.Output:
            charter = charter_or_404(credential_id)
            if charter.state != "current":  # checked on every request: the cache never answers for it
                return outputs.certificate(charter, paper)
            key = (charter.credential_id, charter.valid_from.isoformat(), paper)
            return certificates.get_or_compute(key, lambda: outputs.certificate(charter, paper))

        return _made(make)

    return blueprint


def _choice(name: str, allowed: tuple[str, ...], default: str) -> str:
    """A query parameter among ``allowed``; 400 naming the choices otherwise."""
    value = request.args.get(name, default)
    if value not in allowed:
        abort(400, description=f"?{name}= takes {' or '.join(allowed)}, not {value[:40]!r}.")
    return value


def _made(make: Callable[[], outputs.Output]) -> Response:
    """Serve an export as a download; 410 for a charter that is not current, 404 for a missing form."""
    try:
        output = make()
    except NotCurrent as exc:
        abort(
            410,
            description=f"This charter is {exc.state}: no badge or certificate is made of it. "
            f"Its verification page, {page_path(exc.url.rsplit('/', 1)[-1])}, shows its standing.",
        )
    except InputError as exc:
        abort(404, description=exc.message)
    response = Response(output.data, mimetype=output.media_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{output.filename}"'
    return response
