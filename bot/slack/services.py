"""What every listener needs (`Services`), apart from the app that wires them.

Listeners import this module, and `bot.slack.app` imports the listeners, so keeping
`Services` here keeps the import graph one-way: app -> listeners -> services.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from slack_sdk import WebClient

from bot.config import Settings
from bot.engine.topics import Catalogue
from bot.engine.types import Answer
from bot.observability.metrics import ERRORS
from bot.observability.questions import record_question
from bot.slack import blocks
from bot.slack.dedupe import Deduper
from bot.slack.mrkdwn import plain_question
from bot.store import Store
from bot.store.health import StoreUnavailable

log = logging.getLogger(__name__)


class EngineLike(Protocol):
    """The part of `bot.engine.engine.Engine` the Slack layer uses."""

    def answer(
        self, question: str, *, history: Sequence[str] = (), k: int | None = None
    ) -> Answer: ...

    def topics(self) -> list[str]: ...

    def catalogue(self) -> Catalogue: ...

    @property
    def chunk_count(self) -> int: ...


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

    def draft(self, question: str, history: Sequence[str] = ()) -> Answer:
        """The engine's answer to what a user typed in Slack: the engine reads plain text,
        so Slack markup goes here. Failures in a row are counted (/healthz turns 503 while
        answering keeps failing)."""
        try:
            answer = self.engine.answer(
                plain_question(question), history=[plain_question(h) for h in history]
            )
        except Exception:
            self.failures += 1
            raise
        self.failures = 0
        return answer

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
        answer = self.draft(question, history)
        if not answer.latency_ms:  # engines that do not time themselves
            answer.latency_ms = (time.perf_counter() - started) * 1000
        interaction_id = record_question(
            self.store, surface=surface, answer=answer, user=user, channel=channel
        )
        topics = [] if answer.answered else (answer.topics or self.topics())
        message = blocks.render_answer(
            answer,
            interaction_id=interaction_id,
            topics=topics,
            echo_question=echo_question,
            asker=user if echo_question else None,
            shareable=shareable,
            in_channel=channel.startswith(("C", "G")),
        )
        return message, interaction_id, answer

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=False)
        self.io_pool.shutdown(wait=True, cancel_futures=False)
