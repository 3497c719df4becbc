"""Every Prometheus metric opsbot exports, defined once.

Served at GET /metrics in HTTP mode, and on `opsbot serve --metrics-port N` in Socket Mode.
"""

from __future__ import annotations

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
    "opsbot_last_reload_timestamp_seconds", "Unix time of the last knowledge reload attempt"
)
LAST_RELOAD_SUCCESS = Gauge(
    "opsbot_last_reload_success", "1 if the last knowledge reload succeeded, else 0"
)
RELOADS = Counter("opsbot_reloads_total", "Knowledge reload attempts", ["result"])
SLACK_API_ERRORS = Counter(
    "opsbot_slack_api_errors_total", "Slack Web API calls that failed", ["method"]
)


def render() -> tuple[bytes, str]:
    """Body and content type for a /metrics response."""
    return generate_latest(), CONTENT_TYPE_LATEST
