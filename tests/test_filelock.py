"""The cross-process lock an ingest and a git source sync share (bot/filelock.py)."""

from __future__ import annotations

import time

import pytest

from bot.filelock import held
from bot.index.localstore import IngestBusyError, index_lock


class Busy(Exception):
    pass


def test_a_second_holder_waits_its_time_then_gets_the_callers_error(tmp_path):
    lock = tmp_path / ".lock"
    with held(lock, 1, Busy):  # flock is per open file: a second open() contends like a process
        started = time.monotonic()
        with pytest.raises(Busy), held(lock, 0.3, Busy, poll=0.05):
            pass
        assert 0.3 <= time.monotonic() - started < 2
    with held(lock, 0, Busy):  # released when the block ends
        pass


def test_an_ingest_lock_held_elsewhere_is_an_ingest_busy_error_naming_it(tmp_path):
    busy = pytest.raises(IngestBusyError, match=r"another ingest holds .*\.lock")
    with index_lock(tmp_path, wait_seconds=0), busy, index_lock(tmp_path, wait_seconds=0.2):
        pass
