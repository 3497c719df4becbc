"""What the index is about: topics nearest to a question (for declines) and a catalogue of
documents grouped by folder, with example questions (for the Slack Home tab).

Everything comes from what the index already holds (chunk vectors, headings, the
manifest's document list), so it costs one vector search and no extra model work.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from bot.index.store import Build

SEP = " › "


@dataclass(frozen=True)
class Topic:
    """A document offered as a nearby topic: its label, path and web address if known."""

    label: str
    path: str
    url: str = ""


def nearest_topics(
    index: Build,
    qvec: np.ndarray,
    n: int = 5,
    pool: int = 50,
    allowed: np.ndarray | None = None,
) -> list[Topic]:
    """Up to `n` distinct documents whose passages are nearest to the question vector
    (only `allowed` chunks, when given)."""
    count = len(index.chunks)
    if count == 0:
        return []
    _sims, ids = index.search_vectors(qvec.reshape(1, -1), min(pool, count), allowed)
    index.prefetch([int(cid) for cid in ids[0] if cid >= 0])
    topics: list[Topic] = []
    seen: set[str] = set()
    for cid in ids[0]:
        if cid < 0:
            continue
        chunk = index.chunks[int(cid)]
        label = topic_label(chunk.title, chunk.path)
        if label not in seen:
            seen.add(label)
            topics.append(Topic(label, chunk.path, chunk.url or ""))
        if len(topics) >= n:
            break
    return topics


def topic_label(title: str, path: str) -> str:
    """A title, with its folder when the title alone is a bare word or command
    ('import' → 'import (command-reference)')."""
    folder = path.rsplit("/", 2)[-2] if path.count("/") else ""
    bare = len(title.split()) == 1 or title == title.lower()
    if bare and folder and folder.lower() not in title.lower():
        return f"{title} ({folder})"
    return title


@dataclass
class Group:
    """One folder of the knowledge base: how many documents, and the richest few titles."""

    name: str
    documents: int = 0
    titles: list[str] = field(default_factory=list)


@dataclass
class Catalogue:
    """The Home tab's view of the index."""

    documents: int
    passages: int
    built_at: float
    groups: list[Group]
    examples: list[str]


def group_name(path: str) -> str:
    """'root/folder' for 'root/folder/sub/x.md'; top-level files go to '(top level)'."""
    parts = path.split("/")[:-1]
    return "/".join(parts[:2]) if parts else "(top level)"


def folder_groups(paths: Sequence[str], max_docs: int = 40, max_depth: int = 4) -> dict:
    """Folder → its document paths, at the depth that makes useful groups: a folder with a
    single subfolder is skipped through (dvc-docs/content/docs), and a big folder with
    several subfolders is split into them."""
    groups: dict[tuple[str, ...], list[str]] = {(): list(paths)}
    changed = True
    while changed:
        changed = False
        for key, members in list(groups.items()):
            if len(key) >= max_depth:
                continue
            split: dict[tuple[str, ...], list[str]] = defaultdict(list)
            for path in members:
                folders = tuple(path.split("/")[:-1])
                split[folders[: len(key) + 1] if len(folders) > len(key) else key].append(path)
            subfolders = [k for k in split if k != key]
            chain = len(subfolders) == 1 and key not in split
            big = len(members) > max_docs
            if subfolders and (key == () or chain or big):
                del groups[key]
                groups.update(split)
                changed = True
    return {"/".join(k) or "(top level)": v for k, v in groups.items()}


def catalogue(
    index: Build,
    examples: int = 6,
    titles_per_group: int = 4,
    allows: Callable[[str], bool] | None = None,
) -> Catalogue:
    """The index's documents by folder (only those `allows` passes, when given)."""
    documents = index.manifest.documents  # path -> [title, chunk count]
    if allows is not None:
        documents = {p: d for p, d in documents.items() if allows(p)}
    groups = []
    for name, paths in folder_groups(sorted(documents)).items():
        docs = sorted(((int(documents[p][1]), documents[p][0]) for p in paths), key=_richest)
        groups.append(Group(name, len(docs), [t for _, t in docs[:titles_per_group]]))
    groups.sort(key=lambda g: (-g.documents, g.name))
    return Catalogue(
        documents=len(documents),
        passages=sum(int(d[1]) for d in documents.values()) if allows else len(index.chunks),
        built_at=index.manifest.created_at,
        groups=groups,
        examples=example_questions(index, examples, allows),
    )


def _richest(doc: tuple[int, str]) -> tuple[int, str]:
    return -doc[0], doc[1]


_QUESTION_WORDS = re.compile(
    r"^(what|how|why|when|which|who|where|can|should|do|does|is|are)\b", re.I
)
# questions that need their page around them to make sense
_VAGUE = re.compile(r"\b(we|our|us|this|that|these|it|they|you|next)\b|\?.+\?", re.I)
_HOW_TO = re.compile(r"^how to\s+(.+?)\??$", re.I)


def example_questions(
    index: Build, limit: int = 6, allows: Callable[[str], bool] | None = None
) -> list[str]:
    """Questions the index can answer, from real headings: headings that are questions, then
    'How to …' headings, spread over different documents (richest documents first)."""
    counts = Counter({path: int(c) for path, (_t, c) in index.manifest.documents.items()})
    best: dict[str, str] = {}
    for chunk in sample(index.chunks, 4000):
        last = chunk.heading.split(SEP)[-1].strip()
        question = _as_question(last)
        if allows is not None and not allows(chunk.path):
            continue
        if question and chunk.path not in best and 12 <= len(question) <= 70:
            best[chunk.path] = question
    ranked = sorted(best, key=lambda p: (-counts.get(p, 0), p))
    out: list[str] = []
    for path in ranked:
        if best[path].lower() not in (q.lower() for q in out):
            out.append(best[path])
        if len(out) >= limit:
            break
    return out


def _as_question(heading: str) -> str | None:
    heading = " ".join(heading.split()).rstrip(":")
    if heading.endswith("?") and _QUESTION_WORDS.match(heading) and not _VAGUE.search(heading):
        return heading
    if m := _HOW_TO.match(heading):
        return f"How do I {m.group(1)[0].lower()}{m.group(1)[1:]}?"
    return None


def sample(chunks: Sequence, limit: int) -> Sequence:
    """All chunks of a small index; an even spread of `limit` of a large one."""
    if len(chunks) <= limit:
        return chunks
    step = len(chunks) / limit
    return [chunks[int(i * step)] for i in range(limit)]
