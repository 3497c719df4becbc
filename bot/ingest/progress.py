"""Progress for long ingests: a tqdm bar on a terminal, and a log line every few seconds
otherwise (systemd, containers, CI), so minutes of work are never silent.

Honest ETAs: while the model loads (`warmup`), lines say so and keep coming; the rate is
measured from the first finished batch on, never over the warm-up. With `cost`, work is
weighed (the embedder does the longest passages first, so counting chunks alone would
make the first minutes look far slower than the rest).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import Any

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
        warmup: str = "",
        cost: Callable[[int], float] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.clock = clock
        self.total, self.desc, self.unit = total, desc, unit
        self.done = 0
        self.notify = notify
        self.every = EVERY_SECONDS if every is None else every
        self.warmup = warmup  # e.g. "loading model": shown until the first update
        self.cost = cost or float  # work done after n items (cumulative)
        self.started = self._last = self.clock()
        self._first: tuple[float, int] | None = None  # (time, done) at the first update
        self._tty = bar and bool(total)
        self._bar: Any = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        if self.total and (notify or self._tty):
            self._ticker = threading.Thread(target=self._tick, name="progress", daemon=True)
            self._ticker.start()

    def update(self, n: int) -> None:
        now = self.clock()
        with self._lock:
            self.done += n
            if self._first is None:
                self._first = (now, self.done)
            if self._tty:
                self._render_bar(n)
                return
            due = now - self._last >= self.every
            if due:
                self._last = now
        if due and self.notify and self.total:
            self.notify(self.line(now))

    def line(self, now: float | None = None) -> str:
        now = now or self.clock()
        elapsed = now - self.started
        if self._first is None and self.warmup:
            line = f"{self.desc}: {self.warmup} ({format_seconds(elapsed)} so far)"
            return f"{line}, 0/{self.total} {self.unit}" if self.unit else line
        pct = 100 * self.done / self.total if self.total else 100.0
        return (
            f"{self.desc}: {self.done}/{self.total} {self.unit} ({pct:.0f}%), "
            f"{self.rate(now):.0f}/s, {self.eta_text(now)}"
        )

    def _origin(self) -> tuple[float, int] | None:
        """(time, items done) the rate is measured from: the start, or with a warm-up the
        end of the first update (None until then)."""
        return self._first if self.warmup else (self.started, 0)

    def rate(self, now: float) -> float:
        """Items per second since the origin."""
        origin = self._origin()
        if origin is None or now <= origin[0]:
            return 0.0
        return (self.done - origin[1]) / (now - origin[0])

    def eta_text(self, now: float) -> str:
        """'about 3m10s left', from the work rate since the origin."""
        origin = self._origin()
        if origin is None or now <= origin[0]:
            return "estimating time left"
        since, base = origin
        work = self.cost(self.done) - self.cost(base)
        if work <= 0:
            return "estimating time left"
        left = (self.cost(self.total) - self.cost(self.done)) * (now - since) / work
        return f"about {format_seconds(left)} left"

    def _render_bar(self, n: int) -> None:
        if self._bar is None:  # created after the warm-up, so tqdm's clock skips it
            from tqdm import tqdm

            sys.stderr.write("\r\033[K")
            self._bar = tqdm(
                total=self.total,
                desc=self.desc,
                unit=self.unit.rstrip("s"),
                file=sys.stderr,
                mininterval=0.5,
                bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}, {postfix}]",
            )
        self._bar.set_postfix_str(self.eta_text(self.clock()), refresh=False)
        self._bar.update(n)

    def _tick(self) -> None:
        """Keep lines coming while nothing finishes (a model load, one slow batch)."""
        interval = max(0.05, min(self.every, 1.0) if self._tty else self.every)
        while not self._stop.wait(interval):
            now = self.clock()
            with self._lock:
                if self._tty:
                    if self._bar is None:
                        sys.stderr.write(f"\r{self.line(now)}")
                        sys.stderr.flush()
                    else:
                        self._bar.refresh()
                    continue
                due = now - self._last >= self.every
                if due:
                    self._last = now
            if due and self.notify:
                self.notify(self.line(now))

    def close(self) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
        if self._bar is not None:
            self._bar.close()
        elif self._tty:
            sys.stderr.write("\r\033[K")  # clear a warm-up line
        elif self.notify and self.total and self.clock() - self.started >= self.every:
            count = f"{self.total} {self.unit} " if self.unit else ""
            self.notify(f"{self.desc}: {count}done")

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def stage(
    desc: str,
    doing: str,
    *,
    bar: bool = False,
    notify: Notify | None = None,
    every: float | None = None,
) -> Progress:
    """A step without countable parts (finding files, building the indexes): a line every
    few seconds while it runs, so a long one never looks stuck."""
    return Progress(1, desc, bar=bar, notify=notify, warmup=doing, unit="", every=every)


def format_seconds(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, sec = divmod(seconds, 60)
    return f"{minutes}m{sec:02d}s" if minutes < 60 else f"{minutes // 60}h{minutes % 60:02d}m"
