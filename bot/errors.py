"""The one family of expected failures: `opsbot` prints their message, never a traceback.

`exit_code` says how the CLI ends: 2 for bad input or configuration, 1 for a runtime
failure (no usable index, ingest already running, database down).
"""

from __future__ import annotations


class OpsbotError(Exception):
    """An expected failure whose message is one line a user can act on."""

    exit_code = 1
