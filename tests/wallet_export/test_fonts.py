"""The installed fonts as fontconfig lists them, and the warnings for scripts no font covers."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from caiep.wallet_export.fonts import (
    SANS_FAMILIES,
    SERIF_FAMILIES,
    InstalledFonts,
    family_stack,
    installed_fonts,
    missing_font_warnings,
    package_for,
    parse_fc_list,
    script_of,
)

# What Debian's fonts-noto-core and fonts-noto-cjk install, which make system-deps ensures.
pytestmark = pytest.mark.skipif(shutil.which("fc-list") is None, reason="fontconfig is not installed")

LISTING = (
    "Noto Sans,Noto Sans Regular\t20-7e a0-17f 370-3ff 400-45f\n"
    "Noto Sans Arabic\t600-6ff\n"
    "Noto Sans Arabic UI\t600-6ff fb50-fdff\n"
    "Broken\tzz-10 40-41\n"
)


def test_fc_list_output_is_merged_into_ranges() -> None:
    fonts = parse_fc_list(LISTING)
    assert fonts.families == {
        "Noto Sans",
        "Noto Sans Regular",
        "Noto Sans Arabic",
        "Noto Sans Arabic UI",
        "Broken",
    }
    assert list(zip(fonts.range_starts, fonts.range_ends, strict=True)) == [
        (0x20, 0x7E),
        (0xA0, 0x17F),
        (0x370, 0x45F),  # adjacent ranges become one
        (0x600, 0x6FF),  # the same range from two faces, once
        (0xFB50, 0xFDFF),
    ]
    assert fonts.covers(ord("Z"))
    assert fonts.covers(ord("ж"))
    assert fonts.covers(0x45F)
    assert not fonts.covers(0x460)
    assert not fonts.covers(0x1F)
    assert not fonts.covers(ord("张"))


@pytest.mark.parametrize(
    ("text", "script", "package"),
    [
        ("a", "Latin", "fonts-noto-core"),
        ("ж", "Cyrillic", "fonts-noto-core"),
        ("ب", "Arabic", "fonts-noto-core"),
        ("ሀ", "Ethiopic", "fonts-noto-core"),
        ("\U00016a70", "Tangsa", "fonts-noto-core"),
        ("\U00010570", "Vithkuqi", "fonts-noto-core"),
        ("张", "Han (CJK)", "fonts-noto-cjk"),
        ("か", "Hiragana", "fonts-noto-cjk"),
        ("ｶ", "Halfwidth Katakana", "fonts-noto-cjk"),
        ("한", "Hangul", "fonts-noto-cjk"),
        ("😀", "Emoji", "fonts-noto-color-emoji"),
        ("\ue000", "U+E000", "fonts-noto-core"),  # private use: no name, no script
    ],
)
def test_script_and_package(text: str, script: str, package: str) -> None:
    assert script_of(text) == script
    assert package_for(script) == package


def test_warnings_name_each_uncovered_script_once_with_its_fields() -> None:
    fonts = parse_fc_list(LISTING)
    warnings = missing_font_warnings(
        {
            "holder_name": "Zoë ሀሁ 张伟 \u200dمحمد\u200f",  # ZWJ and RLM need no glyph
            "issuer_name": "ሀ Institute",
            "charter_number": "CAIEP-000042",
        },
        fonts,
    )
    assert warnings == (
        "no installed font covers Ethiopic (holder_name, issuer_name); install fonts-noto-core",
        "no installed font covers Han (CJK) (holder_name); install fonts-noto-cjk",
    )


def test_a_missing_fc_list_is_a_warning_not_a_crash() -> None:
    fonts = InstalledFonts(frozenset(), (), (), problem="fontconfig's fc-list is not installed")
    assert missing_font_warnings({"holder_name": "Zoë"}, fonts) == (
        "cannot check which scripts the installed fonts cover: fontconfig's fc-list is not installed",
    )


def test_installed_fonts_cover_the_scripts_of_the_certificate() -> None:
    fonts = installed_fonts()
    assert fonts.problem is None
    for character in "ZoëΑλέξΔмитрий张伟محمدדוד":
        assert fonts.covers(ord(character)), character
    assert installed_fonts() is fonts  # one fc-list for the process, until the entry expires
    names = {"Latin": "Zoë", "Greek": "Αλέξανδρος", "Han": "张伟", "Arabic": "محمد", "Hebrew": "דוד"}
    assert missing_font_warnings(names, fonts) == ()


def test_installed_families_agree_with_fc_list() -> None:
    listed = subprocess.run(
        ["fc-list", "--format", "%{family}\n"], capture_output=True, text=True, check=True
    )
    families = {name for line in listed.stdout.splitlines() for name in line.split(",")}
    assert installed_fonts().families == families
    assert {"Noto Sans", "Noto Serif", "Noto Naskh Arabic", "Noto Serif CJK SC"} <= families


def test_family_stacks_list_installed_families_then_the_generic_one() -> None:
    fonts = installed_fonts()
    serif = family_stack(SERIF_FAMILIES, "serif", fonts)
    assert serif.startswith('"Noto Serif", "Noto Naskh Arabic", "Noto Serif Hebrew", "Noto Serif CJK SC"')
    assert serif.endswith(", serif")
    assert '"Noto Serif CJK JP", "Noto Serif CJK SC"' in family_stack(
        SERIF_FAMILIES, "serif", fonts, text="山田 はな"
    )
    assert '"Noto Serif CJK KR", "Noto Serif CJK SC"' in family_stack(
        SERIF_FAMILIES, "serif", fonts, text="김민준"
    )
    assert serif.count("CJK SC") == 2  # Serif, then Sans: listed once each
    stack = family_stack(SANS_FAMILIES, "sans-serif", parse_fc_list(LISTING))
    assert stack == '"Noto Sans", "Noto Sans Arabic", sans-serif'
