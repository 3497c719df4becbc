"""Generated answers streamed into Slack while the model writes them.

In threads (mentions, DM threads, assistant threads) the text streams through slack_sdk's
`chat_stream` helper (chat.startStream / appendStream / stopStream). Where streaming is
not possible (a top-level DM has no thread to stream into; a workspace or token that
refuses the methods) one message is posted and edited with chat.update at most once a
second. Only text the grounding check has passed is streamed (bot/llm/gate.py releases
it sentence by sentence), so the streamed text is the final answer; a final chat.update
replaces it only when the answer fell back to the extractive draft. The final message
always carries the sources and the feedback buttons, once.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError

from bot.access import Asker
from bot.engine.types import Answer
from bot.slack import blocks, people

if TYPE_CHECKING:
    from bot.llm.writer import Outcome
    from bot.slack.services import Services

log = logging.getLogger(__name__)

ANSWER_EVENT_TYPE = "opsbot_answer"  # same as listeners.events: thread replies find questions
APPEND_INTERVAL = 0.5  # seconds between chat.appendStream calls
UPDATE_INTERVAL = 1.0  # seconds between chat.update edits (Slack's rate limit is ~1/s)
_SPECIAL = re.compile(r"<([!@#])")
_BROADCAST = re.compile(r"@(here|channel|everyone)\b", re.IGNORECASE)


def neutral_markdown(text: str) -> str:
    """Streamed markdown can never ping: <!channel>, <@U…>, <#C…> and @here are defused."""
    text = _SPECIAL.sub("<\u2060\\1", text)
    return _BROADCAST.sub(lambda m: "@\u2060" + m.group(1), text)


class Sink:
    """Where streamed text goes. Text is released up to the last space, so a word such
    as @here is never split across two calls (and always defused whole)."""

    interval = UPDATE_INTERVAL

    def __init__(self, client: WebClient, channel: str, thread_ts: str | None) -> None:
        self.client, self.channel, self.thread_ts = client, channel, thread_ts
        self.pending = ""
        self.sent = ""  # raw text released so far
        self.ts: str | None = None
        self.first_text_at: float | None = None
        self._last = 0.0
        self.broken = False

    def feed(self, delta: str) -> None:
        self.pending += delta
        if self.broken or " " not in self.pending and "\n" not in self.pending:
            return
        now = time.monotonic()
        if self.ts is not None and now - self._last < self.interval:
            return
        cut = max(self.pending.rfind(" "), self.pending.rfind("\n")) + 1
        chunk, self.pending = self.pending[:cut], self.pending[cut:]
        try:
            self.push(chunk)
        except (SlackApiError, SlackRequestError) as exc:
            self.broken = True
            log.info("streaming stopped (%s); the final answer is posted whole", _error(exc))
            return
        self.sent += chunk
        self._last = time.monotonic()  # paced from the end of the call, not its start
        if self.first_text_at is None:
            self.first_text_at = time.perf_counter()

    def push(self, chunk: str) -> None:
        """Show `self.sent + chunk` (posting the message on the first call)."""
        text = blocks.escape(self.sent + chunk)
        if self.ts is None:
            resp = self.client.chat_postMessage(
                channel=self.channel, thread_ts=self.thread_ts, text=text, unfurl_links=False
            )
            self.ts = resp["ts"]
        else:
            self.client.chat_update(channel=self.channel, ts=self.ts, text=text)

    def finish(
        self, message: dict[str, Any], tail: list[dict], metadata: dict, changed: bool
    ) -> None:
        """The final message: the checked answer, sources and feedback buttons."""
        if self.ts is None:
            self.client.chat_postMessage(
                channel=self.channel,
                thread_ts=self.thread_ts,
                unfurl_links=False,
                unfurl_media=False,
                metadata=metadata,
                **message,
            )
            return
        self.client.chat_update(channel=self.channel, ts=self.ts, metadata=metadata, **message)


class StreamSink(Sink):
    """chat.startStream / appendStream / stopStream through slack_sdk's ChatStream."""

    interval = APPEND_INTERVAL

    def __init__(self, client: WebClient, channel: str, thread_ts: str, **recipient: str) -> None:
        super().__init__(client, channel, thread_ts)
        # buffer_size=1: every append is sent; we pace the calls ourselves
        self.stream = client.chat_stream(
            channel=channel, thread_ts=thread_ts, buffer_size=1, **recipient
        )

    def push(self, chunk: str) -> None:
        self.stream.append(markdown_text=neutral_markdown(chunk))
        self.ts = self.stream.ts

    def finish(
        self, message: dict[str, Any], tail: list[dict], metadata: dict, changed: bool
    ) -> None:
        if self.ts is None or self.broken:  # never started, or broke: post or edit whole
            super().finish(message, tail, metadata, changed)
            return
        rest = "" if changed else neutral_markdown(self.pending)
        try:
            self.stream.stop(markdown_text=rest or None, blocks=tail, metadata=metadata)
        except (SlackApiError, SlackRequestError) as exc:  # e.g. the stream expired
            log.info("chat.stopStream failed (%s); editing the message instead", _error(exc))
            changed = True
        if changed:  # the check removed something: the checked text replaces the stream
            self.client.chat_update(channel=self.channel, ts=self.ts, metadata=metadata, **message)


def render_streamed_answer(
    answer: Answer, interaction_id: int | None, in_channel: bool = False
) -> tuple[dict[str, Any], list[dict]]:
    """The final payload, and the blocks a stream appends on stop (everything the
    answer text does not render to: sources, notes, feedback buttons). The answer's own
    sections are never in the tail: with source URLs their citations render as links, so
    they differ from the bare rendering, yet the stream already shows that text."""
    full = blocks.render_answer(answer, interaction_id=interaction_id, in_channel=in_channel)
    text_only = dataclasses.replace(answer, sources=[], truncated=False)
    bare = blocks.render_answer(text_only, in_channel=in_channel)
    seen = {json.dumps(b, sort_keys=True) for b in bare["blocks"]}
    tail = [b for b in full["blocks"] if b.get("type") != "section"]
    return full, [b for b in tail if json.dumps(b, sort_keys=True) not in seen]


class TeamIds:
    """The workspace id for chat.startStream's recipient, from auth.test, once per token."""

    def __init__(self) -> None:
        self._values: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def get(self, client: WebClient) -> str:
        key = (client.base_url, client.token or "")
        with self._lock:
            if key not in self._values:
                try:
                    self._values[key] = str(client.auth_test().get("team_id") or "")
                except SlackApiError:
                    self._values[key] = ""
            return self._values[key]


TEAM = TeamIds()


def open_sink(client: WebClient, channel: str, thread_ts: str | None, user: str) -> Sink:
    if not thread_ts:  # top-level DM: nothing to stream into; edit one message instead
        return Sink(client, channel, None)
    recipient = {"recipient_user_id": user, "recipient_team_id": TEAM.get(client)}
    return StreamSink(client, channel, thread_ts, **{k: v for k, v in recipient.items() if v})


def stream_reply(
    services: Services,
    client: WebClient,
    *,
    question: str,
    asker: Asker,
    history: Sequence[str],
    unprompted: bool = False,
) -> Outcome | None:
    """Answer with the LLM, streaming; declines and fallbacks are posted like any answer.

    Errors propagate: the caller posts the error message and logs the cause."""
    channel, thread_ts = asker.channel, asker.thread or None
    sinks: list[Sink] = []

    def open_for(draft: Answer) -> Callable[[str], None]:
        # declines never reach the model, so they get a plain message
        sink = open_sink(client, channel, thread_ts, asker.user) if draft.answered else None
        sinks.append(sink or Sink(client, channel, thread_ts))
        return sinks[0].feed

    reply = services.answer(question, asker, history, on_draft=open_for)
    sink = sinks[0] if sinks else Sink(client, channel, thread_ts)
    answer, interaction_id = reply.answer, reply.interaction_id
    in_channel = channel.startswith(("C", "G"))  # as Services.ask renders it
    escalate = services.escalates(asker)
    tail: list[dict] = []
    if not answer.answered and unprompted:
        quiet = people.quiet_decline(interaction_id, escalate)
        if quiet is None:
            return reply.outcome
        message = quiet
    elif answer.answered:
        message, tail = render_streamed_answer(answer, interaction_id, in_channel)
        if escalate:
            message["blocks"] = people.with_escalation(message["blocks"], interaction_id)
            tail = people.with_escalation(tail, interaction_id)
    else:  # the engine declined: no stream was opened, nothing was generated
        topics = answer.topics or services.topics(asker)
        message = blocks.render_answer(
            answer, interaction_id=interaction_id, topics=topics, in_channel=in_channel
        )
        if escalate:
            message["blocks"] = people.with_escalation(message["blocks"], interaction_id)
    payload = {"answer_id": interaction_id or 0, "question": answer.question[:1000]}
    metadata = {"event_type": ANSWER_EVENT_TYPE, "event_payload": payload}
    sink.finish(message, tail, metadata, reply.changed or sink.broken)
    return reply.outcome


def _error(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    return str(response.get("error")) if response is not None else type(exc).__name__
