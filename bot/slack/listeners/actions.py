"""Clicks: 👍/👎 (recorded once per user per answer, then a thank-you instead of the buttons)
and "Share in channel" (posts an ephemeral answer publicly, once, attributed to the asker)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.engine.types import Answer, Source
from bot.observability.metrics import EVENTS, FEEDBACK_VOTES
from bot.slack import blocks
from bot.slack.services import Services

log = logging.getLogger(__name__)

GONE = "That answer is no longer stored, so it can't be shared; ask again with /opsbot share."


def parse_vote(action: dict[str, Any]) -> tuple[int, str] | None:
    """(interaction id, 'up'|'down') from a feedback_buttons click ('up:42') or a classic button
    (action opsbot_vote_up, value '42'); None when it is not ours or corrupt."""
    match = blocks.VOTE_ACTION_RE.match(action.get("action_id", ""))
    value = str(action.get("value", ""))
    if not match:
        return None
    vote, _, interaction_id = (
        value.partition(":") if not match.group(1) else (match.group(1), "", value)
    )
    if vote not in ("up", "down") or not interaction_id.isdigit():
        return None
    return int(interaction_id), vote


def stored_answer(services: Services, interaction_id: int) -> tuple[Answer, str] | None:
    """(answer, asker's user id) as stored when it was given."""
    record = services.store.get_interaction(interaction_id)
    if record is None:
        return None
    sources = [
        Source(
            path=s.get("path", ""),
            title=s.get("title", ""),
            heading=s.get("heading", ""),
            score=float(s.get("score", 0.0)),
            text="",
            url=s.get("url"),
        )
        for s in record.sources
    ]
    answer = Answer(record.question, record.answered, record.answer, sources=sources)
    return answer, record.user_id


def rebuilt_blocks(services: Services, interaction_id: int) -> list[dict[str, Any]]:
    """Blocks of a stored answer (ephemeral messages do not come back in the payload)."""
    stored = stored_answer(services, interaction_id)
    if stored is None:
        return []
    return blocks.render_answer(stored[0], interaction_id=interaction_id)["blocks"]


def share(services: Services, respond: Respond, body: dict, interaction_id: int) -> None:
    """Worker: post the stored answer in the channel (once per answer), then turn the
    ephemeral's button into a note. The public copy names the person who asked."""
    user = (body.get("user") or {}).get("id", "")
    if not services.deduper.first_time(f"share:{interaction_id}"):
        log.info("answer %s was already shared", interaction_id)
        return
    stored = stored_answer(services, interaction_id)
    if stored is None:
        respond(response_type="ephemeral", replace_original=False, text=GONE)
        return
    answer, asker = stored
    public = blocks.render_answer(
        answer, interaction_id=interaction_id, echo_question=True, asker=asker or user
    )
    respond(
        response_type="in_channel",
        replace_original=False,
        unfurl_links=False,
        unfurl_media=False,
        **public,
    )
    original = (body.get("message") or {}).get("blocks") or blocks.render_answer(
        answer, interaction_id=interaction_id, echo_question=True, asker=asker, shareable=True
    )["blocks"]
    note = blocks.without_share(original, "Shared in the channel.")
    respond(replace_original=True, text=public["text"], blocks=note)


def record_vote(
    services: Services,
    client: WebClient,
    respond: Respond,
    body: dict,
    interaction_id: int,
    vote: str,
) -> None:
    """Worker: upsert the vote, then swap the buttons for a thank-you line."""
    user = str(_obj(body, "user").get("id") or "")
    container = _obj(body, "container")
    channel = str(_obj(body, "channel").get("id") or container.get("channel_id") or "")
    if not services.store.record_vote(interaction_id, user, channel, vote):
        log.warning("feedback for unknown interaction id %s", interaction_id)
    message = _obj(body, "message")
    original = message.get("blocks")  # a payload's fields may hold anything: check types
    if not (isinstance(original, list) and all(isinstance(b, dict) for b in original)):
        original = rebuilt_blocks(services, interaction_id)
    thanks = blocks.render_thanks(original, vote)
    text = _str(message.get("text")) or "Thanks for the feedback"
    ts = _str(message.get("ts")) or _str(container.get("message_ts"))
    if not container.get("is_ephemeral") and channel and ts:
        try:
            client.chat_update(channel=channel, ts=ts, text=text, blocks=thanks)
            return
        except SlackApiError as exc:  # e.g. posted via response_url: fall back to it
            log.info("chat.update failed (%s); using response_url", exc.response.get("error"))
    if _str(body.get("response_url")).startswith(("https://", "http://")):
        respond(replace_original=True, text=text, blocks=thanks)


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _obj(body: dict[str, Any], key: str) -> dict[str, Any]:
    """A payload field that should be an object; anything else reads as empty."""
    value = body.get(key)
    return value if isinstance(value, dict) else {}


def register(app: App, services: Services) -> None:
    @app.action(blocks.VOTE_ACTION_RE)
    def on_vote(ack: Ack, body: dict, action: dict, client: WebClient, respond: Respond) -> None:
        ack()
        parsed = parse_vote(action)
        if parsed is None:
            log.warning("ignoring malformed feedback action %r", action.get("action_id"))
            return
        EVENTS.labels("feedback").inc()
        FEEDBACK_VOTES.labels(parsed[1]).inc()  # every click; the store keeps one per user
        services.submit(record_vote, services, client, respond, body, *parsed)

    @app.action(blocks.SHARE_ACTION)
    def on_share(ack: Ack, body: dict, action: dict, respond: Respond) -> None:
        ack()
        value = str(action.get("value", ""))
        if not value.isdigit():
            log.warning("ignoring malformed share action %r", value[:40])
            return
        EVENTS.labels("share").inc()
        services.submit(share, services, respond, body, int(value))
