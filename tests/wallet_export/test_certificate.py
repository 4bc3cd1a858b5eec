"""The printable certificate, read back by poppler (pdftotext, pdffonts, pdfinfo, pdfimages,
pdftoppm) and its QR code decoded from the rendered page by zxing-cpp."""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pdf_support import (
    decode_qr,
    drawn_badge_png,
    needs_poppler,
    pdffonts,
    pdfimages,
    pdfinfo,
    pdftotext,
    render_page,
)
from PIL import ImageChops

from caiep.errors import InputError
from caiep.wallet_export.certificate import (
    MAX_NAME_CHARACTERS,
    CertificateData,
    RenderedCertificate,
    certificate_for,
    render_certificate,
)
from caiep.wallet_export.charter import ExportedCharter, NotCurrent

pytestmark = needs_poppler

PAGE_URL = "https://credentials.caiep.example/c/6b1f8c3e-2d4a-4e5f-9a7b-0c1d2e3f4a5b"
CREDENTIAL_ID = "https://credentials.caiep.example/credentials/6b1f8c3e-2d4a-4e5f-9a7b-0c1d2e3f4a5b"
NAMES = {
    "latin": "Zoë Ångström-Łukasiewicz",
    "combining": "Adéṣọlá Ọ̀ṣun Nguyễn Thị",  # Ọ̀ is Ọ with U+0300: no precomposed form
    "greek": "Αλέξανδρος Παπαδόπουλος",
    "cyrillic": "Дмитрий Иванов",
    "cjk": "张伟",
    "arabic": "محمد العلي",
    "hebrew": "דוד כהן",
}
# The face pdffonts names for the name of each script that the Latin faces do not cover.
SCRIPT_FONTS = {"cjk": "CJK", "arabic": "Arabic", "hebrew": "Hebrew"}
BADGE = drawn_badge_png()


def certificate(holder_name: str = NAMES["latin"], **changes: object) -> CertificateData:
    data = CertificateData(
        holder_name=holder_name,
        awarded=datetime.date(2025, 3, 12),
        current_until=datetime.date(2026, 9, 30),
        charter_number="CAIEP-000042",
        credential_id=CREDENTIAL_ID,
        issuer_name="Institute of AI Engineering Professionals",
        page_url=PAGE_URL,
        badge_png=BADGE,
    )
    return dataclasses.replace(data, **changes)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def rendered() -> dict[str, RenderedCertificate]:
    return {script: render_certificate(certificate(name)) for script, name in NAMES.items()}


@pytest.mark.parametrize("script", NAMES)
def test_the_text_is_real_and_complete(script: str, rendered: dict[str, RenderedCertificate]) -> None:
    text = pdftotext(rendered[script].pdf)
    assert f"{NAMES[script]}, CAiEP" in text  # logical order, right-to-left names included
    for words in (
        "CAiEP® Charter",
        "Institute of AI Engineering Professionals",
        "12 March 2025",
        "30 September 2026",
        "CAIEP-000042",
        "Scan to verify",
        "The credential at the QR code is what counts",
    ):
        assert words in " ".join(text.split()), words
    unwrapped = "".join(text.split())  # long identifiers wrap at the end of a line
    assert CREDENTIAL_ID in unwrapped
    assert PAGE_URL in unwrapped
    assert rendered[script].warnings == ()


@pytest.mark.parametrize("script", NAMES)
def test_every_font_is_embedded_as_a_subset(script: str, rendered: dict[str, RenderedCertificate]) -> None:
    fonts = pdffonts(rendered[script].pdf)
    assert fonts
    assert all(font.embedded and font.subset and font.unicode for font in fonts), fonts
    if script in SCRIPT_FONTS:
        assert any(SCRIPT_FONTS[script] in font.name for font in fonts), fonts
    if script == "cjk":  # Noto CJK is CFF-outline OpenType, taken from its .ttc collection
        assert any(font.type.startswith("CID Type 0C") for font in fonts), fonts


def test_arabic_letters_are_joined() -> None:
    """Shaped text differs from the same letters kept apart by ZERO WIDTH NON-JOINERs."""
    name = NAMES["arabic"]
    apart = "\u200c".join(name)
    joined_page = render_page(render_certificate(certificate(name)).pdf, 100)
    apart_page = render_page(render_certificate(certificate(apart)).pdf, 100)
    box = ImageChops.difference(joined_page, apart_page).getbbox()
    assert box is not None  # the letters take their joining forms
    top, bottom = box[1] / joined_page.height, box[3] / joined_page.height
    assert 0.25 < top < bottom < 0.45  # and only the name's line differs


@pytest.mark.parametrize(
    ("paper", "size"),
    [("a4", "595.276 x 841.89 pts (A4)"), ("letter", "612 x 792 pts (letter)")],
)
def test_paper_size(paper: str, size: str) -> None:
    info = pdfinfo(render_certificate(certificate(), paper=paper).pdf)
    assert info["Page size"] == size
    assert info["Pages"] == "1"
    assert info["Tagged"] == "yes"
    assert info["Title"] == f"CAiEP® Charter certificate: {NAMES['latin']}, CAiEP"
    assert info["Author"] == "Institute of AI Engineering Professionals"


@pytest.mark.parametrize("paper", ["a4", "letter"])
@pytest.mark.parametrize("dpi", [150, 300])
def test_qr_on_the_page_decodes_to_the_page_url(paper: str, dpi: int) -> None:
    page = render_page(render_certificate(certificate(), paper=paper).pdf, dpi)
    (code,) = decode_qr(page)
    assert code.text == PAGE_URL
    assert code.ec_level == "M"


def test_page_shows_badge_and_qr_and_is_not_blank(rendered: dict[str, RenderedCertificate]) -> None:
    pdf = rendered["latin"].pdf
    images = pdfimages(pdf)
    assert (600, 600) in images  # the badge, at full resolution
    assert any(width == height < 100 for width, height in images)  # the QR code, a pixel a module
    page = render_page(pdf, 50).convert("L")
    dark = sum(count for level, count in enumerate(page.histogram()) if level < 128)
    assert 0.03 < dark / (page.width * page.height) < 0.5


def test_same_data_same_bytes() -> None:
    first = render_certificate(certificate()).pdf
    assert render_certificate(certificate()).pdf == first
    assert render_certificate(certificate("Jane Doe")).pdf != first
    assert first.startswith(b"%PDF-")


def test_a_long_name_stays_on_the_page() -> None:
    name = "Maria de los Ángeles Fernández-Villaverde y Rodríguez-Sanjurjo de la Concepción " * 2
    result = render_certificate(certificate(name.strip()))
    assert pdfinfo(result.pdf)["Pages"] == "1"
    assert "Sanjurjo de la Concepción, CAiEP" in " ".join(pdftotext(result.pdf).split())


@pytest.mark.parametrize("paper", ["A5", "A4", "legal", ""])
def test_unknown_paper_size_is_refused(paper: str) -> None:
    with pytest.raises(InputError) as caught:
        render_certificate(certificate(), paper=paper)
    assert str(caught.value) == f"paper: unknown paper size {paper!r}; choose one of a4, letter"


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"holder_name": "  "}, "holder_name: empty"),
        ({"holder_name": "x" * (MAX_NAME_CHARACTERS + 1)}, "holder_name: longer than 200 characters (201)"),
        ({"issuer_name": "Institute\nof AI"}, "issuer_name: holds the control character U+000A"),
        ({"charter_number": "CAIEP-\x00042"}, "charter_number: holds the control character U+0000"),
        (
            {"current_until": datetime.date(2025, 3, 11)},
            "current_until: 2025-03-11 is before the award (2025-03-12)",
        ),
        ({"page_url": "https://caiep.example/zoë"}, "percent-encode"),
        ({"badge_png": b"GIF89a"}, "badge_png: not a PNG image"),
        ({"badge_png": BADGE[:40]}, "badge_png: the PNG image cannot be read"),
        ({"badge_png": BADGE[:-200] + bytes(200)}, "badge_png: the PNG image cannot be read"),
    ],
)
def test_bad_data_is_refused(changes: dict[str, object], words: str) -> None:
    with pytest.raises(InputError) as caught:
        render_certificate(certificate(**changes))
    assert words in str(caught.value)


def test_a_huge_name_is_refused_before_any_work() -> None:
    with pytest.raises(InputError) as caught:
        render_certificate(certificate("ب" * 5_000_000))
    # The message without a count comes from the check made before the text is normalized.
    assert str(caught.value) == "holder_name: longer than 200 characters"


UNCOVERED = """
import datetime, json, sys
from caiep.wallet_export.certificate import CertificateData, render_certificate
data = CertificateData(**json.loads(sys.argv[1]) | {
    "awarded": datetime.date(2025, 3, 12), "current_until": datetime.date(2026, 9, 30),
    "badge_png": open(sys.argv[2], "rb").read()})
result = render_certificate(data)
sys.stdout.buffer.write(json.dumps(result.warnings).encode() + b"\\n" + result.pdf)
"""


def test_a_script_no_installed_font_covers_still_gives_a_certificate(tmp_path: Path) -> None:
    """On a system whose only font is Noto Sans: Arabic and Han draw as boxes, with warnings."""
    noto_sans = subprocess.run(
        ["fc-match", "--format", "%{file}", "Noto Sans:style=Regular"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert noto_sans.endswith("NotoSans-Regular.ttf"), noto_sans
    (tmp_path / "fonts").mkdir()
    (tmp_path / "fonts" / "NotoSans-Regular.ttf").symlink_to(noto_sans)
    config = tmp_path / "fonts.conf"
    config.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">\n'
        f"<fontconfig><dir>{tmp_path / 'fonts'}</dir><cachedir>{tmp_path / 'cache'}</cachedir></fontconfig>\n"
    )
    badge = tmp_path / "badge.png"
    badge.write_bytes(BADGE)
    fields = {
        "holder_name": "محمد 张伟 Zoë",
        "charter_number": "CAIEP-000042",
        "credential_id": CREDENTIAL_ID,
        "issuer_name": "Institute of AI Engineering Professionals",
        "page_url": PAGE_URL,
    }
    run = subprocess.run(
        [sys.executable, "-c", UNCOVERED, json.dumps(fields), str(badge)],
        capture_output=True,
        check=True,
        env={**os.environ, "FONTCONFIG_FILE": str(config)},
    )
    warnings, _, pdf = run.stdout.partition(b"\n")
    assert json.loads(warnings) == [
        "no installed font covers Arabic (holder_name); install fonts-noto-core",
        "no installed font covers Han (CJK) (holder_name); install fonts-noto-cjk",
    ]
    assert [font.name.split("+")[1] for font in pdffonts(pdf)] == ["Noto-Sans"] * len(pdffonts(pdf))
    text = pdftotext(pdf)
    assert "Zoë, CAiEP" in text
    assert "CAIEP-000042" in text
    (code,) = decode_qr(render_page(pdf, 150))
    assert code.text == PAGE_URL


@pytest.mark.parametrize(
    ("name", "face"),
    [("山田 はな", "Noto-Serif-CJK-JP"), ("김민준", "Noto-Serif-CJK-KR")],
)
def test_japanese_and_korean_names_take_their_regions_glyphs(name: str, face: str) -> None:
    pdf = render_certificate(certificate(name)).pdf
    assert any(face in font.name for font in pdffonts(pdf))
    assert f"{name}, CAiEP" in pdftotext(pdf)


def exported(state: str) -> ExportedCharter:
    return ExportedCharter(
        credential_id="6b1f8c3e-2d4a-4e5f-9a7b-0c1d2e3f4a5b",
        url=CREDENTIAL_ID,
        page_url=PAGE_URL,
        charter_number="CAIEP-000042",
        holder_name="Jane Doe",
        charter_name="CAiEP® Charter",
        issuer_name="Institute of AI Engineering Professionals",
        state=state,
        awarded=datetime.datetime(2024, 3, 12, 9, 0, tzinfo=datetime.UTC),
        valid_from=datetime.datetime(2025, 3, 12, 9, 0, tzinfo=datetime.UTC),
        # 01:30 in Berlin is still the 30th in UTC: the page shows UTC calendar dates
        valid_until=datetime.datetime(
            2026, 10, 1, 1, 30, tzinfo=datetime.timezone(datetime.timedelta(hours=2))
        ),
        forms={"ldp": "{}"},
    )


def test_certificate_of_an_exported_charter() -> None:
    result = certificate_for(exported("current"), badge_png=BADGE, paper="letter")
    text = " ".join(pdftotext(result.pdf).split())
    assert "Jane Doe, CAiEP" in text
    assert "AWARDED 12 March 2024" in text  # the first award
    assert "CURRENT UNTIL 30 September 2026" in text  # the current version's validUntil
    assert PAGE_URL in text
    assert pdfinfo(result.pdf)["Page size"] == "612 x 792 pts (letter)"


@pytest.mark.parametrize("state", ["revoked", "suspended", "lapsed"])
def test_no_certificate_of_a_charter_that_is_not_current(state: str) -> None:
    with pytest.raises(NotCurrent, match=f"is {state}: a certificate is made only of a current charter"):
        certificate_for(exported(state), badge_png=BADGE)


def test_markup_in_a_name_is_text() -> None:
    name = 'Zoë <b>O\'Brien</b> &amp; "Fifi"'
    result = render_certificate(certificate(name, issuer_name="Smith & Jones <Ltd>"))
    text = " ".join(pdftotext(result.pdf).split())
    assert f"{name}, CAiEP" in text
    assert "awarded by Smith & Jones <Ltd>" in text


@settings(max_examples=25, deadline=None)
@given(
    name=st.text(
        alphabet=st.characters(
            codec="utf-8",
            # Marks stacked on a letter that has them precomposed only in part (Ě + U+0312) come
            # back from pdftotext before their letter: its order is the glyphs' positions.
            categories=["Lu", "Ll", "Lo", "Nd", "Pd", "Po", "Ps", "Pe", "Sm"],
            max_codepoint=0x52F,  # Latin, Greek and Cyrillic
        ),
        min_size=1,
        max_size=30,  # short: pdftotext joins a line that ends in a hyphen to the next
    ).filter(lambda value: unicodedata.category(value[0])[0] == "L")
)
def test_any_name_comes_back_as_text(name: str) -> None:
    result = render_certificate(certificate(name))
    assert result.warnings == ()
    # Compared without white space: a long name of wide glyphs may wrap at a break opportunity
    # (after "|", say), and pdftotext then gives the two lines.
    expected = "".join(unicodedata.normalize("NFC", name).split())
    assert f"{expected},CAiEP" in "".join(pdftotext(result.pdf).split())
