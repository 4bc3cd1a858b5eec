"""The holder's private page in process: what a page costs, and how alike the 404s are.

An instance (did:web, SQLite) holds ``--holders`` charter holders with ``--tokens`` links each
(the hashes of other messages' links). The Flask app answers ``GET /h/<token>`` ``--rounds``
times, interleaved, for: a live token (the page), a revoked one, an unknown one (well formed)
and a malformed one. The median and the 90th percentile of each are printed: the three 404s
do the same single look-up of a hash, so their times should be within noise of each other.

    python bench/holder_page.py [--holders 200] [--tokens 5] [--rounds 2000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from caiep.app import AppConfig, create_app
from caiep.issuer import holders, holdertokens
from caiep.issuer.charter import CharterAward
from caiep.issuer.jobs import issue_one
from caiep.ratelimit import RateLimitSettings, Window
from caiep.settings import database_url
from caiep.wiring import Instance, init_instance, upgrade_configured_database

PASSPHRASE = "a passphrase for the holder page benchmark"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--holders", type=int, default=200)
    parser.add_argument("--tokens", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2000)
    options = parser.parse_args()
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder) / "home"
        init_instance(
            home,
            issuer_name="CAiEP Certification Board",
            issuer_url="https://credentials.caiep.example",
            did_method="web",
            passphrase=PASSPHRASE,
            now=now - timedelta(days=30),
        )
        instance = Instance(home)
        upgrade_configured_database(instance.configuration)
        signer = instance.signer(PASSPHRASE)
        with instance.registry() as registry:
            first = None
            for n in range(options.holders):
                award = CharterAward(f"Holder {n}", f"holder{n}@example.org", date(2026, 1, 6), "")
                issued = issue_one(registry, signer, award, now=now - timedelta(days=3))
                with registry.write() as connection:
                    for _ in range(options.tokens):
                        holdertokens.mint(connection, issued.holder_id, now=now)
                first = first or issued
            assert first is not None
            with registry.write() as connection:
                revoked = holders.new_link(
                    connection, first.credential_id, rotate=False, actor="bench", now=now
                )
            with registry.write() as connection:
                live = holders.new_link(connection, first.credential_id, rotate=True, actor="bench", now=now)
        unknown = ("A" if revoked.token[0] != "A" else "B") + revoked.token[1:]
        limits = RateLimitSettings(verify=(Window(10**9, 60),), read=(Window(10**9, 60),))
        app = create_app(AppConfig(home=home, database_url=database_url(home), rate_limits=limits))
        client = app.test_client()
        cases = {
            "page (live token)": (live.token, 200),
            "404 revoked token": (revoked.token, 404),
            "404 unknown token": (unknown, 404),
            "404 malformed token": ("not-a-token", 404),
        }
        times: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(50):  # warm the caches and the pool
            for token, _status in cases.values():
                client.get(f"/h/{token}")
        for _ in range(options.rounds):
            for name, (token, status) in cases.items():
                started = time.perf_counter()
                response = client.get(f"/h/{token}")
                times[name].append(time.perf_counter() - started)
                assert response.status_code == status, (name, response.status_code)
        app.extensions["caiep.registry"].dispose()
    print(f"{options.holders} holders x {options.tokens} links, {options.rounds} rounds, SQLite, in process")
    for name, measured in times.items():
        ordered = sorted(measured)
        print(
            f"  {name:22} median {statistics.median(ordered) * 1e6:8.0f} µs"
            f"   p90 {ordered[int(len(ordered) * 0.9)] * 1e6:8.0f} µs"
        )


if __name__ == "__main__":
    main()
