"""The answer engine: loads an index and answers questions. Knows nothing of Slack."""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence

from bot.config import Settings
from bot.engine.compose import compose, decline_text, prefer_comparison_sections
from bot.engine.query import clean_question, is_comparative
from bot.engine.retriever import HybridRetriever, Mode
from bot.engine.topics import Catalogue, catalogue, nearest_topics
from bot.engine.types import Answer, Source
from bot.index import store
from bot.index.embedder import Embedder
from bot.ingest.urls import url_resolver

HISTORY_TURNS = 2


def _stderr(message: str) -> None:
    print(message, file=sys.stderr)


def _titles(index: store.LoadedIndex) -> list[str]:
    """Document titles, richest first; once per index, not once per decline."""
    counts: Counter[str] = Counter()
    for title, chunk_count in index.manifest.documents.values():
        counts[title] += chunk_count
    return [title for title, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


class Engine:
    """Loaded index + model, ready to answer. Safe for concurrent `answer` calls."""

    def __init__(self, settings: Settings, index: store.LoadedIndex, embedder: Embedder) -> None:
        self.settings = settings
        self.embedder = embedder
        self._lock = threading.Lock()
        self._retriever = HybridRetriever(index, embedder)
        self._topics = _titles(index)
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

        Raises `store.IndexLoadError` or `ModelError` with a one-line message.
        """
        from bot.ingest.pipeline import check_fresh, ingest

        embedder = Embedder(settings.embedding_model)
        if auto_ingest and not check_fresh(settings, embedder):
            notify(f"Index in {settings.index_dir} is missing or stale; ingesting first…")
            bar = notify is _stderr and sys.stderr.isatty()  # else a line every few seconds
            for line in ingest(
                settings, embedder=embedder, show_progress=bar, notify=notify
            ).lines():
                notify(line)
        index = store.load(settings.index_dir, expected_model=embedder.name)
        embedder.encode_query("warm up")  # first real question is as fast as the hundredth
        return cls(settings, index, embedder)

    @property
    def index(self) -> store.LoadedIndex:
        return self._retriever.index

    def swap_index(self, index: store.LoadedIndex) -> None:
        """Atomically replace the index; answers in flight keep the one they started with."""
        with self._lock:
            topics = _titles(index)  # computed first, so the swap itself is two assignments
            self._retriever, self._topics = HybridRetriever(index, self.embedder), topics

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
    ) -> Answer:
        """Answer one question; `history` holds earlier user turns of the same thread."""
        started = time.perf_counter()
        k = k or self.settings.top_k
        cleaned = clean_question(question, self.settings.max_question_chars)
        retriever = self._retriever  # one consistent index for this whole answer
        context = [clean_question(h, 500).text for h in history[-HISTORY_TURNS:]]
        query = " ".join([*(c for c in context if c), cleaned.text]).strip()
        result = Answer(
            question=cleaned.text, answered=False, answer="", truncated=cleaned.truncated
        )
        if not query:
            result.answer = "Ask me a question about: " + ", ".join(self.topics()[:10]) + "."
            result.topics = self.topics()
            return self._done(result, started)
        alone = [cleaned.text] if any(context) and cleaned.text else []  # the follow-up's own focus
        ranking = retriever.search(query, k, mode=mode, also=alone)
        hits = ranking.hits
        result.sources = [
            Source(
                path=h.chunk.path,
                title=h.chunk.title,
                heading=h.chunk.heading,
                score=round(h.dense, 4),
                text=h.chunk.text,
                url=h.chunk.url or self._url_for(h.chunk.path),
            )
            for h in hits
        ]
        result.top_score = ranking.best_dense
        if result.top_score < self.settings.decline_threshold:
            result.topics = self.nearest_topics(query) or self.topics()
            result.answer = decline_text(result.topics)
            return self._done(result, started)
        result.answered = True
        comparative = is_comparative(query)  # a thread about a comparison stays one
        if comparative:
            result.sources = prefer_comparison_sections(query, result.sources)
        result.answer = compose(query, result.sources, comparative)
        return self._done(result, started)

    @staticmethod
    def _done(result: Answer, started: float) -> Answer:
        result.latency_ms = (time.perf_counter() - started) * 1000
        return result
