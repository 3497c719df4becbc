"""The shared index on a real PostgreSQL + pgvector (the `pgserver` wheel): ingest as a job,
answers from other processes, atomic build switches, replicas, outages, wrong dimensions."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from pgvector_server import fresh_database, pgvector

from bot.config import Settings
from bot.documents import Chunk
from bot.engine.engine import Engine
from bot.index.manifest import IndexLoadError, Manifest
from bot.index.pgstore import DimensionMismatchError, PgStore
from bot.index.store import IndexUnavailableError, NewBuild
from bot.index.vocabulary import learn
from bot.ingest.pipeline import ingest
from bot.reload import KnowledgeWatcher

REPO = Path(__file__).resolve().parents[1]

DOCS = {
    "alpha.md": "# Alpha service\n\n## Restarting alpha\n\nRestart the alpha service with "
    "`systemctl restart alpha`; runbook edition {v}. Check `journalctl -u alpha` after.\n",
    "backups.md": "# Backups\n\n## Restoring a backup\n\nBackups go to the vault bucket every "
    "night; runbook edition {v}. Restore one with `vault-restore --latest`.\n",
    "oncall.md": "# On-call\n\n## Paging rules\n\nPage the on-call engineer through PagerDuty "
    "when the error budget burns; runbook edition {v}.\n",
}
QUESTIONS = [
    "How do I restart the alpha service?",
    "How do I restore a backup?",
    "When do we page the on-call engineer?",
]


def write_kb(root: Path, edition: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, text in DOCS.items():
        (root / name).write_text(text.format(v=edition))
    return root


def shared(index_url: str, **extra) -> Settings:
    """Settings of a replica: the shared index, no knowledge folder named."""
    return Settings(index_url=index_url, reload_interval=0, **extra)


def editions(answer) -> set[str]:
    return {word for s in answer.sources for word in ("one", "two") if f"edition {word}" in s.text}


@pytest.fixture
def loaded(index_url, article_engine, tmp_path):
    """A shared index with edition one ingested, and the store it lives in."""
    kb = write_kb(tmp_path / "kb", "one")
    store = PgStore(index_url)
    settings = Settings(knowledge_dirs=(kb,), index_url=index_url, index_dir=tmp_path / "unused")
    summary = ingest(settings, embedder=article_engine.embedder, store=store)
    assert summary.chunks == 3 and summary.embedded == 3
    assert not (tmp_path / "unused").exists()  # nothing written beside the process
    yield settings, store
    store.close()


def test_ingest_then_answer_from_another_process_with_no_knowledge_folder(loaded, tmp_path):
    settings, store = loaded
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KNOWLEDGE", "INDEX_"))}
    env |= {"PYTHONPATH": str(REPO), "DATABASE_URL": "", "HOME": str(tmp_path)}
    question = "How do I restart the alpha service?"
    args = [sys.executable, "-m", "bot", "ask", "--index-url", settings.index_url, "--json"]
    done = subprocess.run(
        [*args, question], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["answered"], answer
    assert answer["sources"][0]["path"].endswith("alpha.md")
    assert "systemctl restart alpha" in answer["answer"]
    assert list(elsewhere.iterdir()) == []  # no knowledge/ assumed, no .opsbot/ written


def test_a_second_ingest_switches_builds_atomically_under_20_concurrent_questions(
    loaded, article_engine, tmp_path
):
    settings, store = loaded
    engine = Engine.open(shared(settings.index_url), store=store, notify=lambda _m: None)
    first = engine.index.build_id
    watcher = KnowledgeWatcher(engine, shared(settings.index_url))
    answers: list[tuple[float, set[str]]] = []
    failures: list[BaseException] = []
    stop = threading.Event()

    def ask(question: str) -> None:
        while not stop.is_set():
            try:
                started = time.monotonic()
                answers.append((started, editions(engine.answer(question))))
            except BaseException as exc:  # noqa: BLE001 - any failure fails the test
                failures.append(exc)

    threads = [threading.Thread(target=ask, args=(QUESTIONS[i % 3],)) for i in range(20)]
    for thread in threads:
        thread.start()
    write_kb(settings.knowledge_dir, "two")
    ingest(settings, embedder=article_engine.embedder, store=store)  # while they ask
    assert watcher.reload_if_changed(ingest=False).changed
    switched = time.monotonic()
    deadline = switched + 60
    while sum(at > switched for at, _ in answers) < 40 and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    for thread in threads:
        thread.join(30)
    assert failures == []
    assert engine.index.build_id != first
    assert all(len(found) == 1 for _, found in answers)  # never both editions in one answer
    after = [found for started, found in answers if started > switched]
    assert len(after) >= 40 and all(found == {"two"} for found in after)
    assert any(found == {"one"} for _, found in answers)  # asked during the ingest


def test_old_builds_go_once_no_replica_uses_them(loaded, article_engine):
    settings, store = loaded
    store.GRACE_SECONDS, store.LEASE_SECONDS = 0.0, 3600.0
    first = store.active_id()
    assert first is not None
    store.heartbeat("replica-a", first)
    write_kb(settings.knowledge_dir, "two")
    ingest(settings, embedder=article_engine.embedder, store=store)
    second = store.active_id()
    assert second != first
    assert store.open(first).chunks[0].path  # replica-a still reads it
    store.leave("replica-a")
    assert store.remove_unused() == [first]
    with pytest.raises(IndexLoadError, match="no index"):
        store.open(first)
    assert store.open().build_id == second


def test_the_embedding_cache_lives_beside_the_builds(loaded, article_engine, tmp_path):
    settings, _store = loaded
    fresh_machine = Settings(
        knowledge_dirs=settings.knowledge_dirs, index_url=settings.index_url, index_dir=tmp_path
    )
    again = ingest(fresh_machine, embedder=article_engine.embedder, force=True)
    assert again.chunks == 3 and again.embedded == 0  # no local cache, nothing re-embedded


def test_a_dimension_mismatch_is_refused(loaded, article_engine):
    _settings, store = loaded
    chunk = Chunk("x.md", "X", "X", "text")
    manifest = Manifest(article_engine.embedder.name, 4, {}, {}, 1)
    tiny = NewBuild(
        manifest, [chunk], np.eye(1, 4, dtype=np.float32), [np.zeros((1, 4))], ["text"], learn([])
    )
    with pytest.raises(DimensionMismatchError, match="384-dimensional .* 4-dimensional"):
        store.write(tiny)
    # a build of another width, made elsewhere, is refused by a replica's model
    other = PgStore(fresh_database_of(store))
    try:
        build_id = other.write(tiny)
        other.activate(build_id)
        with pytest.raises(IndexLoadError, match="4-dimensional .* 384-dimensional"):
            Engine.open(
                shared(other.pool.url, embedding_model=""), store=other, notify=lambda _m: None
            )
    finally:
        other.close()


def fresh_database_of(store: PgStore) -> str:
    """Another empty database on the same server as `store`."""

    class Server:
        def get_uri(self) -> str:
            return store.pool.url

    return fresh_database(Server())


def test_the_database_going_away_mid_question_gives_a_clear_error_and_recovers(
    article_engine, tmp_path
):
    with pgvector("outage") as server:
        from pgserver._commands import pg_ctl

        url = fresh_database(server)
        kb = write_kb(tmp_path / "kb", "one")
        store = PgStore(url)
        ingest(Settings(knowledge_dirs=(kb,), index_url=url), embedder=article_engine.embedder)
        engine = Engine.open(shared(url), store=store, notify=lambda _m: None)
        assert engine.answer(QUESTIONS[0]).answered
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=server.pgdata, user=server.system_user)
        with pytest.raises(IndexUnavailableError, match="index database .* is unreachable"):
            engine.answer(QUESTIONS[1])  # one line, the URL without its password
        server.ensure_postgres_running()
        answer = engine.answer(QUESTIONS[1])  # stale connections replaced, no restart
        assert answer.answered and answer.sources[0].path.endswith("backups.md")
        store.close()


def wait_or_kill(proc: subprocess.Popen, seconds: float) -> int:
    try:
        return proc.wait(seconds)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


def test_two_serve_replicas_share_one_index_and_follow_a_new_build(
    loaded, article_engine, tmp_path
):
    sys.path.insert(0, str(REPO / "tests" / "slack"))
    from fake_slack import FakeSlack
    from serve_proc import app_env, free_port, start_serve, wait_healthy
    from slack_sim import SlackSim, posted_text

    settings, store = loaded
    fake = FakeSlack().start()
    replicas = []
    try:
        for name in ("a", "b"):
            home = tmp_path / name
            home.mkdir()
            env = app_env(fake, home, INDEX_URL=settings.index_url, DATABASE_URL="")
            for unset in ("KNOWLEDGE_DIR", "INDEX_DIR", "DATA_DIR", "KNOWLEDGE_URLS"):
                env.pop(unset)
            port, log = free_port(), tmp_path / f"{name}.log"
            proc = start_serve(["--http", "--port", str(port)], env, home, log)
            replicas.append((proc, SlackSim(f"127.0.0.1:{port}", fake), log, home))
        for proc, sim, log, _home in replicas:
            wait_healthy(proc, sim, log, timeout=300)
        first = store.active_id()
        for n, (_proc, sim, _log, _home) in enumerate(replicas):
            health = json.loads(sim.get("/healthz").body)
            assert health["index"] == first and health["index_backend"] == "postgres"
            assert health["index_age_seconds"] >= 0
            channel = f"C0REPLICA{n}"
            sim.mention(QUESTIONS[0], channel)
            (post,) = fake.wait_for("chat.postMessage", channel=channel, timeout=60)
            assert "systemctl restart alpha" in posted_text(post.params)

        write_kb(settings.knowledge_dir, "two")  # the ingest job runs elsewhere
        ingest(settings, embedder=article_engine.embedder, store=store)
        second = store.active_id()
        assert second != first
        activated = time.monotonic()
        while time.monotonic() < activated + 60:
            seen = [json.loads(sim.get("/healthz").body)["index"] for _p, sim, _l, _h in replicas]
            if seen == [second, second]:
                break
            time.sleep(0.2)
        assert seen == [second, second]
        picked_up = time.monotonic() - activated
        assert picked_up < 30, picked_up
        for _proc, _sim, _log, home in replicas:
            assert list(home.iterdir()) == []  # nothing written beside a replica
    finally:
        for proc, _sim, _log, _home in replicas:
            proc.terminate()
        # generous: on a loaded box a replica's interpreter teardown took ~30 s after "stopped"
        codes = [wait_or_kill(proc, 120) for proc, _sim, _log, _home in replicas]
        fake.stop()
    assert codes == [0] * len(replicas), [log.read_text()[-2000:] for _p, _s, log, _h in replicas]
