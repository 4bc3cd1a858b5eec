"""Registry benchmarks: the real ``caiep`` commands on SQLite and PostgreSQL.

Run: ``make bench-jobs`` (or ``.venv/bin/python bench/jobs.py [PASSES ...]``; set
``BENCH_DATABASES=sqlite`` or ``postgresql`` to run one). For each
database and worker count it creates a fresh instance (and database), imports synthetic
results with about PASSES passes, runs ``caiep sign``, and prints import rows/s, signed
credentials/s (database writes included) and the peak memory of the signing processes. Two
sizes show whether memory stays flat as the number of results grows. PostgreSQL runs are
skipped, with the reason printed, when no server answers at 127.0.0.1:5432.

Two narrower runs, each repeated (``--repeat``, default 3) because a shared machine is noisy:

- ``--import-rows N``: ``caiep results import`` of N synthetic rows into a fresh registry
  (rows/s, the file's check included);
- ``--list N``: a registry seeded with N credentials (documents of ~2.9 KB, written directly:
  see ``seed_registry``), then ``caiep credentials list --json`` and the plain listing, each
  with its time and the peak resident memory of the process.
"""

from __future__ import annotations

import argparse
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
from seed_registry import seed_credentials

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


def _instance(database: str, env: dict[str, str], home: Path, pg_name: str) -> str:
    """``caiep init`` a did:key instance on a fresh database; the registry's URL."""
    url = f"sqlite:///{home / 'registry.sqlite3'}"
    if database == "postgresql":
        url = env["CAIEP_DATABASE_URL"] = _fresh_pg_database(pg_name)
    site = "https://bench.caiep.example"
    _run(["--home", str(home), "init", "--issuer-name", "Bench", "--issuer-url", site, "--did", "key"], env)
    return url


def _timed_peak(args: list[str], env: dict[str, str]) -> tuple[float, int]:
    """Seconds and peak resident KiB of one ``caiep`` command (its output thrown away)."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen([CAIEP, *args], env=env, stdout=subprocess.DEVNULL, stderr=errors)
        _, status, usage = os.wait4(process.pid, 0)  # the rusage of this process alone
        seconds = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            errors.seek(0)
            raise SystemExit(f"caiep {' '.join(args)} failed:\n{errors.read().decode()}")
    return seconds, usage.ru_maxrss


def _span(values: list[float], unit: str, digits: int = 1) -> str:
    low, high = min(values), max(values)
    return f"{low:,.{digits}f}{unit}" if low == high else f"{low:,.{digits}f}-{high:,.{digits}f}{unit}"


def bench_import(database: str, rows: int, results_csv: Path, repeat: int) -> None:
    """``caiep results import`` into a fresh registry, ``repeat`` times: rows/s."""
    rates = []
    for attempt in range(repeat):
        with tempfile.TemporaryDirectory() as directory:
            env = {**os.environ, "CAIEP_KEY_PASSPHRASE": secrets.token_urlsafe(18)}
            pg_name = f"caiep_bench_{os.getpid()}_{attempt}"
            home = Path(directory) / "home"
            _instance(database, env, home, pg_name)
            seconds = _run(["--home", str(home), "results", "import", str(results_csv)], env)
            rates.append(rows / seconds)
            if database == "postgresql":
                _drop_pg_database(pg_name)
    print(f"{database:<10} results import  {rows:>7,} rows   {_span(rates, ' rows/s', 0)}   ({repeat} runs)")


def bench_listing(database: str, count: int, repeat: int) -> None:
    """Seed ``count`` credentials, then time both listings ``repeat`` times with their peak memory."""
    from caiep.issuer.registry import open_registry

    with tempfile.TemporaryDirectory() as directory:
        home = Path(directory) / "home"
        env = {**os.environ, "CAIEP_KEY_PASSPHRASE": secrets.token_urlsafe(18)}
        pg_name = f"caiep_bench_{os.getpid()}_list"
        url = _instance(database, env, home, pg_name)
        started = time.perf_counter()
        registry = open_registry(url)
        try:
            seed_credentials(registry, count)
        finally:
            registry.dispose()
        print(f"{database:<10} seeded {count:,} credentials in {time.perf_counter() - started:,.0f} s")
        for flags in (["--json"], []):
            command = ["--home", str(home), "credentials", "list", *flags]
            runs = [_timed_peak(command, env) for _ in range(repeat)]
            label = f"credentials list {' '.join(flags)}".strip()
            seconds = _span([s for s, _ in runs], " s")
            peak = _span([kib / 1024 for _, kib in runs], " MiB", 0)
            figures = f"{count:>7,} credentials   {seconds}   peak RSS {peak}   ({repeat} runs)"
            print(f"{database:<10} {label:<23} {figures}")
        if database == "postgresql":
            _drop_pg_database(pg_name)


def _databases(skip_pg: str | None) -> list[str]:
    wanted = os.environ.get("BENCH_DATABASES", "sqlite postgresql").split()
    return [d for d in wanted if d != "postgresql" or not skip_pg]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("sizes", nargs="*", type=int, help="passes to import and sign (default 10000 40000)")
    parser.add_argument("--import-rows", type=int, metavar="N", help="only time results import of N rows")
    parser.add_argument("--list", type=int, metavar="N", help="only time listings of N seeded credentials")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each --import-rows/--list figure")
    args = parser.parse_args()
    skip_pg = _pg_available()
    if skip_pg:
        print(f"PostgreSQL skipped: no server at 127.0.0.1:5432 ({skip_pg})")
    print(f"{os.cpu_count()} CPUs\n")
    if args.import_rows or args.list:
        with tempfile.TemporaryDirectory() as scratch:
            if args.import_rows:
                results = Path(scratch) / "results.csv"
                write_results(results, args.import_rows, seed=1)
                for database in _databases(skip_pg):
                    bench_import(database, args.import_rows, results, args.repeat)
            if args.list:
                for database in _databases(skip_pg):
                    bench_listing(database, args.list, args.repeat)
        return
    print("every figure includes the database writes\n")
    with tempfile.TemporaryDirectory() as scratch:
        for passes in args.sizes or [10_000, 40_000]:
            rows = int(passes * 1.25)  # about one result in five is a fail
            results = Path(scratch) / f"results-{rows}.csv"
            write_results(results, rows, seed=passes)
            for database in _databases(skip_pg):
                for workers in (1, 2):
                    bench(database, workers, passes, results, rows)


if __name__ == "__main__":
    main()
