"""gunicorn's settings for the verification service, the production form of ``caiep serve``.

Use it as::

    gunicorn -c python:caiep.gunicorn_config 'caiep.app:create_app()'

with ``CAIEP_HOME`` (and ``CAIEP_DATABASE_URL`` for PostgreSQL) in the environment, as the
instance's own OS user. ``bind`` (``CAIEP_BIND``, default 127.0.0.1:8000: behind a reverse
proxy), ``workers`` (``CAIEP_WORKERS``, default 2: one per core) and ``worker_threads``
(``CAIEP_WORKER_THREADS``, default 4) are settings of :mod:`caiep.settings`, read from the
environment or the instance's settings.json; a flag on gunicorn's command line still wins.

The worker model was chosen by measurement (``bench/hostile_load.py``, figures in the README):
with gunicorn's default sync workers a request waits for a whole verification in front of it
on its worker, so two clients posting the costliest documents the limits let through keep both
workers busy and everyone else queues behind them. Threaded workers (``gthread``) interleave a
light request with the heavy ones already running, so a legitimate verifier's worst latency
stays low while the service is under that load. The time budget of each verification
(``verify_time_budget``) stays well below ``timeout``, so no request ever reaches it.
"""

from __future__ import annotations

from caiep.settings import read_configuration

_configuration = read_configuration()

bind = _configuration.require("bind", str)
workers = _configuration.require("workers", int)
worker_class = "gthread"
threads = _configuration.require("worker_threads", int)
# A verification answers within its time budget (default 5 s); this is only the last resort.
timeout = 30
graceful_timeout = 20
keepalive = 5
