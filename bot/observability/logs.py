"""Log setup: plain text or JSON lines, with secrets scrubbed before anything is written.

Operators grep text and ship JSON; both carry the `extra` fields a caller attaches
(question_id, surface, latency_ms, ...). Every handler gets a redaction filter, so a
token that slips into a message, an argument, an extra or a traceback (a proxy error
page echoing the Authorization header, a user pasting a token) never reaches the log.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

REDACTED = "[REDACTED]"
SECRET_ENV_VARS = (
    "SLACK_BOT_TOKEN",
    "SLACK_APP_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_CLIENT_SECRET",
    "LLM_API_KEY",
)
OWN_LOGGERS = ("bot", "opsbot")  # module loggers, and "opsbot.questions"
# sentence-transformers draws tqdm bars on stderr whenever its logger is INFO-enabled
QUIET_LIBRARIES = ("sentence_transformers",)
MIN_SECRET_CHARS = 8  # shorter configured values would redact ordinary words
URL_ENV_VARS = ("DATABASE_URL", "SLACK_API_URL")  # and every other *_URL(S): may carry user:pw@
MIN_URL_SECRET_CHARS = 4
# Control characters (newline forging a log line, ANSI escapes), line separators and the
# lone surrogates a non-UTF-8 file name decodes to: shown as escapes, never written raw.
_JSON_UNSAFE = re.compile(r"[\u2028\u2029\ud800-\udfff]")  # json.dumps leaves these raw
_UNSAFE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Slack tokens: xoxb-, xoxp-, xoxa-, xoxe-, xoxe.xoxp- (refresh), xapp- (app-level), ...
    (re.compile(r"\b(?:xox[a-z](?:\.xox[a-z])?|xapp)-[0-9A-Za-z][0-9A-Za-z-]*"), REDACTED),
    # Authorization headers in any spelling: "Authorization: Bearer x", {'authorization': 'x'}
    (
        re.compile(
            r"(?i)(\bauthorization\b[\"']?\s*[:=]\s*[\"']?)(?:(?:bearer|basic)\s+)?[^\s\"',;}]+"
        ),
        r"\1" + REDACTED,
    ),
    (re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/-]+=*"), r"\1" + REDACTED),
    # Credentials in URLs, e.g. a DATABASE_URL postgresql://user:password@host/db, or a
    # token as the user (https://TOKEN@host): the whole user-info goes
    (re.compile(r"(\b[a-z][a-z0-9+.-]*://)[^/@\s\"'<>]+@", re.I), r"\1" + REDACTED + "@"),
    # ... and without a scheme: user:password@host (a libpq-style or pasted address)
    (re.compile(r"(?<![\w.+%-])[\w.+%-]+:[^\s/@\"'<>]+@(?=[\w\[])"), REDACTED + "@"),
)


def escape_controls(text: str) -> str:
    """One log record stays one line: control characters become visible escapes."""
    return _UNSAFE.sub(_escape_one, text)


def _escape_one(match: re.Match[str]) -> str:
    char = match.group()
    named = {"\n": "\\n", "\r": "\\r"}
    if char in named:
        return named[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


# Attributes every LogRecord has; anything else on a record came from `extra=`.
_RECORD_ATTRS = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}


class Redactor:
    """Scrubs token patterns and the configured secret values from strings."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        values = {s.strip() for s in secrets if s and len(s.strip()) >= MIN_SECRET_CHARS}
        self.secrets = sorted(values, key=len, reverse=True)  # longest first: no partial leftovers

    def add(self, secrets: Iterable[str], minimum: int = MIN_SECRET_CHARS) -> None:
        values = {v.strip() for v in secrets if v and len(v.strip()) >= minimum}
        self.secrets = sorted(set(self.secrets) | values, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        return text

    def value(self, value: Any, escape: bool = False) -> Any:
        """A copy of an `extra` value with every string inside it scrubbed (and escaped)."""
        if isinstance(value, dict):
            return {self.value(k, escape): self.value(v, escape) for k, v in value.items()}
        if isinstance(value, (list, tuple, set, frozenset)):
            return [self.value(v, escape) for v in value]
        if isinstance(value, (int, float, bool)) or value is None:
            return value
        text = self(value if isinstance(value, str) else str(value))
        return escape_controls(text) if escape else text


class RedactFilter(logging.Filter):
    """Rewrites a record in place (message, args, extras, traceback) before it is formatted.

    With `escape` (text logs), control characters in the message and extras become
    visible escapes, so a file name holding a newline cannot forge a second log line;
    JSON lines escape them already.
    """

    def __init__(self, redactor: Redactor, escape: bool = True) -> None:
        super().__init__()
        self.redactor = redactor
        self.escape = escape

    def filter(self, record: logging.LogRecord) -> bool:
        redact = self.redactor
        try:
            message = record.getMessage()
        except Exception:  # bad %-args: keep both parts, scrubbed, instead of a logging error
            message = f"{record.msg} {record.args!r}"
        message = redact(message)
        record.msg, record.args = escape_controls(message) if self.escape else message, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        for key in extras(record):
            setattr(record, key, redact.value(getattr(record, key), self.escape))
        return True


class LevelPolicy(logging.Filter):
    """opsbot's own records from `level` up, libraries' only from WARNING up.

    Done on the handler, not with logger levels: Bolt resets the level of the logger
    named after the app ("opsbot") to the root level on every request.
    """

    def __init__(self, level: int) -> None:
        super().__init__()
        self.level = level

    def filter(self, record: logging.LogRecord) -> bool:
        name = record.name
        ours = name in OWN_LOGGERS or name.startswith(tuple(f"{n}." for n in OWN_LOGGERS))
        return record.levelno >= (self.level if ours else max(self.level, logging.WARNING))


def extras(record: logging.LogRecord) -> list[str]:
    """Names of the fields a caller passed with `extra=`."""
    return [k for k in record.__dict__ if k not in _RECORD_ATTRS and not k.startswith("_")]


def _text_value(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        value = ",".join(str(v) for v in value) or "-"
    elif isinstance(value, dict):
        value = json.dumps(value, ensure_ascii=False, default=str)
    text = "-" if value is None else str(value)
    if not text or any(c.isspace() or c in '"=' for c in text):
        return json.dumps(text, ensure_ascii=False)
    return text


class TextFormatter(logging.Formatter):
    """`time LEVEL logger: message key=value ...` (extras not already in the message)."""

    def __init__(self, redactor: Redactor | None = None) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.redactor = redactor or Redactor()

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        head, sep, tail = line.partition("\n")  # keep extras on the message line, before a trace
        message = record.getMessage()
        pairs = [f"{k}={_text_value(getattr(record, k))}" for k in extras(record)]
        pairs = [p for p in pairs if p not in message]
        if pairs:
            head = f"{head} {' '.join(pairs)}"
        return self.redactor(head + sep + tail)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, extras, exc."""

    def __init__(self, redactor: Redactor | None = None) -> None:
        super().__init__()
        self.redactor = redactor or Redactor()

    def format(self, record: logging.LogRecord) -> str:
        ts = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        out: dict[str, Any] = {
            "ts": ts.replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in extras(record):
            out[key if key not in out else f"extra_{key}"] = getattr(record, key)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            out["exc"] = record.exc_text
        if record.stack_info:
            out["stack"] = record.stack_info
        line = self.redactor(json.dumps(out, ensure_ascii=False, default=str))
        return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", line)  # JSON escapes


class StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at emit time (survives stream swaps, like lastResort)."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self) -> Any:
        return sys.stderr


def env_secrets(env: dict[str, str] | None = None) -> list[str]:
    """The secret values configured in the environment (and .env, once loaded)."""
    env = dict(os.environ if env is None else env)
    return [env.get(name, "") for name in SECRET_ENV_VARS]


def url_secrets(env: dict[str, str] | None = None) -> list[str]:
    """Passwords inside URL settings, found even when the URL does not parse."""
    from bot.observability.urls import url_credentials, url_settings

    env = dict(os.environ if env is None else env)
    names = {*URL_ENV_VARS, *url_settings(env)}
    return [secret for name in sorted(names) for secret in url_credentials(env.get(name, ""))]


def redactor_from_env(secrets: Iterable[str] | None = None) -> Redactor:
    redactor = Redactor(env_secrets() if secrets is None else secrets)
    if secrets is None:
        redactor.add(url_secrets(), MIN_URL_SECRET_CHARS)
    return redactor


def error_line(message: str, fmt: str | None = None) -> str:
    """A fatal start-up error as one log line: scrubbed like every other line, and JSON
    when LOG_FORMAT=json. Start-up errors never reach a handler, so they go through here."""
    if fmt is None:
        fmt = os.environ.get("LOG_FORMAT", "text").strip()
    redactor = redactor_from_env()
    text = escape_controls(redactor(message))
    if fmt != "json":
        return f"opsbot: error: {text}"
    record = logging.LogRecord("opsbot", logging.ERROR, "", 0, text, None, None)
    return JsonFormatter(redactor).format(record)


def make_handler(
    fmt: str = "text",
    level: int = logging.INFO,
    *,
    secrets: Iterable[str] | None = None,
    stream: Any = None,
) -> logging.Handler:
    """A handler in `fmt` ('text' or 'json') with the level policy and redaction filters."""
    redactor = redactor_from_env(secrets)
    handler: logging.Handler = logging.StreamHandler(stream) if stream else StderrHandler()
    formatter = JsonFormatter(redactor) if fmt == "json" else TextFormatter(redactor)
    handler.setFormatter(formatter)
    handler.addFilter(LevelPolicy(level))
    handler.addFilter(RedactFilter(redactor, escape=fmt != "json"))
    handler._opsbot = True  # type: ignore[attr-defined]
    return handler


def configure_logging(
    fmt: str = "text", level: int = logging.INFO, *, secrets: Iterable[str] | None = None
) -> None:
    """Root logging for a CLI process: opsbot's loggers at `level`, libraries at WARNING+.

    Replaces a handler installed by an earlier call (the `cli` group, then `serve`).
    Like logging.basicConfig, a root already configured by someone else (an embedding
    app, pytest) keeps its handlers, but each of them still gets the redaction filter.
    """
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_opsbot", False)]:
        root.removeHandler(old)
    handler = make_handler(fmt, level, secrets=secrets)
    if not root.handlers:
        root.addHandler(handler)
    redact = next(f for f in handler.filters if isinstance(f, RedactFilter))
    for other in root.handlers:
        for stale in [f for f in other.filters if isinstance(f, RedactFilter)]:
            other.removeFilter(stale)
        other.addFilter(redact if other is handler else RedactFilter(redact.redactor))
    root.setLevel(level)  # LevelPolicy keeps libraries at WARNING and up
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))
    logging.captureWarnings(True)  # library warnings become log lines in the same format
