"""What every listener needs (`Services`), apart from the app that wires them.

Listeners import this module, and `bot.slack.app` imports the listeners, so keeping
`Services` here keeps the import graph one-way: app -> listeners -> services.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from slack_sdk import WebClient

from bot import answering
from bot.access import Access, Asker
from bot.answering import Answerer, OnText, Reply
from bot.config import Settings
from bot.engine.scope import Scope
from bot.engine.topics import Catalogue
from bot.engine.types import Answer
from bot.observability.metrics import ERRORS
from bot.slack import blocks, people
from bot.slack.dedupe import Deduper
from bot.slack.mrkdwn import plain_question
from bot.store import Store
from bot.store.health import StoreUnavailable

log = logging.getLogger(__name__)


class EngineLike(answering.EngineLike, Protocol):
    """The part of `bot.engine.engine.Engine` the Slack layer uses: the answer step's,
    plus what the App Home and declines show."""

    def topics(self, scope: Scope | None = None) -> list[str]: ...

    def catalogue(self, scope: Scope | None = None) -> Catalogue: ...

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
    answerer: Answerer  # the one answer step: scope, engine, LLM, record
    failures: int = 0  # answers failed in a row

    @property
    def writer(self) -> Any:
        """bot.llm.writer.Writer when LLM_BASE_URL is set (answers stream)."""
        return self.answerer.writer

    @property
    def access(self) -> Access:
        return self.answerer.access

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

    def topics(self, asker: Asker | None = None) -> list[str]:
        """The engine's topics the asker may see (computed once per index and scope)."""
        scope = self.access.scope(asker) if asker is not None else None
        return list(self.engine.topics(scope))

    def answer(
        self,
        question: str,
        asker: Asker,
        history: Sequence[str] = (),
        on_draft: Callable[[Answer], OnText | None] | None = None,
    ) -> Reply:
        """The answer step for what a user typed in Slack: the engine reads plain text, so
        Slack markup goes here. Failures in a row are counted (/healthz turns 503 while
        answering keeps failing)."""
        try:
            reply = self.answerer.answer(
                plain_question(question),
                asker,
                history=[plain_question(h) for h in history],
                on_draft=on_draft,
            )
        except Exception:
            self.failures += 1
            raise
        self.failures = 0
        return reply

    def ask(
        self,
        question: str,
        asker: Asker,
        *,
        history: Sequence[str] = (),
        echo_question: bool = False,
        shareable: bool = False,
        unprompted: bool = False,
    ) -> tuple[dict[str, Any] | None, int | None, Answer]:
        """Question in, rendered message out; every question is recorded (its id keys the
        feedback buttons). A decline to a question nobody put to opsbot (`unprompted`) is
        one short line where a person can be asked, else no message (None)."""
        reply = self.answer(question, asker, history)
        answer, interaction_id = reply.answer, reply.interaction_id
        escalate = self.escalates(asker)
        if unprompted and not answer.answered:
            return people.quiet_decline(interaction_id, escalate), interaction_id, answer
        topics = [] if answer.answered else (answer.topics or self.topics(asker))
        message = blocks.render_answer(
            answer,
            interaction_id=interaction_id,
            topics=topics,
            echo_question=echo_question,
            asker=asker.user if echo_question else None,
            shareable=shareable,
            in_channel=asker.channel.startswith(("C", "G")),
        )
        if escalate:
            message["blocks"] = people.with_escalation(message["blocks"], interaction_id)
        return message, interaction_id, answer

    def escalates(self, asker: Asker) -> bool:
        """Whether answers here carry "Ask a person" (the channel names a group)."""
        return bool(asker.channel and self.access.channel(asker.channel).escalate)

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=False)
        self.io_pool.shutdown(wait=True, cancel_futures=False)
