"""Logs (formats, redaction, levels) and metrics helpers, in-process and fast."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from types import SimpleNamespace

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.observability import metrics
from bot.observability.logs import REDACTED, Redactor, make_handler

BOT = "xoxb-1111-2222-AbCdEfGhIjKl"
USER = "xoxp-3333-4444-5555-abcdef"
APP = "xapp-1-A0123-4567-deadbeef"
REFRESH = "xoxe.xoxp-1-Mi0yLTEyMzQ1Njc4"
SIGNING = "8f14e45fceea167a5a36dedd4bea2543"
ALL_SECRETS = (BOT, USER, APP, REFRESH, SIGNING)


def _logger(fmt: str, *, level: int = logging.INFO, name: str = "opsbot.test"):
    out = io.StringIO()
    handler = make_handler(fmt, level, secrets=[SIGNING], stream=out)
    logger = logging.getLogger(name)
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    return logger, out


@pytest.mark.parametrize(
    "text",
    [
        f"token {BOT} rejected",
        f"user {USER}, app {APP}, refresh {REFRESH}",
        f"headers {{'Authorization': 'Bearer {BOT}'}}",
        "Authorization: Bearer some.opaque-token_value",
        "authorization=Basic dXNlcjpwYXNz",
        f"signing secret is {SIGNING}",
        "postgresql://opsbot:hunter2hunter2@db:5432/opsbot",
    ],
)
def test_redactor_scrubs_tokens_headers_and_configured_secrets(text):
    scrubbed = Redactor([SIGNING])(text)
    assert REDACTED in scrubbed
    for secret in (*ALL_SECRETS, "some.opaque-token_value", "dXNlcjpwYXNz", "hunter2hunter2"):
        assert secret not in scrubbed


def test_redactor_keeps_ordinary_text():
    redact = Redactor(["short", ""])  # too short to be a real secret: never replaced
    message = "SLACK_BOT_TOKEN is missing or not an xoxb- token; a short note"
    assert redact(message) == message


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_message_args_extras_and_traceback_are_scrubbed(fmt):
    logger, out = _logger(fmt)
    try:
        raise RuntimeError(f"proxy said Authorization: Bearer {BOT}")
    except RuntimeError:
        logger.exception(
            "call with %s failed (%s)",
            USER,
            {"token": APP},
            extra={"question": f"is {SIGNING} ok?", "sources": [REFRESH, "a.md"]},
        )
    text = out.getvalue()
    assert not any(secret in text for secret in ALL_SECRETS), text
    assert text.count(REDACTED) >= 5 and "a.md" in text


def test_json_lines_carry_core_fields_and_extras():
    logger, out = _logger("json", name="opsbot.questions")
    extra = {"question_id": 7, "surface": "mention", "latency_ms": 12.5, "outcome": "answered"}
    extra |= {"top_score": 0.71, "sources": ["a.md", "b.md"]}
    logger.info("question %s\nanswered", 7, extra=extra)
    (line,) = out.getvalue().splitlines()  # one record, one line, even with a newline inside
    record = json.loads(line)
    assert record["level"] == "INFO" and record["logger"] == "opsbot.questions"
    assert record["message"] == "question 7\nanswered" and record["ts"].endswith("Z")
    assert {k: record[k] for k in extra} == extra


def test_text_lines_append_extras_as_key_value():
    logger, out = _logger("text", name="opsbot.questions")
    extra = {"surface": "mention", "latency_ms": 3.2, "sources": ["a.md", "b c.md"], "id": None}
    logger.info("question 1 surface=mention", extra=extra)
    line = out.getvalue().strip()
    assert line.endswith('latency_ms=3.2 sources="a.md,b c.md" id=-')
    assert line.count("surface=mention") == 1  # not repeated when the message has it


def test_library_info_is_dropped_but_opsbot_info_is_kept():
    out = io.StringIO()
    handler = make_handler("text", logging.INFO, secrets=[], stream=out)
    for name, level in (("slack_bolt.App", 20), ("waitress", 30), ("opsbot.questions", 20)):
        handler.handle(logging.LogRecord(name, level, __file__, 1, name, None, None))
    handler.handle(logging.LogRecord("bot.reload", 20, __file__, 1, "bot.reload", None, None))
    assert out.getvalue().count("\n") == 3 and "slack_bolt" not in out.getvalue()


def test_configure_logging_in_a_fresh_process_survives_bolt_resetting_opsbot():
    """Bolt sets the level of the logger named after the app ("opsbot") to the root's."""
    code = f"""
import logging
from bot.observability.logs import configure_logging
configure_logging("text", logging.WARNING)
configure_logging("json", logging.INFO, secrets=["{SIGNING}"])
logging.getLogger("opsbot").level = logging.getLogger().level  # what Bolt does per request
logging.getLogger("opsbot.questions").info("q", extra={{"surface": "dm", "note": "{SIGNING}"}})
logging.getLogger("slack_sdk").info("library chatter")
logging.getLogger("bot.x").warning("token %s", "{BOT}")
"""
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    lines = [json.loads(line) for line in proc.stderr.splitlines()]
    assert [r["logger"] for r in lines] == ["opsbot.questions", "bot.x"]
    assert lines[0]["surface"] == "dm" and lines[0]["note"] == REDACTED
    assert BOT not in proc.stderr and SIGNING not in proc.stderr


def _sample(name: str, **labels: str) -> float | None:
    body, _ = metrics.render_metrics()
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return None


def test_reload_and_index_metrics():
    before = _sample("opsbot_reloads_total", result="unchanged") or 0.0
    metrics.record_reload(ok=True, changed=True, at=1000.0)
    metrics.record_reload(ok=True, changed=False, at=2000.0)  # a quiet poll
    assert _sample("opsbot_last_reload_timestamp_seconds") == 1000.0
    assert _sample("opsbot_reloads_total", result="unchanged") == before + 1
    metrics.record_reload(ok=False, changed=False, at=3000.0)
    assert _sample("opsbot_last_reload_timestamp_seconds") == 3000.0
    assert _sample("opsbot_last_reload_success") == 0.0
    documents = {"a.md": ["A", 2], "b.md": ["B", 1]}
    index = SimpleNamespace(chunks=[object()] * 3, manifest=SimpleNamespace(documents=documents))
    metrics.record_index(index)
    assert _sample("opsbot_index_chunks") == 3.0 and _sample("opsbot_index_documents") == 2.0


@pytest.mark.parametrize(
    "line",
    [
        "generated answers from m on user:pa55word@llm.internal:8080",  # no scheme
        "connect to ops:hunter22@db.internal:5432/opsbot failed",
        "clone https://ghp_0123456789abcdefghij@github.com/org/docs.git",  # token as user
        "DATABASE_URL=postgresql://ops:hunter22@db/x",
    ],
)
def test_redaction_catches_credentials_with_or_without_a_scheme(line):
    from bot.observability.logs import Redactor

    out = Redactor()(line)
    assert not any(s in out for s in ("pa55word", "hunter22", "ghp_0123456789")), out
    assert "[REDACTED]@" in out


def test_redaction_leaves_addresses_without_credentials():
    from bot.observability.logs import Redactor

    line = "mail bob@example.com, clone git@github.com:org/x.git, see https://docs.example.com/a"
    assert Redactor()(line) == line


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://user:pass@llm.internal:8080/v1?key=x#f", "http://llm.internal:8080"),
        ("postgresql://u:p@db:5432/opsbot?sslmode=require", "postgresql://db:5432"),
        ("user:pass@db.internal:5432/x", "db.internal:5432"),
        ("https://TOKEN0123456789abcdef@git.example.com/org/docs.git", "https://git.example.com"),
        ("https://a:b@c@evil.example/x", "https://evil.example"),
        ("http://[::1]:8080/v1", "http://[::1]:8080"),
        ("sqlite:///var/lib/opsbot/opsbot.db", "sqlite://"),
    ],
)
def test_safe_url_shows_scheme_host_and_port_only(url, shown):
    from bot.observability.urls import safe_url

    assert safe_url(url) == shown
