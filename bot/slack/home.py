"""The App Home tab: what the bot knows (grouped by folder, with counts), real example
questions, how fresh the index is, and how to ask. Stays short at hundreds of documents."""

from __future__ import annotations

import time
from typing import Any

from slack_sdk.models.blocks import ContextBlock, DividerBlock, HeaderBlock, SectionBlock
from slack_sdk.models.views import View

from bot.engine.topics import Catalogue
from bot.slack.blocks import HELP_TEXT, escape, mrkdwn

MAX_GROUPS = 12


def when(ts: float) -> str:
    """Slack's date token (shown in the reader's time zone) with a UTC fallback."""
    fallback = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(ts))
    return f"<!date^{int(ts)}^{{date_short_pretty}} at {{time}}|{fallback}>"


def group_line(name: str, documents: int, titles: list[str]) -> str:
    shown = ", ".join(escape(t[:60]) for t in titles)
    more = "…" if documents > len(titles) else ""
    noun = "document" if documents == 1 else "documents"
    return f"*{escape(name)}* — {documents} {noun}\n{shown}{more}"


def render_home(cat: Catalogue) -> dict[str, Any]:
    """App Home view payload for views.publish."""
    blocks: list[Any] = [
        HeaderBlock(text="opsbot"),
        SectionBlock(
            text=mrkdwn(
                "I answer DevOps and MLOps questions from our knowledge base, "
                "and I always show where an answer came from."
            )
        ),
        ContextBlock(
            elements=[
                mrkdwn(
                    f"{cat.documents} documents · {cat.passages} passages · "
                    f"index built {when(cat.built_at)}"
                )
            ]
        ),
    ]
    if cat.examples:
        lines = "\n".join(f"• {escape(q)}" for q in cat.examples[:6])
        blocks += [DividerBlock(), SectionBlock(text=mrkdwn(f"*Try asking*\n{lines}"))]
    blocks += [DividerBlock(), SectionBlock(text=mrkdwn("*What I know*"))]
    for group in cat.groups[:MAX_GROUPS]:
        line = group_line(group.name, group.documents, group.titles)
        blocks.append(SectionBlock(text=mrkdwn(line[:3000])))
    if len(cat.groups) > MAX_GROUPS:
        rest = cat.groups[MAX_GROUPS:]
        docs = sum(g.documents for g in rest)
        note = f"…and {len(rest)} more folders ({docs} documents)"
        blocks.append(ContextBlock(elements=[mrkdwn(note)]))
    blocks += [DividerBlock(), SectionBlock(text=mrkdwn(HELP_TEXT))]
    return View(type="home", blocks=blocks[:100]).to_dict()
