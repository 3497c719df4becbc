"""`opsbot serve`: check tokens, load the engine, then connect (Socket Mode) or listen (HTTP).

The engine loads before any connection, so the first question is as fast as the
hundredth. HTTP mode runs on waitress (threaded, production-grade) with one Slack
endpoint (bot/slack/wsgi.py). While serving, a KnowledgeWatcher keeps the index in
step with the knowledge dir, and SIGTERM drains in-flight answers before exiting
(bot/slack/shutdown.py).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from slack_bolt import App
from slack_bolt.error import BoltError
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.config import ConfigError, Settings, load_dotenv_once
from bot.observability import metrics
from bot.observability.logs import configure_logging, redactor_from_env
from bot.observability.urls import safe_url
from bot.slack.app import SlackEnv, build_app, make_client
from bot.slack.shutdown import GracefulStop, drain
from bot.slack.wsgi import EVENTS_PATH, SlackWSGI
from bot.store.health import MonitoredStore

if TYPE_CHECKING:
    from bot.engine.engine import Engine
    from bot.reload import KnowledgeWatcher, ReloadResult

__all__ = ["SlackWSGI", "check_tokens", "run"]

log = logging.getLogger(__name__)

SEE = "see README 'Connect to Slack'"
FAILING_AFTER = 3  # answers failed in a row before /healthz says 503


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
        shown = safe_url(slack.api_url)
        raise ConfigError(f"SLACK_API_URL must be an http(s) URL, got {shown!r}")


def _on_signals(handler: Callable[[int, Any], None]) -> None:
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, handler)


def _exit_cleanly(_signum: int, _frame: Any) -> None:
    raise SystemExit(0)  # while loading: unwinds through the finally blocks that close things


def serve_http(
    app: App, slack: SlackEnv, port: int, health: Callable[[], dict], stop: GracefulStop
) -> None:
    """Serve until SIGTERM; then 503 new events, drain in a thread, and end the loop."""
    from bot.slack.httpserver import make_server

    host = os.environ.get("HOST", "0.0.0.0")
    wsgi = SlackWSGI(app, slack.signing_secret, health)
    try:
        server = make_server(wsgi, host, port)
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port} ({exc.strerror or exc})") from None

    def drain_then_stop() -> None:
        if not wsgi.wait_idle(stop.remaining()):
            log.warning("requests still being handled at the shutdown deadline")
        drain(app.opsbot, stop)  # type: ignore[attr-defined]
        stop.wake_main()

    def begin() -> None:
        wsgi.draining.set()
        threading.Thread(target=drain_then_stop, name="drain", daemon=True).start()

    stop.on_request(begin)
    stop.install()
    log.info("opsbot listening on http://%s:%s%s", host, port, EVENTS_PATH)
    server.run()  # returns on the SystemExit raised by the signal handler once drained
    log.info("stopping")
    server.close()


def serve_socket(app: App, slack: SlackEnv, stop: GracefulStop) -> None:
    """Serve until SIGTERM; then close the connection (Slack redelivers unacked envelopes
    to another connection) and let `run` drain the answers already acked."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    handler = SocketModeHandler(app, slack.app_token)  # uses app.client, so SLACK_API_URL too
    stop.install()
    try:
        handler.connect()
    except SlackApiError as exc:
        error = exc.response.get("error")
        raise ConfigError(f"SLACK_APP_TOKEN was rejected by Slack ({error}); {SEE}") from None
    except OSError as exc:
        raise ConfigError(f"cannot open the Socket Mode connection ({exc})") from None
    log.info("opsbot connected to Slack (Socket Mode)")
    try:
        while not stop.requested.wait(0.5):
            pass
    finally:
        log.info("closing the Socket Mode connection")
        closing = time.monotonic()
        handler.close()  # also waits for listeners still acking
        log.info("Socket Mode connection closed (%.1fs)", time.monotonic() - closing)


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


def start_metrics(port: int, health: Callable[[], dict] | None = None) -> None:
    """/metrics (Prometheus) and /healthz on one port, in a daemon thread. Socket Mode has
    no HTTP server of its own, so this is where an orchestrator's probe looks."""
    import json
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    from prometheus_client import make_wsgi_app
    from prometheus_client.exposition import ThreadingWSGIServer

    metrics_app = make_wsgi_app()

    def app(environ: dict, start_response: Callable) -> list[bytes]:
        if environ.get("PATH_INFO") == "/healthz" and health is not None:
            state = health()
            body = json.dumps(state).encode()
            headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
            failing = state.get("status") == "failing"  # same rule as the HTTP-mode /healthz
            start_response("503 Service Unavailable" if failing else "200 OK", headers)
            return [body]
        return metrics_app(environ, start_response)

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args: Any) -> None:  # probes every few seconds: not worth a line
            pass

    try:
        server = make_server("0.0.0.0", port, app, ThreadingWSGIServer, handler_class=Quiet)
    except OSError as exc:
        raise ConfigError(f"cannot serve metrics on port {port} ({exc.strerror or exc})") from None
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()


def run(settings: Settings, *, http: bool, port: int, metrics_port: int | None = None) -> int:
    """Entry point of `opsbot serve`; returns the exit code. Config problems raise ConfigError."""
    from bot.engine.engine import Engine
    from bot.reload import KnowledgeWatcher
    from bot.store import open_store

    _on_signals(_exit_cleanly)  # Ctrl-C / SIGTERM exit 0 at any point, even while loading
    load_dotenv_once()
    configure_logging(settings.log_format, logging.INFO)  # after .env: it knows the secrets
    slack = SlackEnv.from_env()
    check_tokens(slack, http=http)
    if http and not 0 < port < 65536:
        raise ConfigError(f"--port must be between 1 and 65535, got {port}")
    from bot.access import check_config
    from bot.settings_file import LiveConfig

    config = LiveConfig(check=check_config(settings))  # a bad opsbot.toml stops the start
    stop = GracefulStop(settings.shutdown_timeout)
    client = make_client(slack.bot_token, slack.api_url)
    preflight(client, slack.api_url)
    writer = _open_writer(settings)
    store = MonitoredStore(open_store(settings))
    log.info("loading the engine")
    engine = Engine.open(settings, notify=log.info)
    metrics.record_index(engine.index)
    metrics.record_reload(ok=True, changed=True, at=time.time())
    try:
        app = build_app(
            settings, engine, store, client=client, slack=slack, writer=writer, config=config
        )
    except (BoltError, OSError) as exc:
        log.error("cannot start the Slack app: %s", str(exc)[:300])
        store.close()
        return 1
    watcher = KnowledgeWatcher(engine, settings, on_result=reload_metrics(engine), config=config)
    watcher.install_sighup()
    watcher.start()
    drained = False
    try:
        checks = health(engine, watcher, store, app.opsbot)  # type: ignore[attr-defined]
        if metrics_port:
            start_metrics(metrics_port, checks)
        if http:
            serve_http(app, slack, port, checks, stop)
        else:
            serve_socket(app, slack, stop)
    finally:
        watcher.stop()
        drained = drain(app.opsbot, stop)  # type: ignore[attr-defined]
        store.close()
        log.info("stopped")
    if not drained:  # stuck workers are non-daemon threads: do not wait for them at exit
        logging.shutdown()
        os._exit(0)
    return 0


def reload_metrics(engine: Engine) -> Callable[[ReloadResult], None]:
    """The watcher's on_result: reload counters, and index size when it changed."""

    def on_result(result: ReloadResult) -> None:
        metrics.record_reload(ok=result.ok, changed=result.changed, at=result.at)
        if result.changed:
            metrics.record_index(engine.index)

    return on_result


def _open_writer(settings: Settings) -> Any:
    """LLM check before the model loads: a bad URL, key or model fails in one line."""
    from bot.index.embedder import open_embedder
    from bot.llm import open_writer

    writer = open_writer(open_embedder(settings))
    if writer is not None:
        log.info("generated answers from %s on %s", writer.model, writer.settings.host)
    return writer


def health(
    engine: Engine,
    watcher: KnowledgeWatcher,
    store: MonitoredStore | None = None,
    services: Any = None,
) -> Callable[[], dict]:
    """GET /healthz: alive, plus what the index holds, how the last reload went, each
    knowledge source, and whether the database answers. "failing" (HTTP 503) once
    FAILING_AFTER answers in a row failed; "degraded" (200) while the database is down or a
    source failed its last sync or has no documents, as answers still go out."""
    from bot.sources.status import health_entries, source_status

    redact = redactor_from_env()  # an error echoing a URL or a secret is scrubbed here too

    def body() -> dict:
        last = watcher.last
        reload = {"ok": last.ok, "at": last.at, "detail": last.detail} if last else None
        index = engine.index
        built = float(index.manifest.created_at)
        database = store.health() if store is not None else {"ok": True}
        failures = getattr(services, "failures", 0)
        writer = getattr(services, "writer", None)  # generated answers (LLM_BASE_URL)
        sources = source_status(engine.settings, manifest=index.manifest)
        fine = database["ok"] and all(state.healthy for state in sources)
        status = "failing" if failures >= FAILING_AFTER else "ok" if fine else "degraded"
        return redact.value(
            {
                "status": status,
                "chunks": len(index.chunks),
                "index": index.build_id,
                "index_built_at": built,
                "index_age_seconds": round(max(time.time() - built, 0.0), 1),
                "index_backend": "postgres" if watcher.follows else "local",
                "last_reload": reload,
                "database": database,
                "failed_answers_in_a_row": failures,
                "llm": writer.health() if writer is not None else None,
                "sources": health_entries(sources),  # a failed sync or 0 documents: degraded
            }
        )

    return body
