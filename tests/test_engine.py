"""The engine on the real article and the real model."""

from __future__ import annotations

import json

from bot.engine.compose import MAX_ANSWER_CHARS, best_excerpt
from bot.engine.query import clean_question, is_comparative


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def test_clean_question_strips_slack_markup():
    raw = (
        "<@U123ABC> see <#C99|ops> and <https://x.example/a|the docs> :eyes: <!here> what is MLOps?"
    )
    cleaned = clean_question(raw)
    assert cleaned.text == "see ops and the docs what is MLOps?"
    assert not cleaned.truncated


def test_clean_question_truncates_long_input_at_a_word():
    cleaned = clean_question("word " * 20_000, max_chars=4000)
    assert cleaned.truncated
    assert len(cleaned.text) <= 4000
    assert cleaned.text.endswith("word")


def test_comparative_detection():
    assert is_comparative("devops vs mlops - what's actually different?")
    assert is_comparative("what do devops and mlops have in common")
    assert not is_comparative("What is MLOps?")


def test_best_excerpt_keeps_whole_sentences_within_budget():
    passage = " ".join(f"Sentence number {i} talks about topic{i}." for i in range(200))
    excerpt = best_excerpt(passage, "tell me about topic150")
    assert len(excerpt) <= MAX_ANSWER_CHARS
    assert "topic150." in excerpt
    assert excerpt.startswith("Sentence number") and excerpt.endswith(".")


def test_article_eval_questions(article_engine, shared_dir):
    """Every answerable article question has a hint-bearing passage in the top 3."""
    items = [
        json.loads(x) for x in (shared_dir / "eval/article-dev.jsonl").read_text().splitlines()
    ]
    for item in items:
        answer = article_engine.answer(item["question"], k=3)
        if item["kind"] == "unanswerable":
            assert not answer.answered, item["question"]
            assert "nothing on that" in answer.answer or "don't have anything" in answer.answer
            continue
        assert answer.answered, (item["question"], answer.top_score)
        texts = [_norm(s.text) for s in answer.sources]
        assert any(_norm(h) in t for h in item["hints"] for t in texts), item["question"]


def test_answer_shape_and_sources(article_engine):
    answer = article_engine.answer("What is MLOps?")
    assert answer.answered
    assert 0 < len(answer.answer) <= MAX_ANSWER_CHARS + 50
    assert "machine learning models" in answer.answer
    assert 1 <= len(answer.sources) <= 3
    top = answer.sources[0]
    assert top.path == "devops-vs-mlops.md"
    assert top.heading.startswith("DevOps vs MLOps: differences and similarities › ")
    scores = [s.score for s in answer.sources]
    assert all(0 < s <= 1 for s in scores)
    payload = answer.to_json()
    assert set(payload) == {"question", "answered", "answer", "sources"}
    assert set(payload["sources"][0]) == {"path", "title", "heading", "score", "text"}


def test_comparative_answer_shows_two_sections(article_engine):
    answer = article_engine.answer("devops vs mlops - what's actually different?")
    assert answer.answered
    assert "Sets Them Apart" in answer.answer
    assert answer.answer.count("**") >= 4  # two labelled sections


def test_sources_are_distinct(article_engine):
    answer = article_engine.answer("devops mlops automation teamwork tools", k=5)
    texts = [_norm(s.text) for s in answer.sources]
    assert len(texts) == len(set(texts))


def test_off_topic_declines_with_topics(article_engine):
    answer = article_engine.answer("where can I get the best pizza in Naples?")
    assert not answer.answered
    assert "DevOps vs MLOps" in answer.answer
    assert answer.topics


def test_follow_up_uses_history(article_engine):
    alone = article_engine.answer("and what about the tools?")
    follow = article_engine.answer(
        "and what about the tools?", history=["what are the differences between devops and mlops"]
    )
    assert follow.answered
    assert "special tools" in follow.sources[0].text or "special tools" in follow.answer
    assert follow.top_score >= alone.top_score


def test_huge_question_is_answered_truncated(article_engine):
    answer = article_engine.answer("What is MLOps? " + "x" * 50_000)
    assert answer.truncated
    assert len(answer.question) <= 4000


def test_empty_question_gets_help(article_engine):
    answer = article_engine.answer("<@U123> :wave:")
    assert not answer.answered
    assert "Ask me" in answer.answer
