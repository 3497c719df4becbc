"""Short fixed messages: how to ask, something went wrong, thanks for a vote, shared.

Kept apart from the answer rendering in `bot.slack.blocks`; they use its escaping helpers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from bot.slack.blocks import Blocks, clip, context, section, topic_list

HELP_TEXT = (  # mrkdwn: '<' and '>' are escaped, or Slack reads <question> as a control
    "*How to ask opsbot*\n"
    "• Mention me in a channel: `@opsbot how do I roll back a deployment?` "
    "— I reply in a thread; ask follow-ups there, no need to mention me again.\n"
    "• Send me a direct message.\n"
    "• `/opsbot &lt;question&gt;` — only you see the answer (a button shares it).\n"
    "• `/opsbot share &lt;question&gt;` — the answer is posted in the channel.\n"
    "• `/opsbot help` — this message.\n"
    "Each answer lists its sources; use 👍 / 👎 to tell us if it helped, "
    "or *Ask a person* where a team takes questions."
)


def render_help(topics: Sequence[str] = ()) -> dict[str, Any]:
    blocks: Blocks = [section(HELP_TEXT)]
    if topics:
        blocks.append(section(clip("*Some topics I know:*\n" + topic_list(topics), 3000)))
    return {"text": "How to ask opsbot", "blocks": blocks}


def render_error() -> dict[str, Any]:
    text = "Sorry, something went wrong while answering. Please try again in a moment."
    return {"text": text, "blocks": [section(f":warning: {text}")]}


def vote_thanks(vote: str) -> str:
    """The private thank-you for a vote (a second click changes it)."""
    if vote == "up":
        return "👍 Thanks, glad it helped. (Click 👎 instead to change your vote.)"
    return "👎 Thanks for telling us; this question goes on the list of docs to write."


def shared_note(channel: str) -> dict[str, Any]:
    """What the private original becomes once shared: one line, not a second copy."""
    where = f"<#{channel}>" if re.fullmatch(r"[CG][A-Z0-9]+", channel or "") else "the channel"
    note = f"Shared in {where}."
    return {"text": note, "blocks": [context(note)]}
