"""An API key's rate as deployed: gunicorn's two workers count its bulk checks together in Redis.

The Redis server is the developer machine's (127.0.0.1:6379); where none answers this test skips
and says so. It uses its own key prefix, so runs and parallel checkouts never share a count.
"""

from __future__ import annotations

import json
import secrets
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest

from caiep.issuer.apikeys import create
from caiep.issuer.registry import open_registry

if TYPE_CHECKING:
    from conftest import Issued, LiveServer

REDIS_URL = "redis://127.0.0.1:6379/0"
RATE = 5


def _redis_or_skip() -> None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        pytest.skip(f"no Redis server answers at {REDIS_URL} ({type(exc).__name__}); start one to run this")


def _check(base: str, key: str) -> tuple[int, dict[str, str]]:
    request = urllib.request.Request(
        f"{base}/api/v1/register/check",
        data=json.dumps({"charterNumbers": ["CAIEP-000001", "CAIEP-999999"]}).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}", "Connection": "close"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers)


def _stall(base: str) -> socket.socket:
    """Half a request line: the sync worker that accepts it waits on it, so the next requests go
    to the other worker. Nothing reaches the app (nothing is counted)."""
    host, port = base.removeprefix("http://").split(":")
    connection = socket.create_connection((host, int(port)), timeout=10)
    connection.sendall(b"GET /verify HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    time.sleep(0.5)  # accepted by an idle worker
    return connection


def test_two_workers_share_a_keys_count_in_redis(
    issued: Issued, serve_instance: Callable[..., LiveServer]
) -> None:
    _redis_or_skip()
    import redis

    prefix = f"caiep-bulk-test-{secrets.token_hex(6)}"
    with open_registry(issued.database_url) as registry, registry.write() as connection:
        made = create(connection, "Two Workers HR", RATE, actor="test", now=datetime.now(UTC))
    server = serve_instance(
        "bulk-shared",
        CAIEP_RATE_STORAGE=REDIS_URL,
        CAIEP_RATE_KEY_PREFIX=prefix,
        CAIEP_READ_RATE_PER_10_SECONDS="100000",
        CAIEP_READ_RATE_PER_MINUTE="100000",
    )
    base = server.base_url
    first = _stall(base)  # holds worker A
    codes = [_check(base, made.key)[0] for _ in range(3)]  # answered by worker B
    second = _stall(base)  # B is the only idle worker: it takes this one
    first.close()  # A is free again, and alone
    codes += [_check(base, made.key)[0] for _ in range(3)]  # answered by worker A
    second.close()

    lines = [line for line in server.log.read_text().splitlines() if "caiep.access POST" in line]
    workers = {line.split("[", 1)[1].split("]", 1)[0] for line in lines}
    assert len(workers) == 2
    assert codes == [200] * RATE + [429] * (6 - RATE)
    status, headers = _check(base, made.key)
    assert status == 429
    assert 1 <= int(headers["Retry-After"]) <= 60
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    keys = {k.decode() for k in client.scan_iter(match=f"*LIMITER/{prefix}/apikey-{made.id}/*")}
    assert keys == {f"LIMITS:LIMITER/{prefix}/apikey-{made.id}/bulk/{RATE}/60/second"}
