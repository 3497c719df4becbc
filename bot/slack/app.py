"""Build the Bolt app: clients, after-ack worker pool, listeners.

Listeners only parse the Slack payload, claim it (dedupe) and hand the slow part
(engine, Web API calls) to a worker pool, so Slack gets its ack in milliseconds
(`process_before_response=True`: the ack is sent when the listener returns, with no
polling) in both HTTP and Socket Mode.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlparse

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from bot.config import Settings
from bot.engine.topics import Catalogue
from bot.engine.types import Answer
from bot.observability.metrics import ERRORS, SLACK_API_ERRORS
from bot.observability.metrics import EVENTS as EVENTS  # re-exported: listeners import it here
from bot.observability.questions import record_question
from bot.slack import blocks
from bot.slack.dedupe import Deduper
from bot.store import Store
from bot.store.health import StoreUnavailable

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://slack.com/api/"


class EngineLike(Protocol):
    """The part of `bot.engine.engine.Engine` the Slack layer uses."""

    def answer(
        self, question: str, *, history: Sequence[str] = (), k: int | None = None
    ) -> Answer: ...

    def topics(self) -> list[str]: ...

    def catalogue(self) -> Catalogue: ...

    @property
    def chunk_count(self) -> int: ...


@dataclass(frozen=True)
class SlackEnv:
    """Slack credentials and endpoint, read from the environment (or .env, loaded by the CLI)."""

    bot_token: str = ""
    app_token: str = ""
    signing_secret: str = ""
    api_url: str = DEFAULT_API_URL

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> SlackEnv:
        env = dict(os.environ if env is None else env)
        api_url = env.get("SLACK_API_URL", "").strip() or DEFAULT_API_URL
        return cls(
            bot_token=env.get("SLACK_BOT_TOKEN", "").strip(),
            app_token=env.get("SLACK_APP_TOKEN", "").strip(),
            signing_secret=env.get("SLACK_SIGNING_SECRET", "").strip(),
            api_url=api_url if api_url.endswith("/") else api_url + "/",
        )


class ApiErrorCounter(RetryHandler):
    """Counts failed Web API calls by method; it never retries.

    Last in the retry chain, it is consulted only when no handler before it retries, so
    it sees each call's final outcome once: 429s and 5xx after the retries ran out,
    connection errors, and `ok: false` answers. Bolt copies `retry_handlers` into the
    client it makes per request, so listener calls are counted too.
    """

    def can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        body = response.body if response is not None else None
        failed = (
            error is not None
            or response is None
            or response.status_code >= 400
            or (isinstance(body, dict) and body.get("ok") is False)
        )
        if failed:
            SLACK_API_ERRORS.labels(api_method(request.url)).inc()
        return False


def api_method(url: str) -> str:
    """'chat.postMessage' from https://slack.com/api/chat.postMessage?x=1."""
    return urlparse(url).path.rstrip("/").rsplit("/", 1)[-1] or "unknown"


def make_client(token: str | None, api_url: str = DEFAULT_API_URL) -> WebClient:
    """A WebClient on `api_url` retrying 429s (Retry-After), 5xx and connection errors."""
    client = WebClient(token=token, base_url=api_url, timeout=10)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=2))
    client.retry_handlers.append(ServerErrorRetryHandler(max_retry_count=2))
    client.retry_handlers.append(ApiErrorCounter())  # last: sees final outcomes only
    return client


@dataclass
class Services:
    """What every listener needs; built once per app."""

    settings: Settings
    engine: EngineLike
    store: Store
    client: WebClient
    deduper: Deduper
    pool: ThreadPoolExecutor
    io_pool: ThreadPoolExecutor
    failures: int = 0  # answers failed in a row
    writer: Any = None  # bot.llm.writer.Writer when LLM_BASE_URL is set (answers stream)

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Future[Any]:
        """Run slow work after the ack; errors are logged, never lost silently."""

        def guarded() -> Any:
            try:
                return fn(*args, **kwargs)
            except StoreUnavailable as exc:  # the outage itself was logged once
                ERRORS.inc()
                log.info("after-ack work %s skipped: %s", getattr(fn, "__name__", fn), exc)
                return None
            except Exception:
                ERRORS.inc()
                log.exception("after-ack work %s failed", getattr(fn, "__name__", fn))
                return None

        return self.pool.submit(guarded)

    def background(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Future[Any]:
        """Fire-and-forget Web API side calls (reactions) off the answer's critical path."""

        def guarded() -> Any:
            try:
                return fn(*args, **kwargs)
            except Exception as exc:  # cosmetic calls: a failure is worth a line, not more
                log.info("side call %s failed: %s", getattr(fn, "__name__", fn), exc)
                return None

        try:
            return self.io_pool.submit(guarded)
        except RuntimeError:  # shutting down: do it now rather than leave a stray 👀
            done: Future[Any] = Future()
            done.set_result(guarded())
            return done

    def topics(self) -> list[str]:
        """The engine's topics (computed once per index, so always current after a reload)."""
        return list(self.engine.topics())

    def ask(
        self,
        question: str,
        *,
        surface: str,
        history: Sequence[str] = (),
        user: str = "",
        channel: str = "",
        echo_question: bool = False,
        shareable: bool = False,
    ) -> tuple[dict[str, Any], int | None, Answer]:
        """Question in, rendered message out; every question is recorded (its id keys the
        feedback buttons)."""
        started = time.perf_counter()
        try:
            answer = self.engine.answer(question, history=list(history))
        except Exception:
            self.failures += 1  # /healthz turns 503 while answering keeps failing
            raise
        self.failures = 0
        if not answer.latency_ms:  # engines that do not time themselves
            answer.latency_ms = (time.perf_counter() - started) * 1000
        answer_id = record_question(
            self.store, surface=surface, answer=answer, user=user, channel=channel
        )
        topics = [] if answer.answered else (answer.topics or self.topics())
        message = blocks.render_answer(
            answer,
            answer_id=answer_id,
            topics=topics,
            echo_question=echo_question,
            asker=user if echo_question else None,
            shareable=shareable,
            in_channel=channel.startswith(("C", "G")),
        )
        return message, answer_id, answer

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=False)
        self.io_pool.shutdown(wait=True, cancel_futures=False)


class _DropClientTokenWarning(logging.Filter):
    """Bolt warns that SLACK_BOT_TOKEN is unused when a client is given; that is intended."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


def build_app(
    settings: Settings,
    engine: EngineLike,
    store: Store,
    *,
    client: WebClient | None = None,
    token_verification: bool = True,
    slack: SlackEnv | None = None,
    workers: int | None = None,
    writer: Any = None,
) -> App:
    """A ready Bolt app; `app.opsbot` holds its `Services` (pools to close on shutdown)."""
    from bot.slack.listeners import register_all

    slack = slack or SlackEnv.from_env()
    if client is None:
        client = make_client(slack.bot_token or None, slack.api_url)
    workers = workers or max(4, min(8, 2 * (os.cpu_count() or 2)))  # I/O waits, 429 sleeps
    logging.getLogger("slack_bolt.App").addFilter(_DropClientTokenWarning())
    app = App(
        name="opsbot",
        client=client,
        signing_secret=slack.signing_secret,
        token_verification_enabled=token_verification,
        process_before_response=True,
        listener_executor=ThreadPoolExecutor(4, thread_name_prefix="bolt"),
    )
    services = Services(
        settings=settings,
        engine=engine,
        store=store,
        client=client,
        deduper=Deduper(store),
        pool=ThreadPoolExecutor(workers, thread_name_prefix="answer"),
        io_pool=ThreadPoolExecutor(4, thread_name_prefix="slack-io"),
        writer=writer,
    )
    register_all(app, services)
    app.opsbot = services  # type: ignore[attr-defined]
    return app
