"""Text and JSON renderings of a `Report` (HTML lives in bot.report.html)."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from typing import Any

from bot.observability.logs import Redactor, escape_controls, redactor_from_env
from bot.report.data import Report

NOT_STORED = "Question text is not stored (STORE_QUESTIONS=false): counts and timings only."
FORMATS = ("text", "json", "html")


def render_report(report: Report, fmt: str) -> str:
    """The report in `fmt`; every format ends with a newline."""
    report = sanitized(report, redactor_from_env())
    if fmt == "json":
        return json.dumps(report.to_json(), ensure_ascii=False, indent=2) + "\n"
    if fmt == "html":
        from bot.report.html import render_html

        return render_html(report)
    return render_report_text(report)


def sanitized(value: Any, redact: Redactor) -> Any:
    """A copy in which every string is safe to print in any format: credentials (a pasted
    user:password@, a configured secret) redacted, control characters (ANSI escapes,
    newlines, NUL, C1, lone surrogates) shown as visible escapes. Stored questions are
    user input; the operator's terminal and an XML parser both get plain text."""
    if isinstance(value, str):
        return escape_controls(redact(value))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {
            f.name: sanitized(getattr(value, f.name), redact) for f in dataclasses.fields(value)
        }
        return dataclasses.replace(value, **changes)
    if isinstance(value, dict):
        return {sanitized(k, redact): sanitized(v, redact) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(sanitized(v, redact) for v in value)
    return value


def fmt_ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} ms" if value >= 10 else f"{value:.1f} ms"


def fmt_rate(report: Report) -> str:
    rate = report.answer_rate
    return "-" if rate is None else f"{rate:.0%}"


def day(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")


def render_report_text(report: Report) -> str:
    out = [
        f"opsbot report — last {report.window} ({day(report.since)} to {day(report.until)})",
        "",
        f"Questions:    {report.total} ({report.answered} answered, {report.declined} declined)",
        f"Answer rate:  {fmt_rate(report)}",
        f"Latency:      median {fmt_ms(report.latency_median_ms)}, "
        f"p95 {fmt_ms(report.latency_p95_ms)}",
        f"Feedback:     {report.votes_up} 👍, {report.votes_down} 👎",
    ]
    if report.surfaces:
        out.append("Surfaces:     " + ", ".join(f"{k} {v}" for k, v in report.surfaces.items()))
    out += ["", "Most-asked topics (best source of answered questions):"]
    out += [
        f"  {t.count:5d}  {t.title} ({t.path}){' ' + t.url if t.url else ''}" for t in report.topics
    ] or ["  (none)"]
    out += ["", f"Questions to write docs for ({report.needs_docs} declined or 👎):"]
    if not report.questions_stored:
        out.append("  " + NOT_STORED)
    elif not report.groups:
        out.append("  (none)")
    for n, group in enumerate(report.groups, 1):
        why = f"{group.declined} declined, {group.downvoted} 👎"
        closest = f"; closest doc: {group.closest}" if group.closest else ""
        out.append(f"  {n:2d}. {group.size}× ({why}{closest})")
        out += [f"        - {example}" for example in group.examples]
    out += ["", f"Questions handed to a person ({len(report.escalations)} × Ask a person):"]
    if not report.escalations:
        out.append("  (none)")
    for escalated in report.escalations:
        said = "answered" if escalated.answered else "declined"
        asked = escalated.question or "(question text not stored)"
        out.append(f"  - {asked}  [{said}; #{escalated.channel} → {escalated.group}]")
    out += ["", "Sources with the most 👎:"]
    out += [
        f"  {s.down:3d} 👎 {s.up:3d} 👍  {s.title} ({s.path}){' ' + s.url if s.url else ''}"
        for s in report.downvoted_sources
    ] or ["  (none)"]
    if report.knowledge:
        from bot.sources.base import SourceState
        from bot.sources.status import status_lines

        states = [
            SourceState(**{k: v for k, v in s.items() if k != "healthy"}) for s in report.knowledge
        ]
        out += ["", "Knowledge sources:"] + [f"  {line}" for line in status_lines(states)]
    return "\n".join(out) + "\n"
