"""The numbers behind `opsbot report`, computed from the store's interactions and votes.

Everything is derived in Python from one read of the window, so both backends give
identical reports and no SQL beyond the store's two list queries is needed.
"""

from __future__ import annotations

import math
import re
import statistics
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.config import ConfigError
from bot.report.grouping import Asked, Embed, QuestionGroup, group_questions
from bot.store.records import Escalation, Feedback, Interaction

if TYPE_CHECKING:
    from bot.store import Store

UNITS = {"h": 3600, "d": 86400, "w": 7 * 86400}
SINCE_RE = re.compile(r"^\s*(\d{1,5})\s*([hdw])\s*$", re.IGNORECASE)
TOP = 10


def parse_since(raw: str) -> float:
    """'7d' / '24h' / '2w' to seconds; anything else is a one-line ConfigError."""
    match = SINCE_RE.match(raw or "")
    if not match or int(match.group(1)) < 1:
        raise ConfigError(f"--since must look like 24h, 7d or 2w, got {raw!r}")
    return int(match.group(1)) * UNITS[match.group(2).lower()]


@dataclass(frozen=True)
class TopicCount:
    title: str
    path: str
    count: int
    url: str = ""  # the document's web URL, as the answer linked it (section anchor dropped)


@dataclass(frozen=True)
class SourceVotes:
    title: str
    path: str
    down: int
    up: int
    url: str = ""


@dataclass(frozen=True)
class DayCount:
    day: str  # YYYY-MM-DD, UTC
    answered: int
    declined: int


@dataclass
class Escalated:
    """A question somebody handed to a person: the docs did not settle it."""

    question: str
    channel: str
    group: str
    answered: bool
    at: str  # ISO time, UTC


@dataclass
class Report:
    """One window's worth of numbers, ready for any renderer."""

    window: str
    since: float
    until: float
    questions_stored: bool
    total: int = 0
    answered: int = 0
    declined: int = 0
    latency_median_ms: float | None = None
    latency_p95_ms: float | None = None
    surfaces: dict[str, int] = field(default_factory=dict)
    per_day: list[DayCount] = field(default_factory=list)
    topics: list[TopicCount] = field(default_factory=list)
    votes_up: int = 0
    votes_down: int = 0
    needs_docs: int = 0  # interactions declined or voted 👎
    groups: list[QuestionGroup] = field(default_factory=list)
    downvoted_sources: list[SourceVotes] = field(default_factory=list)
    escalations: list[Escalated] = field(default_factory=list)  # "Ask a person" clicks
    # each knowledge source as `opsbot sources` shows it (bot.sources.status.health_entries)
    knowledge: list[dict[str, Any]] = field(default_factory=list)

    @property
    def answer_rate(self) -> float | None:
        return self.answered / self.total if self.total else None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["answer_rate"] = None if self.answer_rate is None else round(self.answer_rate, 4)
        data["groups"] = [g.to_json() for g in self.groups]
        for key in ("since", "until"):
            data[key] = datetime.fromtimestamp(data[key], UTC).isoformat(timespec="seconds")
        return data


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (an observed value, as a person would read it off a list)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def build_report(
    store: Store,
    *,
    since_seconds: float,
    window: str,
    questions_stored: bool,
    embed: Embed | None,
    now: float | None = None,
    hidden: Callable[[str], bool] | None = None,
) -> Report:
    """Read the window once and derive every section; `embed` groups the gap questions.
    `hidden(path)` marks documents of restricted sources: they are left out of every
    section, and an answer drawn from one is not quoted."""
    until = time.time() if now is None else now
    since = until - since_seconds
    rows = [_public(i, hidden) for i in store.interactions(since) if i.created_at <= until]
    ids = {i.id for i in rows}
    votes = [f for f in store.feedback(since) if f.interaction_id in ids]
    if hidden is not None:  # their snapshots of what the voter saw, too
        votes = [
            replace(f, sources=[s for s in f.sources if not hidden(str(s.get("path", "")))])
            for f in votes
        ]
    report = Report(window=window, since=since, until=until, questions_stored=questions_stored)
    report.total = len(rows)
    report.answered = sum(i.answered for i in rows)
    report.declined = report.total - report.answered
    latencies = [i.latency_ms for i in rows]
    report.latency_median_ms = statistics.median(latencies) if latencies else None
    report.latency_p95_ms = percentile(latencies, 0.95)
    report.surfaces = dict(Counter(i.surface or "unknown" for i in rows).most_common())
    report.per_day = _per_day(rows, since, until)
    report.topics = _topics(rows)
    report.votes_up = sum(f.vote == "up" for f in votes)
    report.votes_down = sum(f.vote == "down" for f in votes)
    report.downvoted_sources = _downvoted_sources(rows, votes)
    asked = _needs_docs(rows, votes)
    report.needs_docs = len(asked)
    if questions_stored and embed is not None:
        report.groups = group_questions(asked, embed)
    report.escalations = [
        Escalated(
            e.question,
            e.channel,
            e.group_id,
            e.answered,
            datetime.fromtimestamp(e.created_at, UTC).isoformat(timespec="seconds"),
        )
        for e in _escalations(store, since)
        if e.interaction_id in ids
    ]
    return report


def _escalations(store: Store, since: float) -> list[Escalation]:
    reader = getattr(store, "escalations", None)  # stores from before "Ask a person"
    return list(reader(since)) if reader is not None else []


def _public(row: Interaction, hidden: Callable[[str], bool] | None) -> Interaction:
    """The row without documents of restricted sources (and without an answer quoting one)."""
    if hidden is None:
        return row
    kept = [s for s in row.sources if not hidden(str(s.get("path", "")))]
    if len(kept) == len(row.sources):
        return row
    return replace(row, sources=kept, answer="")


def _title(source: dict[str, Any]) -> str:
    return str(source.get("title") or source.get("path") or "?")


def _per_day(rows: list[Interaction], since: float, until: float) -> list[DayCount]:
    """Every UTC day of the window, empty ones included, so a chart has no gaps."""
    answered: Counter[str] = Counter()
    declined: Counter[str] = Counter()
    for i in rows:
        day = datetime.fromtimestamp(i.created_at, UTC).date().isoformat()
        (answered if i.answered else declined)[day] += 1
    first = datetime.fromtimestamp(since, UTC).date()
    last = datetime.fromtimestamp(until, UTC).date()
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    return [DayCount(d.isoformat(), answered[d.isoformat()], declined[d.isoformat()]) for d in days]


def _document_url(source: dict[str, Any]) -> str:
    """The URL answers linked for this source, without the section: a report row counts
    the whole document."""
    return str(source.get("url") or "").partition("#")[0]


def _topics(rows: list[Interaction]) -> list[TopicCount]:
    """Most-asked topics: the document behind each answered question's best source."""
    counts: Counter[tuple[str, str]] = Counter()
    urls: dict[str, str] = {}
    for i in rows:
        if i.answered and i.sources:
            top = i.sources[0]
            path = str(top.get("path", ""))
            counts[(_title(top), path)] += 1
            urls[path] = urls.get(path) or _document_url(top)
    return [
        TopicCount(title, path, n, urls.get(path, ""))
        for (title, path), n in counts.most_common(TOP)
    ]


def _downvoted_sources(rows: list[Interaction], votes: list[Feedback]) -> list[SourceVotes]:
    """Each document shown in an answer gets that answer's current 👍/👎 votes."""
    sources = {i.id: i.sources for i in rows}
    down: Counter[str] = Counter()
    up: Counter[str] = Counter()
    titles: dict[str, str] = {}
    urls: dict[str, str] = {}
    for vote in votes:
        seen: set[str] = set()
        for source in sources.get(vote.interaction_id) or vote.sources:
            path = str(source.get("path") or _title(source))
            if path in seen:
                continue
            seen.add(path)
            titles.setdefault(path, _title(source))
            urls[path] = urls.get(path) or _document_url(source)
            (down if vote.vote == "down" else up)[path] += 1
    ranked = sorted(down, key=lambda p: (-down[p], up[p], p))[:TOP]
    return [SourceVotes(titles[p], p, down[p], up[p], urls.get(p, "")) for p in ranked]


def _needs_docs(rows: list[Interaction], votes: list[Feedback]) -> list[Asked]:
    """Declined questions, and answered ones somebody voted 👎 (once per question)."""
    downvoted = {f.interaction_id for f in votes if f.vote == "down"}
    asked: list[Asked] = []
    for i in rows:
        closest = _title(i.sources[0]) if i.sources else ""
        if not i.answered:
            asked.append(Asked(i.question, "declined", closest))
        elif i.id in downvoted:
            asked.append(Asked(i.question, "downvoted", closest, i.answer))
    return asked
