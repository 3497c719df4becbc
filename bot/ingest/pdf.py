"""PDF → title and plain text, with pypdf, inside the file's budget.

pypdf flattens the whole page tree before the first page is read, so a tree that names the
same page (or subtree) many times costs exponential work and text. The tree is walked here
first, bounded: every node at most once, at most `budget.pages` pages and `budget.nesting`
levels; text is then extracted page by page until `budget.chars`.
"""

from __future__ import annotations

import io
import logging
from typing import Any

from bot.ingest.budget import Budget, LoadError, OverBudget, check_chars, check_nesting


def pdf_text(raw: bytes, budget: Budget) -> tuple[str | None, str]:
    """(metadata title or None, the pages' text joined by blank lines)."""
    from pypdf import PdfReader

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted and not reader.decrypt(""):
            raise LoadError("unreadable PDF: encrypted")
        root: Any = reader.trailer["/Root"]
        check_page_tree(root["/Pages"], budget)
        pages: list[str] = []
        total = 0
        for page in reader.pages:
            pages.append(page.extract_text() or "")
            total += len(pages[-1]) + 2
            check_chars(total, budget)
        meta_title = (reader.metadata.title if reader.metadata else None) or ""
    except LoadError:
        raise
    except Exception as exc:  # pypdf raises many types on corrupt input
        message = " ".join(str(exc).split())[:100] or type(exc).__name__
        raise LoadError(f"unreadable PDF: {message}") from None
    return " ".join(str(meta_title).split()) or None, "\n\n".join(pages)


def check_page_tree(root: Any, budget: Budget) -> int:
    """The number of pages, walking each node once; raises OverBudget for a node named
    twice (a page tree is a tree: a repeat only multiplies work), too many pages or levels."""
    seen: set[int] = set()
    pages = 0
    stack: list[tuple[Any, int]] = [(root, 1)]
    while stack:
        ref, depth = stack.pop()
        number = getattr(ref, "idnum", None)
        if number is not None:
            if number in seen:
                raise OverBudget("over budget: the PDF page tree names the same page again")
            seen.add(number)
        node = ref.get_object()
        kids = node.get("/Kids") if hasattr(node, "get") else None
        if kids is None:
            pages += 1
            if pages > budget.pages:
                raise OverBudget(f"over budget: more than {budget.pages:,} PDF pages")
            continue
        check_nesting(depth, budget)
        stack.extend((kid, depth + 1) for kid in kids.get_object())
    return pages
