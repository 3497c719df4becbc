"""Chunk metadata and text read from disk on demand.

A loaded index keeps only an offsets array (8 bytes a chunk) and a read-only memory map
of `chunks.jsonl`: at a million chunks the texts stay in the page cache instead of
becoming gigabytes of Python objects, and a query parses only the few it shows.
"""

from __future__ import annotations

import json
import mmap
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import overload

import numpy as np

from bot.engine.types import Chunk

_SCAN_BLOCK = 1 << 26  # newline scan in 64 MiB steps, so loading never doubles the file in RAM


class ChunkTable(Sequence[Chunk]):
    """Read-only, thread-safe sequence of the chunks of one build, in vector-id order."""

    def __init__(self, path: Path) -> None:
        with open(path, "rb") as fh:
            size = fh.seek(0, 2)
            self._data: mmap.mmap | bytes = (
                mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
            )
        self._starts = _line_starts(self._data)

    def __len__(self) -> int:
        return len(self._starts) - 1

    @overload
    def __getitem__(self, i: int) -> Chunk: ...

    @overload
    def __getitem__(self, i: slice) -> list[Chunk]: ...

    def __getitem__(self, i: int | slice) -> Chunk | list[Chunk]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(f"chunk {i} out of range")
        line = self._data[int(self._starts[i]) : int(self._starts[i + 1])]
        return Chunk(**json.loads(line))

    def __iter__(self) -> Iterator[Chunk]:
        return (self[i] for i in range(len(self)))


def _line_starts(data: mmap.mmap | bytes) -> np.ndarray:
    """Offset of each line's start, then the end of the file (one line per chunk)."""
    stops = [
        np.flatnonzero(np.frombuffer(data[at : at + _SCAN_BLOCK], dtype=np.uint8) == 10) + at + 1
        for at in range(0, len(data), _SCAN_BLOCK)
    ]
    ends = np.concatenate(stops) if stops else np.zeros(0, dtype=np.int64)
    if len(data) and (not len(ends) or ends[-1] != len(data)):
        ends = np.append(ends, len(data))  # a last line without its newline
    return np.concatenate(([0], ends)).astype(np.int64)
