"""The engine on the real article and the real model."""

from __future__ import annotations

import json
import re

from bot.engine.comparison import comparison_sides, is_comparative
from bot.engine.question import cap, refers_back
from bot.slack.mrkdwn import plain_question


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def test_the_slack_layer_strips_its_markup_before_the_engine_reads_a_question():
    raw = (
        "<@U123ABC> see <#C99|ops> and <https://x.example/a|the docs> :eyes: <!here> what is MLOps?"
    )
    assert plain_question(raw) == "see ops and the docs what is MLOps?"


def test_a_long_question_is_cut_at_a_word():
    text, truncated = cap("word " * 20_000, max_chars=4000)
    assert truncated
    assert len(text) <= 4000
    assert text.endswith("word")
    assert cap("  what   is mlops? ", 4000) == ("what is mlops?", False)


def test_comparative_detection():
    assert is_comparative("devops vs mlops - what's actually different?")
    assert is_comparative("what do devops and mlops have in common")
    assert not is_comparative("What is MLOps?")


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


def test_answer_opens_with_a_cited_direct_answer(article_engine):
    answer = article_engine.answer("What is MLOps?")
    assert answer.answered
    assert answer.answer.startswith(answer.lead)
    assert 40 <= len(answer.lead) <= 450
    assert "special agent of software" in answer.lead
    cited = {int(n) for n in re.findall(r"\[(\d+)\]", answer.answer)}
    assert cited and cited <= set(range(1, len(answer.sources) + 1))
    top = answer.sources[0]
    assert top.path == "devops-vs-mlops.md"
    assert top.heading.endswith("› What is MLOps?")
    scores = [s.score for s in answer.sources]
    assert scores == sorted(scores, reverse=True)
    payload = answer.to_json()
    assert set(payload) == {
        "question",
        "answered",
        "lead",
        "answer",
        "generated",
        "model",
        "unknown",
        "sources",
    }
    assert payload["generated"] is False and payload["model"] is None  # no LLM_BASE_URL
    assert set(payload["sources"][0]) == {"path", "title", "heading", "score", "text", "url"}


def test_packed_small_section_is_found_and_labelled_by_its_own_heading(article_engine):
    """ "What is DevOps?" shares a chunk with the intro; it still answers under its name."""
    answer = article_engine.answer("what's the point of devops")
    assert answer.answered
    assert answer.sources[0].heading.endswith("› What is DevOps?")
    assert "teamwork philosophy" in answer.lead


def test_comparison_lead_takes_both_sides(article_engine):
    answer = article_engine.answer("devops vs mlops - what's actually different?")
    assert answer.answered
    lead = answer.lead.lower()
    assert "devops" in lead and "mlops" in lead
    assert "regular software" in lead


def test_comparison_sides_and_follow_up_detection():
    assert comparison_sides("devops vs mlops - what's actually different?") == [
        {"devop"},
        {"mlop"},
    ]
    assert {"devop"} <= comparison_sides("diff between dev ops and ml ops")[0]
    assert comparison_sides("What is MLOps?") == []
    assert refers_back("and devops?", 1)
    assert refers_back("who do they team up with?", 2)
    assert not refers_back("recommend a good sci-fi novel", 3)


def test_excerpts_end_on_whole_thoughts(article_engine):
    for question in ("What is MLOps?", "what do devops and mlops have in common"):
        answer = article_engine.answer(question)
        for part in answer.answer.split("\n\n"):
            assert not part.rstrip().endswith((":", ",")), part


def test_sources_are_distinct(article_engine):
    answer = article_engine.answer("devops mlops automation teamwork tools", k=5)
    texts = [_norm(s.text) for s in answer.sources]
    assert len(texts) == len(set(texts))


def test_off_topic_declines_with_topics(article_engine):
    answer = article_engine.answer("where can I get the best pizza in Naples?")
    assert not answer.answered
    assert "DevOps vs MLOps" in answer.answer
    assert answer.topics


def test_a_tool_no_doc_mentions_is_declined_by_name(article_engine):
    """Close words ("terraform plan on every PR") don't make up for the missing tool."""
    answer = article_engine.answer("how do we configure atlantis so CI runs the model tests?")
    assert "atlantis" in answer.unknown
    assert (
        "never mention “" in answer.answer[:40] and "“atlantis”" in answer.answer[:80]
    )  # said first, declined or not


def test_an_abbreviation_the_article_never_uses_still_finds_its_section(article_engine):
    answer = article_engine.answer("do ML models need special handling?")
    assert answer.answered, answer.signals
    assert answer.sources[0].heading.endswith("What is MLOps?")


def test_a_comparison_leads_with_a_sentence_that_compares(article_engine):
    """Not the intro line that merely names both ("two big players: DevOps and MLOps")."""
    for question in ("how do devops and mlops differ?", "where do devops and mlops overlap?"):
        answer = article_engine.answer(question)
        first = answer.lead.split("[")[0]
        assert "DevOps" in first and "MLOps" in first, (question, answer.lead)
        assert any(w in first for w in (" while ", " but ", "Both ")), (question, answer.lead)


def test_a_comparison_finds_the_section_for_what_it_asks(article_engine):
    """Alike or different, in words the headings don't use."""
    for question, section in [
        ("what do devops and mlops share?", "What They Have in Common"),
        ("what distinguishes mlops from devops?", "What Sets Them Apart"),
    ]:
        answer = article_engine.answer(question)
        assert answer.sources[0].heading.endswith(section), (question, answer.sources[0])


def test_follow_up_uses_history(article_engine):
    follow = article_engine.answer(
        "and what about the tools?", history=["what are the differences between devops and mlops"]
    )
    assert follow.answered
    assert "special tools" in follow.lead


def test_off_topic_follow_up_is_declined_whatever_the_thread(article_engine):
    history = ["how is devops different from mlops?", "what do devops and mlops have in common?"]
    for question in ("what is a good pasta recipe?", "recommend a good sci-fi novel"):
        answer = article_engine.answer(question, history=history)
        assert not answer.answered, (question, answer.signals)


def test_huge_question_is_answered_truncated(article_engine):
    answer = article_engine.answer("What is MLOps? " + "x" * 50_000)
    assert answer.truncated
    assert len(answer.question) <= 4000


def test_empty_question_gets_help(article_engine):
    for asked in (plain_question("<@U123> :wave:"), "   "):
        answer = article_engine.answer(asked)
        assert not answer.answered
        assert "Ask me" in answer.answer


def test_article_dev_sets_meet_their_targets(article_engine, shared_dir):
    """All three article sets: the answering section in the top 3, a hint up front."""
    from bot.evaluation import evaluate, load_questions

    questions = [
        q
        for name in ("article-dev", "article-paraphrases-dev", "followups-dev")
        for q in load_questions(shared_dir / f"eval/{name}.jsonl")
    ]
    report = evaluate(article_engine, questions, k=3)
    assert report.hit_rate == 1.0, report.lines()
    assert report.lead_rate >= 0.9, report.lines()
    assert report.false_declines == 0, report.lines()
    assert report.declined_correctly == report.unanswerable, report.lines()
