"""No configured URL's credentials on any output surface: /healthz, log lines (text and
JSON), CLI errors, the report (text, HTML, JSON) and Slack. Each URL setting carries a
planted user:password (or token) that must never appear; hosts may."""

from __future__ import annotations

import pytest

pytest.importorskip("openai", reason="generated answers need the llm extra: pip install '.[llm]'")

import json
import subprocess
import sys
import time
import uuid
from types import SimpleNamespace

from fake_openai import MODEL
from fake_slack import FakeSlack
from serve_proc import app_env, free_port, start_serve, stop, wait_healthy
from slack_sim import SlackSim

PLANTED = {  # setting → the secret inside it
    "LLM_BASE_URL": "llm-pass-8d1f",
    "KNOWLEDGE_URLS": "kb-pass-3c9a",
    "INDEX_URL": "index-pass-77e2",
    "EMBEDDING_BASE_URL": "embed-pass-51b0",
    "GIT_SOURCE_URL": "ghp_plantedtoken0123456789",
    "DATABASE_URL": "db-pass-a4e6",
    "SLACK_API_URL": "slack-pass-19cd",
}


PASTED_SECRET = "pasted-pass-6f0e"  # a user pastes a URL: kept out of logs and the report


def planted_env(llm_url: str) -> dict[str, str]:
    """Every URL setting with credentials (the running ones still work)."""
    host = llm_url.removeprefix("http://")
    p = PLANTED
    return {
        "LLM_BASE_URL": f"http://llmuser:{p['LLM_BASE_URL']}@{host}",
        "LLM_MODEL": MODEL,
        "KNOWLEDGE_URLS": f"https://kbuser:{p['KNOWLEDGE_URLS']}@docs.example.com/kb/",
        # INDEX_URL and EMBEDDING_BASE_URL now select a real backend (a shared index, an
        # embeddings server): planted in the CLI error sweep below, with nothing listening
        "GIT_SOURCE_URL": f"https://{p['GIT_SOURCE_URL']}@git.example.com/org/docs.git",
    }


def assert_clean(text: str, where: str) -> None:
    leaked = [name for name, secret in PLANTED.items() if secret in text]
    assert not leaked, f"{where} shows the credentials of {leaked}:\n{text[-2000:]}"


def test_serve_healthz_logs_slack_and_report(fake_llm, tmp_path, article_engine):
    fake = FakeSlack().start()
    env = app_env(fake, tmp_path, **planted_env(fake_llm.url), LOG_FORMAT="text")
    env.pop("DATABASE_URL", None)  # SQLite in DATA_DIR: the report reads it below
    log = tmp_path / "serve.log"
    port = free_port()
    proc = start_serve(["--http", "--port", str(port)], env, tmp_path, log)
    sim = SlackSim(f"127.0.0.1:{port}", fake)
    try:
        wait_healthy(proc, sim, log, timeout=300)  # ingest + model load on a busy CI box
        health = sim.get("/healthz").body
        assert json.loads(health)["llm"]["server"] == f"http://{fake_llm.url[7:].split('/')[0]}"
        channel = "C" + uuid.uuid4().hex[:8].upper()
        pasted = f"why does postgresql://bob:{PASTED_SECRET}@db.internal/x say zebra?"
        sim.mention(pasted, channel)
        _wait(lambda: fake.find("chat.postMessage", channel=channel))
        sim.mention("what is mlops?", channel)
        _wait(
            lambda: (
                fake.find("chat.stopStream", channel=channel)
                or len(fake.find("chat.postMessage", channel=channel)) > 1
            )
        )
    finally:
        stop(proc)
        fake.stop()
    text = log.read_text()
    assert "generated answers from" in text  # the INFO line that showed user:pass@host
    for where, body in (("/healthz", health), ("the text log", text)):
        assert_clean(body, where)
    assert PASTED_SECRET not in text
    slack = json.dumps([c.params for c in fake.calls])
    assert "docs.example.com/kb/" in slack  # source links kept their host
    assert_clean(slack, "Slack")
    _report_is_clean(tmp_path / "data", env, article_engine)


def _report_is_clean(data_dir, env, engine) -> None:
    from bot.config import Settings
    from bot.report.data import build_report
    from bot.report.render import render_report
    from bot.store import open_store

    store = open_store(Settings(data_dir=data_dir))
    try:
        report = build_report(
            store,
            since_seconds=3600,
            window="1h",
            questions_stored=True,
            embed=engine.embedder.encode,
        )
    finally:
        store.close()
    assert report.total >= 1 and report.groups  # the pasted question is in it
    for fmt in ("text", "html", "json"):
        rendered = render_report(report, fmt)
        assert "db.internal" in rendered or fmt != "text"  # the host may show
        assert_clean(rendered, f"the {fmt} report")
        assert PASTED_SECRET not in rendered, fmt


@pytest.mark.parametrize("log_format", ["text", "json"])
@pytest.mark.parametrize(
    ("setting", "value", "command"),
    [
        ("DATABASE_URL", f"postgresql://dbuser:{PLANTED['DATABASE_URL']}@127.0.0.1:9/x", "report"),
        ("DATABASE_URL", f"mysql://dbuser:{PLANTED['DATABASE_URL']}@db/x", "report"),
        ("LLM_BASE_URL", f"ftp://u:{PLANTED['LLM_BASE_URL']}@h/v1", "ask"),
        ("LLM_BASE_URL", f"http://u:{PLANTED['LLM_BASE_URL']}@127.0.0.1:9/v1", "ask"),
        ("KNOWLEDGE_URLS", f"ftp://u:{PLANTED['KNOWLEDGE_URLS']}@docs/kb/", "ask"),
        ("SLACK_API_URL", f"ftp://u:{PLANTED['SLACK_API_URL']}@slack/api/", "serve"),
        ("INDEX_URL", f"s3://idx:{PLANTED['INDEX_URL']}@bucket.example.com/opsbot", "ask"),
        ("INDEX_URL", f"postgresql://idx:{PLANTED['INDEX_URL']}@127.0.0.1:9/opsbot", "ask"),
        ("EMBEDDING_BASE_URL", f"http://e:{PLANTED['EMBEDDING_BASE_URL']}@127.0.0.1:9/v1", "ask"),
    ],
)
def test_cli_errors_never_show_credentials(setting, value, command, log_format, tmp_path):
    nowhere = SimpleNamespace(url="http://127.0.0.1:9/api/")  # never reached: start-up fails
    env = app_env(nowhere, tmp_path, LOG_FORMAT=log_format, LLM_MODEL=MODEL)
    env[setting] = value
    args = {"report": ["report"], "ask": ["ask", "what is mlops?"], "serve": ["serve"]}[command]
    done = subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    named = setting in done.stderr or "unreachable" in done.stderr  # a server: named by URL
    assert done.returncode != 0 and named, done.stderr
    assert_clean(done.stdout + done.stderr, f"`opsbot {command}` ({log_format})")
    if log_format == "json":
        json.loads(done.stderr.strip().splitlines()[-1])


def _wait(predicate, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)
