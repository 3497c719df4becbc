"""A way to a person: the "Ask a person" button and what it posts.

The button sits under answers and declines in channels whose opsbot.toml entry names an
`escalate` user group. A click posts once in the thread, mentioning that group with the
question, and is recorded so `opsbot report` can list the questions the docs did not settle.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import ActionsBlock, ButtonElement

from bot.slack.blocks import FEEDBACK_BLOCK_ID, Blocks, clip, context, escape, section

ESCALATE_BLOCK_ID = "opsbot_escalate"
ESCALATE_ACTION = "opsbot_escalate"
QUIET_DECLINE = "I couldn't find this in the docs."
ESCALATION_EVENT_TYPE = "opsbot_escalation"  # metadata: people have the thread now


def escalate_block(interaction_id: int) -> dict[str, Any]:
    button = ButtonElement(
        text="Ask a person", action_id=ESCALATE_ACTION, value=str(interaction_id)
    )
    return ActionsBlock(block_id=ESCALATE_BLOCK_ID, elements=[button]).to_dict()


def with_escalation(blocks: Blocks, interaction_id: int | None) -> Blocks:
    """`blocks` with the "Ask a person" button before the feedback buttons (or last)."""
    if interaction_id is None:
        return blocks
    at = next(
        (i for i, b in enumerate(blocks) if str(b.get("block_id", "")) == FEEDBACK_BLOCK_ID),
        len(blocks),
    )
    return [*blocks[:at], escalate_block(interaction_id), *blocks[at:]]


def quiet_decline(interaction_id: int | None, escalate: bool) -> dict[str, Any] | None:
    """A decline to a question nobody addressed to opsbot: one short line with the button
    where a group can be asked, else nothing at all."""
    if not escalate or interaction_id is None:
        return None
    blocks = with_escalation([context(QUIET_DECLINE)], interaction_id)
    return {"text": QUIET_DECLINE, "blocks": blocks}


def escalation_message(group: str, question: str, asker: str) -> dict[str, Any]:
    """What "Ask a person" posts in the thread: the group mention and the question."""
    who = f"<@{asker}>" if asker.isalnum() and asker[:1] in "UW" else "Someone"
    text = f"<!subteam^{group}> {who} needs a person for this question:"
    quoted = "\n".join(f"> {line}" for line in escape(clip(question.strip(), 500)).splitlines())
    fallback = f"{text} {escape(clip(question, 200))}"
    return {"text": fallback, "blocks": [section(f"{text}\n{quoted}")]}
