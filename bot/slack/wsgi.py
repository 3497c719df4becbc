"""The HTTP side of `opsbot serve --http`: one WSGI app for waitress.

POST /slack/events goes to Bolt once its signature checks out (before the body is
parsed, so junk never reaches Bolt); GET /healthz and GET /metrics are for operators.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlencode

from slack_bolt import App, BoltRequest
from slack_bolt.request.internals import parse_body

from bot.observability import metrics
from bot.slack.shapes import Unusable, repair

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
MAX_BODY_BYTES = 1_000_000  # Slack payloads are far smaller; a 50 KB question still fits
MAX_CLOCK_SKEW = 300  # seconds, as Slack documents for replay protection

StartResponse = Callable[..., Any]


class SlackWSGI:
    """POST /slack/events → Bolt, GET /healthz, GET /metrics, anything else → 404.

    Once `draining` is set (SIGTERM), events get 503 so Slack retries them elsewhere,
    and /healthz says so to load balancers; `wait_idle` waits for requests in progress.
    """

    def __init__(self, app: App, signing_secret: str, health: Callable[[], dict]) -> None:
        self.app = app
        self.secret = signing_secret.encode()
        self.health = health
        self.draining = threading.Event()
        self._active = 0
        self._idle = threading.Condition()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        with self._idle:
            self._active += 1
        try:
            status, headers, body = self.route(environ)
        finally:
            with self._idle:
                self._active -= 1
                self._idle.notify_all()
        if environ.get("PATH_INFO") == EVENTS_PATH:
            metrics.ACK_SECONDS.observe(time.perf_counter() - started)
        data = body.encode("utf-8")
        headers = [*headers, ("Content-Length", str(len(data)))]
        start_response(f"{status} {REASONS.get(status, 'Error')}", headers)
        return [data]

    def wait_idle(self, timeout: float) -> bool:
        """True once no request is being handled (new events already get 503)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._active == 0, timeout)

    def unauthenticated(self, data: bytes, headers: dict[str, str]) -> str:
        """Why the request is not Slack's ('' when the signature checks out).

        Checked on the raw bytes, before decoding, and defensively: header values are
        attacker-chosen, so a "digit" like ² or a 5,000-digit timestamp is just a 401.
        """
        timestamp = headers.get("x-slack-request-timestamp", "")
        signature = headers.get("x-slack-signature", "")
        if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
            return "missing or malformed timestamp"
        if not (signature.isascii() and signature.startswith("v0=") and len(signature) <= 100):
            return "missing or malformed signature"
        if abs(time.time() - int(timestamp)) > MAX_CLOCK_SKEW:
            return "stale timestamp"
        expected = "v0=" + _digest(self.secret, timestamp, data)
        valid = hmac.compare_digest(expected.encode(), signature.encode())
        return "" if valid else "bad signature"

    def resign(self, raw: str, body: dict[str, Any], headers: dict[str, str]) -> str:
        """Re-serialize a repaired payload and sign it again, so Bolt's own check passes."""
        if raw.lstrip().startswith("{"):
            raw = json.dumps(body)
        else:
            raw = urlencode({"payload": json.dumps(body)})
        timestamp = headers["x-slack-request-timestamp"]
        headers["x-slack-signature"] = "v0=" + _digest(self.secret, timestamp, raw.encode())
        return raw

    def route(self, environ: dict[str, Any]) -> tuple[int, list[tuple[str, str]], str]:
        method, path = environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "")
        if path == "/healthz" and method in ("GET", "HEAD"):
            if self.draining.is_set():
                return 503, [("Content-Type", "application/json")], '{"status": "stopping"}'
            health = self.health()
            status = 503 if health.get("status") == "failing" else 200
            return status, [("Content-Type", "application/json")], json.dumps(health)
        if path == "/metrics" and method in ("GET", "HEAD"):
            exposition, content_type = metrics.render_metrics()
            return 200, [("Content-Type", content_type)], exposition.decode("utf-8")
        if path != EVENTS_PATH:
            return _text(404, "Not Found")
        if method != "POST":
            return _text(405, "Method Not Allowed")
        if self.draining.is_set():
            status, plain, text = _text(503, "Shutting down")
            return status, [*plain, ("Retry-After", "1")], text
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return _text(400, "Bad Request")
        if length < 0 or length > MAX_BODY_BYTES:
            return _text(413, "Payload Too Large")
        try:
            data = environ["wsgi.input"].read(length)
        except OSError:
            return _text(400, "Bad Request")
        headers = {
            key[5:].replace("_", "-").lower(): value
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        headers["content-type"] = environ.get("CONTENT_TYPE", "")
        problem = self.unauthenticated(data, headers)
        if problem:
            log.info("rejected an unsigned Slack request: %s", problem)
            return _text(401, "Unauthorized")
        try:
            raw = data.decode("utf-8")
        except UnicodeDecodeError:
            log.warning("signed Slack request body is not UTF-8 (%d bytes)", length)
            return _text(400, "Bad Request")
        try:
            content_type = headers["content-type"].split(";")[0].strip()
            body = parse_body(raw, content_type)
            try:
                well_formed(body)
            except ValueError as exc:  # parsed, signed, but not a shape we can act on
                raise Unusable(str(exc)) from None
            if repair(body):
                raw = self.resign(raw, body, headers)
            request = BoltRequest(body=raw, query=environ.get("QUERY_STRING", ""), headers=headers)
        except Unusable as exc:  # signed, but nothing to act on and nobody to answer
            log.info("acked a Slack payload with nothing to act on: %s", exc)
            return 200, [], ""
        except Exception:  # malformed JSON or form payload, even when signed
            log.warning("malformed Slack request body (%d bytes)", length)
            return _text(400, "Bad Request")
        try:
            response = self.app.dispatch(request)
        except Exception:
            log.exception("dispatch failed")
            return _text(500, "Internal Server Error")
        out = [(k, v) for k, values in response.headers.items() for v in values]
        out = [(k, v) for k, v in out if k.lower() != "content-length"]
        return response.status, out, response.body or ""


_OBJECT_KEYS = ("event", "team", "user", "channel", "container", "message", "view", "enterprise")


def well_formed(body: object) -> None:
    """Raise ValueError unless the payload has the shape Bolt's middleware relies on."""
    if not isinstance(body, dict):
        raise ValueError("payload is not an object")
    for key in _OBJECT_KEYS:
        if key in body and body[key] is not None and not isinstance(body[key], (dict, str)):
            raise ValueError(f"{key} has the wrong type")
    if not isinstance(body.get("event", {}), dict):
        raise ValueError("event is not an object")


REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found"}
REASONS |= {405: "Method Not Allowed", 413: "Payload Too Large", 500: "Internal Server Error"}
REASONS |= {503: "Service Unavailable"}


def _digest(secret: bytes, timestamp: str, body: bytes) -> str:
    """Slack's request signature: HMAC-SHA256 of b"v0:<timestamp>:<raw body>"."""
    message = b"v0:" + timestamp.encode("ascii") + b":" + body
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def _text(status: int, text: str) -> tuple[int, list[tuple[str, str]], str]:
    return status, [("Content-Type", "text/plain; charset=utf-8")], text
