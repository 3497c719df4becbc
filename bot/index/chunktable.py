"""Chunk metadata and text read from disk on demand.

A loaded index keeps only an offsets array (8 bytes a chunk) and an open descriptor of
`chunks.jsonl`: at a million chunks the texts stay in the page cache instead of
becoming gigabytes of Python objects, and a query parses only the few it shows.

Reads are `pread` calls, not a memory map: if someone truncates the file under a running
server, a read comes back short and becomes a clear error, where touching a mapped page
past the new end of file would kill the process with SIGBUS.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import overload

import numpy as np

from bot.documents import Chunk
from bot.errors import OpsbotError

REINGEST = "run `opsbot ingest` to rebuild it"
_SCAN_BLOCK = 1 << 26  # newline scan in 64 MiB steps, so loading never doubles the file in RAM


class ChunkReadError(OpsbotError, RuntimeError):
    """A chunk cannot be read back: the build was damaged after it was loaded."""


class ChunkTable(Sequence[Chunk]):
    """Read-only, thread-safe sequence of the chunks of one build, in vector-id order."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        try:
            self._starts = _line_starts(self._fd, os.fstat(self._fd).st_size)
        except BaseException:
            os.close(self._fd)
            raise

    def __del__(self) -> None:
        fd, self._fd = getattr(self, "_fd", -1), -1
        if fd >= 0:
            os.close(fd)

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
        start, end = int(self._starts[i]), int(self._starts[i + 1])
        line = os.pread(self._fd, end - start, start)
        if len(line) != end - start:
            raise ChunkReadError(f"{self.path} is shorter than when it was loaded; {REINGEST}")
        try:
            return Chunk(**json.loads(line))
        except (ValueError, TypeError) as exc:
            raise ChunkReadError(
                f"chunk {i} in {self.path} is unreadable ({type(exc).__name__}); {REINGEST}"
            ) from None

    def __iter__(self) -> Iterator[Chunk]:
        return (self[i] for i in range(len(self)))


def _line_starts(fd: int, size: int) -> np.ndarray:
    """Offset of each line's start, then the end of the file (one line per chunk)."""
    stops = []
    for at in range(0, size, _SCAN_BLOCK):
        block = os.pread(fd, min(_SCAN_BLOCK, size - at), at)
        stops.append(np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == 10) + at + 1)
        if len(block) < min(_SCAN_BLOCK, size - at):
            size = at + len(block)  # shrank while we read: index what is there
            break
    ends = np.concatenate(stops) if stops else np.zeros(0, dtype=np.int64)
    if size and (not len(ends) or ends[-1] != size):
        ends = np.append(ends, size)  # a last line without its newline
    return np.concatenate(([0], ends)).astype(np.int64)
