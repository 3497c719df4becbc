"""Block Kit rendering: escaping, Slack's size limits, code fences, declines, home."""

from __future__ import annotations

import json

from slack_sim import BROADCASTS, raw_markdown
from stub_engine import StubEngine

from bot.engine.topics import Catalogue, Group
from bot.engine.types import Answer, Source
from bot.slack import blocks, notes
from bot.slack.home import render_home


def _dump(message: dict) -> str:
    return json.dumps(message)


def test_escape_neutralises_broadcasts_pings_and_links():
    out = blocks.escape("<!channel> <!here> <@U123> <https://evil|docs> a&b @here @everyone")
    assert "<" not in out and ">" not in out
    assert "&lt;!channel&gt;" in out and "a&amp;b" in out
    assert "@here" not in out and "@everyone" not in out  # word joiner after the @


def test_hostile_answer_renders_inert_and_keeps_code_fence():
    answer = StubEngine().answer("hostile please")
    message = blocks.render_answer(answer, interaction_id=7, echo_question=True, asker="UHUMAN1")
    dumped = _dump(message)
    assert not any(token in dumped for token in BROADCASTS)
    body = message["blocks"][1]["text"]["text"]
    assert "```\nkubectl get pods &gt; out.txt &amp;&amp; echo '&lt;done&gt;'\n```" in body
    assert message["blocks"][1]["text"]["verbatim"] is True


def test_markdown_is_mapped_to_mrkdwn_and_links_are_shown_not_disguised():
    text = "## Tools\n**MLflow** tracks runs. See [the docs](https://mlflow.org/x|y).\n- one\n`a<b`"
    out = blocks.to_mrkdwn(text)
    assert out.splitlines()[0] == "*Tools*"
    assert "*MLflow*" in out
    assert "<https://mlflow.org/x%7Cy|the docs>" in out
    assert "• one" in out and "`a&lt;b`" in out
    assert "[the docs](" not in out
    assert blocks.to_mrkdwn("[x](javascript:void)") == "x"
    # a label that looks like another address must not hide where the link goes
    assert blocks.to_mrkdwn("[https://good.example](https://evil.example)") == (
        "<https://evil.example>"
    )


def test_parser_handles_what_regexes_got_wrong():
    md = (
        "*italic* and ~~gone~~ and [wiki](https://en.wikipedia.org/wiki/Foo_(bar)) "
        "and https://example.com/a_(b) and [ref][r]\n\n![diagram](https://x.example/d.png)\n\n"
        "| tool | use |\n|---|---|\n| DVC | data |\n\n[r]: https://ref.example/\n"
    )
    out = blocks.to_mrkdwn(md)
    assert out.startswith("_italic_ and ~gone~")
    assert "<https://en.wikipedia.org/wiki/Foo_(bar)|wiki>" in out
    assert "<https://example.com/a_(b)>" in out  # a bare URL is a live link, parens kept
    assert "<https://ref.example/|ref>" in out
    assert "<https://x.example/d.png|🖼 diagram>" in out
    assert "```\ntool | use\n-----+-----\nDVC  | data\n```" in out
    assert not raw_markdown(out)


def test_citation_markers_link_to_their_sources():
    sources = [
        Source("a.md", "A", "A › Setup", 0.9, "t", "https://docs.example/a"),
        Source("b.md", "B", "B", 0.8, "t"),
    ]
    answer = Answer("q", True, "Use DVC [1]. Or not [2].", sources=sources)
    body = blocks.render_answer(answer, interaction_id=1)["blocks"][0]["text"]["text"]
    assert body == "Use DVC <https://docs.example/a|[1]>. Or not [2]."


def test_long_answer_respects_section_and_block_limits_with_balanced_fences():
    answer = StubEngine().answer("long answer please")
    message = blocks.render_answer(answer, interaction_id=1)
    assert len(message["blocks"]) <= blocks.MAX_BLOCKS
    sections = [b["text"]["text"] for b in message["blocks"] if b["type"] == "section"]
    assert len(sections) > 2
    assert all(len(s) <= blocks.SECTION_LIMIT for s in sections)
    assert all(s.count("```") % 2 == 0 for s in sections)
    assert len(message["text"]) <= 300


def test_many_sections_are_capped_at_fifty_blocks():
    answer = Answer("q", True, "para " * 40_000)  # one paragraph: the lead is never cut
    message = blocks.render_answer(answer, interaction_id=1)
    assert len(message["blocks"]) == blocks.MAX_BLOCKS
    assert message["blocks"][-1]["type"] == "context_actions"


def test_sources_are_numbered_linked_and_do_not_repeat_the_title():
    source = Source("a/b/c.md", "Guide", "Guide › Deploy", 0.9, "t", "https://x.example/a?b=1&c=2")
    assert blocks.source_line(1, source) == "[1] <https://x.example/a?b=1&amp;c=2|Deploy — Guide>"
    plain = blocks.source_line(2, Source("docs/x/y/c.md", "Other", "Other", 0.5, "t"))
    assert plain == "[2] Other · `…/y/c.md`"
    assert "<" not in blocks.source_line(3, Source("d.md", "T", "T", 0.5, "t", "javascript:x"))


def test_feedback_uses_slack_feedback_buttons_carrying_vote_and_interaction_id():
    answer = Answer("q", True, "a", sources=[Source("p.md", "T", "T › H", 0.9, "t")])
    block = blocks.render_answer(answer, interaction_id=42)["blocks"][-1]
    assert block["type"] == "context_actions" and block["block_id"] == blocks.FEEDBACK_BLOCK_ID
    (element,) = block["elements"]
    assert element["type"] == "feedback_buttons"
    assert element["positive_button"]["value"] == "up:42"
    assert element["negative_button"]["value"] == "down:42"


def test_share_button_only_when_shareable():
    answer = Answer("q", True, "a")
    shared = blocks.render_answer(answer, interaction_id=5, shareable=True)["blocks"]
    (actions,) = [b for b in shared if b["type"] == "actions"]
    assert actions["elements"][0]["action_id"] == blocks.SHARE_ACTION
    assert actions["elements"][0]["value"] == "5"
    assert not [
        b
        for b in blocks.render_answer(answer, interaction_id=5)["blocks"]
        if b["type"] == "actions"
    ]


def _visible(message: dict) -> str:
    return " ".join(
        e["text"]
        for b in message["blocks"]
        for e in [b.get("text", {}), *b.get("elements", [])]
        if isinstance(e, dict) and "text" in e
    )


def test_decline_is_short_with_nearest_topics_and_a_hint_but_no_dm_offer():
    answer = StubEngine().answer("best pizza?")
    answer.topics = [
        "Pipelines › very long " * 8,
        "DevOps vs MLOps",
        "Kubernetes <basics>",
        "A",
        "B",
    ]
    in_channel = blocks.render_answer(answer, interaction_id=None, in_channel=True)
    text = _visible(in_channel)
    assert len(text) <= blocks.DECLINE_LIMIT, (len(text), text)
    assert "Nearest topics" in text and "Kubernetes &lt;basics&gt;" in text
    assert blocks.DECLINE_HINT in text and "DM" not in text  # a DM knows no more
    assert "very lo…" not in text and "ver…" not in text  # cut between words only
    assert not any(b["type"] in ("actions", "context_actions") for b in in_channel["blocks"])
    assert not raw_markdown(in_channel["text"])


def test_nearest_topics_link_to_their_source_and_are_cut_between_words():
    answer = Answer("pizza?", False, "", topics=["Rollback " + "procedure " * 10, "Paging"])
    answer.topic_links = {"Paging": "https://wiki.example/paging?a=1&b=2"}
    text = _visible(blocks.render_answer(answer, interaction_id=None))
    assert "<https://wiki.example/paging?a=1&amp;b=2|Paging>" in text
    assert "procedure…" in text and "proced…" not in text
    assert blocks.clip_words("alpha beta gamma", 12) == "alpha beta…"
    assert blocks.clip_words("supercalifragilistic", 6) == "super…"


def test_decline_names_the_tool_no_doc_mentions_escaped():
    answer = Answer("configure atlantis?", False, "", topics=["Terraform"], unknown=["atl<!here>"])
    message = blocks.render_answer(answer, interaction_id=None)
    text = _visible(message)
    assert message["text"].startswith("My docs never mention “atl&lt;!here&gt;”")
    assert "<!here>" not in text and len(text) <= blocks.DECLINE_LIMIT


def test_home_groups_topics_with_counts_examples_and_freshness():
    cat = Catalogue(
        300,
        4000,
        1_700_000_000.0,
        [Group(f"docs/area{i}", 30 - i, ["A & B", "<!here>"]) for i in range(20)],
        ["How do I roll back?"],
    )
    home = render_home(cat)
    dumped = json.dumps(home, ensure_ascii=False)
    assert home["type"] == "home" and "300 documents · 4000 passages" in dumped
    assert "*Docs › Area0* — 30 documents" in dumped and "…and 8 more folders" in dumped
    assert "<!date^1700000000^" in dumped
    assert "<!here>" not in dumped and "/opsbot" in dumped
    assert len(dumped) < 6000
    (examples,) = [b for b in home["blocks"] if b.get("block_id") == "opsbot_examples"]
    (button,) = examples["elements"]  # an example question is a button
    assert button["value"] == "How do I roll back?" and button["action_id"] == "opsbot_example_0"
    assert "/opsbot share" in _dump(notes.render_help(["T"]))


def test_home_puts_the_declared_sources_first_with_readable_names_and_says_1_document():
    groups = [Group("vendor-docs/content", 400, ["Big"]), Group("team_kb", 1, ["Ours"])]
    view = render_home(Catalogue(1, 1, 0.0, groups, []), ["team_kb", "vendor-docs"])
    home = json.dumps(view, ensure_ascii=False)
    assert home.index("*Team kb* — 1 document\\n") < home.index("*Vendor docs › Content*")
    assert "1 document · 1 passage" in home and "1 documents" not in home


def test_help_text_is_escaped_for_slack():
    text = _dump(notes.render_help())
    assert "<question>" not in text and "/opsbot &lt;question&gt;" in text


def test_fallback_text_drops_citation_markers():
    assert blocks.fallback_text("Run `make deploy` [1]. Then check [2].") == (
        "Run make deploy. Then check."
    )


def test_fallback_text_is_plain():
    text = blocks.fallback_text("## What is DevOps?\n**What Sets Them Apart**\n```\nrun <x>\n```")
    assert text == "What is DevOps? What Sets Them Apart run &lt;x&gt;"
    assert blocks.fallback_text("*a* ~~b~~ [c](https://d.example) `e`") == "a b c e"


def _body(message: dict) -> str:
    return "\n".join(b["text"]["text"] for b in message["blocks"] if b["type"] == "section")


def test_long_answer_is_cut_between_paragraphs_within_the_visible_budget():
    lead = "Run the sync hook before the main sync [1]."
    passages = [f"**[{n}] Part {n}**  \n" + "Words that explain. " * 20 for n in range(1, 6)]
    answer = Answer("q", True, "\n\n".join([lead, *passages]))
    message = blocks.render_answer(answer, interaction_id=1)
    body = _body(message)
    assert body.startswith("Run the sync hook")
    assert len(body) <= blocks.ANSWER_VISIBLE + 100  # links to sources add a little
    assert "Part 1" in body and "Part 5" not in body
    assert any(blocks.SHORTENED_NOTE in str(b) for b in message["blocks"])


def test_cap_never_cuts_inside_a_code_fence_or_after_an_introduction():
    code = "```bash\n" + "\n\n".join(f"echo step {i}" for i in range(60)) + "\n```"
    text = "\n\n".join(["Do this [1].", "Then run this:", code, "Done."])
    capped = blocks.cap_answer(text, limit=200)
    assert capped == "Do this [1]."  # the fence is too long: its introduction goes too
    short = blocks.cap_answer("\n\n".join(["Do this [1].", "Run:", "```\nls\n\nls\n```"]))
    assert short.endswith("```") and short.count("```") == 2
    assert blocks.cap_answer("Short answer [1].") == "Short answer [1]."
