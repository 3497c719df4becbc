"""Find knowledge files and load each into a `Document`.

`discover` walks the knowledge directory; `load_document` parses one file by
suffix (markdown, HTML, PDF, plain text) and raises `LoadError` with a short
human reason when the file cannot become a document.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from bot.documents import Document, Section
from bot.ingest import paths
from bot.ingest.budget import Budget, LoadError, check_chars
from bot.ingest.clean import clean_text, normalize_chars, remove_web_junk
from bot.ingest.markdown import SectionBuilder, parse_markdown

SUPPORTED_SUFFIXES = {".md", ".markdown", ".mdx", ".txt", ".html", ".htm", ".pdf"}
_MARKDOWN = {".md", ".markdown", ".mdx"}
_HTML = {".html", ".htm"}


@dataclass(frozen=True)
class SourceFile:
    path: str  # POSIX path relative to the knowledge dir
    abspath: Path
    sha256: str  # of the raw bytes
    size: int


@dataclass(frozen=True)
class SkippedFile:
    path: str
    reason: str


def _human_size(size: float) -> str:
    if size >= 1_000_000:
        return f"{size / 1_000_000:.1f} MB"
    if size >= 1_000:
        return f"{size / 1_000:.1f} KB"
    return f"{int(size)} B"


def discover(
    knowledge_dir: Path,
    max_file_bytes: int,
    *,
    roots: Sequence[Path] = (),
    outside_links: bool = False,
) -> tuple[list[SourceFile], list[SkippedFile]]:
    """Supported files under `knowledge_dir` (sorted), and the ones skipped with a reason.

    Hidden entries are never read; symlinks only when they stay inside `roots` (default:
    `knowledge_dir`) or `outside_links` is set (bot.ingest.paths)."""
    root = Path(knowledge_dir)
    if not root.is_dir():
        raise NotADirectoryError(f"{str(root)!r} is not a directory")
    allowed = paths.resolved_roots(roots or [root])
    files: list[SourceFile] = []
    skipped: list[SkippedFile] = []
    seen: set[tuple[int, int]] = set()

    def walk(directory: Path, prefix: str) -> None:
        try:
            st = directory.stat()
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError:
            return
        if (st.st_dev, st.st_ino) in seen:  # symlink loop or second link to the same dir
            return
        seen.add((st.st_dev, st.st_ino))
        for entry in entries:
            if entry.name.startswith("."):
                continue
            rel = f"{prefix}{entry.name}"
            try:
                problem = _entry_problem(entry, rel, allowed, outside_links)
                if problem:
                    skipped.append(SkippedFile(paths.printable(rel), problem))
                    continue
                if entry.is_dir():
                    walk(Path(entry.path), rel + "/")
                    continue
                if Path(entry.name).suffix.lower() not in SUPPORTED_SUFFIXES:
                    continue
                if not entry.is_file():
                    skipped.append(SkippedFile(rel, "not a regular file"))
                    continue
                size = entry.stat().st_size
                if size == 0:
                    skipped.append(SkippedFile(rel, "empty"))
                elif size > max_file_bytes:
                    limit = f"{_human_size(size)} > {_human_size(max_file_bytes)}"
                    skipped.append(SkippedFile(rel, f"over size limit ({limit})"))
                else:
                    raw = Path(entry.path).read_bytes()
                    sha = hashlib.sha256(raw).hexdigest()
                    files.append(SourceFile(rel, Path(entry.path).absolute(), sha, len(raw)))
            except OSError as exc:
                skipped.append(SkippedFile(rel, f"unreadable ({exc.strerror or exc})"))

    walk(root, "")
    return sorted(files, key=lambda f: f.path), sorted(skipped, key=lambda s: s.path)


def _entry_problem(
    entry: os.DirEntry[str], rel: str, allowed: list[Path], outside_links: bool
) -> str:
    """Why a directory entry is not walked or read ('' when it is fine)."""
    wanted = entry.is_dir() or Path(entry.name).suffix.lower() in SUPPORTED_SUFFIXES
    if not wanted:
        return ""
    if not paths.is_utf8(rel):
        return paths.NOT_UTF8
    if entry.is_symlink():
        return paths.link_problem(entry.path, allowed, outside_links)
    return ""


def discover_roots(
    roots: tuple[Path, ...] | list[Path], max_file_bytes: int, *, outside_links: bool = False
) -> tuple[list[SourceFile], list[SkippedFile]]:
    """`discover` over every knowledge root. With one root, paths are relative to it; with
    several, each path starts with its root's folder name, so two roots' files never clash."""
    if len(roots) == 1:
        return discover(roots[0], max_file_bytes, outside_links=outside_links)
    files: list[SourceFile] = []
    skipped: list[SkippedFile] = []
    for root in roots:
        prefix = Path(root).resolve().name + "/"
        found, missed = discover(root, max_file_bytes, roots=roots, outside_links=outside_links)
        files += [replace(f, path=prefix + f.path) for f in found]
        skipped += [replace(s, path=prefix + s.path) for s in missed]
    return sorted(files, key=lambda f: f.path), sorted(skipped, key=lambda s: s.path)


def load_document(file: SourceFile, budget: Budget | None = None) -> Document:
    """Parse one file into a Document; raises LoadError(reason) if it has no usable text or
    goes over the budget's size limits (the time limit is bot.ingest.worker's)."""
    budget = budget or Budget()
    try:
        raw = file.abspath.read_bytes()
    except OSError as exc:
        raise LoadError(f"unreadable ({exc.strerror or exc})") from None
    if not raw:
        raise LoadError("empty")
    suffix = Path(file.path).suffix.lower()
    if suffix == ".pdf":
        title, url, sections = _parse_pdf(raw, budget)
    else:
        if b"\x00" in raw:
            raise LoadError("binary file")
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise LoadError("not UTF-8 text") from None
        if suffix in _MARKDOWN:
            text = remove_web_junk(normalize_chars(text))
            title, url, sections = parse_markdown(
                text, file.path, mdx=suffix == ".mdx", max_nesting=budget.nesting
            )
        elif suffix in _HTML:
            from bot.ingest.html import parse_html  # BeautifulSoup: only where HTML is read

            title, url, sections = parse_html(normalize_chars(text), budget.nesting)
        else:
            title, sections = parse_plain_text(clean_text(text))
            url = None
    if not any(section.blocks for section in sections):
        raise LoadError("no text after cleaning")
    check_chars(sum(len(block) for section in sections for block in section.blocks), budget)
    if not title or paths.looks_secret(title):
        title = pretty_name(file.path)
    return Document(file.path, title, sections, url)


def load_documents(
    knowledge_dir: Path, max_file_bytes: int
) -> tuple[list[Document], list[SkippedFile]]:
    """discover + load_document for every file; load failures become SkippedFile."""
    files, skipped = discover(knowledge_dir, max_file_bytes)
    docs: list[Document] = []
    for file in files:
        try:
            docs.append(load_document(file))
        except LoadError as exc:
            skipped.append(SkippedFile(file.path, str(exc)))
    return docs, sorted(skipped, key=lambda s: s.path)


def pretty_name(path: str) -> str:
    """'ops/ci-cd_basics.md' → 'Ci cd basics'; index/README files take their folder's name."""
    parts = Path(path).parts
    stem = Path(path).stem
    if stem.lower() in ("index", "readme") and len(parts) > 1:
        stem = parts[-2]
    words = " ".join(re.split(r"[-_\s]+", stem)).strip() or stem
    return words[:1].upper() + words[1:]


def _parse_pdf(raw: bytes, budget: Budget) -> tuple[str | None, None, tuple[Section, ...]]:
    from bot.ingest.pdf import pdf_text  # pypdf: only where a PDF is read

    title, text = pdf_text(raw, budget)
    _, sections = parse_plain_text(clean_text(text), title, first_line_title=False)
    return title, None, sections


# ---- plain text ---------------------------------------------------------------------------

_LIST_ITEM = re.compile(r"^\s*(?:(\d{1,3})[.)]|[-*•●▪◦–])\s+(\S.*)$")
_MAX_HEADING_WORDS = 12


def _title_like(text: str) -> bool:
    words = [w for w in re.findall(r"[^\W\d_][\w'’-]*", text)]
    if not words or not words[0][0].isupper():
        return False
    significant = [w for w in words[1:] if len(w) > 3]
    return not significant or sum(w[0].isupper() for w in significant) * 2 >= len(significant)


def _heading(group: list[str]) -> str | None:
    """The heading text if a blank-line-separated group is one heading-like line."""
    if len(group) != 1 or _LIST_ITEM.match(group[0]):
        return None
    line = group[0].strip()
    words = line.split()
    if len(line) > 100 or len(words) > _MAX_HEADING_WORDS:
        return None
    if line.endswith(("?", "？")):
        return line
    if line.endswith((":", "：")):  # "Before you start:", not "Run these three commands now:"
        short = len(words) <= 8 and line[:1].isupper()
        return line[:-1].strip() if short else None
    if line[-1] in ".!,;。！，；" or len(words) > 10:
        return None
    return line if _title_like(line) else None


def parse_plain_text(
    text: str, title: str | None = None, first_line_title: bool = True
) -> tuple[str | None, tuple[Section, ...]]:
    """Detect title, headings and lists in cleaned plain text.

    Without `title` (and with `first_line_title`), the first non-empty line is the title;
    a repeat of the title as the next line is dropped. Short standalone lines ending in
    "?" or ":" (or short title-case lines) become headings; numbered/bulleted lines
    become list items.
    """
    groups: list[list[str]] = []
    for para in re.split(r"\n\s*\n", text):
        lines = [line.rstrip() for line in para.split("\n") if line.strip()]
        if lines:
            groups.append(lines)
    if title is None and first_line_title and groups:
        title = groups[0].pop(0).strip()
    for _ in range(2):
        if groups and not groups[0]:
            groups.pop(0)
        if title and groups and groups[0][0].strip() == title:
            groups[0].pop(0)
    builder = SectionBuilder()
    last_is_list = False
    for group in groups:
        heading = _heading(group)
        if heading is not None:
            builder.heading(2, heading)
            last_is_list = False
            continue
        for is_list, block in _text_blocks(group):
            if not (is_list and last_is_list and builder.extend_last(block)):
                builder.block(block)
            last_is_list = is_list
    return title or None, builder.sections()


def _text_blocks(group: list[str]) -> list[tuple[bool, str]]:
    """Split one paragraph group into (is_list, markdown text) blocks."""
    blocks: list[tuple[bool, list[str]]] = []
    for line in group:
        match = _LIST_ITEM.match(line)
        if match:
            marker = f"{match.group(1)}." if match.group(1) else "-"
            item = f"{marker} {match.group(2).strip()}"
            if blocks and blocks[-1][0]:
                blocks[-1][1].append(item)
            else:
                blocks.append((True, [item]))
        elif blocks and blocks[-1][0] and line.startswith((" ", "\t")):
            blocks[-1][1][-1] += " " + line.strip()  # continuation of a list item
        elif blocks and not blocks[-1][0]:
            blocks[-1][1][-1] += " " + line.strip()
        else:
            blocks.append((False, [line.strip()]))
    return [(is_list, "\n".join(lines)) for is_list, lines in blocks]
