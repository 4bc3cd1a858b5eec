"""The printable certificate's page as HTML and CSS, for WeasyPrint to lay out (certificate.py).

Use :func:`certificate_html` only through :func:`caiep.wallet_export.certificate.render_certificate`,
which checks the data first. Every value from the data is escaped here (``html.escape``), images
arrive as ``data:`` URLs, and the fetcher given to WeasyPrint allows no other scheme, so nothing
in a name can make the renderer read a file or the network.
"""

from __future__ import annotations

import base64
import datetime
import unicodedata
from dataclasses import dataclass
from html import escape

MONTHS = ("January February March April May June July August September October November December").split()


@dataclass(frozen=True)
class Paper:
    """A paper size: its CSS ``@page`` size and its dimensions in millimetres."""

    css_size: str
    width_mm: float
    height_mm: float


PAPERS = {
    "a4": Paper("A4", 210.0, 297.0),
    "letter": Paper("letter", 215.9, 279.4),
}
MARGIN_MM = 10.0
NAVY = "#1f3a5f"
GOLD = "#a8863a"
INK = "#1d232b"
MUTED = "#56606b"


@dataclass(frozen=True)
class PageText:
    """What the page says, already checked: plain text, not yet escaped."""

    title: str
    holder_name: str
    post_nominal: str
    charter_name: str
    issuer_name: str
    awarded: datetime.date
    current_until: datetime.date
    charter_number: str
    credential_id: str
    page_url: str


def format_date(day: datetime.date) -> str:
    """A date as people read it on paper in any English locale: "5 December 2026"."""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def data_url(media_type: str, content: bytes) -> str:
    """``content`` as a ``data:`` URL (RFC 2397)."""
    return f"data:{media_type};base64,{base64.b64encode(content).decode('ascii')}"


def name_size_pt(holder_line: str) -> float:
    """The holder line's font size: 30 pt for a short name, smaller for a long one, 16 pt at least.

    East Asian wide characters count as two, being about twice as wide as Latin letters;
    combining marks and format characters (ZWJ, ZWNJ, bidi marks) as nothing.
    """
    width = sum(_advance(character) for character in holder_line)
    # About 0.6 em a character in bold Noto Serif, on the 146 mm (414 pt) line of A4 and Letter.
    return max(16.0, min(30.0, 414 / 0.62 / max(width, 1)))


def _advance(character: str) -> int:
    """Roughly how many Latin letters wide ``character`` is: 0 for marks and invisible controls."""
    if unicodedata.category(character) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(character) in ("W", "F") else 1


def certificate_html(
    text: PageText, *, paper: Paper, badge_url: str, qr_url: str, serif: str, sans: str
) -> str:
    """The certificate's HTML document, with its style sheet, for one page of ``paper``."""
    e = escape
    frame_height = paper.height_mm - 2 * MARGIN_MM
    name_size = name_size_pt(f"{text.holder_name}, {text.post_nominal}")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{e(text.title)}</title>
<meta name="author" content="{e(text.issuer_name)}">
<meta name="description" content="A rendering of the credential at {e(text.page_url)}">
<style>
@page {{ size: {paper.css_size}; margin: {MARGIN_MM}mm; }}
html {{ font-family: {sans}; color: {INK}; font-size: 10.5pt; line-height: 1.35; }}
body {{ margin: 0; }}
.frame {{ box-sizing: border-box; height: {frame_height:.1f}mm; border: 1.6mm solid {NAVY};
  padding: 2.2mm; }}
.inner {{ box-sizing: border-box; height: 100%; border: 0.35mm solid {GOLD}; position: relative;
  padding: 14mm 18mm 0; text-align: center; }}
.badge {{ width: 46mm; height: 46mm; }}
.kicker {{ margin: 5mm 0 0; font-size: 9.5pt;  text-transform: uppercase;
  color: {GOLD}; font-weight: bold; }}
.lead {{ margin: 11mm 0 2mm; font-family: {serif}; font-style: italic; color: {MUTED};
  font-size: 12pt; }}
.name {{ margin: 0; font-family: {serif}; font-weight: bold; color: {NAVY};
  font-size: {name_size:.1f}pt; line-height: 1.25; overflow-wrap: break-word; }}
.name span {{ white-space: nowrap; }}
.rule {{ width: 60mm; margin: 6mm auto; border: 0; border-top: 0.35mm solid {GOLD}; }}
.holds {{ margin: 0; font-family: {serif}; font-style: italic; color: {MUTED}; font-size: 12pt; }}
.charter {{ margin: 1.5mm 0 0; font-family: {serif}; font-size: 21pt; color: {INK}; }}
.issuer {{ margin: 2mm 0 0; font-size: 11pt; color: {MUTED}; overflow-wrap: break-word; }}
table {{ margin: 13mm auto 0; border-collapse: collapse; text-align: left; width: 100%;
  table-layout: fixed; }}
th, td {{ padding: 1.6mm 3mm; border-bottom: 0.2mm solid #d9dde2; vertical-align: top; }}
th {{ width: 36mm; font-size: 8pt; letter-spacing: 0.04em; text-transform: uppercase; color: {MUTED};
  font-weight: bold; padding-top: 2.2mm; }}
td {{ font-size: 10.5pt; overflow-wrap: break-word; }}
.footer {{ position: absolute; left: 14mm; right: 14mm; bottom: 10mm; height: 44mm; text-align: left; }}
.qr {{ position: absolute; left: 0; bottom: 0; width: 38mm; text-align: center; }}
.qr img {{ width: 38mm; height: 38mm; display: block; image-rendering: pixelated; }}
.qr p {{ margin: 0.5mm 0 0; font-weight: bold; font-size: 9.5pt; color: {NAVY}; }}
.notice {{ position: absolute; left: 45mm; right: 0; bottom: 1mm; font-size: 8.5pt; color: {MUTED}; }}
.notice p {{ margin: 0 0 1.5mm; }}
.url {{ color: {INK}; overflow-wrap: break-word; }}
</style>
</head>
<body>
<div class="frame"><div class="inner">
<img class="badge" src="{badge_url}" alt="{e(text.charter_name)} badge">
<p class="kicker">Certificate of Charter</p>
<p class="lead">This certifies that</p>
<h1 class="name"><bdi>{e(text.holder_name)}</bdi><span>, {e(text.post_nominal)}</span></h1>
<hr class="rule">
<p class="holds">holds the</p>
<p class="charter">{e(text.charter_name)}</p>
<p class="issuer">awarded by {e(text.issuer_name)}</p>
<table>
<tr><th>Awarded</th><td>{format_date(text.awarded)}</td></tr>
<tr><th>Current until</th><td>{format_date(text.current_until)}</td></tr>
<tr><th>Charter number</th><td>{e(text.charter_number)}</td></tr>
<tr><th>Credential ID</th><td>{e(text.credential_id)}</td></tr>
</table>
<div class="footer">
<div class="qr"><img src="{qr_url}" alt="QR code of {e(text.page_url)}"><p>Scan to verify</p></div>
<div class="notice">
<p>This certificate is a rendering of a digital credential, not the credential itself.
The credential at the QR code is what counts: scan it, or open the address below, to see
whether the charter is current today.</p>
<p class="url">{e(text.page_url)}</p>
</div>
</div>
</div></div>
</body>
</html>
"""
