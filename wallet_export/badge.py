"""The CAiEP® charter badge: the emblem every credential names as ``achievement.image``.

Use :func:`badge_png` and :func:`badge_svg` for the image served at
``/achievements/caiep/badge.png`` and ``badge.svg``, for ``caiep publish`` and as the image into
which a credential is baked (OB 3.0 "Baked Badge"). The emblem holds no personal data: a seal
with "CHARTERED AI ENGINEERING PROFESSIONAL" around it, the post-nominal "CAiEP" and a mark (a
cube of connected nodes: engineering built on networks).

Both images are drawn from one description (:func:`scene`) of circles and strokes; the
lettering is geometry too (:mod:`.lettering`), never a font, so the PNG and the SVG show the
same emblem and their bytes depend on nothing installed on the machine. The PNG is drawn by
Pillow at four times the size and reduced with a box filter (an exact average of 4×4 pixels:
anti-aliased edges without a resampling kernel that could change between versions). Each is
made once per process and kept.
"""

from __future__ import annotations

import functools
import hashlib
import io
import itertools
import math
from dataclasses import dataclass

from PIL import Image, ImageDraw

from caiep.wallet_export.lettering import Placed, Point, Polyline, set_line, set_on_circle

SIZE = 600
_SUPERSAMPLE = 4
CENTRE: Point = (SIZE / 2, SIZE / 2)

NAVY = "#13294B"
GOLD = "#C9A24B"
WHITE = "#FFFFFF"
TITLE = "CAiEP® charter badge: Chartered AI Engineering Professional"


@dataclass(frozen=True)
class Disc:
    """A filled circle."""

    centre: Point
    radius: float
    colour: str


@dataclass(frozen=True)
class Ring:
    """A circle's outline, ``width`` pixels wide, centred on ``radius``."""

    centre: Point
    radius: float
    width: float
    colour: str


@dataclass(frozen=True)
class Strokes:
    """Polylines drawn ``width`` pixels wide with round caps and joins, and dots as wide."""

    lines: tuple[Polyline, ...]
    width: float
    colour: str
    dots: tuple[Point, ...] = ()


Shape = Disc | Ring | Strokes


def _lettering(placed: Placed, width: float, colour: str) -> Strokes:
    return Strokes(placed.strokes, width, colour, placed.dots)


def _cube(centre: Point, radius: float) -> tuple[Shape, ...]:
    """The mark: an isometric cube seen from above, its seven visible corners as nodes."""
    cx, cy = centre
    corners = [
        (cx + radius * math.cos(math.radians(a)), cy - radius * math.sin(math.radians(a)))
        for a in (90, 150, 210, 270, 330, 30)
    ]
    _, upper_left, _, bottom, _, upper_right = corners
    edges = (
        (*corners, corners[0]),
        (upper_left, centre, upper_right),
        (centre, bottom),
    )
    node = radius * 0.17
    nodes = tuple(Disc(point, node, GOLD) for point in (*corners, centre))
    return (Strokes(edges, radius * 0.11, NAVY), *nodes)


def scene() -> tuple[Shape, ...]:
    """The emblem as shapes on a 600×600 canvas, drawn in order (the same for PNG and SVG)."""
    ring_text_radius = 251.0
    ring_cap = 27.0
    ring_weight = 3.6
    shapes: list[Shape] = [
        Disc(CENTRE, 296, NAVY),
        Ring(CENTRE, 283, 3, GOLD),
        Ring(CENTRE, 219, 3, GOLD),
        Disc(CENTRE, 208, WHITE),
        _lettering(
            set_on_circle(
                "CHARTERED AI ENGINEERING",
                centre=CENTRE,
                radius=ring_text_radius,
                cap=ring_cap,
                at_degrees=0,
                outward=True,
            ),
            ring_weight,
            WHITE,
        ),
        _lettering(
            set_on_circle(
                "PROFESSIONAL",
                centre=CENTRE,
                radius=ring_text_radius,
                cap=ring_cap,
                at_degrees=180,
                outward=False,
            ),
            ring_weight,
            WHITE,
        ),
    ]
    for side in (90, 270):  # the separators between the two arcs of lettering
        angle = math.radians(side)
        point = (
            CENTRE[0] + ring_text_radius * math.sin(angle),
            CENTRE[1] - ring_text_radius * math.cos(angle),
        )
        shapes.append(Disc(point, 6, GOLD))
    shapes.extend(_cube((SIZE / 2, 226), 62))
    shapes.append(_lettering(set_line("CAiEP", centre_x=SIZE / 2, baseline=406, cap=78, gap=0.3), 12.5, NAVY))
    shapes.append(Strokes((((252.0, 446.0), (348.0, 446.0)),), 4, GOLD))
    return tuple(shapes)


# --- PNG ----------------------------------------------------------------------------------------


def _draw(draw: ImageDraw.ImageDraw, shape: Shape) -> None:
    s = _SUPERSAMPLE

    def box(centre: Point, radius: float) -> tuple[float, float, float, float]:
        x, y = centre
        return ((x - radius) * s, (y - radius) * s, (x + radius) * s, (y + radius) * s)

    if isinstance(shape, Disc):
        draw.ellipse(box(shape.centre, shape.radius), fill=shape.colour)
    elif isinstance(shape, Ring):
        draw.ellipse(
            box(shape.centre, shape.radius + shape.width / 2),
            outline=shape.colour,
            width=round(shape.width * s),
        )
    else:
        width = round(shape.width * s)
        half = shape.width / 2
        for line in shape.lines:
            for start, end in itertools.pairwise(line):
                draw.line(
                    [(start[0] * s, start[1] * s), (end[0] * s, end[1] * s)], fill=shape.colour, width=width
                )
            for point in line:  # round caps and joins
                draw.ellipse(box(point, half), fill=shape.colour)
        for point in shape.dots:
            draw.ellipse(box(point, half * 1.25), fill=shape.colour)


@functools.cache
def badge_png() -> bytes:
    """The badge as a 600×600 RGBA PNG with a transparent background (made once per process)."""
    canvas = Image.new("RGBA", (SIZE * _SUPERSAMPLE, SIZE * _SUPERSAMPLE), (0, 0, 0, 0))
    draw = ImageDraw.Draw(canvas)
    for shape in scene():
        _draw(draw, shape)
    image = canvas.reduce(_SUPERSAMPLE)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=9)
    return buffer.getvalue()


# --- SVG ----------------------------------------------------------------------------------------


def _n(value: float) -> str:
    """A coordinate with two decimals and no trailing zeros ("12.5", "300")."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _svg_element(shape: Shape) -> str:
    if isinstance(shape, Disc):
        x, y = shape.centre
        return f'<circle cx="{_n(x)}" cy="{_n(y)}" r="{_n(shape.radius)}" fill="{shape.colour}"/>'
    if isinstance(shape, Ring):
        x, y = shape.centre
        return (
            f'<circle cx="{_n(x)}" cy="{_n(y)}" r="{_n(shape.radius)}" fill="none" '
            f'stroke="{shape.colour}" stroke-width="{_n(shape.width)}"/>'
        )
    parts = ["M" + " L".join(f"{_n(x)} {_n(y)}" for x, y in line) for line in shape.lines]
    elements = [
        f'<path d="{"".join(parts)}" fill="none" stroke="{shape.colour}" stroke-width="{_n(shape.width)}" '
        'stroke-linecap="round" stroke-linejoin="round"/>'
    ]
    radius = shape.width / 2 * 1.25
    elements.extend(
        f'<circle cx="{_n(x)}" cy="{_n(y)}" r="{_n(radius)}" fill="{shape.colour}"/>' for x, y in shape.dots
    )
    return "".join(elements)


@functools.cache
def badge_svg() -> str:
    """The badge as an SVG document (600×600 user units, transparent background), made once.

    Presentation attributes only, no ``style``: a Content-Security-Policy without inline styles
    (ours) still draws it. The ``<svg>`` start tag comes first, so a credential baked in goes
    right after it (OB 3.0 #svg-baking).
    """
    body = "\n".join(_svg_element(shape) for shape in scene())
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{SIZE}" height="{SIZE}" viewBox="0 0 {SIZE} {SIZE}" '
        f'role="img" aria-label="{TITLE}">\n<title>{TITLE}</title>\n{body}\n</svg>\n'
    )


@functools.cache
def badge_etag(kind: str) -> str:
    """A strong entity tag for ``badge.png`` or ``badge.svg``: the SHA-256 of its bytes, quoted."""
    data = badge_png() if kind == "png" else badge_svg().encode("utf-8")
    return '"' + hashlib.sha256(data).hexdigest() + '"'
