"""Parsed knowledge: documents, their sections and the chunks cut from them.

Lives below ingest, index and engine so that each of them can import it without the others.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Section:
    """A run of markdown blocks under one heading path (title excluded)."""

    headings: tuple[str, ...]
    blocks: tuple[str, ...]
    anchor: str = ""  # the last heading's own id on its web page, '' when unknown


@dataclass(frozen=True)
class Document:
    """One parsed knowledge file: title plus heading-scoped sections."""

    path: str  # POSIX path relative to the knowledge dir
    title: str
    sections: tuple[Section, ...]
    url: str | None = None


@dataclass(frozen=True)
class Chunk:
    """A passage small enough to embed whole, with where it came from."""

    path: str
    title: str
    heading: str  # "Title › Section › Subsection"
    text: str
    url: str | None = None

    @property
    def embed_text(self) -> str:
        """Text given to the embedding model: heading path as context, then the passage."""
        return f"{self.heading}\n\n{self.text}"
