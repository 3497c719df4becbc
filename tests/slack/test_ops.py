"""Running it for real: live reload, metrics, JSON logs without secrets, graceful SIGTERM.

Each server is the real `opsbot serve` subprocess (real engine and model) on a small
knowledge dir of its own, talking to the fake Slack; assertions are on what reached
the fake, the server's /metrics and log, its exit code and its SQLite file. The last
two tests check the API-error counter and the drain deadline in-process.
"""

from __future__ import annotations

import json
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import fake_slack
import pytest
from fake_slack import BOT_USER_ID, FakeSlack, FakeSocketMode, events_payload
from prometheus_client.parser import text_string_to_metric_families
from serve_proc import REPO, app_env, free_port, start_serve, stop, wait_healthy
from slack_sim import SlackSim, posted_text, sign

BASE = "# Base Notes\n\n## Deploys\n\nWe deploy the web tier with rolling updates every Tuesday.\n"
NEW = "# Zebra Queue\n\n## Draining\n\nTo drain the zebra queue run `zebractl drain --all`.\n"
CHANGED = "# Zebra Queue\n\n## Draining\n\nTo drain the zebra queue run `zebractl purge --force`.\n"
QUESTION = "how do I drain the zebra queue?"
ERROR_TEXT = "something went wrong"
SECRETS = (fake_slack.BOT_TOKEN, fake_slack.APP_TOKEN, fake_slack.SIGNING_SECRET)


@dataclass
class Server:
    proc: subprocess.Popen
    sim: SlackSim
    fake: FakeSlack
    state: Path
    kb: Path
    log: Path
    env: dict[str, str]


def _channel() -> str:
    return "C" + uuid.uuid4().hex[:8].upper()


def _knowledge(state: Path) -> Path:
    kb = state / "kb"
    kb.mkdir()
    (kb / "base.md").write_text(BASE)
    shutil.copy(REPO / "knowledge" / "devops-vs-mlops.md", kb)
    return kb


def _start_http(tmp_path_factory, name: str, **extra: str) -> Server:
    fake = FakeSlack().start()
    state = tmp_path_factory.mktemp(name)
    kb = _knowledge(state)
    env = app_env(fake, state, KNOWLEDGE_DIR=str(kb), **extra)
    port = free_port()
    log = state / "serve.log"
    proc = start_serve(["--http", "--port", str(port)], env, state, log)
    sim = SlackSim(f"127.0.0.1:{port}", fake)
    wait_healthy(proc, sim, log)
    return Server(proc, sim, fake, state, kb, log, env)


def _finish(server: Server) -> None:
    code = stop(server.proc)
    server.fake.stop()
    assert code == 0, server.log.read_text()[-3000:]


@pytest.fixture(scope="module")
def polling(tmp_path_factory) -> Iterator[Server]:
    """Polls every second and logs JSON lines."""
    server = _start_http(tmp_path_factory, "polling", RELOAD_INTERVAL="1", LOG_FORMAT="json")
    yield server
    _finish(server)


@pytest.fixture(scope="module")
def quiet(tmp_path_factory) -> Iterator[Server]:
    """No polling (RELOAD_INTERVAL=0): only SIGHUP reloads."""
    server = _start_http(tmp_path_factory, "quiet", RELOAD_INTERVAL="0", SHUTDOWN_TIMEOUT="30")
    yield server
    _finish(server)


def wait_until(predicate: Callable[[], bool], timeout: float = 30, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        time.sleep(0.1)


def ask(server: Server, question: str = QUESTION) -> str:
    """One mention, answered: the text that reached Slack."""
    channel = _channel()
    assert server.sim.mention(question, channel)["reply"].status == 200
    (post,) = server.fake.wait_for("chat.postMessage", channel=channel)
    return posted_text(post.params)


def _metric(server: Server, name: str, **labels: str) -> float | None:
    reply = server.sim.get("/metrics")
    assert reply.status == 200
    for family in text_string_to_metric_families(reply.body):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return None


class Asker:
    """Mentions in a loop from a thread; remembers every channel and its ack status."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.sent: list[tuple[str, int]] = []
        self.errors: list[BaseException] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Asker:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(30)

    def _run(self) -> None:
        while not self._stop.is_set():
            channel = _channel()
            try:
                status = self.server.sim.mention(QUESTION, channel)["reply"].status
            except BaseException as exc:  # a refused connection is a failure too
                self.errors.append(exc)
                return
            self.sent.append((channel, status))
            time.sleep(0.05)

    def latest_answer(self) -> str:
        for channel, _ in reversed(self.sent):
            posts = self.server.fake.find("chat.postMessage", channel=channel)
            if posts:
                return posted_text(posts[0].params)
        return ""


def test_answers_follow_add_change_delete_while_mentions_keep_coming(polling):
    kb = polling.kb
    with Asker(polling) as asker:
        wait_until(lambda: asker.latest_answer(), what="a first answer")
        assert "zebractl" not in asker.latest_answer()
        (kb / "zebra.md").write_text(NEW)
        wait_until(lambda: "zebractl drain" in asker.latest_answer(), what="the added doc")
        (kb / "zebra.md").write_text(CHANGED)
        wait_until(lambda: "zebractl purge" in asker.latest_answer(), what="the changed doc")
        (kb / "zebra.md").unlink()
        wait_until(lambda: "zebractl" not in asker.latest_answer(), what="the deleted doc")
    assert not asker.errors and len(asker.sent) > 10
    assert all(status == 200 for _, status in asker.sent)
    last = asker.sent[-1][0]
    polling.fake.wait_for("chat.postMessage", channel=last)
    time.sleep(0.5)
    for channel, _ in asker.sent:
        posts = polling.fake.find("chat.postMessage", channel=channel)
        assert len(posts) == 1, f"{channel} answered {len(posts)} times"
        assert ERROR_TEXT not in posted_text(posts[0].params)
    assert _metric(polling, "opsbot_reloads_total", result="changed") >= 3
    assert _metric(polling, "opsbot_last_reload_success") == 1.0


def test_ingest_by_another_process_is_picked_up_on_the_next_poll(polling):
    before = polling.sim.get("/healthz").json()["index"]
    ingest = subprocess.run(
        [sys.executable, "-m", "bot", "ingest", "--force"],  # a new build, same content
        env=polling.env,
        cwd=polling.state,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ingest.returncode == 0, ingest.stderr
    built = (polling.state / "index" / "current").resolve().name
    assert built != before
    wait_until(lambda: polling.sim.get("/healthz").json()["index"] == built, 10, "the new build")
    assert "zebractl" not in ask(polling) and ERROR_TEXT not in ask(polling)


def test_metrics_endpoint_has_every_family(polling):
    channel = _channel()
    polling.sim.mention("What is MLOps?", channel)
    polling.fake.wait_for("chat.postMessage", channel=channel)
    message = next(m for m in polling.fake.messages if m.get("bot_id") and m["channel"] == channel)
    url = polling.fake.response_url(channel)
    before = _metric(polling, "opsbot_feedback_votes_total", vote="up") or 0.0
    polling.sim.click(message, "up", "UVOTER9", url)
    polling.fake.wait_for("chat.postEphemeral", channel=channel, user="UVOTER9")
    assert _metric(polling, "opsbot_feedback_votes_total", vote="up") == before + 1
    assert _metric(polling, "opsbot_questions_total", surface="mention", outcome="answered") >= 1
    assert _metric(polling, "opsbot_answer_seconds_count", surface="mention") >= 1
    assert _metric(polling, "opsbot_index_chunks") > 0
    assert _metric(polling, "opsbot_index_documents") == 2
    assert _metric(polling, "opsbot_last_reload_timestamp_seconds") > time.time() - 3600
    reply = polling.sim.get("/metrics")
    assert reply.body.startswith("# HELP") and "opsbot_slack_api_errors_total" in reply.body


def test_logs_are_json_lines_without_secrets(polling):
    """Exercise the paths that could leak: bad signatures, a failing Slack API whose error
    page echoes the Authorization header, and a user pasting secrets into a question."""
    body = polling.sim.event_body({"type": "app_mention", "text": "hi", "channel": _channel()})
    wrong = {**sign(body), "X-Slack-Signature": "v0=" + "0" * 64}
    assert polling.sim.post(body, "application/json", signed=False, headers=wrong).status == 401
    page = "<html>upstream error; request had Authorization: Bearer {token}</html>"
    polling.fake.fail("chat.postMessage", 503, times=3, body=page)
    failing = _channel()
    polling.sim.mention("What is MLOps?", failing)
    polling.fake.wait_for("chat.postMessage", count=3, channel=failing, timeout=30)  # 1 + retries
    pasted = f"is {fake_slack.BOT_TOKEN} or {fake_slack.SIGNING_SECRET} what MLOps needs?"
    ask(polling, pasted)
    errors = _metric(polling, "opsbot_slack_api_errors_total", method="chat.postMessage")
    assert errors is not None and errors >= 1
    time.sleep(0.5)  # let the last lines reach the log
    text = polling.log.read_text()
    leaked = [s for s in SECRETS if s in text]
    assert not leaked, f"secrets in the log: {leaked}"
    assert "[REDACTED]" in text
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert all({"ts", "level", "logger", "message"} <= line.keys() for line in lines)
    questions = [r for r in lines if r["logger"] == "opsbot.questions"]
    assert questions, "no question lines (is the questions hook wired?)"
    assert {"question_id", "surface", "latency_ms", "outcome", "top_score", "sources"} <= set(
        questions[-1]
    )
    assert {r["surface"] for r in questions} == {"mention"}
    assert {r["outcome"] for r in questions} <= {"answered", "declined"}


def test_sighup_reloads_when_polling_is_off(quiet):
    assert "zebractl" not in ask(quiet)
    (quiet.kb / "zebra.md").write_text(NEW)
    time.sleep(1.5)
    assert "zebractl" not in ask(quiet)  # nobody polls
    quiet.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: "zebractl drain" in ask(quiet), what="the SIGHUP reload")
    assert quiet.proc.poll() is None


def test_sigterm_finishes_acked_answers_then_exits_0(quiet):
    quiet.fake.delays["chat.postMessage"] = 1.0  # answers still in flight at SIGTERM
    channels = [_channel() for _ in range(5)]
    for channel in channels:
        assert quiet.sim.mention("What is MLOps?", channel)["reply"].status == 200
    quiet.proc.send_signal(signal.SIGTERM)
    wait_until(lambda: quiet.sim.get("/healthz").status == 503, 5, "draining")
    late = _channel()
    assert quiet.sim.mention("What is MLOps?", late)["reply"].status == 503  # Slack retries
    assert quiet.proc.wait(40) == 0, quiet.log.read_text()[-3000:]
    for channel in channels:
        (post,) = quiet.fake.find("chat.postMessage", channel=channel)
        assert ERROR_TEXT not in posted_text(post.params)
    assert not quiet.fake.find("chat.postMessage", channel=late)
    _assert_stored(quiet.state / "data" / "opsbot.sqlite3", channels)


def _assert_stored(path: Path, channels: list[str]) -> None:
    """The SQLite file opens, passes an integrity check and holds every answer."""
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        table = "interactions" if "interactions" in tables else "answers"
        marks = ",".join("?" * len(channels))
        sql = f"SELECT COUNT(*) FROM {table} WHERE channel IN ({marks})"
        assert db.execute(sql, channels).fetchone()[0] == len(channels)
    finally:
        db.close()


def test_socket_mode_sigterm_closes_the_connection_and_finishes_answers(tmp_path):
    fake = FakeSlack().start()
    ws = FakeSocketMode().start()
    fake.ws_url = ws.url
    kb = _knowledge(tmp_path)
    env = app_env(fake, tmp_path, KNOWLEDGE_DIR=str(kb), RELOAD_INTERVAL="0")
    env.pop("SLACK_SIGNING_SECRET")
    metrics_port = free_port()
    log = tmp_path / "serve.log"
    proc = start_serve(["--metrics-port", str(metrics_port)], env, tmp_path, log)
    try:
        ws.wait_connected(timeout=120)
        scraped = SlackSim(f"127.0.0.1:{metrics_port}", fake).get("/metrics")
        assert scraped.status == 200 and "opsbot_index_chunks" in scraped.body
        healthz = SlackSim(f"127.0.0.1:{metrics_port}", fake).get("/healthz")  # Socket Mode too
        assert healthz.status == 200 and healthz.json()["chunks"] > 0
        fake.delays["chat.postMessage"] = 1.0
        channels = [_channel() for _ in range(3)]
        for channel in channels:
            event = {"type": "app_mention", "user": "UHUMAN1", "channel": channel}
            event |= {"text": f"<@{BOT_USER_ID}> What is MLOps?", "ts": fake.next_ts()}
            ws.wait_ack(ws.send("events_api", events_payload(event)))
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(40) == 0, log.read_text()[-3000:]
        for channel in channels:
            assert len(fake.find("chat.postMessage", channel=channel)) == 1
        assert "closing the Socket Mode connection" in log.read_text()
        _assert_stored(tmp_path / "data" / "opsbot.sqlite3", channels)
    finally:
        stop(proc)
        ws.stop()
        fake.stop()
