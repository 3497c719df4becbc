"""Reading a question: which tool-like names it asks about that the index has never seen."""

from __future__ import annotations

import pytest

from bot.engine.query import unknown_names

KNOWN = {"terraform", "plan", "dvc", "remote", "git", "devops", "mlops", "pipeline", "canary"}


def known(word: str) -> bool:
    return word.lower() in KNOWN


@pytest.mark.parametrize(
    ("question", "names"),
    [
        ("how do we configure atlantis so terraform plan runs on every PR?", ["atlantis"]),
        ("renovate or dependabot for dependency update PRs?", ["renovate", "dependabot"]),
        ("how do I set up PagerDuty alerts?", ["pagerduty"]),
        ("can we migrate to jenkins?", ["jenkins"]),
        ("does spinnaker support canary releases?", ["spinnaker"]),
        ("grafana compared to kibana?", ["grafana", "kibana"]),
        ("how do I use renovate with a monorepo?", ["renovate"]),
    ],
)
def test_a_name_in_a_tool_slot_that_no_doc_uses_is_reported(question, names):
    assert unknown_names(question, known) == names


@pytest.mark.parametrize(
    "question",
    [
        "how do I configure the dvc remote?",  # known words in the slot
        "terraform or pulumi?",  # one side known: half of it can be answered
        "what metaphor is used for mlops?",  # unknown word, but not where a name goes
        "we retrain every night. does the pipeline handle that?",
        "how do dvc and git work together?",
        "how do I set up a new dvc remote?",  # "new" describes what follows
        "how do I configure my own private remote?",
        "how do I install dvc locally?",
        "how do we migrate from jenkins to a dvc pipeline?",  # the docs cover where to
        "can I use git with dvc?",
        "should we install locally or remotely?",
    ],
)
def test_ordinary_words_and_known_names_are_not_reported(question):
    assert unknown_names(question, known) == []


def test_a_compound_of_known_words_is_not_a_name():
    assert unknown_names("how do I install dvc-git?", known) == []
    assert unknown_names("how do I install dvc-lfs?", known) == ["dvc-lfs"]


def test_an_abbreviation_the_docs_never_use_is_spelled_out():
    from bot.engine.glossary import spell_out

    docs = {"machine", "learning", "models", "kubernetes"}.__contains__
    assert spell_out("do ML models need care?", docs) == (
        "do ML (machine learning) models need care?"
    )
    assert spell_out("ML or machine learning?", docs) == "ML or machine learning?"
    # the docs use the short form (or lack the long one): the question stays as written
    assert spell_out("is ML hard?", {"ml", "machine", "learning"}.__contains__) == "is ML hard?"
    assert spell_out("what is IaC?", docs) == "what is IaC?"
    assert spell_out("k8s pods", docs) == "k8s (kubernetes) pods"


@pytest.mark.parametrize(
    ("question", "sides"),
    [
        ("where do devops and mlops overlap?", [{"devop"}, {"mlop"}]),
        ("what sets mlops apart from devops?", [{"mlop"}, {"devop"}]),
        ("how are terraform and pulumi alike?", [{"terraform"}, {"pulumi"}]),
        ("is continuous improvement shared by both practices?", []),
    ],
)
def test_comparison_sides_for_everyday_ways_of_comparing(question, sides):
    from bot.engine.comparison import comparison_sides

    assert comparison_sides(question) == sides


def test_a_statement_compares_when_it_relates_both_sides_the_way_asked():
    from bot.engine.comparison import comparison
    from bot.engine.terms import folded_terms

    texts = {
        "differ": "DevOps deals with software, while MLOps handles models.",
        "alike": "Both DevOps and MLOps love automation.",
        "names": "There are two big players: DevOps and MLOps.",
        "one side": "MLOps spends more time handling data, unlike most teams.",
        "concession": "DevOps and MLOps might seem similar, but each has its own job.",
    }
    expected = {
        "how do devops and mlops differ?": {"differ", "concession"},
        "what do devops and mlops have in common?": {"alike"},
        "devops vs mlops?": {"differ", "alike", "concession"},
    }
    for question, comparing in expected.items():
        cmp = comparison(question)
        said = {k for k, text in texts.items() if cmp.compares(text, folded_terms(text))}
        assert said == comparing, (question, cmp.kind)
    assert not comparison("what is mlops?")


@pytest.mark.parametrize(
    ("question", "framing"),
    [
        ("what role does data play in mlops", {"role", "part", "play"}),
        ("what's the point of devops", {"point", "purpose"}),
        ("why does automation matter to devops teams?", {"matter", "matters"}),
        ("how do I create an IAM role?", set()),
        ("what is the subject matter of the docs?", set()),
    ],
)
def test_idioms_that_frame_a_question_are_not_its_topic(question, framing):
    from bot.engine.terms import framing_words

    assert framing_words(question) == framing


def test_a_heading_naming_the_kind_of_comparison_matches_any_word_for_it():
    from bot.engine.comparison import framing_kinds, with_kinds
    from bot.engine.terms import QueryTerms, folded_terms

    share = framing_kinds(QueryTerms({"devop": 1.0, "mlop": 1.0, "share": 2.0}))
    differ = framing_kinds(QueryTerms({"devop": 1.0, "mlop": 1.0, "distinguish": 2.0}))
    common = with_kinds(folded_terms("What They Have in Common"))
    apart = with_kinds(folded_terms("What Sets Them Apart"))
    assert share.coverage(common) == 0.5 and share.coverage(apart) == 0.0
    assert differ.coverage(apart) == 0.5 and differ.coverage(common) == 0.0
