"""Write N synthetic exam results as CSV, the same bytes for the same seed: input for benchmarks.

Run: ``.venv/bin/python bench/make_results.py OUT.csv N [--seed S] [--latest YYYY-MM-DD]``.
Every row is valid for ``issuer.results`` read with any ``today`` on or after ``--latest``
(default 2026-11-01): a distinct candidate and exam, an exam 0-365 days after registration
and never after ``--latest``, all four pathways, scores 60-100 with a pass from 70 (about one
fail in four), the score left empty on ~2% of rows. People are made up (``Given0042
Sample0042``, ``candidate.0.42@example.org``).
"""

from __future__ import annotations

import argparse
import csv
import random
import time
from datetime import date, timedelta
from pathlib import Path

COLUMNS = (
    "candidate_id", "given_name", "family_name", "email", "registered_on",
    "exam_date", "result", "score", "exam_version", "pathway",
)  # fmt: skip
PATHWAYS = ("experience", "aie", "academic", "exceptional")
VERSIONS = ("2025.2", "2026.1", "2026.2")
DOMAINS = ("example.org", "example.com", "example.net")
LATEST = date(2026, 11, 1)


def write_results(path: Path, count: int, *, seed: int = 0, latest: date = LATEST) -> None:
    """Write a header and ``count`` valid rows to ``path`` (CRLF line ends, as csv writes them)."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for index in range(count):
            exam_date = latest - timedelta(days=rng.randrange(700))
            registered_on = exam_date - timedelta(days=rng.randrange(366))
            score = rng.randrange(60, 101)
            writer.writerow(
                (
                    f"S{seed}-{index:09d}",
                    f"Given{index:04d}",
                    f"Sample{rng.randrange(10_000):04d}",
                    f"candidate.{seed}.{index}@{rng.choice(DOMAINS)}",
                    registered_on.isoformat(),
                    exam_date.isoformat(),
                    "pass" if score >= 70 else "fail",
                    "" if rng.random() < 0.02 else str(score),
                    rng.choice(VERSIONS),
                    rng.choice(PATHWAYS),
                )
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("count", type=int)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--latest", type=date.fromisoformat, default=LATEST)
    args = parser.parse_args()
    start = time.perf_counter()
    write_results(args.out, args.count, seed=args.seed, latest=args.latest)
    print(f"{args.count:,} results written to {args.out} in {time.perf_counter() - start:.2f} s")


if __name__ == "__main__":
    main()
