"""Progress for long ingests: a tqdm bar with rate and ETA on a terminal, and a log line
every few seconds otherwise (systemd, containers, CI), so minutes of work are never silent."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

Notify = Callable[[str], None]
EVERY_SECONDS = 5.0  # without a terminal: one line this often


class Progress:
    """Counts work done; renders it as a bar (tty) or periodic `notify` lines (no tty)."""

    def __init__(
        self,
        total: int,
        desc: str,
        *,
        bar: bool = False,
        notify: Notify | None = None,
        every: float | None = None,
        unit: str = "chunks",
    ) -> None:
        self.total, self.desc, self.unit = total, desc, unit
        self.done = 0
        self.notify = notify
        self.every = EVERY_SECONDS if every is None else every
        self.started = self._last = time.monotonic()
        self._bar = None
        if bar and total:
            from tqdm import tqdm

            self._bar = tqdm(
                total=total, desc=desc, unit=unit.rstrip("s"), file=sys.stderr, mininterval=0.5
            )

    def update(self, n: int) -> None:
        self.done += n
        if self._bar is not None:
            self._bar.update(n)
            return
        now = time.monotonic()
        if self.notify and self.total and now - self._last >= self.every:
            self._last = now
            self.notify(self.line(now))

    def line(self, now: float | None = None) -> str:
        elapsed = (now or time.monotonic()) - self.started
        pct = 100 * self.done / self.total if self.total else 100.0
        rate = self.done / elapsed if elapsed > 0 else 0.0
        eta = (self.total - self.done) / rate if rate > 0 else 0.0
        return (
            f"{self.desc}: {self.done}/{self.total} {self.unit} ({pct:.0f}%), "
            f"{rate:.0f}/s, about {format_seconds(eta)} left"
        )

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        elif self.notify and self.total and time.monotonic() - self.started >= self.every:
            self.notify(f"{self.desc}: {self.total} {self.unit} done")

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def format_seconds(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, sec = divmod(seconds, 60)
    return f"{minutes}m{sec:02d}s" if minutes < 60 else f"{minutes // 60}h{minutes % 60:02d}m"
