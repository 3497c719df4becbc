"""The App Home tab: what the bot knows (grouped by folder, with counts), real example
questions, how fresh the index is, and how to ask. Stays short at hundreds of documents."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.engine.topics import Catalogue, Group
from bot.slack.blocks import escape, mrkdwn, plural
from bot.slack.notes import HELP_TEXT

MAX_GROUPS = 12
EXAMPLE_ACTION = "opsbot_example"  # + _n: a Home example question, answered in Messages
EXAMPLE_ACTION_RE = re.compile(rf"^{EXAMPLE_ACTION}_\d+$")


def readable(name: str) -> str:
    """'dvc-docs/content/user_guide' → 'Dvc docs › Content › User guide'."""
    if name == "(top level)":
        return "Other documents"
    parts = [re.sub(r"[-_]+", " ", p).strip() for p in name.split("/") if p.strip()]
    return " › ".join(p[:1].upper() + p[1:] for p in parts if p) or name


def ordered(groups: Sequence[Group], sources: Sequence[str]) -> list[Group]:
    """Groups source by source, in the order the sources were declared (the team's own
    first, as the operator lists them), biggest first within a source."""
    rank = {name: i for i, name in enumerate(sources)}

    def key(group: Group) -> tuple[int, int, str]:
        head = group.name.split("/", 1)[0]
        return rank.get(head, len(rank)), -group.documents, group.name

    return sorted(groups, key=key)


def when(ts: float) -> str:
    """Slack's date token (shown in the reader's time zone) with a UTC fallback."""
    fallback = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(ts))
    return f"<!date^{int(ts)}^{{date_short_pretty}} at {{time}}|{fallback}>"


def group_line(name: str, documents: int, titles: list[str]) -> str:
    shown = ", ".join(escape(t[:60]) for t in titles)
    more = "…" if documents > len(titles) else ""
    return f"*{escape(readable(name))}* — {plural(documents, 'document')}\n{shown}{more}"


def example_buttons(examples: Sequence[str]) -> dict[str, Any]:
    """Each example question as a button; a click answers it in the Messages tab."""
    buttons = [
        ButtonElement(text=q[:75], action_id=f"{EXAMPLE_ACTION}_{i}", value=q[:2000])
        for i, q in enumerate(examples)
    ]
    return ActionsBlock(block_id="opsbot_examples", elements=buttons).to_dict()


def render_home(cat: Catalogue, sources: Sequence[str] = ()) -> dict[str, Any]:
    """App Home view payload for views.publish; `sources` are the declared source names,
    in order."""
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
                    f"{plural(cat.documents, 'document')} · {plural(cat.passages, 'passage')} · "
                    f"index built {when(cat.built_at)}"
                )
            ]
        ),
    ]
    if cat.examples:
        intro = "*Try asking* (the answer arrives in the Messages tab)"
        blocks += [DividerBlock(), SectionBlock(text=mrkdwn(intro))]
        blocks.append(example_buttons(cat.examples[:6]))
    blocks += [DividerBlock(), SectionBlock(text=mrkdwn("*What I know*"))]
    groups = ordered(cat.groups, sources)
    for group in groups[:MAX_GROUPS]:
        line = group_line(group.name, group.documents, group.titles)
        blocks.append(SectionBlock(text=mrkdwn(line[:3000])))
    if len(groups) > MAX_GROUPS:
        rest = groups[MAX_GROUPS:]
        docs = sum(g.documents for g in rest)
        note = f"…and {plural(len(rest), 'more folder')} ({plural(docs, 'document')})"
        blocks.append(ContextBlock(elements=[mrkdwn(note)]))
    blocks += [DividerBlock(), SectionBlock(text=mrkdwn(HELP_TEXT))]
    return View(type="home", blocks=blocks[:100]).to_dict()
