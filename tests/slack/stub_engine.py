"""A stand-in engine with the real Engine's methods, for fast in-process Slack tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

from bot.engine.topics import Catalogue, Group
from bot.engine.types import Answer, Source


class StubEngine:
    """Stand-in with the Engine's methods; answers by keyword, remembers what it was asked."""

    hostile = (
        "Ping <!channel> <!here> <!everyone> <@U123ABC> and <https://evil.example|docs> & @here\n"
        "```bash\nkubectl get pods > out.txt && echo '<done>'\n```"
    )

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[str]]] = []
        self.chunk_count = 7
        self._lock = threading.Lock()

    def topics(self, scope=None) -> list[str]:
        return ["DevOps vs MLOps", "Kubernetes <basics> & more"]

    def catalogue(self, scope=None) -> Catalogue:
        groups = [Group("guides", 2, self.topics())]
        return Catalogue(2, self.chunk_count, 1_700_000_000.0, groups, ["What is GitOps?"])

    def answer(
        self, question: str, *, history: Sequence[str] = (), k: int | None = None, scope=None
    ) -> Answer:
        with self._lock:
            self.calls.append((question, list(history)))
        truncated = len(question) > 4000
        q = question[:4000]
        if "explode" in q:
            raise RuntimeError("index unavailable")
        if "slow" in q:
            time.sleep(0.5)
        if "pizza" in q:
            text = "I have nothing on that. I know about: DevOps vs MLOps."
            return Answer(q, False, text, topics=self.topics(), truncated=truncated)
        text = {"hostile": self.hostile, "long": "word " * 2000 + "\n```\n" + "code\n" * 900}
        default = f"**Answer** to: {q[:200]} [1]\n\n## Details\n\n- *one* ~~two~~"
        body = next((v for key, v in text.items() if key in q), default)
        source = Source(
            path="devops-vs-mlops.md",
            title="DevOps vs MLOps",
            heading="DevOps vs MLOps › Tools <!here>",
            score=0.8,
            text="passage",
            url="https://docs.example.com/devops?a=1&b=2",
        )
        lead = body.split("\n")[0][:300]
        return Answer(q, True, body, [source], 0.8, truncated=truncated, lead=lead)
