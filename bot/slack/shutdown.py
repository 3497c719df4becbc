"""Graceful stop on SIGTERM/SIGINT: stop taking events, finish those in flight, exit 0.

systemd and Kubernetes send SIGTERM before SIGKILL. Slack never redelivers an event it
got an ack for, so a question acked but not yet answered would be lost if we exited at
once. The first signal starts draining, bounded by SHUTDOWN_TIMEOUT seconds; a second
signal exits without waiting.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


class GracefulStop:
    """Turns the first SIGTERM/SIGINT into a drain request with a deadline."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.requested = threading.Event()
        self.forced = False
        self._deadline = 0.0
        self._done = False  # set by `wake_main`: the next signal is ours, not the operator's
        self._callbacks: list[Callable[[], None]] = []

    def on_request(self, callback: Callable[[], None]) -> None:
        """Run `callback` (quickly, in the signal handler) when the drain starts."""
        self._callbacks.append(callback)

    def install(self) -> None:
        """Take over SIGINT/SIGTERM (main thread only)."""
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._handle)

    def _handle(self, signum: int, _frame: Any) -> None:
        if self._done:
            raise SystemExit(0)  # the drain finished; end the server loop
        name = signal.Signals(signum).name
        if self.requested.is_set():
            log.warning("second %s: exiting without waiting for answers in flight", name)
            self.forced = True
            raise SystemExit(0)
        self._deadline = time.monotonic() + self.timeout
        self.requested.set()
        log.info("%s received: finishing answers in flight (up to %gs)", name, self.timeout)
        for callback in self._callbacks:
            callback()

    def remaining(self) -> float:
        """Seconds left to drain (the full timeout if no signal came)."""
        if not self.requested.is_set():
            return self.timeout
        return max(0.0, self._deadline - time.monotonic())

    def wake_main(self) -> None:
        """End a server loop running in the main thread (waitress) from the drain thread."""
        self._done = True
        main = threading.main_thread().ident
        if main is not None:
            signal.pthread_kill(main, signal.SIGTERM)  # interrupts its select() at once


def drain(services: Any, stop: GracefulStop) -> bool:
    """Close the after-ack pools, waiting for queued and running work until the deadline."""
    if stop.forced:
        return False
    closer = threading.Thread(target=services.close, name="drain-pools", daemon=True)
    closer.start()
    closer.join(stop.remaining())
    if closer.is_alive():
        log.warning("answers still running after %gs; exiting anyway", stop.timeout)
        return False
    return True
