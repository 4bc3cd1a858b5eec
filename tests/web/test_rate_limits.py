"""Rate limits as deployed: gunicorn's two workers sharing one count in Redis, behind ProxyFix.

The Redis server is the developer machine's (127.0.0.1:6379); where none answers these tests
skip and say so, as the PostgreSQL ones do. Each test uses its own key prefix, so runs and
parallel checkouts never share a count.
"""

from __future__ import annotations

import secrets
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import pytest

from caiep.app import AppConfig, create_app
from caiep.ratelimit import InlineMemoryStorage, RateLimitSettings, Window
from caiep.settings import database_url

if TYPE_CHECKING:
    from conftest import Issued, LiveServer

REDIS_URL = "redis://127.0.0.1:6379/0"
LIMIT = 7


def _redis_keys(prefix: str) -> set[str]:
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    return {key.decode() for key in client.scan_iter(match=f"*LIMITER/{prefix}/*")}


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


def _workers_that_answered(server: LiveServer) -> set[str]:
    """The process ids in the access log's POST lines (each line names its worker)."""
    lines = [line for line in server.log.read_text().splitlines() if "caiep.access POST" in line]
    return {line.split("[", 1)[1].split("]", 1)[0] for line in lines}


def _stall(base: str) -> socket.socket:
    """A connection that sends half a request line: the sync worker that accepts it waits on it,
    so the next requests go to the other worker. Nothing reaches the app (nothing is counted)."""
    host, port = base.removeprefix("http://").split(":")
    connection = socket.create_connection((host, int(port)), timeout=10)
    connection.sendall(b"GET /verify HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    time.sleep(0.5)  # accepted by an idle worker
    return connection


def test_two_workers_share_one_count_in_redis(serve_instance: Callable[..., LiveServer]) -> None:
    _redis_or_skip()
    prefix = _prefix()
    server = _serve(serve_instance, "shared", CAIEP_RATE_STORAGE=REDIS_URL, CAIEP_RATE_KEY_PREFIX=prefix)
    base = server.base_url
    first = _stall(base)  # holds worker A
    codes = [_post(base)[0] for _ in range(5)]  # answered by worker B
    second = _stall(base)  # B is the only idle worker: it takes this one
    first.close()  # A is free again, and alone
    codes += [_post(base)[0] for _ in range(5)]  # answered by worker A
    second.close()
    status, headers = _post(base)

    assert len(_workers_that_answered(server)) == 2
    assert codes == [400] * LIMIT + [429] * (10 - LIMIT)  # "x" is unreadable (400): each let through
    assert status == 429
    assert 1 <= int(headers["Retry-After"]) <= 10
    # Flask-Limiter's keys (under limits' own "LIMITS:" in Redis): our prefix, the client, the
    # class of request, then the window.
    assert f"LIMITS:LIMITER/{prefix}/127.0.0.1/verify/{LIMIT}/10/second" in _redis_keys(prefix)


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


def test_the_apps_flask_limiter_counts_from_one_hook_in_inline_memory(issued: Issued) -> None:
    limits = RateLimitSettings(verify=(Window(2, 10),), read=(Window(1000, 10),))
    app = create_app(AppConfig(home=issued.home, database_url=database_url(issued.home), rate_limits=limits))
    [limiter] = app.extensions["limiter"]
    timer = limiter.storage.timer  # limits' memory storage starts a new one after a hit finds it done
    timer.join(5)  # cancelled at start-up: over at once
    client = app.test_client()
    try:
        codes = [
            client.post("/api/v1/verify", data="x", content_type="text/plain").status_code for _ in range(3)
        ]
    finally:
        app.extensions["caiep.registry"].dispose()

    assert codes == [400, 400, 429]
    # The count is the Limiter's, through its strategy and storage ...
    stats = limiter.limiter.get_window_stats(Window(2, 10).item(), "caiep", "127.0.0.1", "verify")
    assert stats.remaining == 0
    # ... kept in the memory storage that sweeps inline (no timer thread per hit) ...
    assert isinstance(limiter.storage, InlineMemoryStorage)
    assert limiter.storage.timer is timer
    # ... and none of the Limiter's own per-request hooks is left to run (they cost ~70 µs each request).
    hooks = [
        *app.before_request_funcs.get(None, []),
        *app.after_request_funcs.get(None, []),
        *app.teardown_request_funcs.get(None, []),
    ]
    assert not [h for h in hooks if limiter in (getattr(h, "__self__", None), *getattr(h, "args", ()))]
