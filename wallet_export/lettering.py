"""The badge's lettering, drawn as geometry: a monoline geometric alphabet of strokes.

Use it to write the few words of the charter badge without any font file: every letter is a
set of polylines (straight strokes and sampled circular or elliptical arcs) in units of the
cap height, drawn with round caps and joins. The same points make the PNG (drawn by Pillow)
and the SVG (written as paths), so the two images show the same letters on every machine,
whatever fonts it has installed, and the bytes never depend on a font file or a text shaper.

Only the letters the badge uses are defined (the capitals of "CHARTERED AI ENGINEERING
PROFESSIONAL", the post-nominal "CAiEP"); asking for another raises KeyError.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

Point = tuple[float, float]
Polyline = tuple[Point, ...]

_ARC_STEP_DEGREES = 5.0


def arc(cx: float, cy: float, rx: float, ry: float, start: float, end: float) -> Polyline:
    """Points along an elliptical arc from ``start`` to ``end`` degrees (counter-clockwise if
    ``end > start``), in glyph units with y pointing up."""
    steps = max(2, math.ceil(abs(end - start) / _ARC_STEP_DEGREES))
    points = []
    for i in range(steps + 1):
        angle = math.radians(start + (end - start) * i / steps)
        points.append((cx + rx * math.cos(angle), cy + ry * math.sin(angle)))
    return tuple(points)


@dataclass(frozen=True)
class Glyph:
    """One letter: its width (ink extent of the stroke centre lines), strokes and dots."""

    width: float
    strokes: tuple[Polyline, ...]
    dots: tuple[Point, ...] = ()


def _bowl(top: float, bottom: float, stem: float, reach: float) -> Polyline:
    """A P/R bowl: from the stem at ``top`` out, round, and back to the stem at ``bottom``."""
    radius = (top - bottom) / 2
    curve = arc(reach - radius, bottom + radius, radius, radius, 90, -90)
    return ((stem, top), *curve, (stem, bottom))


GLYPHS: dict[str, Glyph] = {
    "A": Glyph(0.74, (((0.0, 0.0), (0.37, 1.0), (0.74, 0.0)), ((0.13, 0.35), (0.61, 0.35)))),
    "C": Glyph(0.86, (arc(0.5, 0.5, 0.5, 0.5, 48, 312),)),
    "D": Glyph(
        0.84, (((0.0, 0.0), (0.0, 1.0), (0.34, 1.0), *arc(0.34, 0.5, 0.5, 0.5, 90, -90), (0.0, 0.0)),)
    ),
    "E": Glyph(0.52, (((0.52, 1.0), (0.0, 1.0), (0.0, 0.0), (0.52, 0.0)), ((0.0, 0.5), (0.44, 0.5)))),
    "F": Glyph(0.5, (((0.5, 1.0), (0.0, 1.0), (0.0, 0.0)), ((0.0, 0.5), (0.43, 0.5)))),
    "G": Glyph(1.0, ((*arc(0.5, 0.5, 0.5, 0.5, 48, 360), (0.58, 0.5)),)),
    "H": Glyph(0.68, (((0.0, 0.0), (0.0, 1.0)), ((0.68, 0.0), (0.68, 1.0)), ((0.0, 0.5), (0.68, 0.5)))),
    "I": Glyph(0.0, (((0.0, 0.0), (0.0, 1.0)),)),
    "L": Glyph(0.48, (((0.0, 1.0), (0.0, 0.0), (0.48, 0.0)),)),
    "N": Glyph(0.7, (((0.0, 0.0), (0.0, 1.0), (0.7, 0.0), (0.7, 1.0)),)),
    "O": Glyph(1.0, (arc(0.5, 0.5, 0.5, 0.5, 0, 360),)),
    "P": Glyph(0.6, (((0.0, 0.0), *_bowl(1.0, 0.46, 0.0, 0.6)),)),
    "R": Glyph(0.62, (((0.0, 0.0), *_bowl(1.0, 0.46, 0.0, 0.6)), ((0.3, 0.46), (0.62, 0.0)))),
    "S": Glyph(
        0.6,
        ((*arc(0.3, 0.745, 0.28, 0.255, 28, 270), *arc(0.3, 0.245, 0.3, 0.245, 90, -152)),),
    ),
    "T": Glyph(0.62, (((0.0, 1.0), (0.62, 1.0)), ((0.31, 1.0), (0.31, 0.0)))),
    "i": Glyph(0.0, (((0.0, 0.0), (0.0, 0.66)),), ((0.0, 0.9),)),
}

#: The gap between two letters' centre lines, and a word space, in cap heights.
LETTER_GAP = 0.34
WORD_SPACE = 0.55


def advance(text: str, gap: float = LETTER_GAP) -> float:
    """The length of ``text`` set on one line, in cap heights, from first to last ink centre line."""
    total = 0.0
    for index, character in enumerate(text):
        if index:
            total += gap
        total += WORD_SPACE if character == " " else GLYPHS[character].width
    return total


@dataclass(frozen=True)
class Placed:
    """Lettering placed on the canvas: polylines and dot centres in pixels (y pointing down)."""

    strokes: tuple[Polyline, ...]
    dots: tuple[Point, ...]


def set_line(text: str, *, centre_x: float, baseline: float, cap: float, gap: float = LETTER_GAP) -> Placed:
    """``text`` on a straight baseline, centred on ``centre_x``, capitals ``cap`` pixels high."""
    x = centre_x - advance(text, gap) * cap / 2
    strokes: list[Polyline] = []
    dots: list[Point] = []
    for character in text:
        if character == " ":
            x += (WORD_SPACE + gap) * cap
            continue
        glyph = GLYPHS[character]
        for stroke in glyph.strokes:
            strokes.append(tuple((x + px * cap, baseline - py * cap) for px, py in stroke))
        dots.extend((x + px * cap, baseline - py * cap) for px, py in glyph.dots)
        x += (glyph.width + gap) * cap
    return Placed(tuple(strokes), tuple(dots))


def set_on_circle(
    text: str,
    *,
    centre: Point,
    radius: float,
    cap: float,
    at_degrees: float,
    outward: bool,
    gap: float = LETTER_GAP,
) -> Placed:
    """``text`` around a circle, each letter upright to the circle and centred on ``at_degrees``
    (clockwise from 12 o'clock). ``radius`` is the middle of the capitals.

    ``outward`` letters stand on the inside and read clockwise (the top of a seal); otherwise
    their tops point to the centre and they read counter-clockwise (the bottom of a seal), so
    both halves read left to right.
    """
    mid_radius = radius
    sweep = advance(text, gap) * cap / mid_radius  # radians
    direction = 1.0 if outward else -1.0
    angle = math.radians(at_degrees) - direction * sweep / 2
    strokes: list[Polyline] = []
    dots: list[Point] = []

    def place(points: Sequence[Point], width: float, at: float) -> list[Point]:
        # The letter is rigid: turned to stand on the circle at its own centre angle.
        theta = at + direction * (width * cap / 2) / mid_radius
        radial = (math.sin(theta), -math.cos(theta))  # outward, screen coordinates
        tangent = (math.cos(theta), math.sin(theta))  # clockwise
        if not outward:
            radial = (-radial[0], -radial[1])
            tangent = (-tangent[0], -tangent[1])
        base_x = centre[0] + (mid_radius - direction * cap / 2) * math.sin(theta)
        base_y = centre[1] - (mid_radius - direction * cap / 2) * math.cos(theta)
        return [
            (
                base_x + (px - width / 2) * cap * tangent[0] + py * cap * radial[0],
                base_y + (px - width / 2) * cap * tangent[1] + py * cap * radial[1],
            )
            for px, py in points
        ]

    for character in text:
        if character == " ":
            angle += direction * (WORD_SPACE + gap) * cap / mid_radius
            continue
        glyph = GLYPHS[character]
        for stroke in glyph.strokes:
            strokes.append(tuple(place(stroke, glyph.width, angle)))
        dots.extend(place(glyph.dots, glyph.width, angle))
        angle += direction * (glyph.width + gap) * cap / mid_radius
    return Placed(tuple(strokes), tuple(dots))
