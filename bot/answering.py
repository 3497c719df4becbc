"""The one answer step every surface calls: question → scope → engine → optional LLM → record.

Slack (mentions, DMs, threads, /opsbot, the assistant pane), `opsbot ask` and `opsbot chat`
all come through `Answerer.answer`, so a rule about who may see what, or what is recorded,
lives here once and a surface added later cannot skip it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from bot.access import Access, Asker
from bot.engine.scope import Scope
from bot.engine.types import Answer
from bot.observability.questions import record_question

if TYPE_CHECKING:
    from bot.llm.writer import Outcome
    from bot.store import Store

OnText = Callable[[str], None]


class EngineLike(Protocol):
    """The part of `bot.engine.engine.Engine` the answer step uses."""

    def answer(
        self,
        question: str,
        *,
        history: Sequence[str] = (),
        k: int | None = None,
        scope: Scope | None = None,
    ) -> Answer: ...


@dataclass
class Reply:
    """One answered (or declined) question, as recorded."""

    answer: Answer
    interaction_id: int | None
    scope: Scope | None
    outcome: Outcome | None = None  # when an LLM was asked

    @property
    def changed(self) -> bool:
        """The answer differs from the text streamed while it was written."""
        return bool(self.outcome and self.outcome.changed)


class Answerer:
    """Engine, access rules, store and optional writer, shared by every surface."""

    def __init__(
        self, engine: EngineLike, access: Access, store: Store | None = None, writer: Any = None
    ) -> None:
        self.engine = engine
        self.access = access
        self.store = store
        self.writer = writer  # bot.llm.writer.Writer when LLM_BASE_URL is set

    def draft(
        self, question: str, asker: Asker, history: Sequence[str] = (), k: int | None = None
    ) -> tuple[Answer, Scope | None]:
        """The engine's answer from only what the asker may see here."""
        scope = self.access.scope(asker)
        return self.engine.answer(question, history=history, k=k, scope=scope), scope

    def answer(
        self,
        question: str,
        asker: Asker,
        *,
        history: Sequence[str] = (),
        k: int | None = None,
        on_draft: Callable[[Answer], OnText | None] | None = None,
        record: bool = True,
    ) -> Reply:
        """Answer, write with the LLM if there is one (`on_draft` may return where the
        text streams to), and record the question for feedback and reports."""
        started = time.perf_counter()
        answer, scope = self.draft(question, asker, history, k)
        outcome = None
        if self.writer is not None:
            on_text = on_draft(answer) if on_draft is not None else None
            outcome = self.writer.write(
                answer, history=history, on_text=on_text, surface=asker.surface
            )
            answer = outcome.answer
        if (outcome is not None and outcome.asked) or not answer.latency_ms:
            answer.latency_ms = (time.perf_counter() - started) * 1000
        interaction_id = None
        if record:
            interaction_id = record_question(
                self.store,
                surface=asker.surface,
                answer=answer,
                user=asker.user,
                channel=asker.channel,
            )
        return Reply(answer, interaction_id, scope, outcome)
