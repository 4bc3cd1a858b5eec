"""Bulk re-checks of 500 charter numbers over 1,000,000 holders in PostgreSQL, receipt included.

The registry is seeded as ``bench/register.py`` seeds it (``generate_series``: ``--count``
holders, each with one charter and its current version; 10 % unlisted, 1 % revoked, 1 %
suspended). An instance (did:web, with its verification service's receipt key) is made in a
temporary directory, and one API key with a rate no run reaches.

Each check is what an employer's HR system sends: ``POST /api/v1/register/check`` with 500
numbers (490 drawn from the holders, 10 that name nobody, in random order) and the key, through
the app's test client: the key looked up, its rate counted, the body parsed, the numbers
answered and the check audited in one transaction, and the batch's receipt signed
(``eddsa-rdfc-2022`` over the 500 answers). Printed: p50, p99 and the worst of ``--runs`` checks,
the same for one list of 500 numbers re-checked (an HR system's yearly run over the same staff),
and for the two parts that cost most, timed apart: the database transaction
(:func:`caiep.issuer.bulkcheck.check` and :func:`caiep.issuer.apikeys.record_check`) and the
receipt's signature.

    python bench/bulk_check.py [--count 1000000] [--runs 200] [--database NAME] [--keep]

The database (default ``caiep_bench_bulk_check``) on 127.0.0.1:5432 is created and dropped by the
script (``--keep`` leaves it, and a later run with ``--keep`` reuses it without seeding).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from register import seed

from caiep.app import AppConfig, create_app
from caiep.issuer import apikeys, bulkcheck
from caiep.issuer.registry import upgrade_database
from caiep.ratelimit import RateLimitSettings, Window
from caiep.receiptview import load_receipts
from caiep.registercheck import result_json
from caiep.settings import read_configuration
from caiep.wiring import init_instance

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
BATCH = 500
NOBODY = 10  # numbers in each batch that name no holder


def _report(label: str, times: list[float]) -> None:
    ordered = sorted(times)
    p99 = ordered[max(0, round(0.99 * len(ordered)) - 1)]
    print(
        f"{label:<40} n={len(ordered):>5}  p50 {statistics.median(ordered):7.2f} ms  "
        f"p99 {p99:7.2f} ms  worst {ordered[-1]:7.2f} ms"
    )


def _timed(run: Callable[[], object], times: list[float]) -> object:
    started = time.perf_counter()
    answer = run()
    times.append((time.perf_counter() - started) * 1000)
    return answer


def _database(name: str, keep: bool) -> bool:
    """Create the database (dropping an old one unless ``keep``); True when a kept one is reused."""
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and keep:
            return True
        if exists:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--database", default="caiep_bench_bulk_check")
    parser.add_argument("--keep", action="store_true", help="keep the database (and reuse a kept one)")
    args = parser.parse_args()
    url = f"postgresql://postgres@127.0.0.1:5432/{args.database}"
    sqlalchemy_url = url.replace("postgresql://", "postgresql+psycopg://")
    if not _database(args.database, args.keep):
        upgrade_database(sqlalchemy_url)
        started = time.perf_counter()
        seed(url, args.count)
        took = time.perf_counter() - started
        print(f"seeded {args.count:,} holders, charters and versions in {took:.1f} s")
    with psycopg.connect(url) as connection:
        count = int(connection.execute("SELECT max(id) FROM holders").fetchone()[0])  # type: ignore[index]
    with tempfile.TemporaryDirectory() as scratch:
        home = Path(scratch) / "home"
        init_instance(
            home,
            issuer_name="CAiEP Certification Board",
            issuer_url="https://bench.caiep.example",
            did_method="web",
            passphrase="a bench passphrase, thrown away with the instance",
            now=datetime.now(UTC) - timedelta(days=1),
        )
        unlimited = (Window(10**8, 60),)
        config = AppConfig(
            home=home,
            database_url=sqlalchemy_url,
            rate_limits=RateLimitSettings(verify=unlimited, read=unlimited, register=unlimited),
        )
        app = create_app(config, log_requests=False)
        registry = app.extensions["caiep.registry"]
        with registry.write() as connection:
            made = apikeys.create(
                connection, "Bench HR", apikeys.MAX_RATE, actor="bench", now=datetime.now(UTC)
            )
        receipts, _ = load_receipts(read_configuration(home))
        assert receipts is not None, "the instance has no receipt key"
        client = app.test_client()
        headers = {"Authorization": f"Bearer {made.key}"}
        rng = random.Random(22)

        def batch() -> list[str]:
            numbers = [f"CAIEP-{rng.randint(1, count):06d}" for _ in range(BATCH - NOBODY)]
            numbers += [f"CAIEP-{count + rng.randint(1, 10**6):06d}" for _ in range(NOBODY)]
            rng.shuffle(numbers)
            return numbers

        def post(numbers: list[str]) -> Callable[[], object]:
            body = json.dumps({"charterNumbers": numbers}).encode()

            def run() -> object:
                response = client.post(
                    "/api/v1/register/check", data=body, content_type="application/json", headers=headers
                )
                assert response.status_code == 200, response.get_data(as_text=True)
                return response.get_json()

            return run

        for _ in range(10):  # warm the pool, the caches and the JSON-LD loader
            post(batch())()
        whole: list[float] = []
        found = 0
        for _ in range(args.runs):
            answer = _timed(post(batch()), whole)
            results = answer["results"]  # type: ignore[index]
            assert len(results) == BATCH
            assert "receipt" in answer  # type: ignore[operator]
            found += sum(r["found"] for r in results)
        same = post(batch())  # one staff list, re-checked: the receipt's shape is known after the first
        same()
        repeated: list[float] = []
        for _ in range(args.runs):
            _timed(same, repeated)
        with registry.read() as connection:
            key = apikeys.authenticate(connection, made.key)
        assert key is not None
        database: list[float] = []
        signing: list[float] = []
        for _ in range(args.runs):
            numbers = batch()
            now = datetime.now(UTC)

            def transaction(numbers: list[str] = numbers, now: datetime = now) -> object:
                with registry.write() as connection:
                    answers = bulkcheck.check(connection, numbers, now=now)
                    apikeys.record_check(connection, key, len(numbers), now=now)
                return answers

            answers = _timed(transaction, database)
            results = [result_json(a) for a in answers]  # type: ignore[attr-defined]

            def signed(
                numbers: list[str] = numbers, results: list[dict[str, object]] = results, now: datetime = now
            ) -> object:
                return receipts.for_register(
                    kind="bulk", query={"charterNumbers": numbers}, answers=results, checked_at=now
                )

            _timed(signed, signing)
        registry.dispose()
    _report(f"bulk check of {BATCH}, receipt included", whole)
    _report("  the same 500 numbers re-checked", repeated)
    _report("  of which: the database transaction", database)
    _report("  of which: the receipt's signature", signing)
    print(f"numbers found: {found:,} of {args.runs * BATCH:,} ({args.runs * NOBODY:,} name nobody)")
    if not args.keep:
        with psycopg.connect(ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{args.database}" WITH (FORCE)')


if __name__ == "__main__":
    main()
