"""A legitimate verifier's latency, and the workers' memory, while two clients post the costliest documents.

Run: ``.venv/bin/python bench/hostile_load.py [--seconds 15] [--models sync gthread:4]
[--hostile-clients 2] [--attack cpu|slow]``.

For each worker model it builds nothing new: one throwaway instance (``caiep init``, one
``caiep issue``) serves every run. Each run starts the production command,
``gunicorn -c python:caiep.gunicorn_config 'caiep.app:create_app()'`` with two workers, the
worker class given by ``-k`` (``gthread:N`` adds ``--threads N``; ``default`` keeps the config
module's choice), and the rate limits out of reach. Two hostile clients (source addresses
127.0.0.2 and 127.0.0.3) post back to back variants of the costliest credential inside every
limit for ``--seconds``, while a third (127.0.0.1) verifies the real credential through the
API and opens its page, one request after another. It prints, per model: the legitimate
requests' p50, p99 and worst latency, how many hostile posts were answered, the sum of the two
workers' resident memory before, at its peak and after, and the count of 5xx answers.

The load is the one ``tests/hostile/test_load.py`` asserts on (``tests/hostile/load_support.py``).
The clients run in this process and share the machine's cores with the server, as they would
on one small host.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "hostile"))

from load_support import (
    HostileBodies,
    SlowIssuerBodies,
    make_instance,
    production_server,
    run_load,
    slow_issuers,
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="how long each run lasts (default 15)")
    parser.add_argument(
        "--models",
        nargs="+",
        default=["sync", "gthread:4"],
        help="worker models to compare: sync, gthread:THREADS, or default (the config module's)",
    )
    parser.add_argument(
        "--hostile-clients",
        type=int,
        default=2,
        help="hostile clients, from 127.0.0.2 up (default 2, as the load test)",
    )
    parser.add_argument(
        "--attack",
        choices=("cpu", "slow"),
        default="cpu",
        help="cpu: the costliest documents inside the limits (default); slow: credentials whose "
        "issuer's host never answers in time, each holding its request for the whole time budget",
    )
    options = parser.parse_args()
    sources = [f"127.0.0.{2 + index}" for index in range(options.hostile_clients)]
    print(f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} cores")
    print(
        f"two workers; {len(sources)} hostile clients and one legitimate client "
        f"for {options.seconds:g} s per model"
    )
    print(f"attack: {options.attack}")
    failed = False
    with tempfile.TemporaryDirectory(prefix="caiep-hostile-load-") as folder, slow_issuers() as slow_base:
        instance = make_instance(Path(folder) / "home")
        hostile = (HostileBodies() if options.attack == "cpu" else SlowIssuerBodies()).body
        environment = {"CAIEP_ALLOW_HTTP_BASE": slow_base} if options.attack == "slow" else {}
        for model in options.models:
            kind, _, threads = model.partition(":")
            worker_class = None if kind == "default" else kind
            log = Path(folder) / f"gunicorn-{kind}.log"
            with production_server(
                instance,
                log,
                worker_class=worker_class,
                # gunicorn runs gthread instead of sync whenever threads > 1, as the config sets.
                threads=int(threads) if threads else 1 if kind == "sync" else None,
                environment=environment,
            ) as server:
                figures = run_load(server, instance, options.seconds, sources=sources, hostile_body=hostile)
            print(figures.line(model))
            if figures.failures:
                failed = True
                print(f"  {len(figures.failures)} failures, first: {figures.failures[0]}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
