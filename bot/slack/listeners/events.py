"""@mentions and direct messages: ack, claim once, answer in a worker, reply in the thread.

Every event is acked, even the ones ignored (bots, edits, joins), so Slack never
sees a 404 and never retries them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

from slack_bolt import Ack, App, BoltContext, BoltRequest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.access import Asker
from bot.observability.metrics import EVENTS
from bot.slack import blocks, notes
from bot.slack.services import Services
from bot.slack.shapes import text_of

log = logging.getLogger(__name__)

MENTION_RE = re.compile(r"<@[UW][A-Z0-9]+(?:\|[^>]*)?>")
ANSWER_EVENT_TYPE = "opsbot_answer"  # message metadata that lets a thread reply find its question
ACCEPTED_SUBTYPES = (None, "thread_broadcast")
THREAD_TURNS_READ = 6  # earlier questions taken from a Slack thread (the engine uses fewer)


def strip_mention(text: str, bot_user_id: str | None) -> str:
    """Drop the bot's own mention (any mention when the bot id is unknown)."""
    if bot_user_id:
        return re.sub(rf"<@{re.escape(bot_user_id)}(?:\|[^>]*)?>", " ", text).strip()
    return MENTION_RE.sub(" ", text, count=1).strip()


def claim(services: Services, body: dict, event: dict, request: BoltRequest) -> bool:
    """True once per event and per message: Slack retries and mention+DM twins are dropped."""
    retry = request.headers.get("x-slack-retry-num", [None])[0] or body.get("retry_attempt")
    event_id = body.get("event_id")
    if retry and str(retry) != "0":  # Socket Mode sends retry_attempt 0 on first delivery
        reason = request.headers.get("x-slack-retry-reason", [""])[0]
        log.info("Slack retry %s (%s) for event %s", retry, reason or "?", event_id)
    keys = [f"event:{event_id}"] if event_id else []
    if event.get("channel") and event.get("ts"):
        keys.append(f"msg:{event['channel']}:{event['ts']}")
    for key in keys:
        if not services.deduper.first_time(key):
            EVENTS.labels("duplicate").inc()
            return False
    return True


def thread_messages(client: WebClient, channel: str, thread_ts: str) -> list[dict] | None:
    """The thread's messages with their metadata; None when it cannot be read."""
    try:
        resp = client.conversations_replies(
            channel=channel, ts=thread_ts, limit=100, include_all_metadata=True
        )
    except Exception as exc:  # missing scope, not in channel: answer without context
        log.info("could not read thread %s in %s: %s", thread_ts, channel, exc)
        return None
    return [m for m in resp.get("messages") or [] if isinstance(m, dict)]


def is_our_answer(message: dict[str, Any], bot_user_id: str | None) -> bool:
    meta = message.get("metadata")
    if isinstance(meta, dict) and meta.get("event_type") == ANSWER_EVENT_TYPE:
        return True
    return bool(bot_user_id) and message.get("user") == bot_user_id


def thread_turns(
    messages: Sequence[dict[str, Any]], current_ts: str, bot_user_id: str | None
) -> list[str]:
    """Earlier user turns of a thread (our own answers contribute the question they answered)."""
    turns: list[str] = []
    current = _ts(current_ts)
    for message in messages:
        ts = _ts(message.get("ts"))
        if ts is None or current is None or ts >= current:
            continue  # a ts that is not a number cannot be placed in the thread
        meta = message.get("metadata")
        meta = meta if isinstance(meta, dict) else {}
        payload = meta.get("event_payload")
        if meta.get("event_type") == ANSWER_EVENT_TYPE and isinstance(payload, dict):
            text = str(payload.get("question") or "")
        elif message.get("bot_id") or message.get("subtype") or message.get("user") == bot_user_id:
            continue
        else:
            text = strip_mention(text_of(message.get("text")), bot_user_id)
        if text and (not turns or turns[-1] != text):
            turns.append(text)
    return turns[-THREAD_TURNS_READ:]


def thread_history(
    client: WebClient, channel: str, thread_ts: str, current_ts: str, bot_user_id: str | None
) -> list[str]:
    """Earlier user turns of a Slack thread, read with one conversations.replies call."""
    messages = thread_messages(client, channel, thread_ts)
    return thread_turns(messages or [], current_ts, bot_user_id)


def _ts(value: object) -> float | None:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def reply(
    services: Services,
    client: WebClient,
    *,
    question: str,
    ts: str,
    asker: Asker,
    bot_user_id: str | None,
    history: Sequence[str] | None = None,
    unprompted: bool = False,
) -> None:
    """Worker: 👀 on, read the thread (unless `history` was read already), answer, post,
    👀 off. `unprompted`: nobody addressed opsbot, so a decline stays quiet."""
    channel, thread_ts = asker.channel, asker.thread or None
    if not question:
        client.chat_postMessage(channel=channel, thread_ts=thread_ts, **notes.render_help())
        return
    eyes = {"channel": channel, "timestamp": ts, "name": "eyes"}
    added = services.background(client.reactions_add, **eyes)
    try:
        try:
            if history is None:
                history = []
                if thread_ts and thread_ts != ts:
                    history = thread_history(client, channel, thread_ts, ts, bot_user_id)
            if services.writer is not None:  # generated answers stream (bot/slack/streaming.py)
                from bot.slack.streaming import stream_reply

                stream_reply(
                    services, client, question=question, asker=asker, history=history,
                    unprompted=unprompted,
                )  # fmt: skip
                return
            message, interaction_id, answer = services.ask(
                question, asker, history=history, unprompted=unprompted
            )
            if message is None:  # a quiet decline
                return
        except Exception:  # never silent: say so in the thread, then log the cause
            client.chat_postMessage(channel=channel, thread_ts=thread_ts, **notes.render_error())
            raise
        payload = {
            "answer_id": interaction_id or 0,  # key kept: it is stored in Slack
            "question": answer.question[:1000],
        }
        post: dict[str, Any] = {
            "channel": channel,
            "thread_ts": thread_ts,
            "unfurl_links": False,
            "unfurl_media": False,
            "metadata": {"event_type": ANSWER_EVENT_TYPE, "event_payload": payload},
        }
        try:
            client.chat_postMessage(**post, **message)
        except SlackApiError as exc:
            if exc.response.get("error") != "invalid_blocks":
                raise
            log.warning("Slack rejected the feedback_buttons block; posting classic buttons")
            client.chat_postMessage(**post, **blocks.classic_feedback(message))
    finally:
        added.add_done_callback(lambda _: services.background(client.reactions_remove, **eyes))


OFF_NOTE = "I'm switched off in this channel; ask me in a DM or in another channel."


def say_off(client: WebClient, event: dict[str, Any]) -> None:
    """Worker: a channel set to respond = "off" gets no answers; the person is told privately."""
    if event.get("user"):
        client.chat_postEphemeral(channel=event["channel"], user=event["user"], text=OFF_NOTE)


def answer_event(
    services: Services,
    client: WebClient,
    event: dict,
    context: BoltContext,
    *,
    thread_ts: str | None,
    surface: str,
) -> None:
    """Queue the answer to a user's message (mention, DM, assistant thread) after the ack."""
    asker = Asker(
        user=str(event.get("user") or ""),
        channel=event["channel"],
        thread=thread_ts or "",
        surface=surface,
        private=event.get("channel_type") == "im",  # a DM or the assistant pane
    )
    services.submit(
        reply,
        services,
        client,
        question=strip_mention(text_of(event.get("text")), context.bot_user_id),
        ts=event["ts"],
        asker=asker,
        bot_user_id=context.bot_user_id,
    )


def register(app: App, services: Services) -> None:
    @app.event("app_mention")
    def on_mention(
        ack: Ack,
        body: dict,
        event: dict,
        context: BoltContext,
        client: WebClient,
        request: BoltRequest,
    ) -> None:
        ack()
        if (
            event.get("bot_id")
            or event.get("subtype") not in ACCEPTED_SUBTYPES
            or not (event.get("channel") and event.get("ts"))
        ):
            EVENTS.labels("ignored").inc()
            return
        if not claim(services, body, event, request):
            return
        if services.access.channel(event["channel"]).respond == "off":
            EVENTS.labels("off").inc()
            services.submit(say_off, client, event)
            return
        EVENTS.labels("mention").inc()
        thread_ts = event.get("thread_ts") or event["ts"]
        answer_event(services, client, event, context, thread_ts=thread_ts, surface="mention")

    @app.event("message")
    def on_message(
        ack: Ack,
        body: dict,
        event: dict,
        context: BoltContext,
        client: WebClient,
        request: BoltRequest,
    ) -> None:
        ack()
        if not is_user_dm(event, context.bot_user_id):
            EVENTS.labels("ignored").inc()
            return
        if not claim(services, body, event, request):
            return
        EVENTS.labels("dm").inc()
        # top-level DMs get a top-level answer
        answer_event(
            services, client, event, context, thread_ts=event.get("thread_ts"), surface="dm"
        )

    @app.event(re.compile(".*"))
    def on_other_event(ack: Ack) -> None:
        """Events we subscribe to but do not act on still get their 200."""
        ack()
        EVENTS.labels("ignored").inc()


def is_user_dm(event: dict[str, Any], bot_user_id: str | None) -> bool:
    """A human's new message in a DM with the bot: no bots, no edits/deletes/joins."""
    return (
        event.get("channel_type") == "im"
        and event.get("subtype") in ACCEPTED_SUBTYPES
        and not event.get("bot_id")
        and not event.get("bot_profile")
        and bool(event.get("user"))
        and event.get("user") != bot_user_id
        and bool(event.get("channel"))
        and bool(event.get("ts"))
    )
