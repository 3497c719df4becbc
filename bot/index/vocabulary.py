"""The docs' own vocabulary, learned once at ingest and kept with the build.

Users write "PVC" where the docs spell out "Persistent Volume Claim (PVC)", "OOMKilled"
where they say "OOM killed", "scrape interval" where they write `scrape_interval`. One
cheap pass over the chunk texts learns what lets a query meet the docs' wording: the
abbreviations the docs define, the parts of their identifiers, and the words they use.
`Vocabulary.expand` then writes those forms beside the user's words (it only ever adds).
Every rule is general (initials, case and separator styles), never a list of doc words.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bot.errors import OpsbotError
from bot.index.abbreviations import ABBREVIATIONS

FILE = "vocabulary.json"
FORMAT_VERSION = 1
# A word, or words joined by . / _ : - (as bot.index.lexical.tokenize reads them).
_TOKEN = re.compile(r"[^\W_]+(?:[./_:-][^\W_]+)*")
_SEP = re.compile(r"[./_:-]")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z]{2})")
_PAREN = re.compile(r"\(([^()\n]{1,80})\)")
_SHORT = re.compile(r"[A-Za-z][A-Za-z0-9&]{1,9}")  # a candidate abbreviation
_MARKUP = str.maketrans("", "", "*`[]")  # emphasis, code, link text
_CLAUSE_END = re.compile(r"[.,;:!?()\"|]")
# Words an abbreviation's initials may skip ("Department of Defense (DoD)").
_SMALL = "a an and as at by for from in of on or the to via with"
SMALL_WORDS = frozenset(_SMALL.split())
_MAX_COMPOUND = 64  # longer runs are URLs and paths (lexical.py drops them too)
_MAX_PARTS = 5


class VocabularyError(OpsbotError):
    """The build's vocabulary file is missing or damaged; says which file."""


def identifier_parts(token: str) -> list[str]:
    """The parts of an identifier as written: snake_case, kebab-case, dotted, camelCase,
    PascalCase. One part means it is no identifier. Every part must hold a letter and
    camel parts at least two characters, so "1.25" and "IPv6" stay whole."""
    parts: list[str] = []
    for piece in _SEP.split(token):
        camel = _CAMEL.split(piece)
        parts.extend(camel if all(len(c) >= 2 for c in camel) else [piece])
    if len(parts) < 2 or len(parts) > _MAX_PARTS or len(token) > 48:
        return [token]
    return parts if all(any(c.isalpha() for c in p) for p in parts) else [token]


def fold(word: str) -> str:
    """A crude stem (like bot.engine.terms.fold): "killed" ~ "kill", "labels" ~ "label"."""
    if len(word) <= 3 or not word.isalpha():
        return word
    for suffix, repl in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word if suffix == "s" and word.endswith("ss") else word[: -len(suffix)] + repl
    return word


def _short_form(short: str) -> tuple[str, str] | None:
    """(key, letters the long form must spell), or None if `short` does not look like an
    abbreviation (it needs two capitals: "PVC", "PVCs", "TSDB", "E2E"; not "optional")."""
    if not _SHORT.fullmatch(short) or sum(c.isupper() for c in short) < 2:
        return None
    if short.endswith("s") and short[:-1].isupper():
        short = short[:-1]  # plural: "PVCs"
    letters = "".join(c for c in short if c.isalpha()).lower()
    return (short.lower(), letters) if len(letters) >= 2 else None


def _initials_match(letters: str, words: list[str], first: bool = True) -> bool:
    """Do `words` (the whole long form) spell `letters` in order? Each word gives its
    initial, and may give further letters from inside it ("Time Series DataBase", TSDB);
    small words may give nothing, except first and last. So "Kubernetes (K8s)" fails."""
    if not words:
        return not letters
    word, rest = words[0].lower().strip("*`'\""), words[1:]
    if word in SMALL_WORDS and not first and rest and _initials_match(letters, rest, False):
        return True
    if not letters or not word or word[0] != letters[0]:
        return False
    inner = iter(word[1:])
    for k in range(1, len(letters) + 1):
        if _initials_match(letters[k:], rest, False):
            return len(words) >= 2 or not first
        if k < len(letters) and letters[k] not in inner:  # consumes `inner` up to the match
            return False
    return False


def _spells(letters: str, words: list[str]) -> bool:
    """A long form: it spells `letters` and has two words that are not small ones."""
    content = sum(w.lower() not in SMALL_WORDS for w in words)
    return content >= 2 and _initials_match(letters, words)


def _long_before(letters: str, before: str) -> list[str] | None:
    """The shortest run of words ending `before` (same clause) whose initials are `letters`."""
    clause = _CLAUSE_END.split(before.translate(_MARKUP))[-1]
    words = [w for w in re.split(r"[\s\-/]+", clause) if w]
    for size in range(2, min(len(words), 2 * len(letters) + 1) + 1):
        if _spells(letters, words[-size:]):
            return words[-size:]
    return None


def definitions_in(text: str) -> Iterator[tuple[str, str]]:
    """(short, long form) pairs a text defines: "Long Form (LF)" and "LF (Long Form)"."""
    for match in _PAREN.finditer(text):
        inside = match.group(1).strip()
        short = _short_form(inside)
        if short:  # "Persistent Volume Claim (PVC)"
            words = _long_before(short[1], text[: match.start()])
            if words:
                yield short[0], " ".join(words).lower()
            continue
        before = re.search(r"([^\W_]+)\s*$", text[max(0, match.start() - 12) : match.start()])
        short = _short_form(before.group(1)) if before else None
        words = [w for w in re.split(r"[\s\-/]+", inside) if w]
        if short and _spells(short[1], words):  # "PVC (Persistent Volume Claim)"
            yield short[0], " ".join(words).lower()


@dataclass(frozen=True)
class Vocabulary:
    """What the docs say and how: definitions (short -> long form, lowercased), identifiers
    (joined lowercased parts -> spellings as the docs write them, most used first), words
    (lowercased token -> number of texts using it), and acronyms (words the docs mostly
    write in capitals, so "oom" may be read as "OOM")."""

    definitions: dict[str, str] = field(default_factory=dict)
    identifiers: dict[str, list[str]] = field(default_factory=dict)
    words: dict[str, int] = field(default_factory=dict)
    acronyms: frozenset[str] = frozenset()
    documents: int = 0
    _stems: frozenset[str] = field(default=frozenset(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_stems", frozenset(fold(w) for w in self.words))

    def knows(self, word: str) -> bool:
        """Do the docs use this word (case-insensitive, exactly; identifier parts count)?"""
        return word.lower() in self.words

    def _knows_form(self, word: str) -> bool:
        lowered = word.lower()
        return lowered in self.words or lowered in SMALL_WORDS or fold(lowered) in self._stems

    def _long_form(self, word: str) -> str | None:
        key = word.lower()
        if key not in self.definitions and key.endswith("s") and key[:-1] in self.definitions:
            key = key[:-1]
        if key in self.definitions:  # learned: the docs define it, so they use both forms
            ordinary = key not in self.acronyms and key in self.words and word.islower()
            return None if ordinary else self.definitions[key]  # "all", not "ALL"
        long_form = ABBREVIATIONS.get(key)  # fallback, as bot.engine.glossary.spell_out
        if not long_form or self.knows(key):
            return None
        return long_form if all(self.knows(p) for p in re.split(r"[\s-]+", long_form)) else None

    def _split(self, word: str) -> str | None:
        """ "OOMKilled" -> "OOM killed" when the docs never write the whole but use its parts."""
        if self.knows(word):
            return None
        parts = identifier_parts(word)
        if len(parts) == 1 and word.isalpha() and word.islower():  # "oomkilled"
            parts = self._acronym_split(word) or parts
        if len(parts) < 2 or not all(self._knows_form(p) for p in parts):
            return None
        return " ".join(p if p.isupper() else p.lower() for p in parts)

    def _acronym_split(self, word: str) -> list[str] | None:
        """A lowercase word read as an acronym the docs use plus a word they use."""
        for i in range(2, len(word) - 1):
            head, tail = word[:i], word[i:]
            if head in self.acronyms and len(tail) >= 3 and self._knows_form(tail):
                return [head.upper(), tail]
            if tail in self.acronyms and len(head) >= 3 and self._knows_form(head):
                return [head, tail.upper()]
        return None

    def _spellings(self, joined: str, written: str) -> list[str]:
        """The docs' identifiers for these parts; a hyphenated word ("down-time",
        "keep-going") is English spelt two ways, not an identifier, and adds only noise."""
        return [
            s
            for s in self.identifiers.get(joined, [])
            if s.lower() != written.lower() and not _hyphenated_word(s)
        ]

    def expand(self, text: str) -> str:
        """The query with learned forms written beside the user's words: long forms after
        short ones, the parts of an unknown identifier-like word, and the docs' identifier
        for spaced or joined parts ("scrape interval (scrape_interval)"). Only adds."""
        lowered = text.lower()
        matches = list(_TOKEN.finditer(text))
        notes: dict[int, list[str]] = {}  # end offset -> what to write there

        def note(end: int, extra: str | None) -> None:
            if extra and extra.lower() not in lowered and extra not in notes.get(end, []):
                notes.setdefault(end, []).append(extra)

        for m in matches:
            word = m.group()
            note(m.end(), self._long_form(word))
            note(m.end(), self._split(word))
            joined = "".join(identifier_parts(word)).lower()
            note(m.end(), ", ".join(self._spellings(joined, word)) or None)
        i = 0
        while i < len(matches):  # "scrape interval" -> scrape_interval, longest first
            for n in range(min(_MAX_PARTS, len(matches) - i), 1, -1):
                run = matches[i : i + n]
                gaps = (text[a.end() : b.start()] for a, b in zip(run, run[1:], strict=False))
                if all(g.isspace() for g in gaps):
                    joined = "".join(m.group().lower() for m in run)
                    found = self._spellings(joined, text[run[0].start() : run[-1].end()])
                    if found:
                        note(run[-1].end(), ", ".join(found))
                        i += n - 1
                        break
            i += 1
        out, last = [], 0
        for end in sorted(notes):
            out += [text[last:end], f" ({'; '.join(notes[end])})"]
            last = end
        return "".join(out) + text[last:]

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {"format_version": FORMAT_VERSION, "documents": self.documents}
        data |= {"definitions": self.definitions, "identifiers": self.identifiers}
        data |= {"acronyms": sorted(self.acronyms), "words": self.words}
        return data

    @classmethod
    def from_json(cls, data: dict) -> Vocabulary:
        """Raises ValueError, KeyError or TypeError on a defect."""
        if data.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"format {data.get('format_version')!r}, not {FORMAT_VERSION}")
        return cls(
            definitions={str(k): str(v) for k, v in data["definitions"].items()},
            identifiers={str(k): [str(s) for s in v] for k, v in data["identifiers"].items()},
            words={str(k): int(v) for k, v in data["words"].items()},
            acronyms=frozenset(str(a) for a in data["acronyms"]),
            documents=int(data["documents"]),
        )

    def save(self, directory: Path) -> None:
        (Path(directory) / FILE).write_text(json.dumps(self.to_json(), ensure_ascii=False), "utf-8")

    @classmethod
    def load(cls, directory: Path) -> Vocabulary:
        """Read `vocabulary.json`; any defect raises VocabularyError naming the file."""
        path = Path(directory) / FILE
        try:
            return cls.from_json(json.loads(path.read_text("utf-8")))
        except Exception as exc:  # OSError, JSON, missing keys, wrong types alike
            raise VocabularyError(f"cannot read vocabulary file {path}: {exc}") from None


def _hyphenated_word(spelling: str) -> bool:
    """Two lowercase words and one hyphen: "down-time", not "kube-state-metrics"."""
    return spelling.count("-") == 1 and spelling.replace("-", "").isalpha() and spelling.islower()


def learn(texts: Iterable[str]) -> Vocabulary:
    """One pass over the chunk texts (heading + text). Per text only its distinct tokens
    are counted; splitting them into parts is memoised per distinct spelling."""
    spellings: Counter[str] = Counter()  # token as written -> texts using it
    words: Counter[str] = Counter()
    defined: Counter[tuple[str, str]] = Counter()
    forms: dict[str, tuple[str, ...]] = {}
    documents = 0
    for text in texts:
        documents += 1
        tokens = {t for t in _TOKEN.findall(text) if len(t) <= _MAX_COMPOUND}
        spellings.update(tokens)
        seen: set[str] = set()
        for token in tokens:
            if token not in forms:
                parts = _SEP.split(token) + identifier_parts(token)
                forms[token] = tuple({token.lower(), *(p.lower() for p in parts)})
            seen.update(forms[token])
        words.update(seen)
        if "(" in text:
            defined.update(definitions_in(text))
    definitions: dict[str, str] = {}
    for (short, long_form), _ in defined.most_common():
        definitions.setdefault(short, long_form)
    identifiers: dict[str, list[str]] = {}
    capitals: Counter[str] = Counter()
    for token, count in spellings.most_common():
        parts = identifier_parts(token)
        spelled = identifiers.setdefault("".join(parts).lower(), []) if len(parts) > 1 else []
        if all(s.lower() != token.lower() for s in spelled):  # "Remote-Write" = "remote-write"
            spelled.append(token)
        capitals[token.lower()] += count if sum(c.isupper() for c in token) >= 2 else -count
    acronyms = frozenset(w for w, c in capitals.items() if c > 0 and 2 <= len(w) <= 8)
    trimmed = {k: v[:3] for k, v in identifiers.items()}
    return Vocabulary(definitions, trimmed, dict(words), acronyms, documents)
