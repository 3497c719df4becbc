"""Group near-duplicate questions so a knowledge owner reads topics, not a raw list.

Uses the bot's own embedding model: two questions it would retrieve alike belong
together. Greedy centroid clustering is enough here: a few thousand short texts,
one pass, deterministic (most-asked wording first, so it anchors its group).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

SIMILARITY = 0.75  # all-MiniLM-L6-v2 cosine: paraphrases 0.85-0.97; "rotate Vault/k8s secrets" 0.65
MAX_QUESTIONS = 5000  # distinct wordings embedded per report; the newest are kept
EXAMPLES = 3

Embed = Callable[[Sequence[str]], np.ndarray]


@dataclass(frozen=True)
class Asked:
    """One question that needs a knowledge owner's eye, and why."""

    question: str
    reason: str  # "declined" or "downvoted"
    closest: str = ""  # title of the best source the bot found, if any
    answer: str = ""  # what the bot said, for a downvoted answer


@dataclass
class QuestionGroup:
    """Questions that mean the same thing; `size` counts every time one was asked."""

    size: int = 0
    declined: int = 0
    downvoted: int = 0
    examples: list[str] = field(default_factory=list)
    closest: str = ""
    downvoted_answers: list[str] = field(default_factory=list)  # what got the 👎, clipped

    def to_json(self) -> dict[str, object]:
        return {
            "size": self.size,
            "declined": self.declined,
            "downvoted": self.downvoted,
            "examples": self.examples,
            "closest_source": self.closest,
            "downvoted_answers": self.downvoted_answers,
        }


def _key(text: str) -> str:
    return " ".join(text.casefold().split()).rstrip("?!. ")


def group_questions(
    asked: Sequence[Asked], embed: Embed, threshold: float = SIMILARITY
) -> list[QuestionGroup]:
    """Largest group first; ties keep the order the groups were first seen."""
    by_key: dict[str, list[Asked]] = {}
    for item in asked:
        if item.question.strip():
            by_key.setdefault(_key(item.question), []).append(item)
    if not by_key:
        return []
    keys = list(by_key)[-MAX_QUESTIONS:]
    keys.sort(key=lambda k: -len(by_key[k]))  # stable: equal counts stay in arrival order
    wordings = [Counter(a.question.strip() for a in by_key[k]).most_common(1)[0][0] for k in keys]
    vectors = np.asarray(embed(wordings), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True) + 1e-12

    centroids: list[np.ndarray] = []
    members: list[list[int]] = []
    for i, vector in enumerate(vectors):
        if centroids:
            sims = np.stack(centroids) @ vector
            best = int(np.argmax(sims))
            if sims[best] >= threshold:
                members[best].append(i)
                total = vectors[members[best]].sum(axis=0)
                centroids[best] = total / (np.linalg.norm(total) + 1e-12)
                continue
        centroids.append(vector.copy())
        members.append([i])

    groups = [
        _summarise([by_key[keys[i]] for i in idx], [wordings[i] for i in idx]) for idx in members
    ]
    return sorted(groups, key=lambda g: -g.size)


def _summarise(items: list[list[Asked]], wordings: list[str]) -> QuestionGroup:
    flat = [a for bucket in items for a in bucket]
    closest = Counter(a.closest for a in flat if a.closest).most_common(1)
    return QuestionGroup(
        size=len(flat),
        declined=sum(a.reason == "declined" for a in flat),
        downvoted=sum(a.reason == "downvoted" for a in flat),
        examples=wordings[:EXAMPLES],
        closest=closest[0][0] if closest else "",
        downvoted_answers=list(
            dict.fromkeys(_clip(a.answer) for a in flat if a.reason == "downvoted" and a.answer)
        )[:2],
    )


def _clip(text: str, limit: int = 400) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"
