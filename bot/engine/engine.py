"""The answer engine: loads an index and answers questions. Knows nothing of Slack."""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence

import numpy as np

from bot.config import Settings
from bot.engine import calibration
from bot.engine.answerability import judge
from bot.engine.calibration import Calibration
from bot.engine.compose import compose, decline_text, label
from bot.engine.glossary import spell_out
from bot.engine.lead import choose_lead, lead_text
from bot.engine.names import Spelling, foreign
from bot.engine.question import Question, Reader
from bot.engine.rerank import Evidence, Weights, score_candidates, select
from bot.engine.retriever import HybridRetriever, Mode, Pool
from bot.engine.scope import Scope
from bot.engine.terms import TermWeights
from bot.engine.topics import Catalogue, Topic, catalogue, nearest_topics, sample
from bot.engine.types import Answer, Source
from bot.index.embedder import Embedder, open_embedder
from bot.index.manifest import IndexLoadError
from bot.index.store import Build, IndexStore, IndexUnavailableError, is_remote, open_store
from bot.sources.links import Links

DEFAULT_THRESHOLD = 0.34  # an index too small to calibrate
OWN_PHRASING = 0.75  # a follow-up read alone has this much say in passage scores


def _stderr(message: str) -> None:
    print(message, file=sys.stderr)


def _has_build(store: IndexStore) -> bool:
    try:
        return store.active_manifest() is not None
    except IndexLoadError:
        return False


def _titles(index: Build, scope: Scope | None = None) -> list[str]:
    """Document titles, richest first; once per index (and scope), not once per decline."""
    counts: Counter[str] = Counter()
    for path, (title, chunk_count) in index.manifest.documents.items():
        if scope is None or scope.allows(path):
            counts[title] += chunk_count
    return [title for title, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


class Engine:
    """Loaded index + model, ready to answer. Safe for concurrent `answer` calls."""

    def __init__(
        self,
        settings: Settings,
        index: Build,
        embedder: Embedder,
        store: IndexStore | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.embedder = embedder
        self._lock = threading.Lock()
        self._retriever = HybridRetriever(index, embedder)
        self._reader = _reader(index, settings)
        self._topics = _titles(index)
        self.weights = Weights()
        self._calibration = self._calibrated(self._retriever, self._reader)
        self._links = Links(settings, index.manifest.sources)

    @classmethod
    def open(
        cls,
        settings: Settings,
        *,
        auto_ingest: bool = True,
        notify: Callable[[str], None] = _stderr,
        store: IndexStore | None = None,
    ) -> Engine:
        """Load the index (ingesting first if missing or stale) and warm the model. With a
        shared index (INDEX_URL) and no knowledge folder named, it only reads the active build.

        Raises `IndexLoadError` or `ModelError` with a one-line message.
        """
        from bot.ingest.pipeline import check_fresh, ingest

        store = store or open_store(settings)
        embedder = open_embedder(settings)
        auto_ingest = auto_ingest and (settings.names_knowledge or not is_remote(settings))
        if auto_ingest and not check_fresh(settings, embedder, store):
            notify(f"Index in {store.location} is missing or stale; ingesting first…")
            bar = notify is _stderr and sys.stderr.isatty()  # else a line every few seconds
            try:
                summary = ingest(
                    settings, embedder=embedder, show_progress=bar, notify=notify, store=store
                )
                for line in summary.lines():
                    notify(line)
            except OSError as exc:  # a full disk: the previous build still answers
                if not _has_build(store):
                    raise
                reason = exc.strerror or str(exc)
                notify(f"warning: could not rebuild the index ({reason}); using the previous one")
        index = store.open(expected_model=embedder.name)
        check_dimension(index, embedder.encode_query("warm up"))  # and warms the model up
        engine = cls(settings, index, embedder, store)
        engine._reader.warm_up()
        return engine

    @property
    def index(self) -> Build:
        return self._retriever.index

    def swap_index(self, index: Build) -> None:
        """Atomically replace the index; answers in flight keep the one they started with."""
        with self._lock:
            topics, reader = _titles(index), _reader(index, self.settings)  # before the swap
            reader.warm_up()
            retriever = HybridRetriever(index, self.embedder)
            found = self._calibrated(retriever, reader)
            links = Links(self.settings, index.manifest.sources)
            self._retriever, self._reader, self._topics, self._calibration, self._links = (
                retriever,
                reader,
                topics,
                found,
                links,
            )

    @property
    def chunk_count(self) -> int:
        return len(self.index.chunks)

    def topics(self, scope: Scope | None = None) -> list[str]:
        """Document titles, richest documents first (only those `scope` allows)."""
        if scope is None:
            return list(self._topics)
        masks = self._retriever.masks
        return list(masks.memo(("topics", scope), lambda: _titles(masks.index, scope)))

    def nearest_topics(self, question: str, n: int = 5, scope: Scope | None = None) -> list[Topic]:
        """The `n` documents nearest to the question (a decline offers these)."""
        retriever = self._retriever
        found = nearest_topics(
            retriever.index,
            self.embedder.encode_query(question),
            n,
            allowed=retriever.masks.of(scope),
        )
        return [Topic(t.label, t.path, self._links.url(t.path, own=t.url) or "") for t in found]

    def catalogue(self, scope: Scope | None = None) -> Catalogue:
        """Documents grouped by folder, example questions, index size and age (Home tab);
        computed once per index and scope, so a reload refreshes it."""
        masks = self._retriever.masks
        allows = scope.allows if scope is not None else None
        return masks.memo(("catalogue", scope), lambda: catalogue(masks.index, allows=allows))

    def read(self, question: str, history: Sequence[str] = ()) -> Question:
        """Stage 0: the question as every later stage sees it."""
        return self._reader.read(question, history)

    def answer(
        self,
        question: str,
        *,
        history: Sequence[str] = (),
        k: int | None = None,
        mode: Mode = "hybrid",
        weights: Weights | None = None,
        scope: Scope | None = None,
    ) -> Answer:
        """Answer one question; `history` holds earlier user turns of the same thread.
        With a `scope`, only its documents are searched (filtered before ranking), offered
        as topics or named in a decline."""
        started = time.perf_counter()
        k = k or self.settings.top_k
        weights = weights or self.weights
        retriever, reader = self._retriever, self._reader  # one consistent index
        read = reader.read(question, history)
        result = Answer(question=read.asked, answered=False, answer="", truncated=read.truncated)
        if not read:
            result.topics = self.topics(scope)
            result.answer = "Ask me a question about: " + ", ".join(result.topics[:10]) + "."
            return self._done(result, started)
        allowed = retriever.masks.of(scope)
        pool, ranked = _ranked(retriever, read, weights, mode, allowed)
        own_vector = None  # a follow-up read alone, to judge it on its own words
        if read.follows and read.own:
            own_vector = pool.vector_of(read.text)
            own_vector = self.embedder.encode_query(read.text) if own_vector is None else own_vector
        verdict = judge(
            ranked,
            pool.best_dense,
            read,
            reader.known_term,
            retriever.index.units.of,
            own_vector,
        )
        shown = select(retriever.index, ranked, k, weights)
        links = self._links
        result.sources = [_source(ev, links) for ev in shown]
        result.top_score = verdict.confidence
        result.signals = verdict.signals()
        result.unknown = list(read.names)
        if not verdict.answerable(
            self.decline_threshold, read.follows, bool(read.own), any(map(foreign, read.names))
        ):
            near = self.nearest_topics(read.search, scope=scope)
            result.topics = [t.label for t in near] or self.topics(scope)
            result.topic_links = {t.label: t.url for t in near if t.url}
            result.answer = decline_text(result.topics, result.unknown)
            return self._done(result, started)
        result.answered = True
        picks = choose_lead(shown, read)
        result.lead = lead_text(picks)
        result.answer = compose(result.lead, shown, picks=picks, unknown=result.unknown)
        return self._done(result, started)

    @property
    def decline_threshold(self) -> float:
        """The operator's DECLINE_THRESHOLD, else the one calibrated for this index."""
        if self.settings.decline_threshold is not None:
            return self.settings.decline_threshold
        found = self._calibration
        return found.threshold if found else DEFAULT_THRESHOLD

    def _confidence(self, retriever: HybridRetriever, reader: Reader, text: str) -> float:
        """How sure the engine would be answering `text` alone (for calibration)."""
        question = reader.read(text)
        pool, ranked = _ranked(retriever, question, self.weights)
        return judge(ranked, pool.best_dense, question, reader.known_term).confidence

    def _calibrated(self, retriever: HybridRetriever, reader: Reader) -> Calibration | None:
        """This index's calibration: read from its build, else computed now and saved. None
        when the operator fixed DECLINE_THRESHOLD: a calibration would go unused (and costs
        a hundred questions, each a round trip when embeddings come from a server)."""
        index = retriever.index
        if self.settings.decline_threshold is not None:
            return None
        found = calibration.load(index)
        if found is None and len(index.chunks):
            headings = [chunk.heading for chunk in sample(index.chunks, 4000)]
            found = calibration.calibrate(
                lambda text: self._confidence(retriever, reader, text), headings
            )
            with contextlib.suppress(OSError, IndexUnavailableError):  # read-only still answers
                calibration.save(index, found)
        return found

    @staticmethod
    def _done(result: Answer, started: float) -> Answer:
        result.latency_ms = (time.perf_counter() - started) * 1000
        return result


def _ranked(
    retriever: HybridRetriever,
    question: Question,
    weights: Weights,
    mode: Mode = "hybrid",
    allowed: np.ndarray | None = None,
) -> tuple[Pool, list[Evidence]]:
    """Stages 1 and 2: candidates for the question's phrasings, then their scores."""
    pool = retriever.candidates(
        question.search,
        mode=mode,
        also=question.also,
        also_weight=OWN_PHRASING,
        lexical=question.lexical,
        allowed=allowed,
    )
    return pool, score_candidates(retriever.index, pool, question, weights)


def check_dimension(index: Build, query: object) -> None:
    """Refuse a build whose vectors the model cannot be compared with."""
    width = int(getattr(query, "shape", (0, 0))[-1])
    if len(index.chunks) and width != index.dimension:
        raise IndexLoadError(
            f"the index holds {index.dimension}-dimensional vectors ({index.manifest.model!r}) "
            f"but the embedding model makes {width}-dimensional ones; re-ingest with this model"
        )


def _reader(index: Build, settings: Settings) -> Reader:
    """Questions read in this index's words: its vocabulary (definitions, identifier parts,
    word forms learned at ingest, the hand glossary as fallback) is written beside them."""
    term_weights = TermWeights(index.word_stats())
    vocabulary = index.vocabulary

    def expand(text: str) -> str:
        # against the words retrieval matches: the vocabulary counts "ML" inside "MLOps"
        # as used, but BM25 never sees it alone
        return spell_out(text, term_weights.known)

    return Reader(
        term_weights,
        Spelling(term_weights.words()),
        expand,
        settings.max_question_chars,
        knows=vocabulary.knows,
        learned=vocabulary.expand,
    )


def _source(ev: Evidence, links: Links) -> Source:
    """A shown passage: labelled by its own section when it was packed with a neighbour,
    and linked to that section."""
    heading = ev.chunk.heading
    own = label(ev)
    if ev.section and not heading.endswith(own):
        heading = f"{heading} › {own}"
    section = own if ev.section or " › " in ev.chunk.heading else ""
    return Source(
        path=ev.chunk.path,
        title=ev.chunk.title,
        heading=heading,
        score=round(ev.score, 4),
        text=ev.chunk.text,
        url=links.url(ev.chunk.path, section, own=ev.chunk.url),
    )
