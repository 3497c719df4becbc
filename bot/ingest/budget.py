"""Per-file budgets: how much text, how many PDF pages, how deep a nesting and how many
seconds one knowledge file may cost. A file over any of them is skipped with the reason,
so one hostile or broken file never stalls an ingest (or the live reload behind it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.errors import OpsbotError

if TYPE_CHECKING:
    from bot.config import Settings


class LoadError(OpsbotError):
    """A file that cannot become a document; the message is the short reason."""


@dataclass(frozen=True)
class Budget:
    seconds: float = 60.0  # wall time to parse one file (enforced by bot.ingest.worker)
    chars: int = 5_000_000  # extracted characters
    pages: int = 2_000  # PDF pages
    nesting: int = 100  # HTML element depth, markdown block levels, PDF page-tree levels

    @classmethod
    def of(cls, settings: Settings) -> Budget:
        return cls(
            seconds=settings.max_file_seconds,
            chars=settings.max_file_chars,
            pages=settings.max_file_pages,
            nesting=settings.max_file_nesting,
        )


class OverBudget(LoadError):
    """A file that would cost more than its budget; the message says which one."""


def check_chars(count: int, budget: Budget) -> None:
    if count > budget.chars:
        raise OverBudget(f"over budget: more than {budget.chars:,} characters of text")


def check_nesting(depth: int, budget: Budget) -> None:
    if depth > budget.nesting:
        raise OverBudget(f"over budget: nested deeper than {budget.nesting} levels")
