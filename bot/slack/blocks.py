"""Block Kit rendering: engine values in, Slack message payloads out.

Blocks are built with `slack_sdk.models.blocks`; Markdown goes through a real parser
(bot/slack/mrkdwn.py) that escapes everything a document or a user wrote, so <!channel>,
mentions and disguised links stay inert. Code fences stay fences, split safely at Slack's
size limits. The fallback `text` (notifications, screen readers) is plain text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ContextActionsBlock,
    ContextBlock,
    FeedbackButtonsElement,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)
from slack_sdk.models.blocks.basic_components import FeedbackButtonObject

from bot.engine.compose import unknown_note
from bot.engine.types import Answer, Source
from bot.slack.mrkdwn import FENCE, escape, link, safe_url, to_mrkdwn, to_plain
from bot.terminal import plural

__all__ = ["escape", "plural", "safe_url", "to_mrkdwn"]

SECTION_LIMIT = 3000
MAX_BLOCKS = 50
DECLINE_LIMIT = 300
ANSWER_VISIBLE = 1200  # characters of an answer shown; its sources, linked, are listed below
SHORTENED_NOTE = "_Shortened: the sources below have the rest._"
FEEDBACK_BLOCK_ID = "opsbot_feedback"
FEEDBACK_ACTION = "opsbot_feedback"
VOTE_ACTION_PREFIX = "opsbot_vote_"  # the classic 👍/👎 buttons of older messages
VOTE_ACTION_RE = re.compile(r"^opsbot_(?:vote_(up|down)|feedback)$")
SHARE_BLOCK_ID = "opsbot_share"
SHARE_ACTION = "opsbot_share"
TRUNCATED_NOTE = "Your question was long, so I used only its first part."
DECLINE_HINT = "Tip: name the tool, command or error message."

Blocks = list[dict[str, Any]]


def mrkdwn(text: str) -> MarkdownTextObject:
    # verbatim: Slack must not auto-link names or parse mentions in our (escaped) text
    return MarkdownTextObject(text=text, verbatim=True)


def section(text: str) -> dict[str, Any]:
    return SectionBlock(text=mrkdwn(text[:SECTION_LIMIT])).to_dict()


def context(text: str) -> dict[str, Any]:
    return ContextBlock(elements=[mrkdwn(text[:SECTION_LIMIT])]).to_dict()


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def clip_words(text: str, limit: int) -> str:
    """At most `limit` characters, cut between words (a single long word is cut)."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    inside = not (cut[-1:].isspace() or text[limit - 1].isspace())
    if inside and " " in cut.strip():  # the cut falls inside a word
        cut = cut[: cut.rstrip().rfind(" ")]
    return cut.rstrip(" ,;:-—›·") + "…"


def split_text(text: str, limit: int = SECTION_LIMIT) -> list[str]:
    """Split mrkdwn into pieces of at most `limit` chars, closing and reopening code fences."""
    reserve = len(FENCE) * 2 + 2
    pieces: list[str] = []
    current: list[str] = []
    size = 0
    in_fence = False  # fence state at the end of `current`
    opened_in_fence = False  # `current` starts inside a fence

    def flush() -> None:
        nonlocal current, size, opened_in_fence
        if not current:
            return
        body = "\n".join(current)
        if opened_in_fence:
            body = f"{FENCE}\n{body}"
        if in_fence:
            body = f"{body}\n{FENCE}"
        pieces.append(body)
        current, size, opened_in_fence = [], 0, in_fence

    for raw in text.split("\n"):
        for line in [raw[i : i + limit - reserve] for i in range(0, len(raw), limit - reserve)] or [
            ""
        ]:
            if size + len(line) + 1 > limit - reserve:
                flush()
            current.append(line)
            size += len(line) + 1
            if line.strip() == FENCE:
                in_fence = not in_fence
    flush()
    return [p for p in pieces if p.strip() and p.strip() != f"{FENCE}\n{FENCE}"]


def cap_answer(markdown: str, limit: int = ANSWER_VISIBLE) -> str:
    """The answer's first paragraphs within about `limit` characters: cut between
    paragraphs (never inside a code fence, never after a "…:" that introduces what's cut);
    the first paragraph, the direct answer, always stays."""
    paragraphs: list[str] = []
    for part in markdown.split("\n\n"):  # a paragraph inside an open fence joins it
        if paragraphs and paragraphs[-1].count("```") % 2:
            paragraphs[-1] += "\n\n" + part
        else:
            paragraphs.append(part)
    kept, size = paragraphs[:1], len(paragraphs[0])
    for part in paragraphs[1:]:
        if size + 2 + len(part) > limit:
            break
        kept.append(part)
        size += 2 + len(part)
    while len(kept) > 1 and len(kept) < len(paragraphs) and kept[-1].rstrip().endswith(":"):
        kept.pop()
    return "\n\n".join(kept)


def short_path(path: str) -> str:
    """The last two parts of a path: enough to find the file, short enough to read."""
    parts = path.split("/")
    return path if len(parts) <= 2 else "…/" + "/".join(parts[-2:])


def source_label(source: Source) -> str:
    """'Heading — Title' (the heading path without the title it starts with), or the title."""
    parts = [p for p in source.heading.split(" › ") if p]
    if parts and parts[0] == source.title:
        parts = parts[1:]
    inner = " › ".join(parts)
    if not source.title:
        return inner or source.path
    return f"{inner} — {source.title}" if inner else source.title


def source_line(n: int, source: Source) -> str:
    """'[n] <url|Heading — Title>', or '[n] Heading — Title · `…/short/path.md`' without a URL."""
    label = clip(source_label(source), 150)
    if safe_url(source.url):
        return f"[{n}] {link(source.url, label)}"
    return f"[{n}] {escape(label)} · `{escape(short_path(source.path))}`"


def citation_urls(sources: Sequence[Source]) -> dict[int, str]:
    """[n] → URL of source n (1-based), for the citation markers in an answer."""
    return {n: s.url for n, s in enumerate(sources, 1) if s.url and safe_url(s.url)}


def question_block(question: str, asker: str | None = None) -> dict[str, Any]:
    """Echo of the question (escaped); `asker` is a Slack user id we got from Slack."""
    who = f"<@{asker}> asked" if asker and re.fullmatch(r"[UW][A-Z0-9]+", asker) else "Question"
    return context(f"{who}: {escape(clip(question.strip(), 300))}")


def feedback_block(interaction_id: int) -> dict[str, Any]:
    """Slack's own 👍/👎 feedback buttons; each value carries the vote and the answer id."""

    def button(text: str, vote: str) -> FeedbackButtonObject:
        return FeedbackButtonObject(
            text=PlainTextObject(text=text),
            accessibility_label=text,
            value=f"{vote}:{interaction_id}",
        )

    element = FeedbackButtonsElement(
        action_id=FEEDBACK_ACTION,
        positive_button=button("Helpful", "up"),
        negative_button=button("Not helpful", "down"),
    )
    return ContextActionsBlock(block_id=FEEDBACK_BLOCK_ID, elements=[element]).to_dict()


def classic_feedback(message: dict[str, Any]) -> dict[str, Any]:
    """The same message with plain 👍/👎 buttons instead of feedback_buttons, for a
    workspace or surface that rejects the newer block (Slack answers `invalid_blocks`)."""
    out = []
    for block in message.get("blocks", []):
        if block.get("type") == "context_actions":
            value = block["elements"][0]["positive_button"]["value"].partition(":")[2]
            buttons = [
                ButtonElement(
                    text=label, action_id=f"{VOTE_ACTION_PREFIX}{vote}", value=value
                ).to_dict()
                for vote, label in (("up", "👍 Helpful"), ("down", "👎 Not helpful"))
            ]
            block = {"type": "actions", "block_id": FEEDBACK_BLOCK_ID, "elements": buttons}
        out.append(block)
    return {**message, "blocks": out}


def share_block(interaction_id: int) -> dict[str, Any]:
    """'Share in channel' under an ephemeral answer: posts it publicly, once."""
    button = ButtonElement(
        text="Share in channel", action_id=SHARE_ACTION, value=str(interaction_id), style="primary"
    )
    return ActionsBlock(block_id=SHARE_BLOCK_ID, elements=[button]).to_dict()


def render_answer(
    answer: Answer,
    *,
    interaction_id: int | None = None,
    topics: Sequence[str] = (),
    echo_question: bool = False,
    asker: str | None = None,
    shareable: bool = False,
    in_channel: bool = False,
) -> dict[str, Any]:
    """A full message payload (`text` fallback + `blocks`) for an answer or a decline."""
    if not answer.answered:
        return render_decline(
            answer, topics or answer.topics, echo_question, asker, in_channel=in_channel
        )
    head: Blocks = [question_block(answer.question, asker)] if echo_question else []
    tail: Blocks = []
    if answer.truncated:
        tail.append(context(TRUNCATED_NOTE))
    if answer.sources:
        lines = [source_line(n, s) for n, s in enumerate(answer.sources, 1)]
        tail.append(context(clip("\n".join(lines), SECTION_LIMIT)))
    if interaction_id is not None and shareable:
        tail.append(share_block(interaction_id))
    if interaction_id is not None:
        tail.append(feedback_block(interaction_id))
    shown = cap_answer(answer.answer)
    if shown != answer.answer:
        tail.insert(0, context(SHORTENED_NOTE))
    body_text = to_mrkdwn(shown, citation_urls(answer.sources))
    body = [section(p) for p in split_text(body_text)] or [section("_(empty)_")]
    room = MAX_BLOCKS - len(head) - len(tail)
    if len(body) > room:
        body = body[: room - 1] + [context("_Answer shortened to fit in one Slack message._")]
    lead = getattr(answer, "lead", "") or answer.answer
    if answer.unknown:  # the notification says it first too
        lead = f"{unknown_note(answer.unknown)} {lead}"
    return {"text": fallback_text(lead), "blocks": head + body + tail}


def render_decline(
    answer: Answer,
    topics: Sequence[str],
    echo_question: bool = False,
    asker: str | None = None,
    *,
    in_channel: bool = False,
) -> dict[str, Any]:
    """Short and useful: nothing on it, the nearest topics (linked when their source has a
    web address), a hint. Everything the user reads stays within DECLINE_LIMIT characters;
    a topic too long is cut between words, never inside one."""
    said = "I couldn't find that in my docs, so I won't guess."
    if answer.unknown:
        missing = " or ".join(f"“{escape(clip(n, 30))}”" for n in answer.unknown[:2])
        said = f"My docs never mention {missing}, so I won't guess."
    tail = DECLINE_HINT  # the same docs answer in a DM, so no offer to move there
    budget = DECLINE_LIMIT - len(said) - len(tail) - len("Nearest topics: ")
    links = getattr(answer, "topic_links", {}) or {}
    names: list[str] = []
    shown: list[str] = []
    for topic in topics[:5]:
        name = clip_words(" ".join(topic.split()), 60)
        if sum(len(n) + 3 for n in names) + len(name) + 2 > budget:
            break
        names.append(name)
        url = links.get(topic, "")
        shown.append(link(url, name) if url and safe_url(url) else f"*{escape(name)}*")
    blocks: Blocks = [question_block(answer.question, asker)] if echo_question else []
    blocks.append(section(said))
    if names:
        blocks.append(section("Nearest topics: " + " · ".join(shown)))
    if answer.truncated:
        blocks.append(context(TRUNCATED_NOTE))
    blocks.append(context(escape(tail)))
    return {"text": said, "blocks": blocks}


def topic_list(topics: Sequence[str], limit: int = 8) -> str:
    lines = [f"• {escape(clip(t, 150))}" for t in topics[:limit]]
    if len(topics) > limit:
        lines.append(f"…and {len(topics) - limit} more")
    return "\n".join(lines)


_CITATION = re.compile(r"\s*\[\d+\]")


def fallback_text(markdown: str, limit: int = 300) -> str:
    """Plain notification text: no Markdown markers or [n] citations, escaped, short."""
    flat = " ".join(_CITATION.sub("", to_plain(markdown)).split())
    return escape(clip(flat, limit)) or "opsbot"
