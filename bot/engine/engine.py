"""The answer engine: loads an index and answers questions. Knows nothing of Slack."""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.config import Settings
from bot.engine.answerability import judge
from bot.engine.comparison import comparison, framing_kinds
from bot.engine.compose import choose_lead, compose, decline_text, label, lead_text
from bot.engine.glossary import spell_out
from bot.engine.query import (
    clean_question,
    join_split_words,
    refers_back,
    resolve_pronoun,
    unknown_names,
)
from bot.engine.rerank import Evidence, Weights, score_candidates, select
from bot.engine.retriever import HybridRetriever, Mode
from bot.engine.terms import QueryTerms, TermWeights, topic_words
from bot.engine.topics import Catalogue, catalogue, nearest_topics
from bot.engine.types import Answer, Source
from bot.index import builds
from bot.index.embedder import Embedder
from bot.ingest.urls import url_resolver

CONTEXT_TURNS = 2  # earlier questions in a thread a follow-up is read against
CONTEXT_WEIGHT = 0.3  # a thread's earlier words count less than the question's own
OWN_PHRASING = 0.75  # a follow-up read alone has this much say in passage scores


def _stderr(message: str) -> None:
    print(message, file=sys.stderr)


def _has_build(settings: Settings) -> bool:
    try:
        return builds.read_manifest(settings.index_dir) is not None
    except builds.IndexLoadError:
        return False


def _titles(index: builds.LoadedIndex) -> list[str]:
    """Document titles, richest first; once per index, not once per decline."""
    counts: Counter[str] = Counter()
    for title, chunk_count in index.manifest.documents.values():
        counts[title] += chunk_count
    return [title for title, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


class Engine:
    """Loaded index + model, ready to answer. Safe for concurrent `answer` calls."""

    def __init__(self, settings: Settings, index: builds.LoadedIndex, embedder: Embedder) -> None:
        self.settings = settings
        self.embedder = embedder
        self._lock = threading.Lock()
        self._retriever = HybridRetriever(index, embedder)
        self._terms = TermWeights(index.lexical)
        self._topics = _titles(index)
        self.weights = Weights()
        self._url_for = url_resolver(settings.knowledge_dirs, settings.knowledge_urls)

    @classmethod
    def open(
        cls,
        settings: Settings,
        *,
        auto_ingest: bool = True,
        notify: Callable[[str], None] = _stderr,
    ) -> Engine:
        """Load the index (ingesting first if missing or stale) and warm the model.

        Raises `builds.IndexLoadError` or `ModelError` with a one-line message.
        """
        from bot.ingest.pipeline import check_fresh, ingest

        embedder = Embedder(settings.embedding_model)
        if auto_ingest and not check_fresh(settings, embedder):
            notify(f"Index in {settings.index_dir} is missing or stale; ingesting first…")
            bar = notify is _stderr and sys.stderr.isatty()  # else a line every few seconds
            try:
                summary = ingest(settings, embedder=embedder, show_progress=bar, notify=notify)
                for line in summary.lines():
                    notify(line)
            except OSError as exc:  # a full disk: the previous build still answers
                if not _has_build(settings):
                    raise
                reason = exc.strerror or str(exc)
                notify(f"warning: could not rebuild the index ({reason}); using the previous one")
        index = builds.load(settings.index_dir, expected_model=embedder.name)
        embedder.encode_query("warm up")  # first real question is as fast as the hundredth
        return cls(settings, index, embedder)

    @property
    def index(self) -> builds.LoadedIndex:
        return self._retriever.index

    def swap_index(self, index: builds.LoadedIndex) -> None:
        """Atomically replace the index; answers in flight keep the one they started with."""
        with self._lock:
            topics, terms = _titles(index), TermWeights(index.lexical)  # before the swap
            self._retriever, self._terms, self._topics = (
                HybridRetriever(index, self.embedder),
                terms,
                topics,
            )

    @property
    def chunk_count(self) -> int:
        return len(self.index.chunks)

    def topics(self) -> list[str]:
        """Document titles, richest documents first."""
        return list(self._topics)

    def nearest_topics(self, question: str, n: int = 5) -> list[str]:
        """The `n` document titles nearest to the question (a decline offers these)."""
        return nearest_topics(self.index, self.embedder.encode_query(question), n)

    def catalogue(self) -> Catalogue:
        """Documents grouped by folder, example questions, index size and age (Home tab);
        computed once per index, so a reload refreshes it."""
        index = self.index
        cached = getattr(self, "_catalogue", None)
        if cached is None or cached[0] is not index:
            cached = self._catalogue = (index, catalogue(index))
        return cached[1]

    def answer(
        self,
        question: str,
        *,
        history: Sequence[str] = (),
        k: int | None = None,
        mode: Mode = "hybrid",
        weights: Weights | None = None,
    ) -> Answer:
        """Answer one question; `history` holds earlier user turns of the same thread."""
        started = time.perf_counter()
        k = k or self.settings.top_k
        weights = weights or self.weights
        cleaned = clean_question(question, self.settings.max_question_chars)
        retriever, term_weights = self._retriever, self._terms  # one consistent index
        result = Answer(
            question=cleaned.text, answered=False, answer="", truncated=cleaned.truncated
        )
        if not cleaned.text:
            result.answer = "Ask me a question about: " + ", ".join(self.topics()[:10]) + "."
            result.topics = self.topics()
            return self._done(result, started)
        text = spell_out(join_split_words(cleaned.text, term_weights.known), term_weights.known)
        own = term_weights.query(text)
        read = _read_in_thread(text, own, history, term_weights)
        pool = retriever.candidates(read.query, mode=mode, also=read.also, also_weight=OWN_PHRASING)
        framing = framing_kinds(term_weights.query(text, framing=True))
        compared = comparison(read.query)
        ranked = score_candidates(retriever.index, pool, read.terms, weights, framing, compared)
        own_vector = None  # a follow-up read alone, to judge it on its own words
        if read.follows and own:
            own_vector = pool.vector_of(text)
            own_vector = self.embedder.encode_query(text) if own_vector is None else own_vector
        verdict = judge(
            ranked, pool.best_dense, read.terms, own, retriever.index.units.of, own_vector
        )
        shown = select(retriever.index, ranked, k, weights)
        result.sources = [_source(ev, self._url_for) for ev in shown]
        result.top_score = verdict.confidence
        result.signals = verdict.signals()
        result.unknown = unknown_names(text, term_weights.known)
        answerable = verdict.answerable(self.settings.decline_threshold, read.follows, bool(own))
        if result.unknown or not answerable:
            result.topics = self.nearest_topics(read.query) or self.topics()
            result.answer = decline_text(result.topics, result.unknown)
            return self._done(result, started)
        result.answered = True
        picks = choose_lead(shown, compared, question=text)  # shaped by the kind of question
        result.lead = lead_text(picks)
        result.answer = compose(result.lead, shown, picks=picks)
        return self._done(result, started)

    @staticmethod
    def _done(result: Answer, started: float) -> Answer:
        result.latency_ms = (time.perf_counter() - started) * 1000
        return result


@dataclass(frozen=True)
class _Reading:
    """How a question is searched: alone, or (a follow-up) with its thread."""

    follows: bool  # refers back to the thread
    query: str  # the main phrasing searched
    also: list[str]  # other phrasings, sharing OWN_PHRASING of the say
    terms: QueryTerms  # word weights; the thread's words count CONTEXT_WEIGHT as much


def _read_in_thread(
    text: str, own: QueryTerms, history: Sequence[str], term_weights: TermWeights
) -> _Reading:
    """The thread is used only when the question refers back to it ("and devops?")."""
    context = [
        join_split_words(clean_question(h, 500).text, term_weights.known)
        for h in history[-CONTEXT_TURNS:]
    ]
    if not (any(context) and refers_back(text, len(own.weights))):
        return _Reading(False, text, [], own)
    topic = topic_words(context[-1])
    resolved = resolve_pronoun(text, topic)
    # "what about data?" means data *in the thread's topic*: read it both ways
    also = [resolved] if resolved != text else [text, f"{text} {topic}"]
    context_terms = term_weights.query(" ".join(context)).weights
    terms = QueryTerms({**{t: w * CONTEXT_WEIGHT for t, w in context_terms.items()}, **own.weights})
    return _Reading(True, " ".join([*(c for c in context if c), text]), also, terms)


def _source(ev: Evidence, url_for: Callable[[str], str | None]) -> Source:
    """A shown passage: labelled by its own section when it was packed with a neighbour."""
    heading = ev.chunk.heading
    own = label(ev)
    if ev.section and not heading.endswith(own):
        heading = f"{heading} › {own}"
    return Source(
        path=ev.chunk.path,
        title=ev.chunk.title,
        heading=heading,
        score=round(ev.score, 4),
        text=ev.chunk.text,
        url=ev.chunk.url or url_for(ev.chunk.path),
    )
