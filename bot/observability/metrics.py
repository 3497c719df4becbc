"""Every Prometheus metric opsbot exports, defined once.

Served at GET /metrics in HTTP mode, and on `opsbot serve --metrics-port N` in Socket Mode.
One module means one registry and one place to see what an operator can graph.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

QUESTIONS = Counter(
    "opsbot_questions_total", "Questions answered or declined", ["surface", "outcome"]
)
ANSWER_SECONDS = Histogram(
    "opsbot_answer_seconds",
    "Engine answer latency",
    ["surface"],
    buckets=(0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0),
)
FEEDBACK_VOTES = Counter("opsbot_feedback_votes_total", "Feedback button clicks", ["vote"])
INDEX_CHUNKS = Gauge("opsbot_index_chunks", "Passages in the live index")
INDEX_DOCUMENTS = Gauge("opsbot_index_documents", "Documents in the live index")
LAST_RELOAD_TIMESTAMP = Gauge(
    "opsbot_last_reload_timestamp_seconds",
    "Unix time the live index was last (re)loaded, or a reload last failed",
)
LAST_RELOAD_SUCCESS = Gauge(
    "opsbot_last_reload_success", "1 if the last knowledge reload check succeeded, else 0"
)
RELOADS = Counter(
    "opsbot_reloads_total",
    "Knowledge reload checks by result (changed, unchanged, failed)",
    ["result"],
)
DATABASE_UP = Gauge(
    "opsbot_database_up", "1 while the question and feedback database answers, else 0"
)
SLACK_API_ERRORS = Counter(
    "opsbot_slack_api_errors_total", "Slack Web API calls that failed", ["method"]
)

# Slack plumbing (HTTP acks, listener outcomes); the listeners import these.
EVENTS = Counter("opsbot_slack_events_total", "Slack requests by kind", ["kind"])
ERRORS = Counter("opsbot_slack_errors_total", "Failed after-ack work items")
ACK_SECONDS = Histogram(
    "opsbot_slack_ack_seconds", "HTTP ack latency", buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 1)
)


def record_index(index: Any) -> None:
    """Index size gauges from a loaded index (its manifest lists the documents)."""
    INDEX_CHUNKS.set(len(index.chunks))
    INDEX_DOCUMENTS.set(len(index.manifest.documents))


def record_reload(*, ok: bool, changed: bool, at: float) -> None:
    """One reload check. The timestamp moves only when something happened (the index
    changed or a reload failed), not on every quiet poll."""
    result = "failed" if not ok else "changed" if changed else "unchanged"
    RELOADS.labels(result).inc()
    LAST_RELOAD_SUCCESS.set(1 if ok else 0)
    if result != "unchanged":
        LAST_RELOAD_TIMESTAMP.set(at)


def render_metrics() -> tuple[bytes, str]:
    """Body and content type for a /metrics response."""
    return generate_latest(), CONTENT_TYPE_LATEST


# Generated answers (LLM_BASE_URL set): latency, tokens, and every fall-back to extractive.
LLM_SECONDS = Histogram(
    "opsbot_llm_seconds",
    "LLM latency: time to first token, and total",
    ["phase"],
    buckets=(0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0),
)
LLM_TOKENS = Counter("opsbot_llm_tokens_total", "LLM tokens by kind", ["kind"])
LLM_FALLBACKS = Counter(
    "opsbot_llm_fallbacks_total", "Generated answers replaced by the extractive one", ["reason"]
)
