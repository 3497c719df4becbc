"""`opsbot serve`: check tokens, load the engine, then connect (Socket Mode) or listen (HTTP).

The engine loads before any connection, so the first question is as fast as the
hundredth. HTTP mode runs on waitress (threaded, production-grade) with one Slack
endpoint; signatures are checked before a body is parsed, so junk never reaches Bolt.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlparse

from prometheus_client import Histogram
from slack_bolt import App, BoltRequest
from slack_bolt.error import BoltError
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier

from bot.config import ConfigError, Settings, load_dotenv_once
from bot.slack.app import SlackEnv, build_app, make_client

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
MAX_BODY_BYTES = 1_000_000  # Slack payloads are far smaller; a 50 KB question still fits
SEE = "see README 'Connect to Slack'"
ACK_SECONDS = Histogram(
    "opsbot_slack_ack_seconds", "HTTP ack latency", buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 1)
)

StartResponse = Callable[..., Any]


def check_tokens(slack: SlackEnv, *, http: bool) -> None:
    """One-line ConfigError naming the first missing or malformed variable."""
    if not slack.bot_token.startswith("xoxb-") or len(slack.bot_token) <= len("xoxb-"):
        raise ConfigError(f"SLACK_BOT_TOKEN is missing or not an xoxb- token; {SEE}")
    if http and not slack.signing_secret:
        raise ConfigError(f"SLACK_SIGNING_SECRET is missing (needed for --http); {SEE}")
    if not http and (not slack.app_token.startswith("xapp-") or len(slack.app_token) <= 5):
        raise ConfigError(
            f"SLACK_APP_TOKEN is missing or not an xapp- token (needed for Socket Mode); {SEE}"
        )
    parsed = urlparse(slack.api_url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError(f"SLACK_API_URL must be an http(s) URL, got {slack.api_url!r}")


class SlackWSGI:
    """POST /slack/events → Bolt, GET /healthz → 200, anything else → 404."""

    def __init__(self, app: App, signing_secret: str, health: Callable[[], dict]) -> None:
        self.app = app
        self.verifier = SignatureVerifier(signing_secret)
        self.health = health

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        status, headers, body = self.route(environ)
        if environ.get("PATH_INFO") == EVENTS_PATH:
            ACK_SECONDS.observe(time.perf_counter() - started)
        data = body.encode("utf-8")
        headers = [*headers, ("Content-Length", str(len(data)))]
        start_response(f"{status} {REASONS.get(status, 'Error')}", headers)
        return [data]

    def route(self, environ: dict[str, Any]) -> tuple[int, list[tuple[str, str]], str]:
        method, path = environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "")
        if path == "/healthz" and method in ("GET", "HEAD"):
            return 200, [("Content-Type", "application/json")], json.dumps(self.health())
        if path != EVENTS_PATH:
            return _text(404, "Not Found")
        if method != "POST":
            return _text(405, "Method Not Allowed")
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return _text(400, "Bad Request")
        if length < 0 or length > MAX_BODY_BYTES:
            return _text(413, "Payload Too Large")
        try:
            raw = environ["wsgi.input"].read(length).decode("utf-8")
        except (UnicodeDecodeError, OSError):
            return _text(400, "Bad Request")
        headers = {
            key[5:].replace("_", "-").lower(): value
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        headers["content-type"] = environ.get("CONTENT_TYPE", "")
        timestamp = headers.get("x-slack-request-timestamp", "")
        signature = headers.get("x-slack-signature", "")
        if not timestamp.isdigit() or not self.verifier.is_valid(raw, timestamp, signature):
            return _text(401, "Unauthorized")
        try:
            request = BoltRequest(body=raw, query=environ.get("QUERY_STRING", ""), headers=headers)
            well_formed(request.body)
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
    if not isinstance(body.get("actions", []), list):
        raise ValueError("actions is not a list")


REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found"}
REASONS |= {405: "Method Not Allowed", 413: "Payload Too Large", 500: "Internal Server Error"}


def _text(status: int, text: str) -> tuple[int, list[tuple[str, str]], str]:
    return status, [("Content-Type", "text/plain; charset=utf-8")], text


def _on_signals(handler: Callable[[int, Any], None]) -> None:
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, handler)


def _exit_cleanly(_signum: int, _frame: Any) -> None:
    raise SystemExit(0)  # unwinds through the finally blocks that close pools and the store


def serve_http(app: App, slack: SlackEnv, port: int, health: Callable[[], dict]) -> None:
    import waitress

    host = os.environ.get("HOST", "0.0.0.0")
    wsgi = SlackWSGI(app, slack.signing_secret, health)
    try:
        server = waitress.create_server(
            wsgi,
            host=host,
            port=port,
            threads=8,
            ident="opsbot",
            max_request_body_size=MAX_BODY_BYTES,
            clear_untrusted_proxy_headers=True,
            channel_timeout=30,
        )
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port} ({exc.strerror or exc})") from None
    log.info("opsbot listening on http://%s:%s%s", host, port, EVENTS_PATH)
    server.run()  # the SystemExit raised by _exit_cleanly ends it; waitress drains its workers
    log.info("stopping")
    server.close()


def serve_socket(app: App, slack: SlackEnv) -> None:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    handler = SocketModeHandler(app, slack.app_token)  # uses app.client, so SLACK_API_URL too
    stopping = threading.Event()
    _on_signals(lambda signum, _frame: stopping.set())
    try:
        handler.connect()
    except SlackApiError as exc:
        error = exc.response.get("error")
        raise ConfigError(f"SLACK_APP_TOKEN was rejected by Slack ({error}); {SEE}") from None
    except OSError as exc:
        raise ConfigError(f"cannot open the Socket Mode connection ({exc})") from None
    log.info("opsbot connected to Slack (Socket Mode)")
    while not stopping.wait(0.5):
        pass
    log.info("stopping")
    handler.close()


def preflight(client: WebClient, api_url: str) -> None:
    """auth.test before the model loads: a revoked token or unreachable Slack fails in one line."""
    sdk_log = logging.getLogger("slack_sdk.web.base_client")
    level = sdk_log.level
    sdk_log.setLevel(logging.CRITICAL)  # its per-attempt errors would repeat ours
    try:
        client.auth_test()
    except SlackApiError as exc:
        error = exc.response.get("error")
        raise ConfigError(f"SLACK_BOT_TOKEN was rejected by Slack ({error}); {SEE}") from None
    except OSError as exc:
        reason = getattr(exc, "reason", exc)
        raise ConfigError(
            f"cannot reach Slack at {api_url} ({reason}); check SLACK_API_URL"
        ) from None
    finally:
        sdk_log.setLevel(level)


def start_metrics(port: int) -> None:
    from prometheus_client import start_http_server

    try:
        start_http_server(port)
    except OSError as exc:
        raise ConfigError(f"cannot serve metrics on port {port} ({exc.strerror or exc})") from None


def run(settings: Settings, *, http: bool, port: int, metrics_port: int | None = None) -> int:
    """Entry point of `opsbot serve`; returns the exit code. Config problems raise ConfigError."""
    from bot.engine.engine import Engine
    from bot.store import open_store

    _on_signals(_exit_cleanly)  # Ctrl-C / SIGTERM exit 0 at any point, even while loading
    load_dotenv_once()
    slack = SlackEnv.from_env()
    check_tokens(slack, http=http)
    if http and not 0 < port < 65536:
        raise ConfigError(f"--port must be between 1 and 65535, got {port}")
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")  # if unset
    if logging.getLogger("bot.slack").level == logging.NOTSET:
        logging.getLogger("bot.slack").setLevel(logging.INFO)  # a server says where it listens
    client = make_client(slack.bot_token, slack.api_url)
    preflight(client, slack.api_url)
    store = open_store(settings)
    log.info("loading the engine")
    engine = Engine.open(settings)
    try:
        app = build_app(settings, engine, store, client=client, slack=slack)
    except (BoltError, OSError) as exc:
        log.error("cannot start the Slack app: %s", str(exc)[:300])
        return 1
    try:
        if metrics_port:
            start_metrics(metrics_port)
        if http:
            serve_http(app, slack, port, lambda: {"status": "ok", "chunks": engine.chunk_count})
        else:
            serve_socket(app, slack)
    finally:
        app.opsbot.close()  # type: ignore[attr-defined]
        store.close()
    return 0
