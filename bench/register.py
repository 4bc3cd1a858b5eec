"""Public register lookups over 1,000,000 holders in PostgreSQL: time per lookup, from the database.

The registry is seeded in the database with ``generate_series`` (no Python loop over the rows):
``--count`` holders (default 1,000,000), each with one charter credential and its current
version. Names are drawn from 400 given names and 1,500 family names, so many people share one
(as in life: the register must give all namesakes, up to its limit); awards spread over ten
years; 10 % of the holders are unlisted, 1 % revoked and 1 % suspended. Names are ASCII here,
so the database can write their keys (``lower``); the script checks a sample against
:func:`caiep.issuer.register.name_key`.

Each lookup is what ``GET /api/v1/register`` does after parsing: one read transaction from the
app's pool and :func:`caiep.issuer.register.lookup`. Printed: p50, p99 and the worst of
``--queries`` lookups by name, by name and number, and by name and year; and, to show that an
unlisted holder answers as nobody does, the medians for names only unlisted holders bear and for
names nobody bears.

    python bench/register.py [--count 1000000] [--queries 2000] [--database NAME] [--keep]

The database (default ``caiep_bench_register``) on 127.0.0.1:5432 is created and dropped by the
script (``--keep`` leaves it, and a later run with ``--keep`` reuses it without seeding).
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime

import psycopg

from caiep.issuer.register import RegisterPolicy, lookup, name_key, parse_query
from caiep.issuer.registry import open_registry, upgrade_database

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
SYLLABLES = ["an", "bel", "cor", "da", "el", "fin", "gar", "hal", "is", "jor", "ka", "lin", "mar", "nor"]
SYLLABLES += ["ol", "per", "qui", "ros", "sal", "tor", "ul", "ver", "wen", "xa", "yor", "zel"]


def _names(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    made: set[str] = set()
    while len(made) < count:
        made.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize())
    return sorted(made)


GIVEN = _names(400, 1)
FAMILY = _names(1500, 2)


def seed(url: str, count: int) -> None:
    with psycopg.connect(url) as connection:
        connection.execute(
            """
            INSERT INTO holders (id, email, name, created_at, name_key, register_listing)
            SELECT n, 'h' || n || '@example.org', g.name, now(), lower(g.name),
                   CASE WHEN n %% 10 = 3 THEN 'unlisted' END
            FROM generate_series(1, %(count)s) AS n,
                 LATERAL (SELECT (%(given)s::text[])[1 + (n::bigint * 7919) %% %(g)s] || ' '
                              || (%(family)s::text[])[1 + (n::bigint * 104729) %% %(f)s] AS name) AS g
            """,
            {"count": count, "given": GIVEN, "family": FAMILY, "g": len(GIVEN), "f": len(FAMILY)},
        )
        connection.execute(
            """
            INSERT INTO charter_credentials
                (id, url, holder_id, result_id, state, state_since, awarded_at, issued_at)
            SELECT c.id, 'https://bench.caiep.example/credentials/' || c.id, n, NULL,
                   CASE n %% 100 WHEN 7 THEN 'revoked' WHEN 8 THEN 'suspended' ELSE 'current' END,
                   c.awarded, c.awarded, c.awarded
            FROM generate_series(1, %(count)s) AS n,
                 LATERAL (SELECT gen_random_uuid()::text AS id,
                                 timestamptz '2016-12-01 00:00+00'
                                 + (n::double precision / %(count)s) * interval '3650 days' AS awarded) AS c
            """,
            {"count": count},
        )
        connection.execute(
            """
            INSERT INTO credential_versions
                (credential_id, version, kind, version_state, valid_from, valid_until, issued_at)
            SELECT id, 1, 'award', 'current', awarded_at, awarded_at + interval '1826 days', awarded_at
            FROM charter_credentials
            """
        )
        connection.execute("ANALYZE holders")
        connection.execute("ANALYZE charter_credentials")
        connection.execute("ANALYZE credential_versions")
        sample = connection.execute(
            "SELECT name, name_key FROM holders TABLESAMPLE BERNOULLI (0.1)"
        ).fetchall()
    assert sample, "no holder seeded"
    assert all(key == name_key(name) for name, key in sample), "the database's keys differ from name_key"


def _timed(run: Callable[[], object], times: list[float]) -> None:
    started = time.perf_counter()
    run()
    times.append((time.perf_counter() - started) * 1000)


def _report(label: str, times: list[float]) -> None:
    ordered = sorted(times)
    p99 = ordered[max(0, round(0.99 * len(ordered)) - 1)]
    print(
        f"{label:<34} n={len(ordered):>5}  p50 {statistics.median(ordered):6.2f} ms  "
        f"p99 {p99:6.2f} ms  worst {ordered[-1]:6.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=2_000)
    parser.add_argument("--database", default="caiep_bench_register")
    parser.add_argument("--keep", action="store_true", help="keep the database (and reuse a kept one)")
    args = parser.parse_args()
    url = f"postgresql://postgres@127.0.0.1:5432/{args.database}"
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [args.database]).fetchone()
        if exists and not args.keep:
            admin.execute(f'DROP DATABASE "{args.database}"')
        if not exists or not args.keep:
            admin.execute(f'CREATE DATABASE "{args.database}"')
            exists = None
    sqlalchemy_url = url.replace("postgresql://", "postgresql+psycopg://")
    if not exists:
        upgrade_database(sqlalchemy_url)
        started = time.perf_counter()
        seed(url, args.count)
        print(
            f"seeded {args.count:,} holders, charters and versions in {time.perf_counter() - started:.1f} s"
        )
    rng = random.Random(7)
    policy = RegisterPolicy()
    now = datetime.now(UTC)
    registry = open_registry(sqlalchemy_url)
    try:
        with psycopg.connect(url) as connection:
            people = connection.execute(
                "SELECT h.id, h.name, extract(year FROM c.awarded_at)::int, h.register_listing "
                "FROM holders h JOIN charter_credentials c ON c.holder_id = h.id "
                "WHERE h.id = ANY(%s)",
                [[rng.randint(1, args.count) for _ in range(args.queries * 2)]],
            ).fetchall()
            hidden = connection.execute(
                "SELECT name FROM holders GROUP BY name "
                "HAVING bool_and(register_listing IS NOT NULL AND register_listing = 'unlisted') LIMIT %s",
                [args.queries],
            ).fetchall()

        def find(name: str, number: str | None = None, year: str | None = None) -> Callable[[], object]:
            query = parse_query(name, number, year)

            def run() -> object:
                with registry.read() as connection:
                    return lookup(connection, query, policy, now=now)

            return run

        for _ in range(50):  # warm the pool and the caches
            find(people[0][1])()
        by_name: list[float] = []
        by_number: list[float] = []
        by_year: list[float] = []
        found = 0
        for holder_id, name, year, _listing in people[: args.queries]:
            _timed(find(name), by_name)
            _timed(find(name, f"CAIEP-{holder_id:06d}"), by_number)
            _timed(find(name, None, str(year)), by_year)
        for holder_id, name, _year, _listing in people[: args.queries]:
            answer = find(name, f"CAIEP-{holder_id:06d}")()
            found += bool(answer.matches)  # type: ignore[attr-defined]
        unlisted: list[float] = []
        nobody: list[float] = []
        for (name,) in hidden:
            _timed(find(name), unlisted)
            _timed(find(f"{name[:-1]}q Nobody"), nobody)
        _report("by name", by_name)
        _report("by name and number", by_number)
        _report("by name and year", by_year)
        _report("name only unlisted holders bear", unlisted)
        _report("name nobody bears", nobody)
        print(f"lookups by name and number that found the holder: {found} of {args.queries}")
    finally:
        registry.dispose()
        if not args.keep:
            with psycopg.connect(ADMIN, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE "{args.database}" WITH (FORCE)')


if __name__ == "__main__":
    main()
