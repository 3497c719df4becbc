"""Channel messages nobody addressed to opsbot (message.channels, message.groups).

- A reply in a thread where opsbot has answered, when it asks something, is answered in
  the thread with the thread as context; chatter ("thanks!", "on it") is left alone.
- In a help channel (opsbot.toml `respond = "questions"`) a top-level question is answered
  in its thread, unless a person has already answered it there; statements are left alone.
- Declines stay quiet: one short line with "Ask a person" where a group is set, else nothing.
- Once "Ask a person" was used in a thread, the thread is the people's: replies there are
  left alone (a mention still works).

A message that mentions opsbot is the `app_mention` listener's; one that mentions someone
else is addressed to them. Every message is claimed once (bot/slack/dedupe.py), so a
mention that is also a thread reply, or a retry, is never answered twice.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, BoltContext, BoltRequest
from slack_sdk import WebClient

from bot.access import Asker
from bot.engine.asking import asks_something
from bot.observability.metrics import EVENTS
from bot.slack import people
from bot.slack.listeners.events import (
    ACCEPTED_SUBTYPES,
    MENTION_RE,
    _ts,
    claim,
    is_our_answer,
    reply,
    thread_messages,
    thread_turns,
)
from bot.slack.mrkdwn import plain_question
from bot.slack.services import Services
from bot.slack.shapes import text_of

log = logging.getLogger(__name__)

CHANNEL_TYPES = ("channel", "group")


def in_a_channel(event: dict[str, Any]) -> bool:
    return event.get("channel_type") in CHANNEL_TYPES


def unprompted_kind(services: Services, event: dict[str, Any], bot_user_id: str | None) -> str:
    """'thread' or 'channel' when this message may deserve an answer; '' to ignore it."""
    user = event.get("user")
    if (
        event.get("subtype") not in ACCEPTED_SUBTYPES
        or event.get("bot_id")
        or event.get("bot_profile")
        or not user
        or user == bot_user_id
        or not (event.get("channel") and event.get("ts"))
    ):
        return ""
    text = text_of(event.get("text"))
    if MENTION_RE.search(text):  # opsbot's own (app_mention answers it) or a person's
        return ""
    respond = services.access.channel(event["channel"]).respond
    if respond == "off":
        return ""
    thread_ts = event.get("thread_ts")
    kind = "thread" if thread_ts and thread_ts != event["ts"] else ""
    if not kind and respond == "questions":
        kind = "channel"
    if not kind or not asks_something(plain_question(text)):
        return ""
    return kind


def answer_unprompted(
    services: Services, client: WebClient, event: dict[str, Any], kind: str, bot_user_id: str | None
) -> None:
    """Worker: read the thread once, decide whether opsbot belongs in it, then answer."""
    channel, ts, user = event["channel"], event["ts"], str(event["user"])
    thread = event.get("thread_ts") or ts
    messages = thread_messages(client, channel, thread)
    if kind == "thread":
        if not messages or not any(is_our_answer(m, bot_user_id) for m in messages):
            return  # not a thread opsbot is part of
        if any(handed_to_people(m) for m in messages):
            return  # a person was asked here: the thread is theirs now (mentions still work)
        history = thread_turns(messages, ts, bot_user_id)
    else:
        if messages and answered_by_a_person(messages, ts, user, bot_user_id):
            log.info("question %s in %s already has a person's answer", ts, channel)
            return
        history = []
    asker = Asker(user=user, channel=channel, thread=thread, surface=kind)
    question = text_of(event.get("text")).strip()
    reply(
        services,
        client,
        question=question,
        ts=ts,
        asker=asker,
        bot_user_id=bot_user_id,
        history=history,
        unprompted=True,
    )


def handed_to_people(message: dict[str, Any]) -> bool:
    meta = message.get("metadata")
    return isinstance(meta, dict) and meta.get("event_type") == people.ESCALATION_EVENT_TYPE


def answered_by_a_person(
    messages: list[dict[str, Any]], question_ts: str, asker: str, bot_user_id: str | None
) -> bool:
    """Someone other than the asker (and not a bot) replied in the question's thread."""
    asked = _ts(question_ts)
    for message in messages:
        at = _ts(message.get("ts"))
        if at is None or asked is None or at <= asked:
            continue
        if message.get("bot_id") or message.get("subtype") or is_our_answer(message, bot_user_id):
            continue
        if message.get("user") and message.get("user") != asker:
            return True
    return False


def register(app: App, services: Services) -> None:
    @app.event("message", matchers=[in_a_channel])
    def on_channel_message(
        ack: Ack,
        body: dict,
        event: dict,
        context: BoltContext,
        client: WebClient,
        request: BoltRequest,
    ) -> None:
        ack()
        kind = unprompted_kind(services, event, context.bot_user_id)
        if not kind:
            EVENTS.labels("ignored").inc()
            return
        if not claim(services, body, event, request):
            return
        EVENTS.labels(kind).inc()
        services.submit(answer_unprompted, services, client, event, kind, context.bot_user_id)
