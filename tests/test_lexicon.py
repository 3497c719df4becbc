"""Each rule family of the lexicon (bot/engine/lexicon.toml), by a table of rows that must
match and rows that must not. A new phrase in the lexicon is a new row here."""

from __future__ import annotations

import pytest

from bot.engine.comparison import comparison
from bot.engine.lexicon import lexicon, phrase_pattern
from bot.engine.question import join_split_words, refers_back, resolve_pronoun
from bot.engine.shape import question_shape
from bot.engine.terms import fold


@pytest.mark.parametrize(
    ("phrases", "text", "matches"),
    [
        (["compar*"], "how do they compare?", True),
        (["compar*"], "a comparison", True),
        (["compar*"], "incomparable", False),  # whole words only
        (["in common"], "what do they have in   common", True),
        (["what does * mean"], "what does PVC mean", True),
        (["what does * mean"], "what does it all mean", False),  # one word only
        (["vs."], "x vs. y", True),
        (["set up"], "setup", False),
    ],
)
def test_phrase_patterns(phrases, text, matches):
    assert bool(phrase_pattern(phrases).search(text)) is matches


@pytest.mark.parametrize(
    ("question", "content_words", "follows"),
    [
        ("and devops?", 1, True),
        ("what about the pushgateway?", 1, True),
        ("who do they team up with?", 2, True),
        ("ok and histograms vs summaries?", 2, True),
        ("does the pushgateway have one of those too?", 2, True),
        ("how come?", 0, True),
        ("recommend a good sci-fi novel", 3, False),
        ("how do I reload prometheus config without a restart", 4, False),
        ("android versus ios battery life", 4, False),  # "and" inside a word
        ("great, and for the alert rules?", 3, True),  # an acknowledgement opens a reply
        ("thanks! what retention should the tsdb keep?", 3, True),
        ("makes sense. how do I size the volume then", 3, True),
        ("okta sso for the grafana login", 4, False),  # "ok" inside a word
        ("greatest common divisor of two numbers", 4, False),
    ],
)
def test_a_follow_up_refers_back_by_its_opening_or_a_pointer(question, content_words, follows):
    assert refers_back(question, content_words) is follows


@pytest.mark.parametrize(
    ("question", "topic", "resolved"),
    [
        ("who do they team up with?", "mlops", "who do mlops team up with?"),
        ("why is it slow?", "remote write", "why is remote write slow?"),
        ("what does this flag do and that one?", "x", "what does x flag do and that one?"),
        ("how do I reload the config?", "prometheus", "how do I reload the config?"),
        ("why is it slow?", "", "why is it slow?"),
        ("is the item ready?", "x", "is the item ready?"),  # "it" inside a word
    ],
)
def test_resolve_pronoun_replaces_the_first_pronoun_only(question, topic, resolved):
    assert resolve_pronoun(question, topic) == resolved


@pytest.mark.parametrize(
    ("text", "joined"),
    [
        ("what is dev ops?", "what is devops?"),
        ("ml ops and dev ops", "mlops and devops"),
        ("push gateway", "pushgateway"),
        ("dev team", "dev team"),  # "devteam" is not a word of the docs
        ("a b", "a b"),  # too short to be parts of one word
    ],
)
def test_join_split_words_when_the_docs_use_the_joined_word(text, joined):
    docs = {"devops", "mlops", "pushgateway"}
    assert join_split_words(text, docs.__contains__) == joined


@pytest.mark.parametrize(
    ("word", "folded"),
    [
        ("teams", "team"),
        ("deployed", "deploy"),
        ("running", "runn"),
        ("policies", "policy"),
        ("classes", "class"),
        ("class", "class"),  # -ss stays
        ("bus", "bus"),  # too short to fold
        ("k8s", "k8s"),  # not a plain word
    ],
)
def test_fold_merges_plural_and_tense_forms(word, folded):
    assert fold(word) == folded


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("how do devops and mlops differ?", "differ"),
        ("what sets mlops apart from devops?", "differ"),
        ("where do devops and mlops overlap?", "alike"),
        ("what do terraform and pulumi have in common?", "alike"),
        ("terraform vs pulumi?", "any"),
        ("how does terraform compare with pulumi?", "any"),
    ],
)
def test_what_a_comparison_asks(question, kind):
    cmp = comparison(question)
    assert cmp and cmp.kind == kind


@pytest.mark.parametrize("question", ["what is mlops?", "how do I reload prometheus?"])
def test_not_a_comparison(question):
    assert not comparison(question)


@pytest.mark.parametrize(
    ("question", "shape"),
    [
        ("how do i reload prometheus without a restart?", "howto"),
        ("what's the flag to enable the admin api?", "howto"),
        ("set up basic auth for the UI", "howto"),
        ("Error: context deadline exceeded when scraping", "error"),
        ("POST to /-/reload just gets refused, why?", "error"),
        ("my target shows up but scrapes failed with 403", "error"),
        ("what is a histogram?", "definition"),
        ("what does PVC mean?", "definition"),
        ("why does my counter reset?", "why"),
        ("is it fine to average per-instance ratios?", "yesno"),
        ("should i attach my own timestamps?", "yesno"),
        ("summary vs histogram for latency", "other"),
        ("naming conventions for recording rules", "other"),
        ("island hopping ideas", "other"),  # "is" inside a word
    ],
)
def test_question_shape(question, shape):
    assert question_shape(question) == shape


def test_every_list_in_the_lexicon_is_lowercase_and_unique():
    lex = lexicon()
    for section, table in lex.raw.items():
        for key, value in table.items():
            if isinstance(value, list) and value and isinstance(value[0], str):
                assert all(v == v.lower() for v in value), (section, key)
                assert len(set(value)) == len(value), (section, key)
    assert len(lex.asking_words) == len(lex.raw["asking"]["words"].split())


@pytest.mark.parametrize(
    ("message", "asks"),
    [
        ("how do I rotate the vault keys?", True),
        ("and for staging", False),  # a fragment with no question form
        ("what about staging?", True),
        ("why does the canary stop at 10%", True),
        ("what is a canary deploy", True),
        ("how to roll back a helm release", True),
        ("can someone explain the paging policy", True),
        ("anyone know where the runbook is", True),
        ("wondering if we keep state in S3", True),
        ("what's the command to drain a node", True),
        ("`Error: ImagePullBackOff` on the new pods", True),  # a pasted error
        ("thanks!", False),
        ("thank you :pray:", False),
        ("on it", False),
        ("ok, will do", False),
        ("lgtm +1", False),
        ("great, that worked!", False),
        ("Deployed the fix to prod.", False),  # a statement
        ("I restarted the pods this morning", False),
        ("update: the migration is done", False),
        ("see https://wiki.example/x?y=1", False),  # a '?' inside a link asks nothing
        ("run `kubectl get pods -A?`", False),  # nor one inside code
        ("should be fine now", False),
        ("", False),
    ],
)
def test_asks_something(message, asks):
    from bot.engine.asking import asks_something

    assert asks_something(message) is asks


@pytest.mark.parametrize(
    ("message", "chatter"),
    [
        ("thanks!", True),
        ("on it 👍", True),
        ("ok cool, sounds good", True),
        ("no worries :slightly_smiling_face:", True),
        ("thanks, and what about staging?", False),
        ("on it, but why is it slow", False),
    ],
)
def test_chatter(message, chatter):
    from bot.engine.asking import is_chatter

    assert is_chatter(message) is chatter
