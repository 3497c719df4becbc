"""The "Ask a person" click: post once in the thread, mentioning the channel's escalate
group with the question, and record it for `opsbot report`."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.observability.metrics import EVENTS
from bot.slack import people
from bot.slack.services import Services
from bot.store.health import StoreUnavailable

log = logging.getLogger(__name__)

ALREADY = "A person has already been asked about this one."
NO_GROUP = "Nobody is set up to take questions here; ask in the channel."
GONE = "That question is no longer stored; ask it again."


def escalate(services: Services, client: WebClient, body: dict, interaction_id: int) -> None:
    """Worker: the post in the thread (once per answer), then a private note to the clicker."""
    user = str(_obj(body, "user").get("id") or "")
    container, message = _obj(body, "container"), _obj(body, "message")
    channel = str(_obj(body, "channel").get("id") or container.get("channel_id") or "")
    group = services.access.channel(channel).escalate if channel else ""

    def tell(text: str) -> None:
        if channel and user:
            client.chat_postEphemeral(channel=channel, user=user, text=text)

    if not group:
        tell(NO_GROUP)
        return
    record = services.store.get_interaction(interaction_id)
    if record is None:
        tell(GONE)
        return
    if not services.deduper.first_time(f"escalate:{interaction_id}"):
        tell(ALREADY)
        return
    try:
        first = services.store.record_escalation(interaction_id, user, channel, group)
    except StoreUnavailable:  # the post matters more than the row; the deduper keeps it once
        first = True
    if not first:
        tell(ALREADY)
        return
    thread = (
        message.get("thread_ts")
        or container.get("thread_ts")
        or message.get("ts")
        or container.get("message_ts")
    )
    if container.get("is_ephemeral"):
        thread = None  # a private answer has no thread anyone else can see
    asker = record.user_id or user
    client.chat_postMessage(
        channel=channel,
        thread_ts=thread,
        unfurl_links=False,
        unfurl_media=False,
        metadata={
            "event_type": people.ESCALATION_EVENT_TYPE,
            "event_payload": {"answer_id": interaction_id, "group": group},
        },
        **people.escalation_message(group, record.question, asker),
    )


def _obj(body: dict[str, Any], key: str) -> dict[str, Any]:
    value = body.get(key)
    return value if isinstance(value, dict) else {}


def register(app: App, services: Services) -> None:
    @app.action(people.ESCALATE_ACTION)
    def on_escalate(ack: Ack, body: dict, action: dict, client: WebClient) -> None:
        ack()
        value = str(action.get("value", ""))
        if not value.isdigit():
            log.warning("ignoring malformed escalate action %r", value[:40])
            return
        EVENTS.labels("escalate").inc()
        services.submit(escalate, services, client, body, int(value))
