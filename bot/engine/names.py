"""Names a question asks about that the docs never mention ("does flagger work with argo?").

No phrase slots: a word of the question counts when
- it carries the question (a content word, not one that frames how it asks),
- the index never uses it, nor every part of it ("dvc-git" is two known words),
- it is not a typo of a word the index does use ("promethues"), nor another form of one
  ("configure" beside the docs' "configuration"),
- it is not everyday English (wordfreq's Zipf frequency, threshold in the lexicon):
  "metaphor" is a word the docs merely happen not to use; "zabbix" is a name,
- and it is not an inflection of a dictionary word ("garbled", "stomps"): people
  inflect verbs and nouns, rarely product names.
"""

from __future__ import annotations

import bisect
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from functools import lru_cache

from bot.engine.lexicon import lexicon
from bot.index.lexical import STOPWORDS

_PARTS = re.compile(r"[./_:-]")


@lru_cache(maxsize=4096)
def zipf(word: str) -> float:
    """How common `word` is in general English (0 = never seen, 7 = "the")."""
    from wordfreq import zipf_frequency

    return float(zipf_frequency(word, "en"))


def word_forms(word: str) -> list[str]:
    """The word and the stems its English endings suggest ("mangled" -> "mangle",
    "mangl"): an inflected everyday word is still everyday."""
    forms = [word]
    for ending, replacements in lexicon().names.endings.items():
        if word.endswith(ending) and len(word) - len(ending) >= 3:
            stem = word[: -len(ending)]
            forms += [stem + r for r in replacements]
    return list(dict.fromkeys(forms))


@lru_cache(maxsize=1)
def _dictionary() -> frozenset[str]:
    """English dictionary headwords, lowercased (loaded on first use: about half a second)."""
    from english_words import get_english_words_set

    return frozenset(get_english_words_set(["web2", "gcide"], lower=True, alpha=True))


def stems(word: str) -> list[str]:
    """What an inflected `word` may be a form of, by the lexicon's inflections table:
    "snags" -> "snag", "mapped" -> "mapp", "map"."""
    found = []
    for ending, replacements in lexicon().names.inflections.items():
        stem = word[: -len(ending)]
        if not word.endswith(ending) or len(stem) < 3:
            continue
        for replacement in replacements:
            if replacement == "-":
                if stem[-1] == stem[-2]:
                    found.append(stem[:-1])
            else:
                found.append(stem + replacement)
    return found


def inflected_english(word: str) -> bool:
    """An inflection of an English dictionary word ("garbled", "stomps", "snags")."""
    candidates = stems(word)
    return bool(candidates) and any(stem in _dictionary() for stem in candidates)


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def edit_distance(a: str, b: str, limit: int = 3) -> int:
    """Levenshtein distance with adjacent transpositions, stopping early above `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, start=1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


class Spelling:
    """The words an index uses, with a deletion index so a typo is found without
    comparing against every word (the SymSpell idea)."""

    def __init__(self, words: Iterable[str]) -> None:
        self.words = frozenset(w for w in words if w.isalpha())
        self._by_delete: dict[str, list[str]] | None = None
        self._sorted = sorted(self.words)

    def relative(self, word: str, shortest: int, slack: int) -> str | None:
        """A word of the index sharing a long prefix with `word` (at least `shortest`
        letters, and all but `slack` of its own): "configure" is a form of the docs'
        "configuration", "autoscale" of their "autoscaling"."""
        prefix = word[: max(shortest, len(word) - slack)]
        if len(prefix) < shortest or len(prefix) > len(word):
            return None
        at = bisect.bisect_left(self._sorted, prefix)
        if at < len(self._sorted) and self._sorted[at].startswith(prefix):
            return self._sorted[at]
        return None

    def _index(self) -> dict[str, list[str]]:
        if self._by_delete is None:
            index: dict[str, list[str]] = defaultdict(list)
            for word in self.words:
                if len(word) >= 4:
                    for variant in _deletes(word):
                        index[variant].append(word)
            self._by_delete = dict(index)
        return self._by_delete

    def near(self, word: str, edits: int) -> str | None:
        """A word of the index within `edits` of `word`, if any."""
        index = self._index()
        variants = {word} | _deletes(word)
        if edits >= 2:
            variants |= {d for v in _deletes(word) for d in _deletes(v)}
        candidates: set[str] = set()
        for variant in variants:  # the word's deletions meet the index's words or theirs
            candidates.update(index.get(variant, ()))
            if variant in self.words:
                candidates.add(variant)
        distance, best = min(
            ((edit_distance(word, c, edits), c) for c in candidates), default=(0, "")
        )
        return best if best and distance <= edits else None


def unknown_names(
    words: Iterable[str],
    known: Callable[[str], bool],
    spelling: Spelling,
    framing: Iterable[str] = (),
) -> list[str]:
    """The words of a question (lowercased tokens, in order) that name something the
    docs never mention; `framing` holds words that only frame how it asks."""
    rules = lexicon().names
    skip = set(framing) | lexicon().asking_words | STOPWORDS
    found: list[str] = []
    for word in words:
        word = word.strip(".-_:/")
        if word in skip or sum(c.isalpha() for c in word) < rules.min_length:
            continue
        if word.isdigit() or known(word):
            continue
        parts = [p for p in _PARTS.split(word) if p]
        if len(parts) > 1 and all(known(p) or p.isdigit() for p in parts):
            continue  # a compound of known words
        if max(zipf(form) for form in word_forms(word)) >= rules.everyday_zipf:
            continue  # everyday English the docs happen not to use
        if word.isalpha() and inflected_english(word):
            continue  # a verb or plural, not a name
        edits = rules.typo_edits_long if len(word) >= rules.typo_long_from else rules.typo_edits
        if word.isalpha() and len(word) >= 4 and spelling.near(word, edits):
            continue  # a typo of a word the docs use
        if word.isalpha() and spelling.relative(word, rules.relative_prefix, rules.relative_slack):
            continue  # another form of a word the docs use
        found.append(word)
    inside = {p for w in found if _PARTS.search(w) for p in _PARTS.split(w)}
    return list(dict.fromkeys(w for w in found if w not in inside))  # "dvc-lfs", not "lfs"


def foreign(word: str) -> bool:
    """Not an English word at all ("zabbix", "opsgenie"), unlike a rare one ("nutshell")."""
    return max(zipf(form) for form in word_forms(word)) < lexicon().names.foreign_zipf
