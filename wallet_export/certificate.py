"""The printable certificate: one PDF page saying who holds the charter, with the QR code to verify it.

Use :func:`render_certificate` for ``caiep export --pdf`` and ``/c/<uuid>/certificate.pdf``: it
takes what the page says as :class:`CertificateData` (read from the stored credential by the
caller) and returns the PDF bytes with warnings for a reader (a script no installed font covers).
It never signs and never reads the registry. The certificate is a rendering, not the credential:
it says so, and its QR code leads to the public page where the live credential is checked.

Why WeasyPrint (HTML and CSS laid out on Pango, HarfBuzz and fontconfig): measured on Debian 12
with fonts-noto-core and fonts-noto-cjk, against fpdf2 2.8 with uharfbuzz shaping, each drawing
the same six names (Latin with diacritics, Greek, Cyrillic, Han, Arabic, Hebrew):

- both shape Arabic into joined letters (checked on pages rendered by pdftoppm), put Hebrew and
  Arabic right to left, and give real text (pdftotext returns each name in logical order);
- both embed subsets of every font, the CFF-outline Noto Sans CJK from its ``.ttc`` collection
  included (pdffonts: "CID Type 0C", emb yes, sub yes), which reportlab cannot;
- fpdf2 subsets CFF fonts in pure Python (fontTools): 343 ms for a page naming "张伟", against
  27 ms with WeasyPrint, which subsets with HarfBuzz;
- WeasyPrint asks fontconfig for fonts and Pango picks, for each run of text, the first family of
  the CSS stack that covers it (fonts.py builds the stacks); with fpdf2 we would split runs by
  script and apply the bidirectional algorithm ourselves;
- the page is HTML and CSS, easy to read and change; the output is byte-identical for the same
  input (no creation date or random identifier is written).

The whole certificate from a warm process (``python bench/certificate.py``): Latin about 57 ms,
Arabic 59 ms, Han 75 ms (medians); 2,000 in one process with flat memory. The QR code is drawn
from a PNG of one pixel a module, scaled without smoothing (``image-rendering: pixelated``):
sharp at any resolution and cheaper to lay out than the SVG's few hundred squares.

The price is a system library: Pango (Debian's libpango-1.0-0 and libpangoft2-1.0-0), which the
README's set-up and ``make system-deps`` install with the fonts and poppler-utils.
"""

from __future__ import annotations

import datetime
import io
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from PIL import Image, UnidentifiedImageError

from caiep.errors import InputError
from caiep.wallet_export.certificate_layout import PAPERS, PageText, certificate_html, data_url
from caiep.wallet_export.charter import POST_NOMINAL, ExportedCharter, require_current
from caiep.wallet_export.fonts import (
    SANS_FAMILIES,
    SERIF_FAMILIES,
    InstalledFonts,
    family_stack,
    installed_fonts,
    missing_font_warnings,
)
from caiep.wallet_export.qr import qr_png

PAPER_SIZES: Final = tuple(PAPERS)
MAX_NAME_CHARACTERS: Final = 200  # holder, charter and issuer names
MAX_IDENTIFIER_CHARACTERS: Final = 500  # charter number, credential id, page URL
MAX_BADGE_BYTES: Final = 4 * 1024 * 1024
MAX_BADGE_SIDE_PX: Final = 4096
_PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class CertificateData:
    """What a certificate shows, taken from the credential's current stored version.

    ``credential_id`` is the credential's URL; ``page_url`` the public verification page, which
    the QR code encodes exactly; ``badge_png`` the achievement's badge image (PNG bytes).
    """

    holder_name: str
    awarded: datetime.date
    current_until: datetime.date
    charter_number: str
    credential_id: str
    issuer_name: str
    page_url: str
    badge_png: bytes
    post_nominal: str = "CAiEP"
    charter_name: str = "CAiEP® Charter"


@dataclass(frozen=True)
class RenderedCertificate:
    """The PDF, and what a reader should know about it (e.g. a script drawn without a font)."""

    pdf: bytes
    warnings: tuple[str, ...]


def render_certificate(data: CertificateData, *, paper: str = "a4") -> RenderedCertificate:
    """Lay out the certificate of ``data`` on one page of ``paper`` ("a4" or "letter") as PDF.

    Raises :class:`~caiep.errors.InputError` for an unknown paper size, a text too long or with
    control characters, dates out of order, a page URL the QR code cannot carry, or a badge that
    is not a PNG image. A name in a script that no installed font covers still gives a
    certificate; the warning names the script and the Debian package with its font.
    """
    if paper not in PAPERS:
        raise InputError(
            f"unknown paper size {paper!r}; choose one of {', '.join(PAPER_SIZES)}", location="paper"
        )
    text = _checked_text(data)
    _check_badge(data.badge_png)
    qr = qr_png(data.page_url, box_size=1)  # refuses a URL that is not printable ASCII or too long
    fonts = installed_fonts()
    warnings = missing_font_warnings(
        {
            "holder_name": text.holder_name,
            "post_nominal": text.post_nominal,
            "charter_name": text.charter_name,
            "issuer_name": text.issuer_name,
            "charter_number": text.charter_number,
            "credential_id": text.credential_id,
        },
        fonts,
    )
    html = certificate_html(
        text,
        paper=PAPERS[paper],
        badge_url=data_url("image/png", data.badge_png),
        qr_url=data_url("image/png", qr),
        serif=family_stack(SERIF_FAMILIES, "serif", fonts, text=text.holder_name),
        sans=family_stack(SANS_FAMILIES, "sans-serif", fonts, text=text.holder_name),
    )
    return RenderedCertificate(pdf=pdf_writer.write(html, fonts), warnings=warnings)


class _PdfWriter:
    """WeasyPrint with one font configuration for the process, renewed with the font list.

    A new ``FontConfiguration`` for each document loads fontconfig and Pango's font map again
    and its memory is not all given back (the process grew by about 2 MiB a certificate); one
    shared configuration keeps a cohort's memory flat and saves a third of the time. Pango's
    font map is not for concurrent use, so documents are written one at a time (the work holds
    the GIL anyway). The configuration is renewed only when fonts.py finds the installed fonts
    changed (it lists them again every few minutes), so fonts installed while the process runs
    are used and a long-running server does not pile up configurations.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fonts: InstalledFonts | None = None
        self._font_config: Any = None

    def write(
        self, html: str, fonts: InstalledFonts, *, attachments: Sequence[tuple[str, bytes]] = ()
    ) -> bytes:
        """The PDF of ``html``; ``attachments`` (file name, bytes) are embedded files (PDF 1.7 §7.11.4)."""
        # Imported here: WeasyPrint loads Pango and takes about 0.4 s, which commands that
        # print no certificate should not pay.
        from weasyprint import HTML, Attachment, URLFetcher
        from weasyprint.text.fonts import FontConfiguration

        with self._lock:
            if self._fonts != fonts:  # the same fonts listed again keep the configuration
                self._fonts, self._font_config = fonts, FontConfiguration()
            fetcher = URLFetcher(allowed_protocols={"data"}, fail_on_errors=True)
            # Tagged (PDF 1.7 §14.8): screen readers and text extraction follow the structure.
            document = HTML(string=html, url_fetcher=fetcher)
            files = [
                Attachment(string=content, name=name, relationship="Source", url_fetcher=fetcher)
                for name, content in attachments
            ]
            pdf = document.write_pdf(font_config=self._font_config, pdf_tags=True, attachments=files)
        assert isinstance(pdf, bytes)
        return pdf


pdf_writer = _PdfWriter()
"""The process's one PDF writer: the certificate and the receipts' page share its font configuration."""


def certificate_for(charter: ExportedCharter, *, badge_png: bytes, paper: str = "a4") -> RenderedCertificate:
    """The certificate of a charter credential as the exports read it (``caiep export --pdf``,
    ``/c/<uuid>/certificate.pdf``); :class:`~caiep.wallet_export.charter.NotCurrent` unless the
    charter is current, since a withdrawn or lapsed charter must not be freshly printed."""
    require_current(charter, "certificate")
    return render_certificate(certificate_data(charter, badge_png=badge_png), paper=paper)


def certificate_data(charter: ExportedCharter, *, badge_png: bytes) -> CertificateData:
    """What the certificate of ``charter`` shows: the first award's date and the current
    version's ``validUntil``, both as their UTC calendar dates."""
    return CertificateData(
        holder_name=charter.holder_name,
        post_nominal=POST_NOMINAL,
        charter_name=charter.charter_name,
        awarded=_utc_date(charter.awarded),
        current_until=_utc_date(charter.valid_until),
        charter_number=charter.charter_number,
        credential_id=charter.url,
        issuer_name=charter.issuer_name,
        page_url=charter.page_url,
        badge_png=badge_png,
    )


def _utc_date(moment: datetime.datetime) -> datetime.date:
    return (moment.astimezone(datetime.UTC) if moment.tzinfo else moment).date()


def _checked_text(data: CertificateData) -> PageText:
    names = {
        "holder_name": data.holder_name,
        "post_nominal": data.post_nominal,
        "charter_name": data.charter_name,
        "issuer_name": data.issuer_name,
    }
    ids = {
        "charter_number": data.charter_number,
        "credential_id": data.credential_id,
        "page_url": data.page_url,
    }
    clean = {field: _checked_line(field, value, MAX_NAME_CHARACTERS) for field, value in names.items()}
    clean |= {field: _checked_line(field, value, MAX_IDENTIFIER_CHARACTERS) for field, value in ids.items()}
    if data.current_until < data.awarded:
        raise InputError(
            f"{data.current_until.isoformat()} is before the award ({data.awarded.isoformat()})",
            location="current_until",
        )
    return PageText(
        title=f"{clean['charter_name']} certificate: {clean['holder_name']}, {clean['post_nominal']}",
        holder_name=clean["holder_name"],
        post_nominal=clean["post_nominal"],
        charter_name=clean["charter_name"],
        issuer_name=clean["issuer_name"],
        awarded=data.awarded,
        current_until=data.current_until,
        charter_number=clean["charter_number"],
        credential_id=clean["credential_id"],
        page_url=clean["page_url"],
    )


def _checked_line(field: str, value: str, limit: int) -> str:
    """``value`` in NFC, stripped; refused if empty, longer than ``limit`` or holding controls."""
    # The length is checked before any work that grows with it (normalization, fonts, layout).
    if len(value) > limit * 4:
        raise InputError(f"longer than {limit} characters", location=field)
    line = unicodedata.normalize("NFC", value).strip()
    if not line:
        raise InputError("empty", location=field)
    if len(line) > limit:
        raise InputError(f"longer than {limit} characters ({len(line)})", location=field)
    for character in line:
        if unicodedata.category(character) in ("Cc", "Cs", "Zl", "Zp"):
            raise InputError(
                f"holds the control character U+{ord(character):04X}; it must be one line of text",
                location=field,
            )
    return line


def _check_badge(badge_png: bytes) -> None:
    if len(badge_png) > MAX_BADGE_BYTES or not badge_png.startswith(_PNG_SIGNATURE):
        raise InputError(f"not a PNG image of at most {MAX_BADGE_BYTES} bytes", location="badge_png")
    try:
        with Image.open(io.BytesIO(badge_png)) as image:
            width, height = image.size
            image.verify()  # every chunk's CRC: a damaged badge is refused, not left out
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:  # Pillow says SyntaxError
        raise InputError("the PNG image cannot be read", location="badge_png") from exc
    if max(width, height) > MAX_BADGE_SIDE_PX:
        raise InputError(
            f"{width}×{height} pixels; at most {MAX_BADGE_SIDE_PX} a side",
            location="badge_png",
        )
