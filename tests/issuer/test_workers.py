"""Forked workers: results in order whatever finishes first, errors raised, nothing left running."""

from __future__ import annotations

import os
import signal
import time

import pytest

from caiep.errors import CaiepError
from caiep.issuer.workers import ForkedWorkers


def _slow_square(number: int) -> tuple[int, int]:
    # Uneven work, so that workers finish their tasks out of order.
    time.sleep(0.0005 * (number % 7))
    return number * number, os.getpid()


def test_results_come_back_in_order_from_every_worker():
    workers = ForkedWorkers(_slow_square, 3, task_size=4)
    try:
        results = list(workers.map(list(range(200))))
        again = list(workers.map([5, 6]))  # the same workers serve the next batch
    finally:
        workers.close()
    assert [square for square, _ in results] == [n * n for n in range(200)]
    assert len({pid for _, pid in results}) == 3
    assert [square for square, _ in again] == [25, 36]
    assert all(not process.is_alive() for process in workers.processes)


def test_large_results_and_items_do_not_block_the_pipes():
    workers = ForkedWorkers(lambda text: text * 2, 2, task_size=50)
    try:
        items = [f"{i:06d}" * 20_000 for i in range(40)]  # 120 KB each, beyond a pipe's buffer
        assert list(workers.map(items)) == [item * 2 for item in items]
    finally:
        workers.close()


def _fails_on_13(number: int) -> int:
    if number == 13:
        raise ValueError("thirteen")
    return number


def test_a_workers_exception_is_raised_in_the_parent_and_close_stops_the_rest():
    workers = ForkedWorkers(_fails_on_13, 2, task_size=5)
    with pytest.raises(ValueError, match="thirteen"):
        list(workers.map(list(range(100))))
    workers.close()
    assert all(not process.is_alive() for process in workers.processes)


def test_a_killed_worker_is_an_error_not_a_hang():
    workers = ForkedWorkers(lambda n: time.sleep(0.05) or n, 2, task_size=1)
    try:
        results = workers.map(list(range(10)))
        assert next(results) == 0
        os.kill(workers.processes[0].pid, signal.SIGKILL)
        with pytest.raises(CaiepError, match="ended without answering"):
            list(results)
    finally:
        workers.close()
    assert all(not process.is_alive() for process in workers.processes)


def test_closing_after_an_abandoned_batch_stops_busy_workers():
    workers = ForkedWorkers(lambda n: time.sleep(0.2) or n, 2, task_size=1)
    results = workers.map(list(range(10)))
    next(results)
    started = time.monotonic()
    workers.close()
    assert time.monotonic() - started < 2
    assert all(not process.is_alive() for process in workers.processes)


def test_counts_must_be_positive():
    with pytest.raises(ValueError, match="must be positive"):
        ForkedWorkers(abs, 0)
    with pytest.raises(ValueError, match="must be positive"):
        ForkedWorkers(abs, 1, task_size=0)
