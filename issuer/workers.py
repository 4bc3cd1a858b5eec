"""Forked worker processes that apply one function to lists of items, results in order.

What signing jobs use instead of :class:`multiprocessing.pool.Pool`, whose worker-handler
thread wakes up for every result waiting in its queue and then spends as much CPU in the
parent as a worker spends signing. Here the parent's own thread does all the talking, over
one pipe per worker: it sends a worker a task (a slice of the items), and sends the next one
as soon as that worker answers. Neither side can block the other on a full pipe: a worker
writes only its answer, which the parent is waiting to read, and the parent writes only to a
worker that has just answered and is waiting for work.

The function is inherited through ``fork``, never pickled, so it may hold secrets (the
signing key) and closures. Items and results are pickled.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator, Sequence
from multiprocessing.connection import Connection, wait
from typing import Any, Generic, TypeVar

from caiep.errors import CaiepError

Item = TypeVar("Item")
Result = TypeVar("Result")

TASK_SIZE = 50
"""Items per message to a worker: large enough that messages cost little, small enough that
every worker has work until the end of a batch and the parent records while they sign."""


def _serve(function: Callable[[Any], Any], connection: Connection) -> None:
    """A worker's loop: apply the function to each list it is sent and answer with the results.

    An exception is sent back for the parent to raise (the worker then stops); ``None`` ends
    the loop.
    """
    while True:
        items = connection.recv()
        if items is None:
            return
        try:
            results = [function(item) for item in items]
        except Exception as exc:
            try:
                connection.send(("error", exc))
            except Exception:  # an exception that does not pickle: its text then
                connection.send(("error", RuntimeError(f"{type(exc).__name__}: {exc}")))
            return
        connection.send(("ok", results))


class ForkedWorkers(Generic[Item, Result]):
    """``count`` forked processes applying ``function``; :meth:`close` them when done."""

    def __init__(self, function: Callable[[Item], Result], count: int, *, task_size: int = TASK_SIZE) -> None:
        if count < 1 or task_size < 1:
            raise ValueError("count and task_size must be positive")
        context = multiprocessing.get_context("fork")
        self.task_size = task_size
        self.connections: list[Connection] = []
        self.processes: list[Any] = []
        self.busy: dict[Connection, int] = {}  # worker -> index of the task it is on
        try:
            for _ in range(count):
                ours, theirs = context.Pipe()
                process = context.Process(target=_serve, args=(function, theirs), daemon=True)
                process.start()
                theirs.close()
                self.connections.append(ours)
                self.processes.append(process)
        except BaseException:
            self.close()
            raise

    def map(self, items: Sequence[Item]) -> Iterator[Result]:
        """``function(item)`` for every item, in order, as soon as each task is done.

        Re-raises the first exception a worker met; raises CaiepError if a worker process
        ends without answering (killed).
        """
        size = self.task_size
        tasks = iter(enumerate(items[i : i + size] for i in range(0, len(items), size)))
        count = (len(items) + size - 1) // size
        busy = self.busy
        busy.clear()
        done: dict[int, list[Result]] = {}
        for connection in self.connections:
            self._send(connection, tasks, busy)
        for wanted in range(count):
            while wanted not in done:
                for ready in wait(list(busy)):
                    assert isinstance(ready, Connection)
                    done[busy.pop(ready)] = self._receive(ready)
                    self._send(ready, tasks, busy)
            yield from done.pop(wanted)

    @staticmethod
    def _send(
        connection: Connection, tasks: Iterator[tuple[int, Sequence[Item]]], busy: dict[Connection, int]
    ) -> None:
        task = next(tasks, None)
        if task is not None:
            busy[connection] = task[0]
            connection.send(list(task[1]))

    @staticmethod
    def _receive(connection: Connection) -> list[Result]:
        try:
            status, answer = connection.recv()
        except (EOFError, OSError):  # its end of the pipe closed, or reset by the kernel
            raise CaiepError("a worker process ended without answering") from None
        if status == "error":
            raise answer
        return list(answer)

    def close(self) -> None:
        """Stop the workers: an idle one ends its loop; one still on a task (the caller
        stopped reading, after an error) is terminated, its answer unwanted."""
        for connection, process in zip(self.connections, self.processes, strict=True):
            if connection in self.busy:
                process.terminate()
                continue
            try:
                connection.send(None)
            except OSError:
                pass  # it already ended (after sending an error)
        for process in self.processes:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
                process.join()
        for connection in self.connections:
            connection.close()
