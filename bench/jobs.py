"""Import-and-sign benchmark: the real ``caiep`` commands on SQLite and PostgreSQL.

Run: ``make bench-jobs`` (or ``.venv/bin/python bench/jobs.py [PASSES ...]``; set
``BENCH_DATABASES=sqlite`` or ``postgresql`` to run one). For each
database and worker count it creates a fresh instance (and database), imports synthetic
results with about PASSES passes, runs ``caiep sign``, and prints import rows/s, signed
credentials/s (database writes included) and the peak memory of the signing processes. Two
sizes show whether memory stays flat as the number of results grows. PostgreSQL runs are
skipped, with the reason printed, when no server answers at 127.0.0.1:5432.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_results import write_results

CAIEP = str(Path(sys.executable).with_name("caiep"))
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def _pg_available() -> str | None:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN, connect_timeout=3):
            return None
    except Exception as exc:
        return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0]}"


def _fresh_pg_database(name: str) -> str:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def _drop_pg_database(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _run(args: list[str], env: dict[str, str]) -> float:
    """Seconds one ``caiep`` command takes."""
    start = time.perf_counter()
    done = subprocess.run([CAIEP, *args], env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"caiep {' '.join(args)} failed:\n{done.stderr}")
    return time.perf_counter() - start


def _tree_rss_kib(pid: int) -> int:
    """Resident memory of a process and its children (the signing workers), from /proc."""
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))
            for task in Path(f"/proc/{current}/task").iterdir():
                stack.extend(int(child) for child in (task / "children").read_text().split())
        except (OSError, StopIteration, ValueError):
            continue
    return total


def _sign_sampled(args: list[str], env: dict[str, str]) -> int:
    """Run ``caiep sign`` and return the largest RSS of its process tree sampled once the key
    is loaded (scrypt's transient 128 MiB is the key derivation, not the job)."""
    process = subprocess.Popen([CAIEP, *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    started, peak = time.monotonic(), 0
    while process.poll() is None:
        if time.monotonic() - started > 1.5:
            peak = max(peak, _tree_rss_kib(process.pid))
        time.sleep(0.1)
    if process.returncode != 0:
        raise SystemExit(f"caiep {' '.join(args)} failed")
    return peak


def bench(database: str, workers: int, passes: int, results_csv: Path, rows: int) -> None:
    with tempfile.TemporaryDirectory() as directory:
        home = Path(directory) / "home"
        env = {**os.environ, "CAIEP_KEY_PASSPHRASE": secrets.token_urlsafe(18)}
        pg_name = f"caiep_bench_{os.getpid()}"
        if database == "postgresql":
            env["CAIEP_DATABASE_URL"] = _fresh_pg_database(pg_name)
        site = "https://bench.caiep.example"
        _run(["--home", str(home), "init", "--issuer-name", "Bench", "--issuer-url", site], env)
        seconds = _run(["--home", str(home), "results", "import", str(results_csv)], env)
        peak_kib = _sign_sampled(["--home", str(home), "sign", "--workers", str(workers)], env)
        [report_file] = (home / "jobs").glob("*.json")
        report = json.loads(report_file.read_text())
        peak = f"{peak_kib / 1024:,.0f} MiB" if peak_kib else "(job shorter than 1.5 s)"
        if database == "postgresql":
            _drop_pg_database(pg_name)
        print(
            f"{database:<10} workers={workers}  results={rows:>6,}  import {rows / seconds:>7,.0f} rows/s   "
            f"signed {report['issued']:>6,} at {report['credentialsPerSecond']:>7,.0f}/s   signing RSS {peak}"
        )


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [10_000, 40_000]
    skip_pg = _pg_available()
    if skip_pg:
        print(f"PostgreSQL skipped: no server at 127.0.0.1:5432 ({skip_pg})")
    print(f"{os.cpu_count()} CPUs; every figure includes the database writes\n")
    with tempfile.TemporaryDirectory() as scratch:
        for passes in sizes:
            rows = int(passes * 1.25)  # about one result in five is a fail
            results = Path(scratch) / f"results-{rows}.csv"
            write_results(results, rows, seed=passes)
            for database in os.environ.get("BENCH_DATABASES", "sqlite postgresql").split():
                if database == "postgresql" and skip_pg:
                    continue
                for workers in (1, 2):
                    bench(database, workers, passes, results, rows)


if __name__ == "__main__":
    main()
