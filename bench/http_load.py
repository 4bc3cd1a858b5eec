"""HTTP throughput and latency of the verification service under loopback load.

Run: ``.venv/bin/python bench/http_load.py [--concurrency 50] [--seconds 10] [--client wrk|python]``.
It builds a throwaway did:web instance (``caiep init`` in a temporary directory), issues
``--credentials`` different charter credentials, and for each workload starts
``gunicorn -w 2 'caiep.app:create_app()'`` on 127.0.0.1 (gunicorn's sync workers; with
``--production``, the README's ``-c python:caiep.gunicorn_config``: threaded workers; the
rate limit raised out of reach),
warms it up, then keeps ``--concurrency`` connections busy, cycling through the credentials:

* ``GET /c/<uuid>`` – the page a QR code opens: the stored credential verified, HTML rendered;
* ``POST /api/v1/verify`` – a charter credential's JSON as the body, the JSON result back.

Every answer is checked: a status other than 200, a socket error, or a body without the
expected verdict is an error, and any error makes the exit status 1.

The load comes from Debian's ``wrk`` (C, two threads) when it is installed, for ``--seconds``.
Without it, or with ``--client python``, an asyncio client sends at most ``--requests`` per
workload, or stops after ``--seconds``, whichever comes first. Both share the machine's cores
with the server: wrk needs a fifth of one, while the Python client takes almost half of one and
its scheduling delays leave the server idle part of the time, so its figures are a third lower.
The CPU both sides used is printed with the figures. Everything is removed at the end.

The service's integrity cache (signature and key checks reused for identical bytes) is on,
as deployed; ``CAIEP_INTEGRITY_CACHE_SECONDS=0`` in the environment measures every request
verifying from scratch.

Not ``bench/http.py``: a script's folder comes first on ``sys.path``, so a module named
``http`` here would stand in for the standard library's in every benchmark of this folder.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import platform
import re
import resource
import secrets
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from caiep.addresses import page_path
from caiep.issuer.charter import CharterAward
from caiep.issuer.jobs import issue_one
from caiep.issuer.registry import open_registry
from caiep.wiring import Instance

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ISSUER_URL = "https://credentials.caiep.example"
HOST = "127.0.0.1"


@dataclass(frozen=True)
class Workload:
    label: str
    method: str
    paths: list[str]
    bodies: list[str | None]
    headers: dict[str, str]
    expected: str  # every 200 answer's body contains this


@dataclass
class Figures:
    """What one workload measured."""

    ok: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    p50: float = math.nan  # seconds
    p99: float = math.nan
    slowest: float = math.nan
    server_cpu: float = 0.0  # CPU seconds
    client_cpu: float = 0.0

    def error(self, kind: str, count: int = 1) -> None:
        if count:
            self.errors[kind] = self.errors.get(kind, 0) + count


# --- the instance and the server ----------------------------------------------------------


def build_instance(home: Path, passphrase: str, count: int) -> list[tuple[str, str]]:
    """``caiep init`` (did:web), then ``count`` charter credentials: [(uuid, JSON document)]."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("CAIEP_")}
    environment["CAIEP_KEY_PASSPHRASE"] = passphrase
    init = ["init", "--issuer-name", "CAiEP Certification Board", "--issuer-url", ISSUER_URL]
    subprocess.run(
        [str(BIN / "caiep"), "--home", str(home), *init],
        env=environment,
        check=True,
        capture_output=True,
        timeout=120,
    )
    registry = open_registry(f"sqlite:///{home / 'registry.sqlite3'}")
    try:
        signer = Instance(home).signer(passphrase)
        now = datetime.now(UTC)
        issued = []
        for number in range(count):
            award = CharterAward(
                name=f"Jane Doe {number}",
                email=f"jane.{number}@example.org",
                exam_date=(now - timedelta(days=30)).date(),
                charter_number="",
                score="82",
                exam_version="2026.1",
                pathway="experience",
            )
            credential = issue_one(registry, signer, award, now=now)
            issued.append((credential.credential_id, credential.document))
        return issued
    finally:
        registry.dispose()


def start_server(
    home: Path, workers: int, log: Path, *, production: bool = False
) -> tuple[subprocess.Popen[bytes], int, list[str]]:
    """gunicorn on a free loopback port, answering before this returns.

    ``production``: the README's command, ``-c python:caiep.gunicorn_config`` (threaded
    workers), instead of gunicorn's default sync workers.
    """
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port = int(probe.getsockname()[1])
    options = ["-c", "python:caiep.gunicorn_config"] if production else []
    command = [
        str(BIN / "gunicorn"),
        *options,
        "-w",
        str(workers),
        "-b",
        f"{HOST}:{port}",
        "caiep.app:create_app()",
    ]
    environment = {key: value for key, value in os.environ.items() if not key.startswith("CAIEP_")}
    environment.update(
        CAIEP_HOME=str(home),
        CAIEP_DATABASE_URL=f"sqlite:///{home / 'registry.sqlite3'}",
        CAIEP_RATE_PER_MINUTE="100000000",
        CAIEP_RATE_PER_10_SECONDS="100000000",
        CAIEP_READ_RATE_PER_10_SECONDS="100000000",
        CAIEP_READ_RATE_PER_MINUTE="100000000",
        CAIEP_INTEGRITY_CACHE_SECONDS=os.environ.get("CAIEP_INTEGRITY_CACHE_SECONDS", "300"),
    )
    with open(log, "wb") as output:
        server = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=output, stderr=output)
    deadline = time.monotonic() + 30
    while True:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited with {server.returncode}:\n{log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(f"http://{HOST}:{port}/openapi.json", timeout=2):
                return server, port, command
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            if time.monotonic() > deadline:
                server.terminate()
                output = log.read_text(errors="replace")
                raise SystemExit(f"gunicorn did not answer in 30 s:\n{output}") from None
            time.sleep(0.1)


def server_cpu_seconds(master: int) -> float:
    """User + system CPU time of gunicorn's master and its live workers (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    try:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    except OSError:
        return math.nan
    total = 0
    for pid in [str(master), *children]:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (proc(5) fields 14 and 15)
    return total / ticks


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# --- wrk ------------------------------------------------------------------------------------

# Requests are built once per thread and cycled; each answer is checked for status 200 and the
# expected verdict; done() prints one parseable line. There is deliberately no request cap:
# stopping a wrk thread early (thread:stop()) abandons connections that are open but have sent
# nothing, and each of those holds a gunicorn sync worker until the client goes away.
WRK_SCRIPT = """
local threads = {}
function setup(thread) table.insert(threads, thread) end

unexpected, counter = 0, 0
function init(args)
  prepared = {}
  for i, r in ipairs(REQUESTS) do prepared[i] = wrk.format(METHOD, r[1], HEADERS, r[2]) end
end
function request()
  counter = counter + 1
  return prepared[(counter - 1) % #prepared + 1]
end
function response(status, headers, body)
  if status ~= 200 or not string.find(body, EXPECTED, 1, true) then unexpected = unexpected + 1 end
end
function done(summary, latency, requests)
  local bad = 0
  for _, thread in ipairs(threads) do bad = bad + thread:get("unexpected") end
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d max_us=%d unexpected=%d " ..
    "connect=%d read=%d write=%d timeout=%d\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    bad, e.connect, e.read, e.write, e.timeout))
end
"""


def lua_string(text: str) -> str:
    """``text`` as a Lua long-bracket literal (no escapes inside, whatever the JSON holds)."""
    level = 1
    while f"]{'=' * level}]" in text:
        level += 1
    return f"[{'=' * level}[{text}]{'=' * level}]"


def wrk_script(workload: Workload) -> str:
    rows = ",\n".join(
        f"  {{{lua_string(path)}, {lua_string(body) if body is not None else 'nil'}}}"
        for path, body in zip(workload.paths, workload.bodies, strict=True)
    )
    headers = ", ".join(f"[ {lua_string(k)} ] = {lua_string(v)}" for k, v in workload.headers.items())
    return (
        f"METHOD = {lua_string(workload.method)}\nHEADERS = {{{headers}}}\n"
        f"EXPECTED = {lua_string(workload.expected)}\nREQUESTS = {{\n{rows}\n}}\n" + WRK_SCRIPT
    )


def run_wrk(
    wrk: str,
    port: int,
    workload: Workload,
    *,
    concurrency: int,
    seconds: float,
    master: int,
    scratch: Path,
    show: Callable[[str], None] | None = None,
) -> Figures:
    """``wrk`` for ``seconds`` (whole seconds) with ``concurrency`` connections over two threads."""
    threads = min(2, concurrency)
    script = scratch / f"{workload.method.lower()}.lua"
    script.write_text(wrk_script(workload), encoding="utf-8")
    command = [
        wrk,
        f"-t{threads}",
        f"-c{concurrency}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "5s",
        "-s",
        str(script),
        f"http://{HOST}:{port}",
    ]
    if show is not None:
        show(shlex.join(command))
    figures = Figures()
    server_before, client_before = server_cpu_seconds(master), children_cpu_seconds()
    completed = subprocess.run(command, capture_output=True, text=True, check=False, timeout=seconds + 60)
    figures.server_cpu = server_cpu_seconds(master) - server_before
    figures.client_cpu = children_cpu_seconds() - client_before
    found = re.search(r"^RESULT (.*)$", completed.stdout, re.MULTILINE)
    if completed.returncode != 0 or found is None:
        raise SystemExit(f"wrk failed ({completed.returncode}):\n{completed.stdout}\n{completed.stderr}")
    result = {key: int(value) for key, value in (pair.split("=") for pair in found.group(1).split())}
    figures.seconds = result["duration_us"] / 1e6
    figures.ok = result["requests"] - result["unexpected"]
    figures.error("non-200 or unexpected body", result["unexpected"])
    for kind in ("connect", "read", "write", "timeout"):
        figures.error(f"socket {kind}", result[kind])
    figures.p50, figures.p99 = result["p50_us"] / 1e6, result["p99_us"] / 1e6
    figures.slowest = result["max_us"] / 1e6
    return figures


# --- the Python client ----------------------------------------------------------------------


def raw_request(workload: Workload, path: str, body: str | None) -> bytes:
    lines = [f"{workload.method} {path} HTTP/1.1", f"Host: {HOST}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in workload.headers.items()]
    data = body.encode() if body is not None else b""
    if body is not None:
        lines.append(f"Content-Length: {len(data)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + data


async def python_load(
    port: int, workload: Workload, *, concurrency: int, limit: int, seconds: float, master: int
) -> Figures:
    """``concurrency`` clients, each sending the next request once its last one is answered."""
    requests = [raw_request(workload, p, b) for p, b in zip(workload.paths, workload.bodies, strict=True)]
    expected = workload.expected.encode()
    figures, latencies = Figures(), []
    sent = 0
    deadline = time.perf_counter() + seconds

    async def client() -> None:
        nonlocal sent
        while sent < limit and time.perf_counter() < deadline:
            request = requests[sent % len(requests)]
            sent += 1
            started = time.perf_counter()
            try:
                reader, writer = await asyncio.open_connection(HOST, port)
                writer.write(request)
                response = await reader.read()  # to EOF: the request asked the server to close
                writer.close()
            except OSError as exc:
                figures.error(f"socket {type(exc).__name__}")
                continue
            if response[9:12] != b"200" or expected not in response:
                figures.error("non-200 or unexpected body")
            else:
                latencies.append(time.perf_counter() - started)

    usage = resource.getrusage(resource.RUSAGE_SELF)
    server_before = server_cpu_seconds(master)
    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    figures.seconds = time.perf_counter() - started
    figures.server_cpu = server_cpu_seconds(master) - server_before
    after = resource.getrusage(resource.RUSAGE_SELF)
    figures.client_cpu = (after.ru_utime - usage.ru_utime) + (after.ru_stime - usage.ru_stime)
    latencies.sort()
    figures.ok = len(latencies)
    if latencies:
        figures.p50 = latencies[int(len(latencies) * 0.50)]
        figures.p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        figures.slowest = latencies[-1]
    return figures


# --- the run --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Load:
    """How load is generated against one server."""

    client: str  # "wrk" or "python"
    wrk: str | None
    port: int
    master: int
    concurrency: int
    scratch: Path

    def measure(
        self, workload: Workload, limit: int, seconds: float, show: Callable[[str], None] | None = None
    ) -> Figures:
        """At most ``limit`` requests (Python client only) or ``seconds``, whichever comes first."""
        if self.client == "wrk":
            assert self.wrk is not None
            return run_wrk(
                self.wrk,
                self.port,
                workload,
                concurrency=self.concurrency,
                seconds=seconds,
                master=self.master,
                scratch=self.scratch,
                show=show,
            )
        return asyncio.run(
            python_load(
                self.port,
                workload,
                concurrency=self.concurrency,
                limit=limit,
                seconds=seconds,
                master=self.master,
            )
        )


def report(label: str, figures: Figures) -> None:
    rate = figures.ok / figures.seconds if figures.seconds else 0.0
    errors = ", ".join(f"{kind}: {count}" for kind, count in sorted(figures.errors.items())) or "0"
    print(
        f"{label:<20} {figures.ok:>7,} ok in {figures.seconds:4.1f} s {rate:>7,.0f}/s"
        f"   p50 {figures.p50 * 1000:5.1f} ms   p99 {figures.p99 * 1000:5.1f} ms"
        f"   max {figures.slowest * 1000:6.1f} ms   errors {errors}"
        f"   CPU: server {figures.server_cpu / figures.seconds:.2f} cores,"
        f" load generator {figures.client_cpu / figures.seconds:.2f}"
    )


def main() -> int:
    wrk = shutil.which("wrk")
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=50, help="connections at once (default 50)")
    parser.add_argument(
        "--requests", type=int, default=20_000, help="Python client: requests per workload at most"
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds per workload at most")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2, one per core)")
    parser.add_argument(
        "--production",
        action="store_true",
        help="serve with the production settings (-c python:caiep.gunicorn_config: threaded workers) "
        "instead of gunicorn's default sync workers",
    )
    parser.add_argument("--credentials", type=int, default=200, help="different credentials to cycle through")
    parser.add_argument(
        "--warmup", type=float, default=2.0, help="seconds of load before measuring (default 2)"
    )
    parser.add_argument(
        "--client",
        choices=("wrk", "python"),
        default="wrk" if wrk else "python",
        help="load generator (default: wrk when installed)",
    )
    args = parser.parse_args()
    if args.client == "wrk" and wrk is None:
        parser.error("wrk is not installed (apt-get install wrk), use --client python")

    print("command:", shlex.join([f".venv/bin/{Path(sys.executable).name}", *sys.argv]))
    print(
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, load from "
        f"{'wrk' if args.client == 'wrk' else 'a Python asyncio client'}: {args.concurrency} connections, "
        + (
            f"{args.seconds:g} s per workload"
            if args.client == "wrk"
            else f"at most {args.requests:,} requests or {args.seconds:g} s per workload"
        )
    )
    scratch = Path(tempfile.mkdtemp(prefix="caiep-bench-http-"))
    try:
        home = scratch / "caiep-home"
        started = time.perf_counter()
        issued = build_instance(home, secrets.token_urlsafe(24), args.credentials)
        print(f"instance: {len(issued)} credentials issued in {time.perf_counter() - started:.1f} s")
        workloads = [
            Workload(
                "GET /c/<uuid>",
                "GET",
                [page_path(uuid) for uuid, _ in issued],
                [None] * len(issued),
                {"Accept": "text/html"},
                '<h1 id="verdict">Valid</h1>',
            ),
            Workload(
                "POST /api/v1/verify",
                "POST",
                ["/api/v1/verify"] * len(issued),
                [document for _, document in issued],
                {"Content-Type": "application/json"},
                '"verified": true',
            ),
        ]
        failed = False
        for workload in workloads:
            # A fresh server per workload: nothing one leaves behind (memory, caches) colours the next.
            failed = not measure_workload(args, wrk, home, scratch, workload) or failed
        return 1 if failed else 0
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def measure_workload(
    args: argparse.Namespace, wrk: str | None, home: Path, scratch: Path, workload: Workload
) -> bool:
    """Serve, warm up, measure and print one workload; True when nothing went wrong."""
    log = scratch / f"gunicorn-{workload.method.lower()}.log"
    server, port, command = start_server(home, args.workers, log, production=args.production)
    try:
        print(f"server: CAIEP_HOME=… CAIEP_RATE_PER_MINUTE=100000000 {shlex.join(command)}")
        load = Load(args.client, wrk, port, server.pid, args.concurrency, scratch)
        warm = load.measure(workload, args.requests, args.warmup)
        figures = load.measure(workload, args.requests, args.seconds, show=lambda line: print("load:", line))
        report(workload.label, figures)
        if server.poll() is not None:
            print(f"gunicorn died during the run:\n{log.read_text(errors='replace')}")
            return False
        return not (figures.errors or warm.errors)
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


if __name__ == "__main__":
    sys.exit(main())
