"""Web-junk cleaning: footers, '?' artefacts, whitespace."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.ingest.clean import clean_text, fix_question_marks, remove_web_junk

SEED = Path(__file__).resolve().parents[2] / "shared/seed/devops-vs-mlops-article.txt"

CHINESE_FOOTER = ("要查看或添加评论", "的更多文章", "社区洞察", "其他会员也浏览了", "Aesthisia")


@pytest.fixture(scope="module")
def seed_text() -> str:
    if not SEED.is_file():
        pytest.skip(f"{SEED} is missing")
    return SEED.read_text(encoding="utf-8")


def test_seed_footer_and_question_artefacts_are_gone(seed_text: str) -> None:
    raw_has_footer = all(marker in seed_text for marker in CHINESE_FOOTER)
    assert raw_has_footer and "??" in seed_text and ".?" in seed_text  # the test is meaningful
    text = clean_text(seed_text)
    for marker in CHINESE_FOOTER:
        assert marker not in text
    assert "??" not in text
    assert ".?" not in text and ":?" not in text
    lines = text.split("\n")
    assert "What is DevOps?" in lines
    assert "What They Have in Common:" in lines
    assert text.rstrip().endswith("make our digital world run smoothly.")
    assert "  1. Automation: Both DevOps and MLOps love using machines" in text


def test_english_linkedin_footer_is_cut() -> None:
    raw = "\n".join(
        [
            "Blue-green deployments",
            "",
            "Keep two environments and switch traffic. Does it cost more? Yes.",
            "",
            "Like",
            "Comment",
            "Share",
            "",
            "To view or add a comment, sign in",
            "",
            "More articles by Jane Doe",
            "Canary releases explained",
            "Feature flags 101",
            "",
            "Others also viewed",
            "Kubernetes in 5 minutes",
            "Explore topics",
            "Sales",
            "Marketing",
        ]
    )
    text = clean_text(raw)
    assert text == (
        "Blue-green deployments\n\n"
        "Keep two environments and switch traffic. Does it cost more? Yes."
    )


def test_single_marker_with_long_tail_is_not_a_footer() -> None:
    body = [f"Paragraph {i} about pipelines and their caches." for i in range(10)]
    raw = "\n\n".join(["Intro text.", "Explore topics", *body])
    text = clean_text(raw)
    assert "Explore topics" in text  # a lone marker followed by real content is kept
    assert "Paragraph 9 about pipelines" in text


def test_junk_lines_are_dropped_mid_text_but_words_in_sentences_stay() -> None:
    raw = "I like this tool.\nLike Comment Share\nShare your config.\nReport this article"
    assert remove_web_junk(raw) == "I like this tool.\nShare your config."


def test_remove_web_junk_keeps_question_marks_and_indentation() -> None:
    raw = "```js\nconst x = a ?? b;\n    if (y) {.?}\n```"
    assert remove_web_junk(raw) == raw


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("What is DevOps??", "What is DevOps?"),
        ("it gets updated or launched.?", "it gets updated or launched."),
        ("What They Have in Common:?", "What They Have in Common:"),
        ("?", None),
        ("  ？ ", None),
        ("Is it ready? Yes, it is.", "Is it ready? Yes, it is."),
        ("Why use a cache? Speed.", "Why use a cache? Speed."),
    ],
)
def test_fix_question_marks(line: str, expected: str | None) -> None:
    assert fix_question_marks(line) == expected


def test_whitespace_normalisation() -> None:
    raw = (
        "Title\r\n\r\n\r\n\r\nSome\u00a0text\u200b with   spaces\ufeff.\t \n\n\n  - item\u202fone\n"
    )
    assert clean_text(raw) == "Title\n\nSome text with spaces.\n\n  - item one"
