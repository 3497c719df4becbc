"""Channel and user scopes on the shared index (PostgreSQL + pgvector): a restricted
source's passages never come back for an asker who may not see it, and the k results of
each search are all allowed ones, as on the local index (tests/test_scope.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from pgvector_server import fresh_database

from bot.access import Access, Asker
from bot.config import Settings
from bot.documents import Chunk
from bot.engine.engine import Engine
from bot.engine.scope import Scope
from bot.index.manifest import Manifest
from bot.index.pgstore import PgStore
from bot.index.store import NewBuild
from bot.index.vocabulary import learn
from bot.ingest.pipeline import ingest
from bot.settings_file import parse
from tests.test_scope import RUNBOOKS, SECURITY  # the same two sources, scoped by PostgreSQL

NAMES = ("security", "runbooks")
ONLY_RUNBOOKS = Scope(frozenset({"runbooks"}), NAMES)
SECRET_WORDS = ("Security", "HSM", "Key Handling", "security lead")


@pytest.fixture(scope="module")
def shared(pgvector_server, article_engine, tmp_path_factory) -> tuple[Engine, Settings]:
    """The two sources ingested into a fresh shared index, and a replica's engine on it
    (no knowledge folder: it reads the active build only)."""
    base = tmp_path_factory.mktemp("pgscope")
    for folder, docs in (("security", SECURITY), ("runbooks", RUNBOOKS)):
        (base / folder).mkdir()
        for name, text in docs.items():
            (base / folder / name).write_text(text)
    url = fresh_database(pgvector_server)
    named = Settings(knowledge_dirs=tuple(base / n for n in NAMES), index_url=url)
    assert ingest(named, embedder=article_engine.embedder).chunks == 5
    replica = Settings(index_url=url, reload_interval=0)
    return Engine.open(replica, notify=lambda _m: None), named


def access_of(settings: Settings) -> Access:
    """Security is readable in C0SEC and by UBOSS1 only (as an opsbot.toml says)."""
    security = str(settings.knowledge_dirs[0])
    file = parse({"source": [{"path": security, "allow": ["C0SEC", "UBOSS1"]}]})
    return Access(settings, file, members=lambda _g: frozenset())


def shown(answer) -> str:
    parts = [answer.answer, *answer.topics, *answer.topic_links]
    return " ".join(parts + [s.text + s.title for s in answer.sources])


def test_an_asker_who_may_not_see_a_source_never_gets_its_passages(shared):
    engine, settings = shared
    access = access_of(settings)
    question = "how do I rotate leaked vault keys?"
    outsider = access.scope(Asker("UHUMAN1", "C0GENERAL", surface="mention"))
    assert outsider is not None and set(outsider.allowed) == {"runbooks"}
    for k in (1, 3, 5):
        answer = engine.answer(question, scope=outsider, k=k)
        assert answer.sources and all(s.path.startswith("runbooks/") for s in answer.sources)
        assert not any(word in shown(answer) for word in SECRET_WORDS), shown(answer)
    # the same question in the allowed channel, or from the allowed user in a DM, sees it
    for asker in (
        Asker("UHUMAN1", "C0SEC", surface="mention"),
        Asker("UBOSS1", "D0DM", surface="dm", private=True),
    ):
        allowed = engine.answer(question, scope=access.scope(asker), k=3)
        assert any(s.path.startswith("security/") for s in allowed.sources)


def test_candidates_are_masked_inside_the_database_so_all_k_are_allowed(shared):
    engine, _settings = shared
    retriever = engine._retriever
    allowed = retriever.masks.of(ONLY_RUNBOOKS)
    assert allowed is not None and 0 < allowed.sum() < len(allowed)
    pool = retriever.candidates("rotate leaked vault keys HSM security", allowed=allowed)
    paths = [retriever.index.chunks[c.chunk_id].path for c in pool.candidates]
    assert len(paths) == int(allowed.sum())  # every allowed chunk, none of the others
    assert all(p.startswith("runbooks/") for p in paths)
    words = retriever.index.search_words("vault keys HSM security", 10, allowed)
    assert words and all(allowed[cid] for cid, _ in words)
    assert retriever.index.search_words("HSM", 10, allowed) == []  # only in security/


def test_declines_topics_and_nearest_topics_list_only_allowed_documents(shared):
    engine, _settings = shared
    declined = engine.answer("best pizza in Naples?", scope=ONLY_RUNBOOKS)
    assert not declined.answered
    assert not {"Security Incident Runbook", "Vault Key Handling"} & set(declined.topics)
    near = engine.nearest_topics("vault keys", scope=ONLY_RUNBOOKS)
    assert near and all(t.path.startswith("runbooks/") for t in near)
    assert "Vault Key Handling" not in engine.topics(ONLY_RUNBOOKS)
    nothing = engine.answer("how do I deploy?", scope=Scope(frozenset(), NAMES))
    assert not nothing.answered and nothing.sources == []


def synthetic_build(x: np.ndarray, model: str) -> NewBuild:
    chunks = [
        Chunk(f"s{i % 3}/d{i}.md", f"D{i}", f"D{i}", f"doc {i} word{i % 7}") for i in range(len(x))
    ]
    texts = [c.text for c in chunks]
    manifest = Manifest(model, x.shape[1], {}, {}, len(chunks))
    return NewBuild(manifest, chunks, x, [x[i : i + 1] for i in range(len(x))], texts, learn([]))


CHUNKS = 50_000  # enough for PostgreSQL to prefer the HNSW index under a filter


@pytest.fixture(scope="module")
def hnsw_build(pgvector_server) -> Iterator[tuple[Any, np.ndarray]]:
    """A synthetic build of CHUNKS unit vectors with an HNSW index, and the vectors."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((CHUNKS, 16)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    store = PgStore(fresh_database(pgvector_server), exact_limit=100)  # HNSW above 100
    try:
        store.activate(store.write(synthetic_build(x, "synthetic")))
        build = store.open()
        assert build.manifest.index["kind"] == "pgvector-hnsw"
        yield build, x
    finally:
        store.close()


@pytest.mark.parametrize("allowed_every", [2, 9, 400])  # half, a ninth, 125 chunks
def test_hnsw_search_returns_k_allowed_ids_however_few_are_allowed(
    hnsw_build, allowed_every, monkeypatch
):
    """pgvector 0.6 filters an HNSW scan's ef_search candidates after the fact: a mask
    that lets few through must still give k allowed ids, the best ones."""
    from bot.index import pgbuild

    monkeypatch.setattr(pgbuild, "FILTERED_EXACT_LIMIT", 100)  # larger masks use the index
    build, x = hnsw_build
    allowed = np.zeros(CHUNKS, dtype=bool)
    allowed[::allowed_every] = True
    k = 5
    _scores, ids = build.search_vectors(x[:3], k, allowed)
    assert (ids >= 0).all() and allowed[ids].all(), ids
    for row, query in zip(ids, x[:3], strict=True):
        best = np.flatnonzero(allowed)[np.argsort(-(x[allowed] @ query))[:k]]
        assert len(set(row.tolist()) & set(best.tolist())) >= k - 1  # HNSW: near-exact
    many = int(allowed.sum())
    _scores, ids = build.search_vectors(x[:1], 60, allowed)  # a candidate pool's size
    assert (ids[0] >= 0).sum() == min(60, many) and allowed[ids[0][ids[0] >= 0]].all()
