"""The production server under hostile load: a legitimate verifier is still answered quickly.

The README's production command (``gunicorn -c python:caiep.gunicorn_config
'caiep.app:create_app()'``, two workers) serves an instance made with ``caiep init`` and one
``caiep issue``. Two hostile clients, from 127.0.0.2 and 127.0.0.3, post back to back for 15 s
the costliest documents the limits let through, each of a shape of its own; a third, from
127.0.0.1, verifies the real credential and opens its page one request after another. Its
worst latency stays under 2 s, nothing is answered 5xx, and the two workers together stay
under 400 MB of resident memory. A second run sends credentials whose issuer's host never
answers, so each hostile request waits out its whole time budget: the worker model must keep
serving everyone else meanwhile. ``bench/hostile_load.py`` prints the same figures.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from load_support import (
    Figures,
    HostileBodies,
    Instance,
    Server,
    SlowIssuerBodies,
    make_instance,
    production_server,
    run_load,
    slow_issuers,
)

pytestmark = pytest.mark.load


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Instance]]:
    """The production command on a fresh instance; https fetches go to a host that never answers."""
    folder = tmp_path_factory.mktemp("load")
    instance = make_instance(folder / "home")
    with (
        slow_issuers() as never_in_time,
        production_server(
            instance, folder / "gunicorn.log", environment={"CAIEP_ALLOW_HTTP_BASE": never_in_time}
        ) as server,
    ):
        yield server, instance


def _assert_served_well(figures: Figures, log: Path) -> None:
    assert figures.failures == [], f"{figures.failures[:3]}\n{log.read_text(errors='replace')[-2000:]}"
    assert not [status for status in figures.statuses if status >= 500]
    assert set(figures.statuses) == {200}  # nothing refused either: the rate limits are out of reach
    assert len(figures.legitimate) >= 20
    assert figures.worst < 2000, figures.line("legitimate latency")


def test_heavy_documents_do_not_starve_a_legitimate_verifier(served: tuple[Server, Instance]) -> None:
    server, instance = served

    figures = run_load(server, instance, 15.0, hostile_body=HostileBodies().body)

    _assert_served_well(figures, instance.home.parent / "gunicorn.log")
    assert figures.hostile_requests >= 10  # the hostile clients were really served, not stalled
    assert figures.rss_peak < 400, figures.line("workers' memory")


def test_requests_waiting_on_a_silent_host_do_not_starve_a_legitimate_verifier(
    served: tuple[Server, Instance],
) -> None:
    server, instance = served

    figures = run_load(server, instance, 8.0, hostile_body=SlowIssuerBodies().body)

    _assert_served_well(figures, instance.home.parent / "gunicorn.log")
    assert figures.hostile_requests >= 2  # each waited out the 5 s time budget, none longer
