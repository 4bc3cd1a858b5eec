"""The holder's exports of one charter credential, as bytes: what ``caiep export`` writes and the
public download routes serve, made by the same functions.

Each reads the copies stored when the version was issued (never signing anything): the exact
JSON or VC-JWT text, that text baked into the charter badge, the printable certificate, the
print-size QR code of the public page. Baked badges and certificates are made only of a current
charter (:func:`~caiep.wallet_export.charter.require_current`); the stored JSON and VC-JWT and
the QR code (which opens the live page) are given for any state.
"""

from __future__ import annotations

from dataclasses import dataclass

from caiep.errors import InputError
from caiep.wallet_export.charter import ExportedCharter, file_stem, require_current

PAPERS = ("a4", "letter")
IMAGES = ("png", "svg")


@dataclass(frozen=True)
class Output:
    """One exported file: its bytes, media type and a sensible download name."""

    data: bytes
    media_type: str
    filename: str
    warnings: tuple[str, ...] = ()


def credential_file(charter: ExportedCharter, form: str) -> Output:
    """The exact stored credential: ``json`` (with its Data Integrity proof) or ``jwt`` (VC-JWT)."""
    text = charter.stored(form)
    if form == "jwt":
        return Output(text.encode("ascii"), "application/vc+jwt", f"{file_stem(charter)}.jwt")
    return Output(text.encode("utf-8"), "application/vc+ld+json", f"{file_stem(charter)}.json")


def baked_badge(charter: ExportedCharter, image: str, form: str = "json") -> Output:
    """The charter badge with the stored ``form`` baked in, as ``png`` or ``svg`` (OB 3.0 Baked Badge)."""
    if image not in IMAGES:
        raise InputError(f"a baked badge is png or svg, not {image!r}", location="image")
    require_current(charter, "baked badge")
    text = charter.stored(form)
    from caiep.wallet_export import baked

    suffix = "-jwt" if form == "jwt" else ""
    if image == "png":
        return Output(baked.baked_png(text), "image/png", f"{file_stem(charter)}-badge{suffix}.png")
    svg = baked.baked_svg(text).encode("utf-8")
    return Output(svg, "image/svg+xml", f"{file_stem(charter)}-badge{suffix}.svg")


def certificate(charter: ExportedCharter, paper: str = "a4") -> Output:
    """The printable certificate (PDF, A4 or US Letter) of a current charter, with its QR code."""
    if paper not in PAPERS:
        raise InputError(f"unknown paper size {paper!r}; expected a4 or letter", location="paper")
    from caiep.wallet_export.badge import badge_png
    from caiep.wallet_export.certificate import certificate_for

    rendered = certificate_for(charter, badge_png=badge_png(), paper=paper)
    name = f"{file_stem(charter)}-certificate{'-letter' if paper == 'letter' else ''}.pdf"
    return Output(rendered.pdf, "application/pdf", name, tuple(rendered.warnings))


def qr_code(charter: ExportedCharter, image: str) -> Output:
    """The QR code of the public page for print: a 300 dpi PNG at least 2.5 cm wide, or an SVG."""
    from caiep.wallet_export import qr

    if image == "png":
        return Output(qr.qr_print_png(charter.page_url), "image/png", f"{file_stem(charter)}-qr.png")
    if image == "svg":
        svg = qr.qr_svg(charter.page_url).encode("utf-8")
        return Output(svg, "image/svg+xml", f"{file_stem(charter)}-qr.svg")
    raise InputError(f"a QR code file is .png or .svg, not {image!r}", location="qr")
