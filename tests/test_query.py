"""Reading a question: names the index has never seen, abbreviations, comparisons, idioms."""

from __future__ import annotations

import pytest

from bot.engine.names import (
    Spelling,
    edit_distance,
    inflected_english,
    stems,
    unknown_names,
    word_forms,
)
from bot.engine.terms import framing_words
from bot.index.lexical import tokenize

_DOCS = """
terraform plan dvc remote git devops mlops pipeline canary releases prometheus alertmanager
scrape targets pushgateway metrics histogram configure install runs every dependency update
events jobs stage alerts routing yaml ship hook wire deploy
"""
DOC_WORDS = _DOCS.split()
SPELLING = Spelling(DOC_WORDS)


def known(word: str) -> bool:
    return word.lower() in DOC_WORDS


def names(question: str) -> list[str]:
    return unknown_names(tokenize(question), known, SPELLING, framing_words(question))


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        # wherever the name sits: no phrase slots
        ("how do we configure atlantis so terraform plan runs on every PR?", ["atlantis"]),
        ("renovate or dependabot for dependency updates?", ["renovate", "dependabot"]),
        ("wire zabbix into our alertmanager", ["zabbix"]),
        ("hook up opsgenie for the pushgateway", ["opsgenie"]),
        ("ship events to splunk from prometheus", ["splunk"]),
        ("deploy flagger jobs with a canary", ["flagger"]),
        ("a keda stage in the pipeline?", ["keda"]),
        ("does prometheus work with nagios?", ["nagios"]),
        ("grafana or prometheus?", ["grafana"]),
        ("how do I set up PagerDuty alerts?", ["pagerduty"]),
        ("whats the right ServiceMonitor yaml?", ["servicemonitor"]),
        ("our ServiceMonitors never ship", ["servicemonitors"]),  # a name's plural stays one
        ("does the pushgateway work with containerd?", ["containerd"]),  # a name ending in "d"
    ],
)
def test_a_name_no_doc_uses_is_reported_wherever_it_sits(question, expected):
    assert names(question) == expected


@pytest.mark.parametrize(
    "question",
    [
        "how do I configure the dvc remote?",  # known words
        "what metaphor is used for mlops?",  # everyday English
        "why is the weather bad for canary releases?",
        "how do I install dvc-git?",  # a compound of known words
        "promethues scrape targets?",  # a typo of a word the docs use
        "alertmanger routing",  # a typo, one letter out
        "how do I install dvc locally?",
        "terraform 3 times at 10s",  # numbers and short tokens
        "explain the difference please",  # words that frame the question
        "the exporter stomps on our metrics",  # inflections of dictionary words
        "metrics come out garbled on scrape",
        "any snags with the pushgateway?",
    ],
)
def test_everyday_words_known_words_and_typos_are_not_names(question):
    assert names(question) == []


def test_a_compound_with_an_unknown_part_is_a_name():
    assert names("how do I install dvc-lfs?") == ["dvc-lfs"]


@pytest.mark.parametrize(
    ("word", "stem"),
    [
        ("mangled", "mangle"),
        ("clobbers", "clobber"),
        ("hardcoding", "hardcode"),
        ("nightly", "night"),
    ],
)
def test_word_forms_strip_english_endings(word, stem):
    assert stem in word_forms(word) and word_forms(word)[0] == word


@pytest.mark.parametrize(
    ("word", "english"),
    [
        ("garbled", True),
        ("stomps", True),
        ("snags", True),
        ("mapped", True),  # a doubled last letter
        ("truncates", True),
        ("sloth", False),  # a dictionary word, but not inflected: may be a name
        ("inhibit", False),
        ("zabbix", False),
        ("containerd", False),  # "d" alone is no inflection here
        ("flagger", False),  # nor "er"
        ("servicemonitors", False),  # the stem is no dictionary word
    ],
)
def test_an_inflected_dictionary_word_is_english(word, english):
    assert inflected_english(word) is english


def test_stems_follow_the_inflections_table():
    assert "map" in stems("mapped") and "policy" in stems("policies") and stems("cat") == []


@pytest.mark.parametrize("word", ["zabbix", "keda", "sloth"])
def test_a_word_without_an_english_ending_is_its_only_form(word):
    assert word_forms(word) == [word]


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [
        ("prometheus", "promethues", 1),
        ("alertmanager", "alertmanger", 1),
        ("keda", "kedb", 1),
        ("git", "dvc", 3),
        ("metrics", "metric", 1),
    ],
)
def test_edit_distance(a, b, distance):
    assert edit_distance(a, b) == distance


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


@pytest.mark.parametrize(
    ("word", "docs", "relative"),
    [
        ("configure", ["configuration", "remote"], "configuration"),
        ("autoscale", ["autoscaling"], "autoscaling"),
        ("zabbix", ["zabbax"], None),  # a six-letter word must match all six letters
        ("sloth", ["slot"], None),  # too short to share six letters
        ("renovate", ["renovation"], "renovation"),
    ],
)
def test_another_form_of_a_docs_word_is_found_by_its_prefix(word, docs, relative):
    assert Spelling(docs).relative(word, 6, 3) == relative
