"""Which documents one question may be answered from: a channel's sources, minus the
sources the asker may not see. The engine applies it to candidates before ranking, so
the k passages shown are all allowed ones and a restricted one is never even scored."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from bot.index.store import Build
from bot.sources.spec import source_of

T = TypeVar("T")


@dataclass(frozen=True)
class Scope:
    """Documents of the `allowed` sources; `names` are every source's, in declared order
    (they say how a stored path maps to its source)."""

    allowed: frozenset[str]
    names: tuple[str, ...]

    def allows(self, path: str) -> bool:
        return source_of(path, self.names) in self.allowed


class Masks:
    """A bool per chunk of one index for each scope, computed once per scope (a new
    index gets a new `Masks`, so a reload never reuses a stale mask)."""

    def __init__(self, index: Build, limit: int = 64) -> None:
        self.index = index
        self._cache: OrderedDict[Scope, np.ndarray] = OrderedDict()
        self._memo: dict[Any, Any] = {}
        self._lock = threading.Lock()
        self._limit = limit

    def of(self, scope: Scope | None) -> np.ndarray | None:
        """None when nothing is filtered (no scope, or every chunk allowed)."""
        if scope is None:
            return None
        with self._lock:
            mask = self._cache.get(scope)
            if mask is not None:
                self._cache.move_to_end(scope)
        if mask is None:
            verdicts: dict[str, bool] = {}
            for path in self.index.manifest.documents:
                verdicts[path] = scope.allows(path)
            if all(verdicts.values()):  # the usual case: no chunk needs reading
                mask = np.ones(len(self.index.chunks), dtype=bool)
            else:
                paths = self.index.chunk_paths()
                mask = np.fromiter(
                    (verdicts.get(p, scope.allows(p)) for p in paths),
                    dtype=bool,
                    count=len(paths),
                )
            with self._lock:
                self._cache[scope] = mask
                while len(self._cache) > self._limit:
                    self._cache.popitem(last=False)
        return None if mask.all() else mask

    def memo(self, key: Any, compute: Callable[[], T]) -> T:
        """Anything derived from this index once per key (topics, catalogue per scope)."""
        with self._lock:
            if key in self._memo:
                return self._memo[key]
        value = compute()
        with self._lock:
            if len(self._memo) > 4 * self._limit:
                self._memo.clear()
            self._memo[key] = value
        return value
