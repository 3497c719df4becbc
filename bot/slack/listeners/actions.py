"""Clicks: 👍/👎 (one vote per person per answer, changed by another click, thanked
privately) and "Share in channel" (posts an ephemeral answer publicly, once, attributed to
the asker)."""

from __future__ import annotations

import logging
import threading
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.access import Asker
from bot.engine.types import Answer, Source
from bot.observability.metrics import EVENTS, FEEDBACK_VOTES
from bot.slack import blocks, notes
from bot.slack.services import Services
from bot.store.health import StoreUnavailable

log = logging.getLogger(__name__)

VOTE_RETRIES = 12
VOTE_RETRY_SECONDS = 5.0  # 12 x 5 s: a database restart or a failover fits in a minute
VOTE_NOT_SAVED = (
    "Sorry, your feedback could not be saved: the bot's database is unavailable. "
    "Please vote again in a few minutes."
)
NOT_HERE = "This answer uses documents not everyone in this channel may see, so it stays private."
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
    lead = record.answer.split("\n\n", 1)[0]  # the direct answer opens the stored text
    answer = Answer(record.question, record.answered, record.answer, sources=sources, lead=lead)
    return answer, record.user_id


def share(services: Services, respond: Respond, body: dict, interaction_id: int) -> None:
    """Worker: post the stored answer in the channel (once per answer), then turn the
    ephemeral's button into a note. The public copy names the person who asked."""
    user = (body.get("user") or {}).get("id", "")
    channel = str(_obj(body, "channel").get("id") or _obj(body, "container").get("channel_id"))
    stored = stored_answer(services, interaction_id)
    if stored is None:
        respond(response_type="ephemeral", replace_original=False, text=GONE)
        return
    answer, asker = stored
    seen_here = services.access.scope(Asker(channel=channel, surface="share"))
    if seen_here is not None and not all(seen_here.allows(s.path) for s in answer.sources):
        respond(response_type="ephemeral", replace_original=False, text=NOT_HERE)
        return  # it drew on a source this channel may not see
    if not services.deduper.first_time(f"share:{interaction_id}"):
        log.info("answer %s was already shared", interaction_id)
        return
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
    respond(replace_original=True, **notes.shared_note(channel))


def record_vote(
    services: Services,
    client: WebClient,
    respond: Respond,
    body: dict,
    interaction_id: int,
    vote: str,
    attempt: int = 0,
) -> None:
    """Worker: upsert this person's vote (a second click changes it), then thank them
    privately; the buttons stay on the message for everyone else. While the database is
    down the vote is retried, and if it never comes back the voter is told: a vote is
    never lost silently."""
    user = str(_obj(body, "user").get("id") or "")
    container = _obj(body, "container")
    channel = str(_obj(body, "channel").get("id") or container.get("channel_id") or "")
    try:
        known = services.store.record_vote(interaction_id, user, channel, vote)
    except StoreUnavailable as exc:
        if attempt < VOTE_RETRIES:  # again later, on a timer: no worker waits meanwhile
            if attempt == 0:
                log.warning(
                    "could not record a %s vote on answer %s yet (%s); retrying for %.0fs",
                    vote,
                    interaction_id,
                    exc,
                    VOTE_RETRIES * VOTE_RETRY_SECONDS,
                )
            retry = (services, client, respond, body, interaction_id, vote, attempt + 1)
            timer = threading.Timer(VOTE_RETRY_SECONDS, _retry_vote, retry)
            timer.daemon = True
            timer.start()
            return
        log.error(
            "lost a %s vote on answer %s from %s after %d tries (%s); the user was told",
            vote,
            interaction_id,
            user or "-",
            attempt + 1,
            exc,
        )
        if _str(body.get("response_url")).startswith(("https://", "http://")):
            respond(response_type="ephemeral", replace_original=False, text=VOTE_NOT_SAVED)
        return
    if attempt:
        log.info("recorded a %s vote on answer %s after %d retries", vote, interaction_id, attempt)
    if not known:
        log.warning("feedback for unknown interaction id %s", interaction_id)
        return
    thanks = notes.vote_thanks(vote)
    if channel and user:
        try:
            client.chat_postEphemeral(channel=channel, user=user, text=thanks)
            return
        except SlackApiError as exc:  # e.g. an assistant thread: fall back to response_url
            log.info("chat.postEphemeral failed (%s)", exc.response.get("error"))
    if _str(body.get("response_url")).startswith(("https://", "http://")):
        respond(response_type="ephemeral", replace_original=False, text=thanks)


def _retry_vote(services: Services, *args: Any) -> None:
    try:
        services.submit(record_vote, services, *args)
    except RuntimeError:  # the worker pool has shut down
        log.error(
            "lost a vote on answer %s: the bot stopped before the database came back", args[3]
        )


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
