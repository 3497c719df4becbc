"""The one hook every surface calls after the engine answers: store, count, time, log.

Keeping it in one function means Slack, the terminal chat and any future surface
record the same row, the same metrics and the same log line.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from bot.engine.types import Answer
from bot.observability.metrics import ANSWER_SECONDS, QUESTIONS
from bot.store.health import StoreUnavailable
from bot.store.records import Interaction

if TYPE_CHECKING:
    from bot.store import Store

log = logging.getLogger("opsbot.questions")

SURFACES = ("mention", "dm", "command", "chat", "assistant", "thread", "channel", "cli")


def source_dict(source: Any) -> dict[str, Any]:
    """What the store keeps of a source: where it is, never the passage text."""
    keys = ("path", "title", "heading", "score", "url")
    return {k: getattr(source, k) for k in keys if getattr(source, k, None) is not None}


def record_question(
    store: Store | None, *, surface: str, answer: Answer, user: str = "", channel: str = ""
) -> int | None:
    """Record one interaction; its id (None if it could not be stored) is the feedback key.

    A store failure is logged and swallowed: the user still gets the answer. The log line
    never carries the question text (users paste secrets); its id leads to the stored row,
    which honours STORE_QUESTIONS.
    """
    outcome = "answered" if answer.answered else "declined"
    QUESTIONS.labels(surface, outcome).inc()
    ANSWER_SECONDS.labels(surface).observe(answer.latency_ms / 1000)
    sources = [source_dict(s) for s in answer.sources]
    interaction_id: int | None = None
    if store is not None:
        record = Interaction(
            question=answer.question,
            answer=answer.answer,
            sources=sources,
            answered=answer.answered,
            user_id=str(user or ""),  # odd payloads must not cost the row
            channel=str(channel or ""),
            surface=surface,
            top_score=round(float(answer.top_score), 4),
            latency_ms=round(answer.latency_ms, 2),
            truncated=answer.truncated,
        )
        try:
            interaction_id = store.save_interaction(record)
        except StoreUnavailable:
            pass  # the outage was logged once, when it began
        except Exception:
            log.warning("could not store a %s question", surface, exc_info=True)
    paths = [s["path"] for s in sources if s.get("path")]
    extra: dict[str, Any] = {
        "question_id": interaction_id,  # the log field keeps its published name
        "surface": surface,
        "latency_ms": round(answer.latency_ms, 1),
        "outcome": outcome,
        "top_score": round(float(answer.top_score), 2),
        "sources": paths,
    }
    log.info(
        "question %s surface=%s %s %.1fms top=%.2f sources=%s",
        interaction_id if interaction_id is not None else "-",
        surface,
        outcome,
        answer.latency_ms,
        answer.top_score,
        ",".join(paths) or "-",
        extra=extra,
    )
    return interaction_id
