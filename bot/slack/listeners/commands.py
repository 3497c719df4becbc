"""/opsbot: ack at once, answer through `respond` (ephemeral unless `share`).

Help (including an empty command) is small and static, so it rides on the ack
itself; questions go to the worker pool.
"""

from __future__ import annotations

import logging

from slack_bolt import Ack, App, Respond

from bot.access import Asker
from bot.observability.metrics import EVENTS
from bot.slack import notes
from bot.slack.services import Services

log = logging.getLogger(__name__)

COMMAND = "/opsbot"
HELP_WORDS = {"help", "-h", "--help", "?", "usage"}
SHARE_WORDS = {"share", "--share", "public"}


def parse(text: str) -> tuple[str, str]:
    """('help'|'ask'|'share', question) from the command text."""
    text = (text or "").strip()
    if not text or text.lower() in HELP_WORDS:
        return "help", ""
    first, _, rest = text.partition(" ")
    if first.lower() in SHARE_WORDS:
        rest = rest.strip()
        return ("share", rest) if rest else ("help", "")
    return "ask", text


def answer_command(
    services: Services, respond: Respond, question: str, *, share: bool, user: str, channel: str
) -> None:
    """Worker: engine answer, rendered with the question echoed (the command itself is unseen)."""
    try:
        asker = Asker(user=user, channel=channel, surface="command", private=not share)
        message, _, _ = services.ask(question, asker, echo_question=True, shareable=not share)
        assert message is not None  # only unprompted declines go without a message
    except Exception:  # never silent: tell the user, then let the pool log the cause
        respond(response_type="ephemeral", **notes.render_error())
        raise
    result = respond(
        response_type="in_channel" if share else "ephemeral",
        unfurl_links=False,
        unfurl_media=False,
        **message,
    )
    if result.status_code != 200:
        log.warning("response_url post failed: %s %s", result.status_code, result.body[:200])


def register(app: App, services: Services) -> None:
    @app.command(COMMAND)
    def on_command(ack: Ack, command: dict, respond: Respond) -> None:
        mode, question = parse(command.get("text", ""))
        if mode == "help":
            EVENTS.labels("help").inc()
            # what this channel may see: no group lookup may hold up the ack
            asker = Asker(channel=str(command.get("channel_id") or ""), surface="command")
            ack(response_type="ephemeral", **notes.render_help(services.topics(asker)))
            return
        ack()
        EVENTS.labels("command").inc()
        services.submit(
            answer_command,
            services,
            respond,
            question,
            share=mode == "share",
            user=command.get("user_id", ""),
            channel=command.get("channel_id", ""),
        )
