"""Typed values that flow through the engine. None of them knows about Slack."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Source:
    """A passage as shown to a user, with its ranking score (higher is better)."""

    path: str
    title: str
    heading: str
    score: float
    text: str
    url: str | None = None


@dataclass
class Answer:
    """What the engine says to one question.

    `answer` is Markdown: the direct answer (`lead`, sentences ending in `[n]` citations,
    n being 1-based into `sources`), then the trimmed supporting passages.
    """

    question: str
    answered: bool
    answer: str
    sources: list[Source] = field(default_factory=list)
    top_score: float = 0.0
    topics: list[str] = field(default_factory=list)
    truncated: bool = False
    latency_ms: float = 0.0
    signals: dict[str, float] = field(default_factory=dict)  # answerability evidence
    lead: str = ""  # the direct answer that opens `answer`
    generated: bool = False  # written by the LLM (bot/llm) and checked against the sources
    model: str | None = None
    unknown: list[str] = field(default_factory=list)  # names asked about that no doc uses
    topic_links: dict[str, str] = field(default_factory=dict)  # topic -> its web address

    def to_json(self) -> dict:
        """The `opsbot ask --json` shape."""
        return {
            "question": self.question,
            "answered": self.answered,
            "lead": self.lead,
            "answer": self.answer,
            "generated": self.generated,
            "model": self.model,
            "unknown": self.unknown,
            "sources": [asdict(s) for s in self.sources],  # "url" is null when none
        }
