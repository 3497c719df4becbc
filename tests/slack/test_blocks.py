"""Block Kit rendering: escaping, Slack's size limits, code fences, declines, home."""

from __future__ import annotations

import json

from slack_sim import BROADCASTS
from stub_engine import StubEngine

from bot.engine.types import Answer, Source
from bot.slack import blocks


def _dump(message: dict) -> str:
    return json.dumps(message)


def test_escape_neutralises_broadcasts_pings_and_links():
    out = blocks.escape("<!channel> <!here> <@U123> <https://evil|docs> a&b @here @everyone")
    assert "<" not in out and ">" not in out
    assert "&lt;!channel&gt;" in out and "a&amp;b" in out
    assert "@here" not in out and "@everyone" not in out  # word joiner after the @


def test_hostile_answer_renders_inert_and_keeps_code_fence():
    answer = StubEngine().answer("hostile please")
    message = blocks.render_answer(answer, answer_id=7, echo_question=True, asker="UHUMAN1")
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
    assert "the docs (<https://mlflow.org/x%7Cy>)" in out
    assert "• one" in out and "`a&lt;b`" in out
    assert "[the docs](" not in out
    assert blocks.to_mrkdwn("[x](javascript:void)") == "x"


def test_long_answer_respects_section_and_block_limits_with_balanced_fences():
    answer = StubEngine().answer("long answer please")
    message = blocks.render_answer(answer, answer_id=1)
    assert len(message["blocks"]) <= blocks.MAX_BLOCKS
    sections = [b["text"]["text"] for b in message["blocks"] if b["type"] == "section"]
    assert len(sections) > 2
    assert all(len(s) <= blocks.SECTION_LIMIT for s in sections)
    assert all(s.count("```") % 2 == 0 for s in sections)
    assert len(message["text"]) <= 300


def test_many_sections_are_capped_at_fifty_blocks():
    answer = Answer("q", True, "\n\n".join("para " * 500 for _ in range(200)))
    message = blocks.render_answer(answer, answer_id=1)
    assert len(message["blocks"]) == blocks.MAX_BLOCKS
    assert message["blocks"][-1]["type"] == "actions"


def test_sources_show_heading_path_and_link():
    source = Source("a/b.md", "Guide", "Guide › Deploy", 0.9, "t", "https://x.example/a?b=1&c=2")
    line = blocks.source_line(source)
    assert line == "• *Guide › Deploy* — `a/b.md` <https://x.example/a?b=1&amp;c=2>"
    plain = blocks.source_line(Source("c.md", "Other", "Intro", 0.5, "t"))
    assert plain == "• *Other › Intro* — `c.md`"
    assert "<" not in blocks.source_line(Source("d.md", "T", "T", 0.5, "t", "javascript:x"))


def test_feedback_buttons_carry_the_answer_id():
    answer = Answer("q", True, "a", [Source("p.md", "T", "T › H", 0.9, "t")])
    actions = blocks.render_answer(answer, answer_id=42)["blocks"][-1]
    assert actions["block_id"] == blocks.FEEDBACK_BLOCK_ID
    assert {e["action_id"] for e in actions["elements"]} == {"opsbot_vote_up", "opsbot_vote_down"}
    assert {e["value"] for e in actions["elements"]} == {"42"}


def test_decline_is_never_silent_and_lists_topics():
    answer = StubEngine().answer("best pizza?")
    message = blocks.render_answer(answer, answer_id=None)
    dumped = _dump(message)
    assert "nothing on that" in dumped
    assert "DevOps vs MLOps" in dumped and "Kubernetes &lt;basics&gt; &amp; more" in dumped
    assert not any(b["type"] == "actions" for b in message["blocks"])


def test_thanks_replaces_buttons():
    answer = Answer("q", True, "a")
    original = blocks.render_answer(answer, answer_id=3)["blocks"]
    thanked = blocks.render_thanks(original, "down")
    assert not any(b["type"] == "actions" for b in thanked)
    assert "Thanks for the feedback" in _dump(thanked)
    assert len(thanked) == len(original)


def test_home_and_help():
    home = blocks.render_home(["A & B", "<!here>"], 12, ["What should I know about A?"])
    dumped = _dump(home)
    assert home["type"] == "home" and "12 passages" in dumped
    assert "<!here>" not in dumped and "/opsbot" in dumped
    assert "/opsbot share" in _dump(blocks.render_help(["T"]))


def test_fallback_text_is_plain():
    text = blocks.fallback_text("**What Sets Them Apart**\n```\nrun <x>\n```")
    assert text == "What Sets Them Apart run &lt;x&gt;"
