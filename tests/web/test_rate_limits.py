"""Rate limits as deployed: gunicorn's two workers sharing one count in Redis, behind ProxyFix.

The Redis server is the developer machine's (127.0.0.1:6379); where none answers these tests
skip and say so, as the PostgreSQL ones do. Each test uses its own key prefix, so runs and
parallel checkouts never share a count.
"""

from __future__ import annotations

import secrets
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import pytest

from caiep.app import AppConfig, create_app
from caiep.ratelimit import RateLimitSettings, Window
from caiep.settings import database_url

if TYPE_CHECKING:
    from conftest import Issued, LiveServer

REDIS_URL = "redis://127.0.0.1:6379/0"
LIMIT = 7


def _redis_or_skip() -> None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        pytest.skip(f"no Redis server answers at {REDIS_URL} ({type(exc).__name__}); start one to run this")


def _prefix() -> str:
    return f"caiep-http-test-{secrets.token_hex(6)}"


def _post(base: str, headers: Mapping[str, str] | None = None) -> tuple[int, Mapping[str, str]]:
    request = urllib.request.Request(
        f"{base}/api/v1/verify",
        data=b"x",
        headers={"Content-Type": "text/plain", "Connection": "close", **(headers or {})},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers)


def _serve(serve_instance: Callable[..., LiveServer], name: str, **variables: str) -> LiveServer:
    return serve_instance(
        name,
        CAIEP_RATE_PER_10_SECONDS=str(LIMIT),
        CAIEP_RATE_PER_MINUTE="100000",
        CAIEP_READ_RATE_PER_10_SECONDS="100000",
        CAIEP_READ_RATE_PER_MINUTE="100000",
        **variables,
    )


@pytest.fixture
def shared_server(serve_instance: Callable[..., LiveServer]) -> LiveServer:
    _redis_or_skip()
    return _serve(serve_instance, "shared", CAIEP_RATE_STORAGE=REDIS_URL, CAIEP_RATE_KEY_PREFIX=_prefix())


def _workers_that_answered(server: LiveServer) -> set[str]:
    """The process ids in the access log's POST lines (each line names its worker)."""
    lines = [line for line in server.log.read_text().splitlines() if "caiep.access POST" in line]
    return {line.split("[", 1)[1].split("]", 1)[0] for line in lines}


def test_two_workers_share_one_count_in_redis(shared_server: LiveServer) -> None:
    codes: list[int] = []
    lock = threading.Lock()

    def client() -> None:
        for _ in range(3):
            status, _ = _post(shared_server.base_url)
            with lock:
                codes.append(status)

    # Batches of 24 posts at once until both workers have answered some (the kernel may hand a
    # quiet listener's connections to one of them for a while); all within one 10 s window.
    for _ in range(8):
        threads = [threading.Thread(target=client) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if len(_workers_that_answered(shared_server)) == 2:
            break

    assert len(_workers_that_answered(shared_server)) == 2
    assert codes.count(400) == LIMIT  # the body "x" is refused as unreadable: each let through
    assert codes.count(429) == len(codes) - LIMIT
    status, headers = _post(shared_server.base_url)
    assert status == 429
    assert 1 <= int(headers["Retry-After"]) <= 10


@pytest.mark.parametrize("trusted", [1, 0])
def test_the_forwarded_address_counts_only_behind_a_trusted_proxy(
    serve_instance: Callable[..., LiveServer], trusted: int
) -> None:
    _redis_or_skip()
    server = _serve(
        serve_instance,
        f"proxy-{trusted}",
        CAIEP_RATE_STORAGE=REDIS_URL,
        CAIEP_RATE_KEY_PREFIX=_prefix(),
        CAIEP_TRUSTED_PROXIES=str(trusted),
    )
    first = [_post(server.base_url, {"X-Forwarded-For": "203.0.113.7"})[0] for _ in range(LIMIT + 1)]
    other = _post(server.base_url, {"X-Forwarded-For": "198.51.100.9"})[0]

    assert first == [400] * LIMIT + [429]
    # Behind one trusted proxy the client it names is counted; trusting none, the forwarded
    # header is ignored and every request counts against the proxy's (here, the test's) address.
    assert other == (400 if trusted else 429)


def test_an_unreachable_redis_fails_open_to_memory(issued: Issued, caplog: pytest.LogCaptureFixture) -> None:
    limits = RateLimitSettings(
        verify=(Window(2, 10),), read=(Window(1000, 10),), storage="redis://127.0.0.1:1/0"
    )
    app = create_app(AppConfig(home=issued.home, database_url=database_url(issued.home), rate_limits=limits))
    client = app.test_client()
    try:
        with caplog.at_level("WARNING", logger="caiep.ratelimit"):
            codes = [
                client.post("/api/v1/verify", data="x", content_type="text/plain").status_code
                for _ in range(3)
            ]
    finally:
        app.extensions["caiep.registry"].dispose()

    assert codes == [400, 400, 429]  # answered, and still limited, in this process's memory
    [warning] = [r for r in caplog.records if r.name == "caiep.ratelimit"]
    assert "redis://127.0.0.1:1/0 failed" in warning.getMessage()
