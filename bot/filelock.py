"""One holder at a time, across processes: an exclusive flock on a file, waited for.

An ingest's index lock and a git source's sync lock are both this (a server's reload and
a manual `opsbot ingest` or `ask` may run at once)."""

from __future__ import annotations

import fcntl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def held(
    path: Path, wait_seconds: float, busy: Callable[[], Exception], poll: float = 0.1
) -> Iterator[None]:
    """Hold the lock on `path` for the block; raise `busy()` if another process still holds
    it after `wait_seconds`."""
    with open(path, "w") as handle:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise busy() from None
                time.sleep(poll)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
