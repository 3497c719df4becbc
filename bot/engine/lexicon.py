"""The engine's English, loaded from `lexicon.toml`: word lists and phrase patterns as data.

Code elsewhere asks this module ("is this a framing word?", "does this text ask for a
likeness?") and never spells a word itself, so adding a phrase is a one-line data change.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

LEXICON_FILE = Path(__file__).with_name("lexicon.toml")


def phrase_pattern(phrases: list[str] | tuple[str, ...]) -> re.Pattern[str]:
    """One case-insensitive pattern matching any of the phrases as whole words.

    `*` at the end of a phrase matches any word ending, `*` alone inside a phrase any one
    word, and a space any run of spaces."""
    parts = []
    for phrase in sorted(phrases, key=len, reverse=True):
        words = []
        for word in phrase.split():
            if word == "*":
                words.append(r"\S+")
            elif word.endswith("*"):
                words.append(re.escape(word[:-1]) + r"\w*")
            else:
                words.append(re.escape(word))
        parts.append(r"\s+".join(words))
    body = "|".join(parts) or r"(?!x)x"
    return re.compile(rf"(?<![\w-])(?:{body})(?![\w-])", re.IGNORECASE)


def opening_pattern(phrases: list[str] | tuple[str, ...]) -> re.Pattern[str]:
    """Like `phrase_pattern`, anchored at the start of the text."""
    return re.compile(r"^\W*(?:" + phrase_pattern(phrases).pattern + ")", re.IGNORECASE)


@dataclass(frozen=True)
class Idiom:
    pattern: re.Pattern[str]
    frames: frozenset[str]


@dataclass(frozen=True)
class Names:
    everyday_zipf: float
    chatter_zipf: float
    foreign_zipf: float
    min_length: int
    typo_edits: int
    typo_edits_long: int
    typo_long_from: int
    relative_prefix: int
    relative_slack: int
    endings: dict[str, list[str]]
    inflections: dict[str, list[str]]


@dataclass(frozen=True, eq=False)
class Lexicon:
    asking_words: frozenset[str]
    idioms: tuple[Idiom, ...]
    thread_opener: re.Pattern[str]
    thread_pointer: re.Pattern[str]
    pronoun: re.Pattern[str]
    names: Names
    raw: dict = field(hash=False, compare=False, repr=False)

    def words(self, section: str, key: str) -> tuple[str, ...]:
        """A list of the file as written (`words("comparison", "splitters")`)."""
        return tuple(self.raw[section][key])

    def pattern(self, section: str, key: str) -> re.Pattern[str]:
        return _pattern(self, section, key)


@cache
def _pattern(lexicon: Lexicon, section: str, key: str) -> re.Pattern[str]:
    return phrase_pattern(lexicon.words(section, key))


def _freeze(raw: dict) -> Lexicon:
    asking = raw["asking"]
    thread = raw["thread"]
    return Lexicon(
        raw=raw,
        asking_words=frozenset(asking["words"].split()),
        idioms=tuple(
            Idiom(re.compile(row["pattern"], re.IGNORECASE), frozenset(row["frames"]))
            for row in asking.get("idioms", [])
        ),
        thread_opener=opening_pattern([*thread["openers"], *thread["acknowledgements"]]),
        thread_pointer=phrase_pattern(thread["pointers"]),
        pronoun=phrase_pattern(thread["pronouns"]),
        names=Names(**raw["names"]),
    )


@cache
def lexicon() -> Lexicon:
    """The shipped lexicon, read once."""
    with LEXICON_FILE.open("rb") as handle:
        return _freeze(tomllib.load(handle))
