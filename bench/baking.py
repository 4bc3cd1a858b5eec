"""Baking the charter badge: one stored credential into the PNG and the SVG, from a warm process.

Run: ``.venv/bin/python bench/baking.py [N]`` (default 2000 per workload). Prints, for the PNG
and the SVG with the JSON form and the VC-JWT form, the median and p95 time of one baked image
and its size, then the cold cost of drawing the badge once (what the first request of a worker
pays; later ones reuse it). The credentials are the golden signed copies in tests/vectors/golden.
"""

from __future__ import annotations

import gc
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from caiep.wallet_export import badge
from caiep.wallet_export.baked import baked_png, baked_svg

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "vectors" / "golden"


def _timed(label: str, count: int, operation: Callable[[], bytes | str]) -> None:
    operation()  # warm: the badge is drawn once per process, before the clock starts
    gc.collect()
    samples = []
    size = 0
    for _ in range(count):
        t0 = time.perf_counter()
        result = operation()
        samples.append(time.perf_counter() - t0)
        size = len(result.encode("utf-8") if isinstance(result, str) else result)
    samples.sort()
    p95 = samples[min(len(samples) - 1, int(len(samples) * 0.95))]
    print(
        f"{label:<28} median {statistics.median(samples) * 1e3:6.3f} ms   p95 {p95 * 1e3:6.3f} ms"
        f"   {size:>7,} bytes"
    )


def main(count: int) -> None:
    forms = {
        "JSON": (GOLDEN / "charter-credential.json").read_text(encoding="utf-8"),
        "VC-JWT": (GOLDEN / "charter-credential.jwt").read_text(encoding="utf-8").strip(),
    }
    print(f"baked badges, {count} each, warm process")
    for name, document in forms.items():
        _timed(f"PNG, {name} ({len(document.encode()):,} B)", count, lambda d=document: baked_png(d))
        _timed(f"SVG, {name} ({len(document.encode()):,} B)", count, lambda d=document: baked_svg(d))
    for name, draw in (("PNG", badge.badge_png), ("SVG", badge.badge_svg)):
        draw.cache_clear()
        t0 = time.perf_counter()
        draw()
        print(f"drawing the badge {name} once (cold)   {(time.perf_counter() - t0) * 1e3:8.1f} ms")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
