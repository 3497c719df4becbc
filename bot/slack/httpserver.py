"""waitress, hardened against slow and idle clients (slowloris) for `opsbot serve --http`.

waitress closes a connection only after `channel_timeout` seconds of *silence*, and stops
accepting once `connection_limit` sockets are open. A client that sends one byte every
few seconds is never silent, so a hundred of them used to lock Slack out. Two additions:

- a request deadline: a request whose headers and body have not fully arrived within
  REQUEST_DEADLINE seconds of its first byte is dropped, however steadily it trickles;
- eviction instead of refusal: at the connection limit, the oldest connection that has
  no request being handled is closed to make room, so a new (fast) client always gets in.

waitress buffers a whole request before a worker thread sees it, so slow clients never
hold one of the `threads`. A reverse proxy in front is still the right place for TLS,
per-client rate limits and bigger fleets (README "Security").
"""

from __future__ import annotations

import logging
import time
from typing import Any

from waitress.channel import HTTPChannel
from waitress.server import TcpWSGIServer

from bot.slack.wsgi import MAX_BODY_BYTES

log = logging.getLogger(__name__)

REQUEST_DEADLINE = 10.0  # seconds from a request's first byte to its last (Slack needs ms)
IDLE_TIMEOUT = 30  # seconds a keep-alive connection may stay silent between requests
CONNECTION_LIMIT = 200
MAX_HEADER_BYTES = 64 * 1024  # Slack sends well under 2 KB of headers
THREADS = 8

LIMITS: dict[str, Any] = {
    "threads": THREADS,
    "connection_limit": CONNECTION_LIMIT,
    "channel_timeout": IDLE_TIMEOUT,
    "cleanup_interval": 1,  # how often deadlines are checked
    "max_request_header_size": MAX_HEADER_BYTES,
    "max_request_body_size": MAX_BODY_BYTES,
    "asyncore_use_poll": True,  # select() fails beyond 1,024 descriptors
    "clear_untrusted_proxy_headers": True,
    "ident": "opsbot",
}


class DeadlineChannel(HTTPChannel):
    """An HTTPChannel that remembers when its current, incomplete request began."""

    request_started: float | None = None

    def received(self, data: bytes) -> bool:
        if self.request is None and data and self.request_started is None:
            self.request_started = time.monotonic()
        result = super().received(data)
        if self.request is None:  # nothing half-read is pending any more
            self.request_started = None
        return result

    def overdue(self, now: float, deadline: float) -> bool:
        return self.request_started is not None and now - self.request_started > deadline


class HardenedServer(TcpWSGIServer):
    """TcpWSGIServer with a per-request deadline and eviction at the connection limit."""

    channel_class = DeadlineChannel
    request_deadline = REQUEST_DEADLINE
    _evicted = 0

    def maintenance(self, now: float) -> None:
        super().maintenance(now)
        mono = time.monotonic()
        for channel in list(self.active_channels.values()):
            if not channel.requests and channel.overdue(mono, self.request_deadline):
                channel.will_close = True  # closed by the loop on its next pass

    def readable(self) -> bool:
        if self.accepting and len(self._map) >= self.adj.connection_limit:
            self._evict(len(self._map) - self.adj.connection_limit + 1)
        return super().readable()

    def _evict(self, count: int) -> None:
        """Close the oldest connections that are not being answered, to admit new ones."""
        idle = [
            c
            for c in self.active_channels.values()
            if not c.requests and not c.will_close and isinstance(c, DeadlineChannel)
        ]
        idle.sort(key=lambda c: c.creation_time)
        for channel in idle[:count]:
            channel.will_close = True
            self._evicted += 1
            if self._evicted in (1, 10, 100) or self._evicted % 1000 == 0:
                log.warning(
                    "connection limit (%d) reached: dropped %d idle or slow connections so far",
                    self.adj.connection_limit,
                    self._evicted,
                )


def make_server(app: Any, host: str, port: int, **overrides: Any) -> HardenedServer:
    """The HTTP server `serve --http` runs; `overrides` replace entries of LIMITS (tests)."""
    return HardenedServer(app, host=host, port=port, **{**LIMITS, **overrides})
