"""The hostile load: the production server, two clients posting the costliest documents, one legitimate.

Shared by ``tests/hostile/test_load.py`` (which asserts on the figures) and
``bench/hostile_load.py`` (which prints them for each worker model). The server is the
README's production command, ``gunicorn -c python:caiep.gunicorn_config 'caiep.app:create_app()'``,
on an instance made with ``caiep init`` holding one credential made with ``caiep issue``.

Two hostile clients, bound to the source addresses 127.0.0.2 and 127.0.0.3 (so a per-address
rate limit counts them apart from the legitimate one), post back to back variants of
:func:`hostile_documents.worst_inside_limits`: each variant has array lengths of its own, so
neither the service's integrity cache nor its compiled-shape cache spares it any work. A third
client, from 127.0.0.1, verifies the real credential through the API and opens its page, one
request after another, and records how long each took. The gunicorn workers' resident memory
is sampled from ``/proc`` while this runs.
"""

from __future__ import annotations

import contextlib
import copy
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from hostile_documents import SIGNED_AT, signing_key, unsigned_credential, worst_inside_limits

from caiep.keys.did import verification_method_id
from caiep.proofs.dataintegrity import sign

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
HOSTILE_SOURCES = ("127.0.0.2", "127.0.0.3")
LEGITIMATE_SOURCE = "127.0.0.1"
PASSPHRASE = "a throwaway load-test passphrase"
ISSUER_URL = "https://credentials.caiep.example"
#: Every rate limit of the service, out of reach: the load is about time and memory, not about
#: being refused. Names the service does not know are ignored.
RATE_LIMITS_OUT_OF_REACH = {
    "CAIEP_RATE_PER_MINUTE": "100000000",
    "CAIEP_RATE_PER_10_SECONDS": "100000000",
    "CAIEP_READ_RATE_PER_10_SECONDS": "100000000",
    "CAIEP_READ_RATE_PER_MINUTE": "100000000",
}


@dataclass(frozen=True)
class Instance:
    home: Path
    credential: bytes  # the issued credential's exact bytes
    page: str  # the path of its page, /c/<uuid>


def make_instance(home: Path) -> Instance:
    """``caiep init`` (did:web) in ``home``, then one ``caiep issue``: the instance and its credential."""
    environment = _clean_environment(CAIEP_KEY_PASSPHRASE=PASSPHRASE)
    caiep = [str(BIN / "caiep"), "--home", str(home)]
    init = ["init", "--issuer-name", "CAiEP Certification Board", "--issuer-url", ISSUER_URL]
    subprocess.run([*caiep, *init], env=environment, check=True, capture_output=True, timeout=120)
    out = home.parent / "credential.json"
    holder = ["--name", "Jane Doe", "--email", "jane@example.org", "--exam-date", "2026-01-06"]
    issue = ["issue", *holder, "--out", str(out)]
    subprocess.run([*caiep, *issue], env=environment, check=True, capture_output=True, timeout=120)
    credential = out.read_bytes()
    page = json.loads(credential)["id"].removeprefix(ISSUER_URL)
    return Instance(home, credential, page)


def _clean_environment(**extra: str) -> dict[str, str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("CAIEP_")}
    environment.update(extra)
    return environment


@dataclass(frozen=True)
class Server:
    port: int
    master: int
    command: tuple[str, ...]


@contextlib.contextmanager
def production_server(
    instance: Instance,
    log: Path,
    *,
    worker_class: str | None = None,
    threads: int | None = None,
    environment: Mapping[str, str] | None = None,
) -> Iterator[Server]:
    """The production command on a free loopback port, answering before this yields.

    ``worker_class`` (``-k``) and ``threads`` override the config module's choice, to compare;
    ``environment`` adds settings (``CAIEP_ALLOW_HTTP_BASE`` for :func:`slow_issuers`).
    """
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port = int(probe.getsockname()[1])
    command = [str(BIN / "gunicorn"), "-c", "python:caiep.gunicorn_config"]
    if worker_class is not None:
        command += ["-k", worker_class]
    if threads is not None:
        command += ["--threads", str(threads)]
    command.append("caiep.app:create_app()")
    variables = _clean_environment(
        CAIEP_HOME=str(instance.home),
        CAIEP_BIND=f"{HOST}:{port}",
        **RATE_LIMITS_OUT_OF_REACH,
        **dict(environment or {}),
    )
    with open(log, "wb") as output:
        process = subprocess.Popen(command, cwd=ROOT, env=variables, stdout=output, stderr=output)
    try:
        _wait_until_answering(process, port, log)
        yield Server(port, process.pid, tuple(command))
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_answering(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited:\n{log.read_text(errors='replace')}")
        try:
            status, _ = request(port, "GET", "/openapi.json", source=LEGITIMATE_SOURCE)
            if status == 200 and len(worker_pids(process.pid)) >= 1:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"gunicorn did not answer within 60 s:\n{log.read_text(errors='replace')}")


def request(
    port: int, method: str, path: str, *, source: str, body: bytes | None = None, timeout: float = 60
) -> tuple[int, bytes]:
    """One request on a new connection from ``source``: the status and the body."""
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout, source_address=(source, 0))
    try:
        headers = {"Connection": "close"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def worker_pids(master: int) -> list[int]:
    """The gunicorn master's live child processes (its workers), from /proc."""
    try:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    except OSError:
        return []
    return [int(pid) for pid in children]


def rss_megabytes(pid: int) -> float:
    """Resident memory of one process (VmRSS in /proc/<pid>/status), in MB; 0 once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def workers_rss(master: int) -> float:
    """The sum of every worker's resident memory, in MB."""
    return sum(rss_megabytes(pid) for pid in worker_pids(master))


class HostileBodies:
    """Variants of the costliest credential inside every limit, each with array lengths of its own."""

    def __init__(self) -> None:
        self._base = worst_inside_limits()
        self._evidence = self._base["evidence"]

    def body(self, number: int) -> bytes:
        """Variant ``number``: 600 distinct shapes, more than the service's shape cache keeps."""
        dropped, aligned = number % 60, (number // 60) % 10
        document = copy.copy(self._base)
        document["evidence"] = self._evidence[: len(self._evidence) - dropped - aligned]
        subject = copy.deepcopy(document["credentialSubject"])
        subject["achievement"]["alignment"] = [
            {"type": "Alignment", "targetName": "same", "targetUrl": "https://example.org/a"}
        ] * aligned
        document["credentialSubject"] = subject
        document["name"] = f"variant {number}"
        return json.dumps(document).encode("utf-8")


class _NeverInTime(BaseHTTPRequestHandler):
    """Holds every request for 30 s, then answers 404: a host slower than any time budget."""

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        time.sleep(30)
        with contextlib.suppress(OSError):
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()


@contextlib.contextmanager
def slow_issuers() -> Iterator[str]:
    """A loopback server slower than any time budget: its ``http://127.0.0.1:PORT``, for
    ``CAIEP_ALLOW_HTTP_BASE``."""
    server = ThreadingHTTPServer((HOST, 0), _NeverInTime)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://{HOST}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class SlowIssuerBodies:
    """Credentials of did:web issuers whose DID documents never come in time (one DID each).

    Every one passes the checks that need no network, so the service fetches its issuer's key
    and waits for its whole time budget: the costliest request in waiting, not in CPU.
    """

    def __init__(self, count: int = 40) -> None:
        key = signing_key()
        self._bodies = []
        for number in range(count):
            did = f"did:web:slow-issuer.example:u{number}"
            document = unsigned_credential()
            document["issuer"]["id"] = did
            signed = sign(
                document,
                key,
                verification_method=verification_method_id(did, key.public_key),
                created=SIGNED_AT,
            )
            self._bodies.append(json.dumps(signed).encode("utf-8"))

    def body(self, number: int) -> bytes:
        return self._bodies[number % len(self._bodies)]


@dataclass
class Figures:
    """What one run of the load measured."""

    seconds: float
    legitimate: list[float] = field(default_factory=list)  # seconds per request
    hostile_requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)  # socket errors and unexpected answers
    rss_before: float = 0.0
    rss_peak: float = 0.0
    rss_after: float = 0.0

    def percentile(self, share: float) -> float:
        """The latency below which ``share`` of the legitimate requests finished, in ms."""
        ordered = sorted(self.legitimate)
        if not ordered:
            return float("nan")
        return 1000 * ordered[min(len(ordered) - 1, int(share * len(ordered)))]

    @property
    def worst(self) -> float:
        return 1000 * max(self.legitimate, default=float("nan"))

    @property
    def median(self) -> float:
        return 1000 * statistics.median(self.legitimate) if self.legitimate else float("nan")

    def line(self, label: str) -> str:
        return (
            f"{label:<28} legitimate n={len(self.legitimate):<4} p50={self.median:7.1f} ms "
            f"p99={self.percentile(0.99):7.1f} ms max={self.worst:7.1f} ms "
            f"| hostile n={self.hostile_requests:<4} "
            f"| workers' RSS before={self.rss_before:5.0f} MB peak={self.rss_peak:5.0f} MB "
            f"after={self.rss_after:5.0f} MB | 5xx={sum(n for s, n in self.statuses.items() if s >= 500)}"
        )


def run_load(
    server: Server,
    instance: Instance,
    seconds: float,
    *,
    sources: Sequence[str] = HOSTILE_SOURCES,
    hostile_body: Callable[[int], bytes] | None = None,
) -> Figures:
    """Hostile clients (one per source) and one legitimate one against ``server`` for ``seconds``.

    The hostile clients post ``hostile_body(n)`` for n = 0, 1, 2, ... (default: the costliest
    documents in CPU, :class:`HostileBodies`).
    """
    figures = Figures(seconds)
    lock = threading.Lock()
    stop = threading.Event()
    body_of = hostile_body or HostileBodies().body
    figures.rss_before = workers_rss(server.master)

    def note(status: int, failure: str | None = None) -> None:
        with lock:
            figures.statuses[status] += 1
            if failure is not None:
                figures.failures.append(failure)

    def hostile(index: int, source: str) -> None:
        number = index
        while not stop.is_set():
            try:
                status, _ = request(
                    server.port, "POST", "/api/v1/verify", source=source, body=body_of(number)
                )
                note(status, None if status < 500 else f"hostile post answered {status}")
                with lock:
                    figures.hostile_requests += 1
            except OSError as exc:
                note(0, f"hostile post from {source}: {exc!r}")
            number += len(sources)

    def legitimate() -> None:
        turn = 0
        while not stop.is_set():
            if turn % 2 == 0:
                method, path, body, expected = (
                    "POST",
                    "/api/v1/verify",
                    instance.credential,
                    b'"status": "valid"',
                )
            else:
                method, path, body, expected = "GET", instance.page, None, b"Valid"
            started = time.monotonic()
            try:
                status, answer = request(server.port, method, path, source=LEGITIMATE_SOURCE, body=body)
            except OSError as exc:
                note(0, f"legitimate {method} {path}: {exc!r}")
                continue
            elapsed = time.monotonic() - started
            failure = (
                None if status == 200 and expected in answer else f"legitimate {method} answered {status}"
            )
            with lock:
                figures.legitimate.append(elapsed)
            note(status, failure)
            turn += 1
            stop.wait(0.05)  # an employer's integration, not a flood

    def sample() -> None:
        while not stop.wait(0.25):
            rss = workers_rss(server.master)
            with lock:
                figures.rss_peak = max(figures.rss_peak, rss)

    threads = [threading.Thread(target=hostile, args=(index, source)) for index, source in enumerate(sources)]
    threads += [threading.Thread(target=legitimate), threading.Thread(target=sample)]
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join(timeout=120)
    figures.rss_after = workers_rss(server.master)
    figures.rss_peak = max(figures.rss_peak, figures.rss_after)
    return figures
