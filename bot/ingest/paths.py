"""Which paths under a knowledge folder may be read at all.

Anyone who can commit to a knowledge repository controls its symlinks, so a link is
followed only when its real path stays inside one of the knowledge roots (unless
KNOWLEDGE_OUTSIDE_LINKS=true), and never to a hidden file or folder (`.env`, `.git/`).
The one hidden folder a link may pass through is the kubelet's timestamped
`..2024_01_01_00_00_00.123/` of a ConfigMap or Secret volume, whose files appear as
`name -> ..data/name` with `..data` linking to it.
A file name that is not valid UTF-8 cannot be stored in the index, so it is skipped
and reported with its bytes escaped. Document titles are shown to anyone who asks (in
declines and source lists), so a first line that looks like `KEY=value` or a token is
never used as one.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

OUTSIDE = "link to a path outside the knowledge folders (see KNOWLEDGE_OUTSIDE_LINKS)"
HIDDEN = "link to a hidden file or folder"
NOT_UTF8 = "file name is not valid UTF-8"
_KUBELET_DATA = re.compile(r"^\.\.\d{4}(?:_\d\d){5}\.\d+$")  # atomic-writer payload folder
_ASSIGNMENT = re.compile(r"^\s*(?:export\s+)?[A-Za-z_][A-Za-z0-9_.-]*\s*=\s*\S")


def printable(name: str) -> str:
    """A file name as text that can be logged and stored: undecodable bytes as \\xNN."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def is_utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # os.scandir maps undecodable bytes to lone surrogates
        return False
    return True


def link_problem(path: str | os.PathLike[str], roots: Sequence[Path], outside_ok: bool) -> str:
    """Why the symlink at `path` must not be followed ('' when it may be)."""
    try:
        real = Path(path).resolve(strict=True)
    except (OSError, RuntimeError):  # dangling link or a loop
        return "broken link"
    for root in roots:
        if real == root or root in real.parents:
            parts = real.relative_to(root).parts
            return HIDDEN if any(_hidden(p) for p in parts) else ""
    if outside_ok:
        return HIDDEN if real.name.startswith(".") else ""
    return OUTSIDE


def _hidden(part: str) -> bool:
    return part.startswith(".") and not _KUBELET_DATA.match(part)


def resolved_roots(roots: Sequence[str | os.PathLike[str]]) -> list[Path]:
    return [Path(root).resolve() for root in roots]


def looks_secret(title: str) -> bool:
    """True for a `KEY=value` line or anything the log redaction would mask (tokens,
    Authorization headers, URLs with passwords): never shown as a document title."""
    from bot.observability.logs import Redactor

    return bool(_ASSIGNMENT.match(title)) or Redactor()(title) != title
