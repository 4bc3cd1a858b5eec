"""Printable certificates from a warm process: the time of one, and the memory of a cohort.

First each script's certificate (Latin, CJK, Arabic) is rendered once to warm the process (the
fonts found, WeasyPrint and Pango loaded), then ``--rounds`` times, alternating, and the median
and 95th percentile of each are printed, with the median CPU time (which a busy machine
inflates less than the wall-clock time). Then ``--cohort`` certificates (default 2,000), each for
a different holder of the three scripts, are rendered one after another in the same process, with
the resident memory (RSS, from /proc/self/status) printed at the start, the middle and the end.

    python bench/certificate.py [--rounds 60] [--cohort 2000] [--paper a4|letter]
"""

from __future__ import annotations

import argparse
import datetime
import gc
import io
import statistics
import time
from pathlib import Path

from PIL import Image, ImageDraw

from caiep.wallet_export.certificate import CertificateData, render_certificate

NAMES = {
    "Latin": "Zoë Ångström-Łukasiewicz",
    "CJK": "张伟",
    "Arabic": "محمد العلي",
}


def badge_png() -> bytes:
    """A 600×600 transparent emblem, the size of the charter badge."""
    image = Image.new("RGBA", (600, 600), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((20, 20, 580, 580), fill=(31, 58, 95, 255))
    draw.regular_polygon((300, 300, 150), 6, fill=(168, 134, 58, 255))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def data(name: str, number: int, badge: bytes) -> CertificateData:
    uuid = f"6b1f8c3e-2d4a-4e5f-9a7b-{number:012d}"
    return CertificateData(
        holder_name=name,
        awarded=datetime.date(2025, 3, 12),
        current_until=datetime.date(2026, 9, 30),
        charter_number=f"CAIEP-{number:06d}",
        credential_id=f"https://credentials.caiep.example/credentials/{uuid}",
        issuer_name="Institute of AI Engineering Professionals",
        page_url=f"https://credentials.caiep.example/c/{uuid}",
        badge_png=badge,
    )


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--cohort", type=int, default=2000)
    parser.add_argument("--paper", default="a4")
    args = parser.parse_args()
    badge = badge_png()

    times: dict[str, list[float]] = {script: [] for script in NAMES}
    cpu: dict[str, list[float]] = {script: [] for script in NAMES}
    sizes: dict[str, int] = {}
    for name in NAMES.values():  # warm: fonts listed, WeasyPrint and Pango loaded
        render_certificate(data(name, 0, badge), paper=args.paper)
    for round_ in range(args.rounds):
        for script, name in NAMES.items():
            started, started_cpu = time.perf_counter(), time.process_time()
            sizes[script] = len(render_certificate(data(name, round_, badge), paper=args.paper).pdf)
            times[script].append(time.perf_counter() - started)
            cpu[script].append(time.process_time() - started_cpu)
    print(f"one certificate ({args.paper}, warm process, {args.rounds} each, alternated):")
    for script, samples in times.items():
        samples.sort()
        p95 = samples[min(len(samples) - 1, round(0.95 * len(samples)) - 1)]
        print(
            f"  {script:<7} median {statistics.median(samples) * 1000:6.1f} ms   "
            f"p95 {p95 * 1000:6.1f} ms   CPU median {statistics.median(cpu[script]) * 1000:6.1f} ms   "
            f"{sizes[script] / 1024:4.0f} KiB"
        )

    gc.collect()
    scripts = list(NAMES.values())
    marks = {0: "start", args.cohort // 2: "middle"}
    print(f"a cohort of {args.cohort:,} certificates in one process:")
    started = time.perf_counter()
    size = 0
    for number in range(args.cohort):
        if number in marks:
            print(f"  RSS at the {marks[number]:<6} {rss_mib():7.1f} MiB  (after {number:,})")
        name = f"{scripts[number % 3]} {number}"
        size += len(render_certificate(data(name, number, badge), paper=args.paper).pdf)
    elapsed = time.perf_counter() - started
    print(f"  RSS at the end    {rss_mib():7.1f} MiB  (after {args.cohort:,})")
    print(
        f"  {elapsed:.1f} s: {args.cohort / elapsed:.1f} certificates/s, "
        f"{size / args.cohort / 1024:.0f} KiB each on average"
    )


if __name__ == "__main__":
    main()
