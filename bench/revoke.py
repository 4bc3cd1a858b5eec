"""Revoking one credential among 1,000,000 issued: the work of republishing its status list.

A PostgreSQL registry is seeded with ``--count`` charter credentials (default 1,000,000), each
with its version and one copy carrying a status index, spread over lists of 131,072 entries
filled to three-quarters (as signing jobs leave them), with ``generate_series`` in the database:
no Python loop over the rows. Each list is signed once. Then ``--rounds`` credentials are
revoked one by one, each as ``caiep revoke`` does it (find the charter, lock it, the copies to
reach, set the bit and re-sign the list under its row lock, the state and the audit entries,
commit), and the time of each is printed with the median and the worst.

    python bench/revoke.py [--count 1000000] [--rounds 20] [--database NAME]

The database (default ``caiep_bench_commands_revoke``) on 127.0.0.1:5432 is created and
dropped by the script.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, datetime

import psycopg

from caiep.issuer import changes, statuslists
from caiep.issuer.charter import IssuerProfile
from caiep.issuer.jobs import Signer
from caiep.issuer.registry import open_registry, upgrade_database
from caiep.keys.did import did_key_for, verification_method_id
from caiep.keys.ed25519 import SigningKey

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
BASE_URL = "https://bench.caiep.example"
PER_LIST = statuslists.FULL_AT  # indexes a list gives out before the next one starts
STEP = 7919  # an odd step: i * STEP mod 2**17 visits every index once (a scattered, fixed pattern)


def _index(i: int) -> int:
    return ((i % PER_LIST) * STEP) % statuslists.LIST_SIZE


def seed(url: str, count: int) -> None:
    """The rows, written by PostgreSQL itself: holders, charters, versions, copies, lists."""
    lists = (count + PER_LIST - 1) // PER_LIST
    issued = "'2026-06-01T09:00:00+00'::timestamptz"
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as db:
        db.execute(
            "INSERT INTO holders (id, email, name, created_at) SELECT i, 'h' || i || '@example.org', "
            f"'Holder ' || i, {issued} FROM generate_series(1, %s) AS i",
            (count,),
        )
        db.execute(
            "INSERT INTO charter_credentials (id, url, holder_id, state, state_since, awarded_at, issued_at) "
            f"SELECT md5(i::text)::uuid::text, '{BASE_URL}/credentials/' || md5(i::text)::uuid::text, i, "
            f"'current', {issued}, {issued}, {issued} FROM generate_series(1, %s) AS i",
            (count,),
        )
        db.execute(
            "INSERT INTO credential_versions (credential_id, version, kind, version_state, valid_from, "
            f"valid_until, issued_at) SELECT md5(i::text)::uuid::text, 1, 'award', 'current', {issued}, "
            f"{issued} + interval '5 years', {issued} FROM generate_series(1, %s) AS i",
            (count,),
        )
        lists_sql = ", ".join(
            f"({n}, {statuslists.LIST_SIZE}, %s, %s, %s, {issued})" for n in range(1, lists + 1)
        )
        parameters: list[object] = []
        for n in range(lists):
            allocated = bytearray(statuslists.LIST_SIZE // 8)
            taken = range(n * PER_LIST, min((n + 1) * PER_LIST, count))
            for i in taken:
                index = _index(i)
                allocated[index >> 3] |= 0x80 >> (index & 7)
            parameters += [bytes(statuslists.LIST_SIZE // 8), bytes(allocated), len(taken)]
        db.execute(
            f"INSERT INTO status_lists (number, size, bits, allocated, used, created_at) VALUES {lists_sql}",
            parameters,
        )
        db.execute(
            "INSERT INTO credential_copies (credential_id, version, format, document, sha256, key_id, "
            "status_list, status_index, served, issued_at) SELECT md5(i::text)::uuid::text, 1, 'ldp', "
            "'{}', md5(i::text) || md5(i::text), 'bench', (i - 1) / %s + 1, "
            "(((i - 1) %% %s) * %s) %% %s, true, "
            f"{issued} FROM generate_series(1, %s) AS i",
            (PER_LIST, PER_LIST, STEP, statuslists.LIST_SIZE, count),
        )
        db.execute("ANALYZE")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--database", default="caiep_bench_commands_revoke")
    options = parser.parse_args()
    name = options.database
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    try:
        upgrade_database(url)
        with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as db:
            db.execute("DELETE FROM status_lists")  # the migration's empty first list; seeded anew
        started = time.perf_counter()
        seed(url, options.count)
        seeded = time.perf_counter() - started
        key = SigningKey.generate()
        issuer = did_key_for(key.public_key)
        signer = Signer(
            profile=IssuerProfile(id=issuer, name="Bench Board", url=BASE_URL, base_url=BASE_URL),
            key=key,
            verification_method=verification_method_id(issuer, key.public_key),
            key_id=key.public_key.multibase,
        )
        with open_registry(url) as registry:
            with registry.write() as connection:
                numbers = [s.number for s in statuslists.summaries(connection, BASE_URL)]
                now = datetime.now(UTC)
                for number in numbers:
                    statuslists.resign(connection, number, signer.list_signer(), now=now)
            copies = registry.engine.connect()
            with copies:
                from sqlalchemy import text

                total = copies.execute(text("SELECT count(*) FROM credential_copies")).scalar_one()
            print(f"seeded {options.count:,} charters, {total:,} copies with an index, "
                  f"{len(numbers)} lists, in {seeded:.1f} s")  # fmt: skip
            times = []
            step = max(1, options.count // options.rounds)
            for round_ in range(options.rounds):
                wanted = f"CAIEP-{1 + round_ * step:06d}"
                started = time.perf_counter()
                with registry.write() as connection:
                    changes.revoke(
                        connection, [changes.Wanted(wanted, wanted)], signer, reason="bench", note=None,
                        actor="bench", now=datetime.now(UTC),
                    )  # fmt: skip
                times.append((time.perf_counter() - started) * 1000)
        print(f"revoking one credential among {options.count:,} (list re-signed, committed), "
              f"{options.rounds} rounds: median {statistics.median(times):.1f} ms, "
              f"worst {max(times):.1f} ms")  # fmt: skip
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
