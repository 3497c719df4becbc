"""Scope: a question searches only the sources it may see, filtered before ranking."""

from __future__ import annotations

import numpy as np
import pytest

from bot.config import Settings
from bot.engine.engine import Engine
from bot.engine.scope import Scope
from bot.index.lexical import LexicalIndex
from bot.index.vectors import build_vector_index, search

SECURITY = {
    "incident.md": "# Security Incident Runbook\n\n## Rotate leaked keys\n\n"
    "Rotate the leaked vault keys with `vault rotate` and page the security lead.\n",
    "keys.md": "# Vault Key Handling\n\n## Where are vault keys kept?\n\n"
    "Vault keys are kept in the HSM; rotate vault keys every 90 days.\n",
}
RUNBOOKS = {
    "deploy.md": "# Deploying\n\n## How to deploy\n\nDeploy with `make deploy` from main.\n",
    "vault.md": "# Vault for apps\n\n## Reading secrets\n\n"
    "Apps read vault secrets through the agent sidecar; keys rotate on their own.\n",
    "rollback.md": "# Rollback\n\n## How to roll back\n\nRoll back with `make rollback`.\n",
}


@pytest.fixture(scope="module")
def engine(tmp_path_factory) -> Engine:
    base = tmp_path_factory.mktemp("scope")
    for folder, docs in (("security", SECURITY), ("runbooks", RUNBOOKS)):
        for name, text in docs.items():
            (base / folder).mkdir(exist_ok=True)
            (base / folder / name).write_text(text)
    settings = Settings(
        knowledge_dirs=(base / "security", base / "runbooks"),
        index_dir=base / "idx",
        data_dir=base / "data",
    )
    return Engine.open(settings, notify=lambda _: None)


NAMES = ("security", "runbooks")
ONLY_RUNBOOKS = Scope(frozenset({"runbooks"}), NAMES)


def test_without_a_scope_the_restricted_source_answers(engine):
    answer = engine.answer("how do I rotate leaked vault keys?")
    assert any(s.path.startswith("security/") for s in answer.sources)


def test_a_scope_keeps_restricted_documents_out_of_every_part_of_the_answer(engine):
    answer = engine.answer("how do I rotate leaked vault keys?", scope=ONLY_RUNBOOKS, k=3)
    assert answer.sources and all(s.path.startswith("runbooks/") for s in answer.sources)
    shown = answer.answer + " ".join(answer.topics) + " ".join(answer.topic_links)
    assert "Security" not in shown and "HSM" not in shown and "Key Handling" not in shown


def test_candidates_are_masked_before_ranking_so_all_k_are_allowed(engine):
    retriever = engine._retriever
    allowed = retriever.masks.of(ONLY_RUNBOOKS)
    assert allowed is not None and 0 < allowed.sum() < len(allowed)
    pool = retriever.candidates("rotate leaked vault keys", allowed=allowed)
    paths = [retriever.index.chunks[c.chunk_id].path for c in pool.candidates]
    assert len(paths) == int(allowed.sum())  # every allowed chunk, none of the others
    assert all(p.startswith("runbooks/") for p in paths)


def test_declines_topics_and_catalogue_list_only_allowed_documents(engine):
    declined = engine.answer("best pizza in Naples?", scope=ONLY_RUNBOOKS)
    assert not declined.answered and declined.topics
    assert not {"Security Incident Runbook", "Vault Key Handling"} & set(declined.topics)
    near = engine.nearest_topics("vault keys", scope=ONLY_RUNBOOKS)
    assert near and all(t.path.startswith("runbooks/") for t in near)
    assert "Vault Key Handling" in engine.topics()
    assert "Vault Key Handling" not in engine.topics(ONLY_RUNBOOKS)
    catalogue = engine.catalogue(ONLY_RUNBOOKS)
    assert catalogue.documents == 3 and all("security" not in g.name for g in catalogue.groups)
    assert engine.catalogue().documents == 5
    assert engine.catalogue(ONLY_RUNBOOKS) is catalogue  # once per index and scope


def test_an_empty_scope_answers_nothing(engine):
    nothing = Scope(frozenset(), NAMES)
    answer = engine.answer("how do I deploy?", scope=nothing)
    assert not answer.answered and answer.sources == [] and answer.topics == []


@pytest.mark.parametrize("exact_limit", [20_000, 100])  # flat and HNSW
def test_vector_search_visits_only_allowed_ids(exact_limit):
    rng = np.random.default_rng(0)
    x = rng.random((2000, 16), dtype=np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    index = build_vector_index(x, exact_limit=exact_limit)
    allowed = np.zeros(2000, dtype=bool)
    allowed[::9] = True
    _scores, ids = search(index, x[:3], 5, allowed)
    assert (ids >= 0).all() and allowed[ids].all()
    best = np.flatnonzero(allowed)[np.argsort(-(x[allowed] @ x[0]))[:5]]
    assert ids[0].tolist() == best.tolist()


def test_bm25_masks_before_taking_the_top_k():
    texts = ["docker run container"] * 20 + ["docker build image"] * 20
    lexical = LexicalIndex.build(texts)
    allowed = np.zeros(40, dtype=bool)
    allowed[20:] = True  # only the docs that match 'docker' alone
    hits = lexical.search("docker run", 5, allowed)
    assert [cid for cid, _ in hits] == [20, 21, 22, 23, 24]
    assert lexical.search("docker run", 5, np.zeros(40, dtype=bool)) == []
