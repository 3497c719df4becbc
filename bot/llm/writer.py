"""Write a generated answer over the extractive draft, or fall back to the draft.

Retrieval has already decided the question is answerable; the extractive answer is
both the first draft and the fallback. A semaphore bounds calls in flight
(LLM_CONCURRENCY), so a burst of questions queues instead of overloading the server.
Every outcome is counted and logged: a fallback is never silent.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.engine.types import Answer
from bot.llm import client as llm_client
from bot.llm.gate import Gate, allowed_hosts
from bot.llm.grounding import SUPPORT_THRESHOLD, Checked, Support
from bot.llm.prompt import build_messages, says_cannot
from bot.llm.settings import LLMSettings
from bot.observability.metrics import LLM_FALLBACKS, LLM_SECONDS, LLM_TOKENS

log = logging.getLogger("opsbot.llm")

FALLBACK_REASONS = (
    "timeout",
    "http_429",
    "http_4xx",
    "http_5xx",
    "connection",
    "stream_cut",
    "bad_response",
    "empty",
    "cannot_answer",
    "unsupported",
)


@dataclass
class Outcome:
    """What happened to one question: the answer to show and how it was made."""

    answer: Answer
    generated: bool = False
    reason: str = ""  # the fallback reason; "" when generated or never asked
    raw: str = ""  # the text as the model streamed it (never shown)
    streamed: str = ""  # what on_text received: checked sentences only
    checked: Checked | None = None
    first_token_s: float | None = None
    total_s: float = 0.0
    usage: llm_client.Usage = field(default_factory=llm_client.Usage)
    asked: bool = False
    links_removed: int = 0  # links to hosts no source uses, taken out by the gate

    @property
    def changed(self) -> bool:
        """The final answer is not what was streamed (a fallback after some checked text)."""
        return self.asked and (
            not self.generated or self.answer.answer.strip() != self.streamed.strip()
        )


class Writer:
    """Generates answers with one OpenAI-compatible model; safe to share across threads."""

    def __init__(
        self,
        settings: LLMSettings,
        embedder: Any,
        *,
        client: Any = None,
        threshold: float = SUPPORT_THRESHOLD,
    ) -> None:
        self.settings = settings
        self.embedder = embedder
        self.threshold = threshold
        self._client = client or llm_client.make_client(settings)
        self._slots = threading.BoundedSemaphore(settings.concurrency)
        self._state_lock = threading.Lock()
        self._last_ok: float | None = None
        self._last_error: dict[str, Any] | None = None
        self.checked_at = time.time()  # open_writer runs the start-up check just before

    def health(self) -> dict[str, Any]:
        """For /healthz: which model, and how the last calls went."""
        with self._state_lock:
            return {
                "model": self.settings.model,
                "server": self.settings.host,
                "checked_at": round(self.checked_at, 3),
                "last_ok_at": self._last_ok,
                "last_error": dict(self._last_error) if self._last_error else None,
            }

    @property
    def model(self) -> str:
        return self.settings.model

    def write(
        self,
        draft: Answer,
        *,
        history: Sequence[str] = (),
        on_text: Callable[[str], None] | None = None,
        surface: str = "",
    ) -> Outcome:
        """The checked generated answer, or the draft with the reason it was kept.

        `on_text` receives checked sentences only, as each passes (see bot/llm/gate.py)."""
        outcome = Outcome(answer=draft)
        if not draft.answered or not draft.sources:
            return outcome  # declines never reach the model
        outcome.asked = True
        messages = build_messages(draft.question, draft.sources, history)
        support = Support(self.embedder, draft.sources)
        hosts = allowed_hosts(draft.sources, self.settings.link_bases)
        gate = Gate(support, on_text, hosts=hosts, threshold=self.threshold)
        with self._slots:  # a burst waits here, not on the model server
            # the passages are embedded while the model reads the prompt
            threading.Thread(target=support.prepare, daemon=True).start()
            started = time.perf_counter()
            try:
                self._generate(messages, outcome, started, gate.feed)
            except llm_client.LLMError as exc:
                cut = exc.reason == "connection" and outcome.first_token_s is not None
                outcome.reason = "stream_cut" if cut else exc.reason
                log.info("LLM call failed (%s): %s", exc.reason, str(exc)[:300])
            outcome.total_s = time.perf_counter() - started
        if not outcome.reason:
            self._judge(draft, outcome, gate)
        outcome.streamed = gate.emitted
        self._record(outcome, surface)
        return outcome

    def _generate(
        self,
        messages: list[dict[str, str]],
        outcome: Outcome,
        started: float,
        on_text: Callable[[str], None],
    ) -> None:
        deadline = started + self.settings.timeout
        parts: list[str] = []
        for delta in llm_client.stream_chat(self._client, self.settings, messages, outcome.usage):
            if outcome.first_token_s is None:
                outcome.first_token_s = time.perf_counter() - started
            parts.append(delta)
            on_text(delta)
            if time.perf_counter() > deadline:
                outcome.raw = "".join(parts)
                raise llm_client.LLMError("timeout", f"over LLM_TIMEOUT={self.settings.timeout:g}s")
        outcome.raw = "".join(parts)

    def _judge(self, draft: Answer, outcome: Outcome, gate: Gate) -> None:
        text = outcome.raw.strip()
        if not text:
            outcome.reason = "empty"
            return
        if says_cannot(text):
            outcome.reason = "cannot_answer"
            return
        checked = gate.close()
        outcome.checked = checked
        outcome.links_removed = gate.links_removed
        if not checked.kept or not checked.text:
            outcome.reason = "unsupported"
            return
        outcome.generated = True
        fields: dict[str, Any] = {
            "answer": checked.text,
            "generated": True,
            "model": self.settings.model,
        }
        if hasattr(draft, "lead"):
            fields["lead"] = checked.text
        outcome.answer = dataclasses.replace(draft, **fields)

    def _record(self, outcome: Outcome, surface: str) -> None:
        usage = outcome.usage
        completion = usage.completion or usage.chunks
        LLM_SECONDS.labels("total").observe(outcome.total_s)
        if outcome.first_token_s is not None:
            LLM_SECONDS.labels("first_token").observe(outcome.first_token_s)
        if usage.prompt:
            LLM_TOKENS.labels("prompt").inc(usage.prompt)
        if completion:
            LLM_TOKENS.labels("completion").inc(completion)
        if outcome.reason:
            LLM_FALLBACKS.labels(outcome.reason).inc()
        with self._state_lock:
            now = round(time.time(), 3)
            if outcome.reason in ("", "cannot_answer", "unsupported"):  # the server worked
                self._last_ok = now
            else:
                self._last_error = {"reason": outcome.reason, "at": now}
        checked = outcome.checked
        extra = {
            "surface": surface,
            "model": self.settings.model,
            "generated": outcome.generated,
            "fallback": outcome.reason or None,
            "first_token_ms": round(outcome.first_token_s * 1000, 1)
            if outcome.first_token_s is not None
            else None,
            "llm_ms": round(outcome.total_s * 1000, 1),
            "prompt_tokens": usage.prompt,
            "completion_tokens": completion,
            "sentences_kept": checked.kept if checked else 0,
            "sentences_dropped": checked.dropped if checked else 0,
            "invalid_citations": checked.invalid_cites if checked else 0,
            "links_removed": outcome.links_removed,
        }
        log.info(
            "llm answer model=%s %s first_token=%s total=%.0fms tokens=%d+%d kept=%d dropped=%d",
            self.settings.model,
            "generated" if outcome.generated else f"fallback={outcome.reason}",
            f"{extra['first_token_ms']}ms" if extra["first_token_ms"] is not None else "-",
            extra["llm_ms"],
            usage.prompt,
            completion,
            extra["sentences_kept"],
            extra["sentences_dropped"],
            extra=extra,
        )
