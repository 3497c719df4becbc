"""Hostile input and faults (issue 10): each test reproduces one finding of the probe.

Bounded in count and time, loopback only. Slack-side tests run against the real
`opsbot serve --http` (the `live` fixture) or the real Bolt app in-process (`stub_app`);
knowledge-side tests run the real CLI on throwaway folders.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_slack import BOT_USER_ID, SIGNING_SECRET, TEAM_ID
from slack_sim import SlackSim, sign


@pytest.fixture(scope="module")
def stub_server(tmp_path_factory) -> Iterator[SlackSim]:
    """The real Bolt app behind the product's hardened server, in-process, on a stub engine;
    the request deadline is cut to 1 s to keep tests short."""
    import fake_slack
    from fake_slack import FakeSlack
    from serve_proc import free_port
    from stub_engine import StubEngine

    from bot.config import Settings
    from bot.slack.app import SlackEnv, build_app, make_client
    from bot.slack.httpserver import make_server
    from bot.slack.wsgi import SlackWSGI
    from bot.store import open_store

    fake = FakeSlack().start()
    settings = Settings(data_dir=tmp_path_factory.mktemp("hostile-data"))
    store = open_store(settings)
    env = SlackEnv(fake_slack.BOT_TOKEN, "", SIGNING_SECRET, fake.url)
    client = make_client(env.bot_token, fake.url)
    app = build_app(settings, StubEngine(), store, client=client, slack=env)
    port = free_port()
    wsgi = SlackWSGI(app, SIGNING_SECRET, lambda: {"status": "ok"})
    server = make_server(wsgi, "127.0.0.1", port)
    server.request_deadline = 1.0
    thread = threading.Thread(target=_run_quietly, args=(server,), daemon=True)
    thread.start()
    yield SlackSim(f"127.0.0.1:{port}", fake)
    server.close()
    app.opsbot.close()
    store.close()
    fake.stop()


def _run_quietly(server) -> None:
    with contextlib.suppress(OSError):
        server.run()


def _channel(prefix: str = "C") -> str:
    return prefix + uuid.uuid4().hex[:8].upper()


def _raw_post(base: str, body: bytes, headers: dict[str, str]) -> int:
    """POST with header values sent as raw latin-1 bytes (http.client refuses some)."""
    host, port = base.split(":")
    head = [b"POST /slack/events HTTP/1.1", f"Host: {host}".encode()]
    head += [f"{k}: ".encode() + v.encode("latin-1") for k, v in headers.items()]
    head += [b"Content-Type: application/json", f"Content-Length: {len(body)}".encode()]
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"\r\n".join(head) + b"\r\n\r\n" + body)
        reply = b""
        while b"\r\n" not in reply:
            chunk = sock.recv(4096)
            if not chunk:
                break
            reply += chunk
    return int(reply.split(b" ", 2)[1])


# ---- 3: slowloris -------------------------------------------------------------------------


def test_200_slow_sockets_do_not_stop_a_signed_mention(live):
    host, port = live.sim.base.split(":")
    slow: list[socket.socket] = []
    try:
        for _ in range(200):
            sock = socket.create_connection((host, int(port)), timeout=5)
            sock.sendall(b"POST /slack/events HTTP/1.1\r\nHost: x\r\n")  # never finished
            slow.append(sock)
        time.sleep(0.3)
        for sock in slow[:50]:  # still trickling, so never idle
            sock.sendall(b"X")
        channel = _channel()
        started = time.perf_counter()
        event = live.sim.mention("What is MLOps?", channel)
        assert event["reply"].status == 200
        assert time.perf_counter() - started < 1.0
        live.fake.wait_for("chat.postMessage", channel=channel)
        assert live.sim.get("/healthz").status == 200
    finally:
        for sock in slow:
            sock.close()


def test_a_trickled_request_is_dropped_at_the_deadline(stub_server):
    host, port = stub_server.base.split(":")
    sock = socket.create_connection((host, int(port)), timeout=5)
    sock.sendall(b"POST /slack/events HTTP/1.1\r\n")
    deadline = time.monotonic() + 6
    closed = False
    while time.monotonic() < deadline and not closed:
        time.sleep(0.25)
        try:
            sock.sendall(b"X")  # one byte every 250 ms: never idle
            sock.settimeout(0.01)
            closed = sock.recv(1) == b""
        except TimeoutError:
            continue
        except OSError:
            closed = True
    sock.close()
    assert closed, "a request that never completes must be dropped"


# ---- 5: unauthenticated junk is 401, one short log line ----------------------------------


@pytest.mark.parametrize(
    ("timestamp", "signature"),
    [
        ("²", "v0=" + "0" * 64),
        ("9" * 5000, "v0=" + "0" * 64),
        (None, "v0=ÿÿ"),
        (None, "v0=é" + "0" * 63),
        ("", ""),
        ("-1", "v0=" + "0" * 64),
    ],
)
def test_malformed_signature_or_timestamp_is_401(live, timestamp, signature):
    body = live.sim.event_body({"type": "app_mention", "user": "U1", "text": "hi", "ts": "1.1"})
    headers = sign(body)
    if timestamp is not None:
        headers["X-Slack-Request-Timestamp"] = timestamp
    headers["X-Slack-Signature"] = signature
    assert _raw_post(live.sim.base, body.encode(), headers) == 401
    assert live.proc.poll() is None


def test_unsigned_non_utf8_body_is_401_and_signed_one_400(live):
    junk = b'{"event": "\xff\xfe"}'
    assert _raw_post(live.sim.base, junk, {}) == 401
    headers = sign(junk.decode("latin-1"))  # a valid signature over the raw bytes
    headers["X-Slack-Signature"] = "v0=" + _hmac(headers["X-Slack-Request-Timestamp"], junk)
    assert _raw_post(live.sim.base, junk, headers) == 400


def _hmac(timestamp: str, body: bytes) -> str:
    import hashlib
    import hmac

    message = b"v0:" + timestamp.encode() + b":" + body
    return hmac.new(SIGNING_SECRET.encode(), message, hashlib.sha256).hexdigest()


def test_rejections_log_one_short_line_each(stub_server, caplog):
    body = json.dumps({"type": "event_callback", "event": {}})
    for ts in ("²", "9" * 5000):
        headers = {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": "v0=é"}
        with caplog.at_level("INFO"):
            assert _raw_post(stub_server.base, body.encode(), headers) == 401
    lines = [r for r in caplog.records if "rejected" in r.getMessage()]
    assert len(lines) == 2
    assert all(len(r.getMessage()) < 120 and not r.exc_info for r in lines)


# ---- 6: signed but malformed event shapes are acked and answered --------------------------


def _event_body(event: dict, **top: object) -> str:
    body = {
        "token": "legacy",
        "team_id": TEAM_ID,
        "api_app_id": "A0000001",
        "event": event,
        "type": "event_callback",
        "event_id": f"Ev{uuid.uuid4().hex[:10].upper()}",
        "event_time": int(time.time()),
        "authorizations": [{"team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True}],
    }
    return json.dumps(body | top)


def test_non_string_text_is_acked_and_answered(live):
    for text in (12345, ["What", "is", "MLOps?"], {"t": 1}, None):
        channel = _channel()
        ts = live.fake.next_ts()
        event = {"type": "app_mention", "user": "UH", "text": text, "ts": ts, "channel": channel}
        assert live.sim.post(_event_body(event), "application/json").status == 200
        (post,) = live.fake.wait_for("chat.postMessage", channel=channel)
        assert post.params["thread_ts"] == ts


def test_authorizations_as_a_string_is_acked_and_answered(live):
    channel = _channel()
    ts = live.fake.next_ts()
    event = {"type": "app_mention", "user": "UH", "text": "What is MLOps?"}
    body = _event_body(event | {"ts": ts, "channel": channel}, authorizations="nope")
    assert live.sim.post(body, "application/json").status == 200
    live.fake.wait_for("chat.postMessage", channel=channel)


def test_empty_assistant_thread_is_acked(live):
    channel = _channel("D")
    event = {"type": "assistant_thread_started", "assistant_thread": {}, "channel": channel}
    assert live.sim.post(_event_body(event), "application/json").status == 200
    event = {"type": "assistant_thread_started", "assistant_thread": "x", "channel": channel}
    assert live.sim.post(_event_body(event), "application/json").status == 200
    assert live.proc.poll() is None


def test_actions_holding_strings_are_acked(live):
    from urllib.parse import urlencode

    for actions in (["up", "down"], [1, None], [{"action_id": 5}], "x"):
        payload = {
            "type": "block_actions",
            "team": {"id": TEAM_ID},
            "user": {"id": "UH"},
            "api_app_id": "A0000001",
            "actions": actions,
            "container": {"type": "message"},
        }
        body = urlencode({"payload": json.dumps(payload)})
        assert live.sim.post(body, "application/x-www-form-urlencoded").status == 200


def test_thread_with_non_numeric_ts_still_gets_an_answer(live):
    channel = _channel()
    first = live.fake.next_ts()
    live.fake.add_message(channel, "earlier question about kubernetes", ts=first)
    live.fake.add_message(channel, "odd", ts="not-a-number", thread_ts=first)
    live.fake.add_message(channel, "odd", ts={"x": 1}, thread_ts=first)
    live.sim.mention("What is MLOps?", channel, thread_ts=first)
    (post,) = live.fake.wait_for("chat.postMessage", channel=channel)
    assert post.params["thread_ts"] == first
    assert "machine learning" in json.dumps(post.params["blocks"])


# ---- 9: credentials never reach stderr, and LOG_FORMAT=json holds for start-up errors ------


def _opsbot(args: list[str], tmp_path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_"))}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=base | {"INDEX_DIR": str(tmp_path / "index"), "DATA_DIR": str(tmp_path / "d")} | env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("fmt", ["text", "json"])
@pytest.mark.parametrize(
    ("args", "env"),
    [
        (["report"], {"DATABASE_URL": "postgresql://bob:Sup3rPw0rd@[db/x"}),
        (["report"], {"DATABASE_URL": "postgresql://bob:Sup3r/Pw0rd@db:notaport/x"}),
        (["report"], {"DATABASE_URL": "mysql://bob:Sup3rPw0rd@db/x"}),
        (
            ["serve", "--http", "--port", "3999"],
            {
                "SLACK_BOT_TOKEN": "xoxb-1-fake",
                "SLACK_SIGNING_SECRET": "fake-signing-secret",
                "SLACK_API_URL": "http://user:Sup3rPw0rd@127.0.0.1:9/api/",
            },
        ),
        (
            ["serve", "--http"],
            {
                "SLACK_BOT_TOKEN": "xoxb-1-fake",
                "SLACK_SIGNING_SECRET": "fake-signing-secret",
                "SLACK_API_URL": "ftp://user:Sup3rPw0rd@example/",
            },
        ),
    ],
)
def test_startup_errors_never_show_credentials(tmp_path, fmt, args, env):
    proc = _opsbot(args, tmp_path, LOG_FORMAT=fmt, **env)
    assert proc.returncode == 2
    out = proc.stderr + proc.stdout
    assert "Sup3r" not in out and "Pw0rd" not in out and "Traceback" not in out
    (line,) = proc.stderr.strip().splitlines()
    if fmt == "json":
        record = json.loads(line)
        assert record["level"] == "ERROR" and record["message"]
    else:
        assert line.startswith("opsbot: error: ")


# ---- 10: one record is one line, whatever a file name or question holds --------------------


def test_control_characters_are_escaped_in_text_and_json_logs():
    import io
    import logging

    from bot.observability.logs import make_handler

    for fmt in ("text", "json"):
        raw = io.BytesIO()
        stream = io.TextIOWrapper(raw, encoding="utf-8", errors="strict", write_through=True)
        logger = logging.getLogger(f"bot.hostile.{fmt}")
        logger.propagate = False
        logger.addHandler(make_handler(fmt, stream=stream, secrets=[]))
        forged = "a.md\n2026-11-30 00:00:00,000 ERROR bot: forged\r\x1b[31mred\u2028x\udcff"
        logger.warning("skipped %s: %s", forged, "binary file", extra={"path": forged})
        logger.handlers.clear()
        lines = raw.getvalue().decode("utf-8").splitlines()
        assert len(lines) == 1, lines
        assert "\x1b" not in lines[0] and "\r" not in lines[0] and "\u2028" not in lines[0]
        if fmt == "json":
            assert "\n2026" in json.loads(lines[0])["message"]  # JSON escaped it, intact
        else:
            assert "a.md\\n2026" in lines[0]


# ---- 11: a database outage shows in /healthz and a metric, and is logged once --------------


def test_database_outage_is_reported_once_and_answers_go_on(live):
    import sqlite3

    log = live.data_dir.parent / "serve.log"
    lock = sqlite3.connect(live.data_dir / "opsbot.sqlite3", isolation_level=None, timeout=10)
    lock.execute("BEGIN EXCLUSIVE")  # another process holds the database: writes fail
    try:
        channels = [_channel() for _ in range(3)]
        for channel in channels:
            live.sim.mention("What is MLOps?", channel)
            (post,) = live.fake.wait_for("chat.postMessage", channel=channel, timeout=30)
            assert "machine learning" in json.dumps(post.params["blocks"])
        body = live.sim.get("/healthz").json()
        assert body["status"] == "degraded" and body["database"]["ok"] is False
        assert "locked" in body["database"]["error"]
        assert "opsbot_database_up 0.0" in live.sim.get("/metrics").body
        text = log.read_text()
        assert text.count("database unavailable") == 1, text[-3000:]
        assert "could not store" not in text and "dedupe store unavailable" not in text
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    time.sleep(5.2)  # the retry window: the next question probes the database again
    channel = _channel()
    live.sim.mention("What is MLOps?", channel)
    live.fake.wait_for("chat.postMessage", channel=channel)
    assert live.sim.get("/healthz").json()["database"] == {"ok": True}
    assert "database is back" in log.read_text()


# ---- 7 and 8: a damaged or truncated index build ------------------------------------------

DOCS = {
    "alpha.md": "# Alpha Runbook\n\nRestart the alpha service with systemctl restart alpha.\n",
    "beta.md": "# Beta Guide\n\nBeta deploys run through the blue green pipeline nightly.\n",
    "gamma.md": "# Gamma Notes\n\nGamma backups are written to object storage every hour.\n",
}


@pytest.fixture()
def small_kb(tmp_path):
    from bot.config import Settings

    knowledge = tmp_path / "kb"
    knowledge.mkdir()
    for name, text in DOCS.items():
        (knowledge / name).write_text(text)
    return Settings(knowledge_dirs=(knowledge,), index_dir=tmp_path / "idx", data_dir=tmp_path)


def _chunks_file(settings) -> Path:
    return (settings.index_dir / "current").resolve() / "chunks.jsonl"


def test_garbled_middle_line_is_caught_and_ingest_rebuilds(small_kb, article_engine):
    from bot.index import builds
    from bot.ingest import pipeline

    embedder = article_engine.embedder
    pipeline.ingest(small_kb, embedder=embedder)
    path = _chunks_file(small_kb)
    lines = path.read_bytes().split(b"\n")
    assert len(lines) >= 4  # three chunks and the final newline
    lines[1] = b"X" * len(lines[1])  # same size: only a checksum notices
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(builds.IndexLoadError, match="damaged"):
        builds.load(small_kb.index_dir)
    summary = pipeline.ingest(small_kb, embedder=embedder)  # the advice in the error works
    assert not summary.up_to_date
    loaded = builds.load(small_kb.index_dir)
    assert {c.path for c in loaded.chunks} == set(DOCS)


def test_truncated_chunks_file_under_a_loaded_index_is_an_error_not_sigbus(
    small_kb, article_engine
):
    from bot.ingest import pipeline

    pipeline.ingest(small_kb, embedder=article_engine.embedder)
    script = (
        "import os, sys\n"
        "from pathlib import Path\n"
        "from bot.index import builds\n"
        "from bot.index.chunktable import ChunkReadError\n"
        "index = builds.load(Path(sys.argv[1]))\n"
        "path = index.path / 'chunks.jsonl'\n"
        "os.truncate(path, 0)\n"
        "try:\n"
        "    index.chunks[len(index.chunks) - 1]\n"
        "except ChunkReadError as exc:\n"
        "    print('clean error:', exc)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, str(small_kb.index_dir)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, (proc.returncode, proc.stderr[-2000:])
    assert "clean error:" in proc.stdout and "ingest" in proc.stdout


def test_healthz_turns_503_while_answering_keeps_failing(live):
    path = (live.data_dir.parent / "index" / "current").resolve() / "chunks.jsonl"
    original = path.read_bytes()
    try:
        path.write_bytes(bytes(b if b == 10 else 88 for b in original))  # same size, garbled
        for _ in range(3):
            channel = _channel()
            live.sim.mention("What is MLOps?", channel)
            (post,) = live.fake.wait_for("chat.postMessage", channel=channel)
            assert "machine learning" not in json.dumps(post.params)  # the error reply
        reply = live.sim.get("/healthz")
        assert reply.status == 503 and reply.json()["status"] == "failing"
    finally:
        path.write_bytes(original)
    channel = _channel()
    live.sim.mention("What is MLOps?", channel)
    (post,) = live.fake.wait_for("chat.postMessage", channel=channel)
    assert "machine learning" in json.dumps(post.params["blocks"])
    assert live.sim.get("/healthz").status == 200
    assert live.proc.poll() is None


# ---- 4: a full disk does not block start-up on the previous index --------------------------


@pytest.fixture()
def tiny_disk(tmp_path) -> Iterator[Path]:
    """A 3 MB tmpfs (needs root), unmounted afterwards."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root); the in-process test covers it")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def _fill(disk: Path) -> None:
    with open(disk / "filler", "wb") as fh, contextlib.suppress(OSError):
        while True:
            fh.write(b"\0" * 65536)
            fh.flush()


def test_full_disk_serves_the_old_index_and_ingest_fails_in_one_line(
    tiny_disk, small_kb, article_engine
):
    from dataclasses import replace

    from bot.ingest import pipeline

    env = {"KNOWLEDGE_DIR": str(small_kb.knowledge_dir), "INDEX_DIR": str(tiny_disk / "idx")}
    pipeline.ingest(
        replace(small_kb, index_dir=tiny_disk / "idx"), embedder=article_engine.embedder
    )
    (small_kb.knowledge_dir / "delta.md").write_text(
        "# Delta\n\n" + "Delta rollouts need a change ticket. " * 400
    )
    _fill(tiny_disk)
    asked = _opsbot(["ask", "how do I restart the alpha service?"], tiny_disk, **env)
    assert asked.returncode == 0, asked.stderr
    assert "systemctl restart alpha" in asked.stdout
    warning = [line for line in asked.stderr.splitlines() if "could not rebuild" in line]
    assert len(warning) == 1 and "No space left" in warning[0]
    assert "Traceback" not in asked.stderr
    ingested = _opsbot(["ingest"], tiny_disk, **env)
    assert ingested.returncode == 1
    assert len(ingested.stderr.strip().splitlines()) == 1, ingested.stderr
    assert "No space left" in ingested.stderr or "full" in ingested.stderr
    leftovers = [
        p.name
        for p in (tiny_disk / "idx").rglob("*")
        if p.name.startswith((".tmp-", ".current-")) or p.name.endswith(("-wal", "-shm", ".tmp"))
    ]
    assert leftovers == []


def test_full_disk_in_process_keeps_the_old_index(small_kb, article_engine, monkeypatch):
    """The same path without a mount (CI without root): the build write hits ENOSPC."""
    import errno

    from bot.engine.engine import Engine
    from bot.index import builds
    from bot.ingest import pipeline

    pipeline.ingest(small_kb, embedder=article_engine.embedder)
    (small_kb.knowledge_dir / "delta.md").write_text("# Delta\n\nDelta needs a ticket.\n")

    def full_disk(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(builds, "write_unactivated", full_disk)
    notes: list[str] = []
    engine = Engine.open(small_kb, notify=notes.append)
    assert engine.answer("how do I restart the alpha service?").answered
    assert [n for n in notes if "could not rebuild" in n and "No space left" in n]


# ---- 1: nothing outside the knowledge folders, nothing hidden, no secret titles ------------


def test_links_out_of_the_knowledge_folder_are_skipped(tmp_path, small_kb, article_engine):
    from dataclasses import replace

    from bot.engine.engine import Engine
    from bot.index import builds
    from bot.ingest import pipeline

    kb = small_kb.knowledge_dir
    outside = tmp_path / "host"
    (outside / "etc").mkdir(parents=True)
    (outside / "etc" / "shadow.txt").write_text("root:$6$hash:19000:0:99999:7:::\n")
    (outside / "etc" / "passwd.md").write_text("# Passwd\n\nroot:x:0:0:root:/root:/bin/bash\n")
    (tmp_path / ".env").write_text("SLACK_BOT_TOKEN=xoxb-1-leaked-token-value\n")
    (kb / ".env").write_text("SLACK_SIGNING_SECRET=inside-but-hidden-secret\n")
    (kb / "shadow.txt").symlink_to(outside / "etc" / "shadow.txt")
    (kb / "etc").symlink_to(outside / "etc", target_is_directory=True)
    (kb / "slack-config.txt").symlink_to("../.env")
    (kb / "settings.txt").symlink_to(".env")
    (kb / "alias.md").symlink_to("alpha.md")  # inside the root: fine
    summary = pipeline.ingest(small_kb, embedder=article_engine.embedder)
    manifest = builds.read_manifest(small_kb.index_dir)
    assert set(manifest.files) == {*DOCS, "alias.md"}
    reasons = {s.path: s.reason for s in summary.skipped}
    for name in ("shadow.txt", "etc", "slack-config.txt"):
        assert "outside the knowledge folders" in reasons[name]
    assert "hidden" in reasons["settings.txt"]
    engine = Engine.open(small_kb, notify=lambda _m: None)
    answer = engine.answer("what is the slack bot token?")
    shown = answer.answer + " ".join(engine.topics()) + json.dumps(answer.to_json())
    assert "xoxb" not in shown and "root:" not in shown and "SECRET" not in shown

    opted_in = replace(small_kb, knowledge_outside_links=True)
    pipeline.ingest(opted_in, embedder=article_engine.embedder)
    files = set(builds.read_manifest(small_kb.index_dir).files)
    assert {"shadow.txt", "etc/passwd.md"} <= files  # asked for: outside links are read
    assert "slack-config.txt" not in files and "settings.txt" not in files  # never .env


def test_a_secret_looking_first_line_is_never_a_title(tmp_path):
    import hashlib

    from bot.ingest.loaders import SourceFile, load_document

    for first in ("SLACK_BOT_TOKEN=xoxb-1-abc-def", "export DB_PASSWORD = hunter2", "xoxp-1-2-3"):
        raw = f"{first}\n\nDeploys run nightly through the pipeline.\n".encode()
        path = tmp_path / "notes.txt"
        path.write_bytes(raw)
        doc = load_document(
            SourceFile("notes.txt", path, hashlib.sha256(raw).hexdigest(), len(raw))
        )
        assert doc.title == "Notes", first


# ---- 2 and 10: file names that are not UTF-8 or hold a newline -----------------------------


def _hostile_names(kb: Path) -> None:
    bad = os.path.join(os.fsencode(kb), b"bad-name-\xff\xfe.md")
    with open(bad, "wb") as fh:
        fh.write(b"# Bad name\n\nThis file has a name that is not UTF-8.\n")
    (kb / "evil\n1999-01-01 00:00:00,000 ERROR bot: forged.md").write_bytes(b"\x00\x01binary")


def test_odd_file_names_are_skipped_in_ingest_and_ask(tmp_path, small_kb):
    _hostile_names(small_kb.knowledge_dir)
    env = {"KNOWLEDGE_DIR": str(small_kb.knowledge_dir), "INDEX_DIR": str(tmp_path / "i2")}
    asked = _opsbot(["ask", "how do I restart the alpha service?"], tmp_path, **env)
    assert asked.returncode == 0, asked.stderr
    assert "systemctl restart alpha" in asked.stdout and "Traceback" not in asked.stderr
    assert "bad-name-\\xff\\xfe.md" in asked.stderr and "not valid UTF-8" in asked.stderr
    assert not [line for line in asked.stderr.splitlines() if line.startswith("1999-01-01")]
    (small_kb.knowledge_dir / "alpha.md").write_text(DOCS["alpha.md"] + "\nAlso: check logs.\n")
    ingested = _opsbot(["ingest"], tmp_path, **env)
    assert ingested.returncode == 0, ingested.stderr
    assert "Indexed 3 files" in ingested.stdout and "Skipped 2 files" in ingested.stdout
    lines = ingested.stdout.splitlines() + ingested.stderr.splitlines()
    assert not [ln for ln in lines if ln.startswith("1999-01-01")]


def test_live_reload_skips_an_odd_name_and_still_picks_up_new_files(small_kb, article_engine):
    from bot.engine.engine import Engine
    from bot.reload import KnowledgeWatcher

    engine = Engine.open(small_kb, notify=lambda _m: None)
    watcher = KnowledgeWatcher(engine, small_kb)
    _hostile_names(small_kb.knowledge_dir)
    (small_kb.knowledge_dir / "delta.md").write_text("# Delta\n\nDelta rollouts need a ticket.\n")
    result = watcher.reload_if_changed()
    assert result.ok and result.changed, result.detail
    assert "delta.md" in engine.index.manifest.files


def test_a_skip_warning_is_logged_once_per_file_and_content(small_kb, article_engine, caplog):
    from bot.ingest import pipeline

    kb = small_kb.knowledge_dir
    marker = uuid.uuid4().hex.encode()
    (kb / "blob.md").write_bytes(b"\x00" + marker)
    with caplog.at_level("WARNING", logger="bot.ingest.pipeline"):
        for round_ in range(3):
            (kb / "alpha.md").write_text(DOCS["alpha.md"] + f"\nRound {round_}.\n")
            pipeline.ingest(small_kb, embedder=article_engine.embedder)
        (kb / "blob.md").write_bytes(b"\x00\x00" + marker)  # new content: worth a new warning
        pipeline.ingest(small_kb, embedder=article_engine.embedder)
    warnings = [r for r in caplog.records if "blob.md" in r.getMessage()]
    assert len(warnings) == 2


def test_oversized_headers_and_bodies_are_refused(stub_server):
    host, port = stub_server.base.split(":")
    for head, expected in (
        (b"POST /slack/events HTTP/1.1\r\nX-Junk: " + b"a" * 70_000 + b"\r\n\r\n", b" 431 "),
        (b"POST /slack/events HTTP/1.1\r\nContent-Length: 2000000\r\n\r\n" + b"{" * 1000, b" 413 "),
    ):
        with socket.create_connection((host, int(port)), timeout=5) as sock:
            sock.sendall(head)
            assert expected in sock.recv(200)


def test_a_bad_row_is_not_mistaken_for_a_database_outage(tmp_path):
    from bot.store import SQLiteStore
    from bot.store.health import MonitoredStore
    from bot.store.records import Interaction

    store = MonitoredStore(SQLiteStore(tmp_path / "s.sqlite3"))
    bad = Interaction(question="q", answer="a", sources=[], answered=True, user_id=None)
    with pytest.raises(Exception, match="NOT NULL"):
        store.save_interaction(bad)
    assert store.health() == {"ok": True}
    good = Interaction(question="q", answer="a", sources=[], answered=True, user_id="U1")
    assert store.save_interaction(good) > 0
    store.close()


def test_acks_do_not_wait_on_a_database_known_to_be_down(live):
    import sqlite3

    lock = sqlite3.connect(live.data_dir / "opsbot.sqlite3", isolation_level=None, timeout=10)
    lock.execute("BEGIN EXCLUSIVE")
    try:
        first = live.sim.mention("What is MLOps?", _channel())  # notices the outage
        assert first["reply"].status == 200
        time.sleep(6)  # past the retry window: only answers (after the ack) probe again
        acks = [live.sim.mention("What is MLOps?", _channel())["reply"] for _ in range(3)]
        assert all(a.status == 200 and a.seconds < 1.0 for a in acks), acks
    finally:
        lock.execute("ROLLBACK")
        lock.close()
