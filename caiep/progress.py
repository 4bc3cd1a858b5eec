"""How a signing job shows its progress: a bar on a terminal, plain log lines otherwise."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from caiep.issuer.jobs import Progress


class ProgressDisplay:
    """Callable handed to the job; redraws at most ten times a second, logs every few seconds."""

    def __init__(self, stream: TextIO | None = None, *, log_every: float = 5.0) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.log_every = log_every
        self._last = 0.0

    def __call__(self, progress: Progress) -> None:
        now = time.monotonic()
        final = progress.done >= progress.total
        if not final and now - self._last < (0.1 if self.tty else self.log_every):
            return
        self._last = now
        eta = progress.eta_seconds
        eta_text = f"{eta:,.0f}s" if eta is not None else "?"
        counts = f"{progress.done:,}/{progress.total:,}  {progress.rate:,.0f}/s  ETA {eta_text}"
        if progress.failed:
            counts += f"  {progress.failed:,} failed"
        if self.tty:
            width = 30
            filled = int(width * progress.done / progress.total) if progress.total else width
            self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {counts}\033[K")
            if final:
                self.stream.write("\n")
        else:
            self.stream.write(f"signing: {counts}\n")
        self.stream.flush()
