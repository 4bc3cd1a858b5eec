"""The fonts installed on this machine, as fontconfig reports them, for the printable certificate.

Use :func:`family_stack` to name the fonts a piece of text should be drawn in, and
:func:`missing_font_warnings` to learn, before rendering, which scripts of the text no installed
font covers (and which Debian package would cover them).

Fonts are found at run time, never shipped: ``fc-list`` (fontconfig) lists every installed face
with its family names and its coverage (the ``charset`` property, ranges of code points). The
answer is kept for :data:`INSTALLED_FONTS_TTL` seconds, one entry, so a process sees fonts
installed while it runs without asking fontconfig for every certificate.

Choosing a face per run of text is Pango's work (it itemizes text by script and asks fontconfig
for the first family of the stack that covers each run): the stack we give it lists, for each
script we expect in a name, the family that suits it (Noto Naskh Arabic beside Noto Serif, Noto
Serif CJK SC for Han), and ends in the generic family so fontconfig's own fallback finds any other
installed font. On Debian the stacks are met by ``fonts-noto-core`` and ``fonts-noto-cjk``.
"""

from __future__ import annotations

import bisect
import shutil
import subprocess
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from cachetools.func import ttl_cache

CORE_PACKAGE = "fonts-noto-core"
CJK_PACKAGE = "fonts-noto-cjk"
EMOJI_PACKAGE = "fonts-noto-color-emoji"
INSTALLED_FONTS_TTL = 600.0

# Families in order of preference; those not installed are left out of the stack.
SERIF_FAMILIES = (
    "Noto Serif",
    "Noto Naskh Arabic",
    "Noto Serif Hebrew",
    "Noto Serif CJK {cjk}",
    "Noto Serif CJK SC",
    "Noto Sans CJK SC",
    "DejaVu Serif",
)
SANS_FAMILIES = (
    "Noto Sans",
    "Noto Sans Arabic",
    "Noto Sans Hebrew",
    "Noto Sans CJK {cjk}",
    "Noto Sans CJK SC",
    "DejaVu Sans",
)

# Scripts that Debian's Noto CJK package covers; every other script's Noto font is in noto-core.
_CJK_WORDS = frozenset({"Han", "Hiragana", "Katakana", "Hangul", "Bopomofo", "Ideographic"})
# Words of a Unicode character name that come after the script's name ("ARABIC LETTER ALEF").
_NAME_STOP_WORDS = frozenset(
    "LETTER CAPITAL SMALL SYLLABLE SYLLABICS CHARACTER IDEOGRAPH UNIFIED COMPATIBILITY SIGN DIGIT "
    "VOWEL NUMBER MARK HIEROGLYPH LIGATURE SYMBOL WORD FINAL MEDIAL INITIAL ISOLATED FORM "
    "COMBINING PUNCTUATION TONE SUBJOINED".split()
)


@dataclass(frozen=True)
class InstalledFonts:
    """What fontconfig reported: family names, and the code points any face covers (merged ranges)."""

    families: frozenset[str]
    range_starts: tuple[int, ...]
    range_ends: tuple[int, ...]
    problem: str | None = None  # why the list could not be read, if it could not

    def covers(self, code_point: int) -> bool:
        """Whether some installed face has a glyph for ``code_point``."""
        index = bisect.bisect_right(self.range_starts, code_point) - 1
        return index >= 0 and self.range_ends[index] >= code_point


@ttl_cache(maxsize=1, ttl=INSTALLED_FONTS_TTL)
def installed_fonts() -> InstalledFonts:
    """The installed fonts, from one ``fc-list`` call, kept for :data:`INSTALLED_FONTS_TTL` s."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return InstalledFonts(frozenset(), (), (), problem="fontconfig's fc-list is not installed")
    try:
        listing = subprocess.run(  # noqa: S603 (a fixed command line, no input of ours)
            [fc_list, "--format", "%{family}\t%{charset}\n"],
            capture_output=True,
            check=True,
            text=True,
            timeout=30,
        ).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        return InstalledFonts(frozenset(), (), (), problem=f"fc-list failed ({type(exc).__name__})")
    return parse_fc_list(listing)


def parse_fc_list(listing: str) -> InstalledFonts:
    """Read ``fc-list --format '%{family}\\t%{charset}\\n'`` output into :class:`InstalledFonts`."""
    families: set[str] = set()
    ranges: list[tuple[int, int]] = []
    for line in listing.splitlines():
        names, _, charset = line.partition("\t")
        families.update(name.strip() for name in names.split(",") if name.strip())
        for part in charset.split():
            low, _, high = part.partition("-")
            try:
                ranges.append((int(low, 16), int(high or low, 16)))
            except ValueError:
                continue  # not a range: fontconfig wrote something else; skip it
    ranges.sort()
    merged: list[list[int]] = []
    for first, last in ranges:
        if merged and first <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], last)
        else:
            merged.append([first, last])
    return InstalledFonts(
        frozenset(families), tuple(first for first, _ in merged), tuple(last for _, last in merged)
    )


def family_stack(
    preferred: Sequence[str], generic: str, fonts: InstalledFonts | None = None, *, text: str = ""
) -> str:
    """A CSS ``font-family`` value: the installed ``preferred`` families in order, then ``generic``.

    ``{cjk}`` in a family name becomes the Noto CJK region whose glyph forms suit ``text``
    (:func:`cjk_region`): the same Han character is drawn differently in China, Japan and Korea.
    """
    known = (fonts or installed_fonts()).families
    region = cjk_region(text)
    names = dict.fromkeys(f'"{family.format(cjk=region)}"' for family in preferred)
    return ", ".join([*(name for name in names if name[1:-1] in known), generic])


def cjk_region(text: str) -> str:
    """ "JP" for text with kana, "KR" for text with Hangul, else "SC" (simplified Chinese)."""
    for character in text:
        name = unicodedata.name(character, "")
        if name.startswith(("HIRAGANA", "KATAKANA", "HALFWIDTH KATAKANA")):
            return "JP"
        if name.startswith("HANGUL"):
            return "KR"
    return "SC"


def script_of(character: str) -> str:
    """The script a character is written in, named from its Unicode name ("ETHIOPIC SYLLABLE HA").

    Python's :mod:`unicodedata` has no Script property (UAX #24), but a character's name starts
    with its script's name for every script; good enough to tell a reader which font is missing.
    """
    name = unicodedata.name(character, "")
    if not name:
        return f"U+{ord(character):04X}"
    if name.startswith("CJK "):
        return "Han (CJK)"
    if unicodedata.category(character) == "So" and ord(character) >= 0x1F000:
        return "Emoji"
    words: list[str] = []
    for word in name.split():
        if word in _NAME_STOP_WORDS or ("-" in word and words):
            break
        words.append(word)
        if len(words) == 3:
            break
    return " ".join(words).title() or f"U+{ord(character):04X}"


def package_for(script: str) -> str:
    """The Debian package that holds a Noto font for ``script``."""
    if _CJK_WORDS.intersection(script.split()):
        return CJK_PACKAGE
    if script == "Emoji":
        return EMOJI_PACKAGE
    return CORE_PACKAGE


def missing_font_warnings(texts: Mapping[str, str], fonts: InstalledFonts | None = None) -> tuple[str, ...]:
    """One warning per script that appears in ``texts`` (field name → text) and no font covers.

    Each says the script, the fields, and the Debian package to install: "no installed font
    covers Ethiopic (holder_name); install fonts-noto-core". Spaces, controls and format
    characters (ZWJ, bidi marks) are not drawn, so they need no font.
    """
    fonts = fonts or installed_fonts()
    if fonts.problem:
        return (f"cannot check which scripts the installed fonts cover: {fonts.problem}",)
    fields_by_script: dict[str, list[str]] = {}
    for field, text in texts.items():
        for script in _uncovered_scripts(text, fonts):
            fields = fields_by_script.setdefault(script, [])
            if field not in fields:
                fields.append(field)
    return tuple(
        f"no installed font covers {script} ({', '.join(fields)}); install {package_for(script)}"
        for script, fields in fields_by_script.items()
    )


def _uncovered_scripts(text: str, fonts: InstalledFonts) -> Iterable[str]:
    seen: set[str] = set()
    for character in dict.fromkeys(text):  # each distinct character once, in order
        if unicodedata.category(character)[0] in "CZ" or fonts.covers(ord(character)):
            continue
        script = script_of(character)
        if script not in seen:
            seen.add(script)
            yield script
