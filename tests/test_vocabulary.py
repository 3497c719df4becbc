"""The docs' vocabulary: what one pass over the chunks learns, how it expands a query, and
that it travels with a build. No model: the build here has toy vectors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bot.documents import Chunk
from bot.errors import OpsbotError
from bot.index import builds
from bot.index.lexical import LexicalIndex
from bot.index.vectors import build_vector_index
from bot.index.vocabulary import (
    FILE,
    Vocabulary,
    VocabularyError,
    definitions_in,
    identifier_parts,
    learn,
)

DOCS = [
    "A Persistent Volume Claim (PVC) asks for storage. Each PVC binds to one volume.",
    "Prometheus keeps samples in its TSDB (Time Series Database) on local disk.",
    "Set scrape_interval in prometheus.yml. With honor_labels the target's labels win.",
    "The operator field honorLabels maps to honor_labels. Deploy kube-state-metrics too.",
    "When a container uses too much memory it is OOM killed; OOM means out of memory.",
    "Kubernetes (K8s) schedules pods. The team (see below) owns it. Flags (optional).",
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("A Persistent Volume Claim (PVC) asks", [("pvc", "persistent volume claim")]),
        ("the PVC (Persistent Volume Claim) asks", [("pvc", "persistent volume claim")]),
        ("in a Time Series Database (TSDB).", [("tsdb", "time series database")]),
        ("TSDB (Time Series Database)", [("tsdb", "time series database")]),
        ("Persistent Volume Claims (PVCs) bind", [("pvc", "persistent volume claims")]),
        ("uses **Role-Based Access Control** (RBAC)", [("rbac", "role based access control")]),
        ("the Department of Defense (DoD)", [("dod", "department of defense")]),
        ("End-to-end (E2E) tests", [("e2e", "end to end")]),
        ("PromQL (Prometheus Query Language)", [("promql", "prometheus query language")]),
        # not definitions
        ("Kubernetes (K8s) schedules pods", []),
        ("the team (see below) owns it", []),
        ("flags (optional) and more", []),
        ("restart it (PVC) now", []),
        ("PVC (a claim for storage)", []),
        ("Volume Claim, Persistent (PVC)", []),
        ("of the (OT) thing", []),
        ("call f(x) and g(ABC)", []),
    ],
)
def test_definitions_in(text: str, expected: list[tuple[str, str]]) -> None:
    assert list(definitions_in(text)) == expected


@pytest.mark.parametrize(
    ("token", "parts"),
    [
        ("scrape_interval", ["scrape", "interval"]),
        ("honorLabels", ["honor", "Labels"]),
        ("PersistentVolumeClaim", ["Persistent", "Volume", "Claim"]),
        ("kube-state-metrics", ["kube", "state", "metrics"]),
        ("prometheus.yml", ["prometheus", "yml"]),
        ("OOMKilled", ["OOM", "Killed"]),
        ("HTTPServer", ["HTTP", "Server"]),
        # not identifiers: one word, an acronym's plural, versions, 1-letter camel parts
        ("Prometheus", ["Prometheus"]),
        ("PVCs", ["PVCs"]),
        ("K8s", ["K8s"]),
        ("IPv6", ["IPv6"]),
        ("1.25.0", ["1.25.0"]),
        ("a.b.c.d.e.f", ["a.b.c.d.e.f"]),
    ],
)
def test_identifier_parts(token: str, parts: list[str]) -> None:
    assert identifier_parts(token) == parts


@pytest.fixture(scope="module")
def vocab() -> Vocabulary:
    return learn(DOCS)


def test_learn_collects_definitions_identifiers_and_words(vocab: Vocabulary) -> None:
    assert vocab.definitions == {"pvc": "persistent volume claim", "tsdb": "time series database"}
    assert vocab.identifiers["scrapeinterval"] == ["scrape_interval"]
    assert sorted(vocab.identifiers["honorlabels"]) == ["honorLabels", "honor_labels"]
    assert vocab.identifiers["honorlabels"][0] == "honor_labels"  # used in more texts
    assert "k8s" not in vocab.definitions and "optional" not in vocab.definitions
    assert vocab.documents == len(DOCS)
    assert {"oom", "pvc", "tsdb"} <= vocab.acronyms and "killed" not in vocab.acronyms


@pytest.mark.parametrize(
    ("word", "known"),
    [
        ("PVC", True),
        ("scrape", True),  # a part of scrape_interval
        ("scrape_interval", True),
        ("honorlabels", True),
        ("labels", True),
        ("killed", True),
        ("oomkilled", False),
        ("kill", False),  # exact words only
        ("grafana", False),
    ],
)
def test_knows(vocab: Vocabulary, word: str, known: bool) -> None:
    assert vocab.knows(word) is known


@pytest.mark.parametrize(
    ("query", "expanded"),
    [
        ("pvc sizing", "pvc (persistent volume claim) sizing"),
        ("How big can PVCs get?", "How big can PVCs (persistent volume claim) get?"),
        ("what is the TSDB?", "what is the TSDB (time series database)?"),
        ("OOMKilled pods", "OOMKilled (OOM killed) pods"),
        ("why oomkilled?", "why oomkilled (OOM killed)?"),
        ("scrape interval default", "scrape interval (scrape_interval) default"),
        ("scrapeinterval", "scrapeinterval (scrape_interval)"),
        ("set honor labels", "set honor labels (honor_labels, honorLabels)"),
        ("honorLabels?", "honorLabels (honor_labels)?"),
        ("install kube state metrics", "install kube state metrics (kube-state-metrics)"),
        # nothing to add: already spelled out, already the docs' form, unknown, plain words
        ("pvc (persistent volume claim)", "pvc (persistent volume claim)"),
        ("scrape_interval default", "scrape_interval default"),
        ("grafanaDashboards", "grafanaDashboards"),
        ("zebractl restart", "zebractl restart"),
        ("how do pods restart", "how do pods restart"),
        ("", ""),
    ],
)
def test_expand(vocab: Vocabulary, query: str, expanded: str) -> None:
    assert vocab.expand(query) == expanded


def test_learned_definitions_win_over_the_glossary_fallback() -> None:
    docs = ["Mean Time To Restore (MTTR) is watched.", "machine learning helps"]
    vocab = learn(docs)
    assert vocab.expand("our mttr") == "our mttr (mean time to restore)"  # not "recovery"
    assert vocab.expand("ML models") == "ML (machine learning) models"  # glossary fallback
    assert learn(["nothing here"]).expand("ML models") == "ML models"  # long form unknown


def test_ordinary_words_are_not_read_as_a_definition() -> None:
    docs = ["Use Automatic Log Lines (ALL) here.", "all pods, all nodes", "all of them"]
    vocab = learn(docs)
    assert vocab.definitions["all"] == "automatic log lines"
    assert vocab.expand("restart all pods") == "restart all pods"
    assert vocab.expand("what is ALL") == "what is ALL (automatic log lines)"


def test_case_variants_of_an_identifier_are_one_spelling() -> None:
    vocab = learn(["remote_write here", "remote_write there", "Remote_Write title"])
    assert vocab.identifiers["remotewrite"] == ["remote_write"]
    assert vocab.expand("remote write") == "remote write (remote_write)"


@pytest.mark.parametrize(
    ("docs", "asked", "expanded"),
    [
        (["keep-going is set"], "keep going", "keep going"),  # English spelt two ways
        (["down-time was low"], "down time", "down time"),
        (
            ["kube-state-metrics runs"],
            "kube state metrics",
            "kube state metrics (kube-state-metrics)",
        ),
        (["set honor_labels"], "honor labels", "honor labels (honor_labels)"),
    ],
)
def test_a_hyphenated_english_word_is_not_an_identifier(docs, asked, expanded) -> None:
    assert learn(docs).expand(asked) == expanded


def test_most_frequent_definition_wins() -> None:
    docs = ["Service Level Objective (SLO)"] * 2 + ["Some Lame Option (SLO)"]
    assert learn(docs).definitions["slo"] == "service level objective"


def test_save_load_round_trip(vocab: Vocabulary, tmp_path: Path) -> None:
    vocab.save(tmp_path)
    again = Vocabulary.load(tmp_path)
    assert again == vocab
    assert again.expand("OOMKilled pvc") == vocab.expand("OOMKilled pvc")


@pytest.mark.parametrize(
    "damage",
    [None, "{not json", "[]", json.dumps({"format_version": 99}), '{"format_version": 1}'],
)
def test_missing_or_corrupt_file_names_it(
    vocab: Vocabulary, tmp_path: Path, damage: str | None
) -> None:
    if damage is not None:
        (tmp_path / FILE).write_text(damage)
    with pytest.raises(VocabularyError, match=str(tmp_path / FILE)) as info:
        Vocabulary.load(tmp_path)
    assert isinstance(info.value, OpsbotError) and "\n" not in str(info.value)


def _write_toy_build(index_dir: Path, texts: list[str], **kwargs: object) -> Path:
    """A complete build with toy 4-d vectors: what write_build needs, without the model."""
    chunks = [Chunk(f"doc{i}.md", f"Doc {i}", f"Doc {i}", t) for i, t in enumerate(texts)]
    rng = np.random.default_rng(0)
    matrix = rng.normal(size=(len(chunks), 4)).astype(np.float32)
    manifest = builds.Manifest(
        model="toy",
        dimension=4,
        chunker=builds.Manifest.chunker_settings(256),
        files={c.path: "0" for c in chunks},
        chunk_count=len(chunks),
    )
    lexical = LexicalIndex.build([f"{c.heading}\n{c.text}" for c in chunks])
    units = builds.UnitVectors.pack([matrix[i : i + 1] for i in range(len(chunks))])
    vectors = build_vector_index(matrix)
    return builds.write_build(index_dir, manifest, chunks, vectors, lexical, units, **kwargs)


def test_a_build_keeps_its_vocabulary(tmp_path: Path) -> None:
    build = _write_toy_build(tmp_path, DOCS)
    manifest = builds.read_manifest(tmp_path)
    assert manifest is not None and FILE in manifest.checksums
    assert manifest.chunker["format"] == builds.FORMAT_VERSION
    loaded = builds.load(tmp_path)
    assert loaded.vocabulary.definitions["pvc"] == "persistent volume claim"  # learned here
    assert loaded.vocabulary.expand("scrape interval") == "scrape interval (scrape_interval)"

    given = learn(["Out Of Memory (OOM) kills"])
    _write_toy_build(tmp_path, DOCS, vocabulary=given)
    assert builds.load(tmp_path).vocabulary == given

    (builds.current_build(tmp_path) / FILE).write_text("{}")
    with pytest.raises(builds.IndexLoadError, match="opsbot ingest"):
        builds.load(tmp_path)
    assert not build.exists() or build != builds.current_build(tmp_path).resolve()


def test_a_build_without_its_vocabulary_says_reingest(tmp_path: Path) -> None:
    _write_toy_build(tmp_path, DOCS)
    (builds.current_build(tmp_path) / FILE).unlink()
    with pytest.raises(builds.IndexLoadError, match="opsbot ingest"):
        builds.load(tmp_path)


def test_learning_is_cheap() -> None:
    """A few thousand chunk-sized texts: well under the second the brief allows."""
    import time

    texts = [
        f"{d} Chunk {i} talks about replica_count_{i % 50} and PodSpec{i % 7}."
        for i in range(600)
        for d in DOCS
    ]
    started = time.perf_counter()
    vocab = learn(texts)
    assert time.perf_counter() - started < 2.0
    assert vocab.documents == 3600
