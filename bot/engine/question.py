"""Stage 0: read the question once.

Raw text (plus the thread's earlier turns) becomes a frozen `Question`: its words and their
weights, the words that only frame it, the comparison it asks for, the kind of answer it
wants, whether it leans on the thread, the names in it the docs never mention, and the
phrasings to search. Every later stage takes the `Question`, never the raw string.
Slack markup is the Slack layer's business (`bot/slack/mrkdwn.plain_question`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from bot.engine.comparison import NO_COMPARISON, Comparison, comparison, framing_kinds
from bot.engine.lexicon import lexicon
from bot.engine.names import Spelling, unknown_names, zipf
from bot.engine.shape import Shape, pasted_error, question_shape
from bot.engine.terms import QueryTerms, TermWeights, framing_words, topic_words
from bot.index.lexical import tokenize

CONTEXT_TURNS = 2  # earlier questions in a thread a follow-up is read against
CONTEXT_WEIGHT = 0.3  # a thread's earlier words count less than the question's own
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Question:
    """One question, read."""

    asked: str  # as asked: whitespace collapsed, length capped
    text: str  # with split words joined and short forms written out (the glossary)
    truncated: bool = False
    own: QueryTerms = field(default_factory=lambda: QueryTerms({}))  # its own content words
    terms: QueryTerms = field(default_factory=lambda: QueryTerms({}))  # + the thread's
    framing: QueryTerms = field(default_factory=lambda: QueryTerms({}))  # all words, kinds
    comparison: Comparison = NO_COMPARISON
    shape: Shape = "other"
    follows: bool = False  # leans on the thread ("and devops?")
    search: str = ""  # the main phrasing searched
    lexical: str = ""  # the same with the docs' own forms beside it, for word matching
    also: tuple[str, ...] = ()  # other phrasings searched
    names: tuple[str, ...] = ()  # names asked about that the docs never mention
    error: str = ""  # an error message pasted into the question, if any

    def __bool__(self) -> bool:
        return bool(self.asked)


def cap(text: str, max_chars: int) -> tuple[str, bool]:
    """Collapse whitespace and cut at a word boundary under `max_chars`."""
    text = _SPACES.sub(" ", text).strip()
    if len(text) <= max_chars:
        return text, False
    cut = text[:max_chars]
    return (cut.rsplit(" ", 1)[0] if " " in cut[-200:] else cut), True


def refers_back(question: str, content_words: int) -> bool:
    """Does a follow-up lean on the thread ("and devops?", "who do they team up with?")?

    Only such a question borrows the thread's words; any other is judged on its own.
    """
    lex = lexicon()
    text = question.strip()
    return content_words <= 1 or bool(
        lex.thread_opener.search(text) or lex.thread_pointer.search(text)
    )


def resolve_pronoun(question: str, topic: str) -> str:
    """Put the thread's topic in place of the question's first pronoun, so
    "who do they team up with?" after "what is mlops?" reads "who do mlops team up with?"."""
    return lexicon().pronoun.sub(topic, question, count=1) if topic else question


def join_split_words(text: str, known: Callable[[str], bool]) -> str:
    """Write "dev ops" as "devops" when the joined form is a word the index knows."""
    words = text.split()
    out: list[str] = []
    i = 0
    while i < len(words):
        if i + 1 < len(words):
            a, b = words[i].lower(), words[i + 1].lower().rstrip("?.!,")
            if a.isalpha() and b.isalpha() and min(len(a), len(b)) >= 2 and known(a + b):
                out.append(words[i] + words[i + 1])
                i += 2
                continue
        out.append(words[i])
        i += 1
    return " ".join(out)


class Reader:
    """Reads questions against one index's words; built once per index."""

    def __init__(
        self,
        term_weights: TermWeights,
        spelling: Spelling,
        expand: Callable[[str], str] = lambda text: text,
        max_chars: int = 4000,
        knows: Callable[[str], bool] = lambda word: False,
        learned: Callable[[str], str] = lambda text: text,
    ) -> None:
        self.term_weights = term_weights
        self.knows = knows  # the docs' own vocabulary, identifier parts included
        self.spelling = spelling
        self.expand = expand  # short forms written out (the glossary), for every search
        self.learned = learned  # the docs' own forms of the words, for word matching only
        self.max_chars = max_chars

    def warm_up(self) -> None:
        """Load what the names check reads on first use (wordfreq's list, the deletion
        index of the docs' words), so the first question is as fast as the next."""
        zipf("warm")
        self.spelling.near("warm", 1)

    def _knows(self, word: str) -> bool:
        """A word of the docs, or a short form the reader writes out in the docs' words."""
        return (
            self.term_weights.known(word)
            or self.knows(word)
            or self.expand(word) != word
            or self.learned(word) != word
        )

    def known_term(self, folded: str) -> bool:
        """Is a (folded) question term one the docs use, or can write out in their words?"""
        return self.term_weights.has(folded) or self._knows(folded)

    def _normal(self, text: str) -> str:
        return self.expand(join_split_words(text, self.term_weights.known))

    def read(self, raw: str, history: Sequence[str] = ()) -> Question:
        asked, truncated = cap(raw, self.max_chars)
        if not asked:
            return Question(asked="", text="", truncated=truncated)
        weights = self.term_weights
        text = self._normal(asked)
        lexical = self.learned(text)
        own = weights.query(text)
        framing = framing_words(asked)
        names = unknown_names(tokenize(asked), self._knows, self.spelling, framing)
        alone = Question(
            asked=asked,
            text=text,
            truncated=truncated,
            own=own,
            terms=own,
            framing=framing_kinds(weights.query(text, framing=True)),
            comparison=comparison(text),
            shape=question_shape(asked),
            error=pasted_error(asked),
            search=text,
            lexical=lexical,
            names=tuple(names),
        )
        context = [self._normal(cap(h, 500)[0]) for h in history[-CONTEXT_TURNS:]]
        if not (any(context) and refers_back(asked, len(own.weights))):
            return alone
        topic = topic_words(context[-1])
        resolved = resolve_pronoun(text, topic)
        # "what about data?" means data *in the thread's topic*: read it both ways
        also = (resolved,) if resolved != text else (text, f"{text} {topic}")
        context_terms = weights.query(" ".join(context)).weights
        terms = QueryTerms(
            {**{t: w * CONTEXT_WEIGHT for t, w in context_terms.items()}, **own.weights}
        )
        search = " ".join([*(c for c in context if c), text])
        # "how are they different?" compares the thread's two things, the way it asks now
        compared = comparison(resolved) or comparison(search)
        return replace(
            alone,
            terms=terms,
            comparison=compared,
            follows=True,
            search=search,
            lexical=self.learned(search),
            also=also,
        )
