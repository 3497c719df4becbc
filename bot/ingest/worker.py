"""Parse knowledge files in a child process, so a file's time budget really holds.

A parser stuck inside pypdf, BeautifulSoup or a regex cannot be stopped by a flag check:
the only sure stop is killing the process that runs it. One child (`python -m
bot.ingest.worker`, no model, no torch) parses files one after another for the whole
ingest; a file that is not done within `budget.seconds` is skipped and its child killed,
and the next file starts a fresh one. The child also caps its own memory (`MEMORY_BYTES`).
"""

from __future__ import annotations

import os
import subprocess
import sys
from multiprocessing.connection import Connection
from pathlib import Path

from bot.documents import Document
from bot.ingest.budget import Budget, LoadError, OverBudget
from bot.ingest.loaders import SourceFile, load_document

STARTUP_SECONDS = 120
MEMORY_BYTES = 4 << 30  # address space of the child: a file that needs more is skipped
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])


class FileParser:
    """`parse(file)` → Document, or LoadError with the reason (over budget, crashed, …)."""

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self._proc: subprocess.Popen[bytes] | None = None
        self._conn: Connection | None = None

    def parse(self, file: SourceFile) -> Document:
        conn = self._start()
        try:
            conn.send(file)  # a child that died since the last file has closed its end
            if not conn.poll(self.budget.seconds):
                self.close()
                raise OverBudget(f"over budget: still parsing after {self.budget.seconds:g}s")
            ok, value = conn.recv()
        except (EOFError, OSError):
            code = self._proc.wait() if self._proc else None
            self.close()
            raise LoadError(f"the parser stopped (exit status {code})") from None
        if ok:
            return value
        raise LoadError(value)

    def _start(self) -> Connection:
        if self._conn is not None:
            return self._conn
        child_reads, parent_writes = os.pipe()
        parent_reads, child_writes = os.pipe()
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [_PACKAGE_ROOT, env.get("PYTHONPATH")]))
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "bot.ingest.worker", str(child_reads), str(child_writes)],
            pass_fds=(child_reads, child_writes),
            env=env,
            stdin=subprocess.DEVNULL,
        )
        os.close(child_reads)
        os.close(child_writes)
        self._conn = _Duplex(parent_reads, parent_writes)
        self._conn.send(self.budget)
        # the clock starts once the child has imported its parsers (slow on a busy machine)
        if not self._conn.poll(STARTUP_SECONDS):
            self.close()
            raise LoadError(f"the parser did not start within {STARTUP_SECONDS}s")
        self._conn.recv()
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.kill()
            self._proc.wait()
            self._proc = None

    def __enter__(self) -> FileParser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Duplex(Connection):
    """A Connection reading one pipe and writing another (Connection wants one fd)."""

    def __init__(self, read_fd: int, write_fd: int) -> None:
        super().__init__(read_fd, writable=False)
        self._writer = Connection(write_fd, readable=False)

    def send(self, obj: object) -> None:
        self._writer.send(obj)

    def close(self) -> None:
        self._writer.close()
        super().close()


def serve(read_fd: int, write_fd: int) -> None:
    """The child: parse each SourceFile received, send (True, Document) or (False, reason)."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard == resource.RLIM_INFINITY or hard > MEMORY_BYTES:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, hard))
    import pypdf  # noqa: F401 - imported now, so a PDF's budget is not spent importing it

    conn = _Duplex(read_fd, write_fd)
    budget: Budget = conn.recv()
    conn.send("ready")
    while True:
        try:
            file = conn.recv()
        except EOFError:
            return
        try:
            conn.send((True, load_document(file, budget)))
        except LoadError as exc:
            conn.send((False, str(exc)))
        except MemoryError:
            conn.send((False, f"over budget: needs more than {MEMORY_BYTES >> 30} GB to parse"))
        except Exception as exc:  # a parser bug on one file must not stop the ingest
            conn.send((False, f"could not parse: {' '.join(str(exc).split())[:200]}"))


if __name__ == "__main__":
    serve(int(sys.argv[1]), int(sys.argv[2]))
