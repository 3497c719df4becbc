"""Block Kit rendering: engine values in, Slack message payloads out.

Everything that came from a document or a user is escaped (&, <, >) before it
reaches Slack, so text such as <!channel> or <https://evil|docs> is shown literally
instead of becoming a broadcast, a ping or a disguised link. Markdown is mapped to
Slack mrkdwn; code fences stay code fences, split safely at Slack's size limits.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from bot.engine.types import Answer, Source

SECTION_LIMIT = 3000
MAX_BLOCKS = 50
FEEDBACK_BLOCK_ID = "opsbot_feedback"
VOTE_ACTION_PREFIX = "opsbot_vote_"
VOTE_ACTION_RE = re.compile(r"^opsbot_vote_(up|down)$")
FENCE = "```"
TRUNCATED_NOTE = "Your question was long, so I used only its first part."

_BROADCAST_RE = re.compile(r"@(here|channel|everyone)\b", re.IGNORECASE)
_LINK_RE = re.compile(r"\[([^\]\n]+)\]\(([^)\s]+)\)")
_BOLD_RE = re.compile(r"\*\*(.+?)\*\*|__(.+?)__")
_HEADING_RE = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")
_BULLET_RE = re.compile(r"^(\s*)[-*+]\s+")
_INLINE_CODE_RE = re.compile(r"(`[^`\n]+`)")

Blocks = list[dict[str, Any]]


def escape(text: str) -> str:
    """Escape Slack control characters; '@here' gets a word joiner so it can never ping."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _BROADCAST_RE.sub(lambda m: "@\u2060" + m.group(1), text)


def safe_url(url: str | None) -> str | None:
    """An http(s) URL made safe to put inside <...>, or None."""
    if not url or not re.match(r"^https?://[^\s]+$", url, re.IGNORECASE):
        return None
    return escape(url).replace("|", "%7C")


def _inline(text: str) -> str:
    """Convert one line of markdown (outside code) to escaped mrkdwn."""
    parts = _INLINE_CODE_RE.split(text)
    out = []
    for i, part in enumerate(parts):
        if i % 2:  # inline code: escape only
            out.append(escape(part))
            continue
        part = escape(part)
        part = _BOLD_RE.sub(lambda m: f"*{m.group(1) or m.group(2)}*", part)

        def link(m: re.Match[str]) -> str:
            url = safe_url(m.group(2).replace("&amp;", "&"))
            return f"{m.group(1)} (<{url}>)" if url else m.group(1)

        out.append(_LINK_RE.sub(link, part))
    return "".join(out)


def to_mrkdwn(markdown: str) -> str:
    """Markdown to Slack mrkdwn, escaping everything; fenced code is kept verbatim."""
    lines_out: list[str] = []
    in_fence = False
    for line in markdown.splitlines():
        stripped = line.strip()
        if stripped.startswith(FENCE):
            lines_out.append(FENCE)  # drop the language tag: Slack would show it as code
            in_fence = not in_fence
            continue
        if in_fence:
            lines_out.append(escape(line))
            continue
        if m := _HEADING_RE.match(line):
            lines_out.append(f"*{_inline(m.group(1))}*")
            continue
        bullet = _BULLET_RE.match(line)
        if bullet:
            line = f"{bullet.group(1)}• {line[bullet.end() :]}"
        lines_out.append(_inline(line))
    if in_fence:
        lines_out.append(FENCE)
    return "\n".join(lines_out).strip()


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


def mrkdwn(text: str) -> dict[str, Any]:
    # verbatim: Slack must not auto-link names or parse mentions in our (escaped) text
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": mrkdwn(text[:SECTION_LIMIT])}


def context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [mrkdwn(text[:SECTION_LIMIT])]}


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def source_line(source: Source) -> str:
    """'• *Title › Heading* — `path`' plus the document's own link, shown as the URL itself."""
    label = source.heading or source.title
    if source.title and not label.startswith(source.title):
        label = f"{source.title} › {label}"
    line = f"• *{escape(_clip(label, 200))}* — `{escape(_clip(source.path, 200))}`"
    if url := safe_url(source.url):
        line += f" <{url}>"
    return line


def question_block(question: str, asker: str | None = None) -> dict[str, Any]:
    """Echo of the question (escaped); `asker` is a Slack user id we got from Slack."""
    who = f"<@{asker}> asked" if asker and re.fullmatch(r"[UW][A-Z0-9]+", asker) else "Question"
    return context(f"{who}: {escape(_clip(question.strip(), 300))}")


def feedback_actions(answer_id: int) -> dict[str, Any]:
    """👍/👎 buttons whose value is the stored answer's id."""
    value = str(answer_id)
    return {
        "type": "actions",
        "block_id": FEEDBACK_BLOCK_ID,
        "elements": [
            {
                "type": "button",
                "action_id": f"{VOTE_ACTION_PREFIX}{vote}",
                "text": {"type": "plain_text", "text": emoji, "emoji": True},
                "value": value,
            }
            for vote, emoji in (("up", "👍 Helpful"), ("down", "👎 Not helpful"))
        ],
    }


def render_answer(
    answer: Answer,
    *,
    answer_id: int | None = None,
    topics: Sequence[str] = (),
    echo_question: bool = False,
    asker: str | None = None,
) -> dict[str, Any]:
    """A full message payload (`text` fallback + `blocks`) for an answer or a decline."""
    if not answer.answered:
        return render_decline(answer, topics or answer.topics, echo_question, asker)
    head: Blocks = [question_block(answer.question, asker)] if echo_question else []
    tail: Blocks = []
    if answer.truncated:
        tail.append(context(TRUNCATED_NOTE))
    if answer.sources:
        lines = [source_line(s) for s in answer.sources]
        tail.append(section(_clip("*Sources*\n" + "\n".join(lines), SECTION_LIMIT)))
    if answer_id is not None:
        tail.append(feedback_actions(answer_id))
    body = [section(p) for p in split_text(to_mrkdwn(answer.answer))] or [section("_(empty)_")]
    room = MAX_BLOCKS - len(head) - len(tail)
    if len(body) > room:
        body = body[: room - 1] + [context("_Answer shortened to fit in one Slack message._")]
    return {"text": fallback_text(answer.answer), "blocks": head + body + tail}


def render_decline(
    answer: Answer, topics: Sequence[str], echo_question: bool = False, asker: str | None = None
) -> dict[str, Any]:
    """Never silent: say there is nothing on it and list what the bot does cover."""
    text = answer.answer.strip() or "I don't have anything on that in my knowledge base."
    blocks: Blocks = [question_block(answer.question, asker)] if echo_question else []
    blocks.append(section(escape(_clip(text, SECTION_LIMIT))))
    if topics:
        blocks.append(section(_clip("*I can help with:*\n" + topic_list(topics), SECTION_LIMIT)))
    if answer.truncated:
        blocks.append(context(TRUNCATED_NOTE))
    blocks.append(context("Try rephrasing, or type `/opsbot help`."))
    return {"text": fallback_text(text), "blocks": blocks}


def topic_list(topics: Sequence[str], limit: int = 40) -> str:
    lines = [f"• {escape(_clip(t, 150))}" for t in topics[:limit]]
    if len(topics) > limit:
        lines.append(f"…and {len(topics) - limit} more")
    return "\n".join(lines)


def fallback_text(text: str, limit: int = 300) -> str:
    """Plain notification text: escaped, code fences and bold markers removed, short."""
    flat = " ".join(text.replace(FENCE, " ").replace("**", "").split())
    return escape(_clip(flat, limit)) or "opsbot"


HELP_TEXT = (
    "*How to ask opsbot*\n"
    "• Mention me in a channel: `@opsbot how do I roll back a deployment?` "
    "— I reply in a thread; follow-ups in that thread keep the context.\n"
    "• Send me a direct message.\n"
    "• `/opsbot <question>` — only you see the answer.\n"
    "• `/opsbot share <question>` — the answer is posted in the channel.\n"
    "• `/opsbot help` — this message.\n"
    "Each answer lists its sources; use 👍 / 👎 to tell us if it helped."
)


def render_help(topics: Sequence[str] = ()) -> dict[str, Any]:
    blocks: Blocks = [section(HELP_TEXT)]
    if topics:
        blocks.append(section(_clip("*Topics I know:*\n" + topic_list(topics, 20), SECTION_LIMIT)))
    return {"text": "How to ask opsbot", "blocks": blocks}


def render_error() -> dict[str, Any]:
    text = "Sorry, something went wrong while answering. Please try again in a moment."
    return {"text": text, "blocks": [section(f":warning: {text}")]}


def render_thanks(blocks: Blocks, vote: str) -> Blocks:
    """The original message with its feedback buttons replaced by a thank-you line."""
    emoji = "👍" if vote == "up" else "👎"
    thanks = context(f"{emoji} Thanks for the feedback")
    thanks["block_id"] = FEEDBACK_BLOCK_ID
    replaced = [thanks if b.get("block_id") == FEEDBACK_BLOCK_ID else b for b in blocks]
    return replaced if thanks in replaced else [*blocks, thanks][-MAX_BLOCKS:]


def render_home(topics: Sequence[str], chunk_count: int, examples: Sequence[str]) -> dict:
    """App Home tab: what the bot knows, example questions, how to ask."""
    blocks: Blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "opsbot"}},
        section(
            "I answer DevOps and MLOps questions from our knowledge base, "
            "and I always show where an answer came from."
        ),
        {"type": "divider"},
        section(f"*What I know* — {len(topics)} documents, {chunk_count} passages"),
    ]
    for start in range(0, min(len(topics), 200), 40):
        blocks.append(section(topic_list(topics[start : start + 40], 40)))
    if len(topics) > 200:
        blocks.append(context(f"…and {len(topics) - 200} more"))
    if examples:
        blocks.append({"type": "divider"})
        lines = "\n".join(f"• {escape(e)}" for e in examples[:8])
        blocks.append(section(f"*Try asking*\n{lines}"))
    blocks += [{"type": "divider"}, section(HELP_TEXT)]
    return {"type": "home", "blocks": blocks[:100]}
