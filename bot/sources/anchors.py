"""Section anchors as git hosts render them, so a link opens at the heading that answered.

GitHub, GitLab, Gitea and Forgejo give each Markdown heading an id made by lower-casing it,
dropping punctuation and turning spaces into hyphens; Bitbucket prefixes that with
`markdown-header-`. Sites use their pages' own ids (the site source maps headings to them).
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from urllib.parse import urlsplit

MARKDOWN_SUFFIXES = {".md", ".markdown", ".mdx"}
_DROP = re.compile(r"[^\w\- ]", re.UNICODE)

# host name part → (web URL of a file at a commit, anchor prefix); `{root}` is
# https://host/owner/repo, `{rev}` the commit and `{path}` the file inside the repository
GIT_HOSTS: tuple[tuple[str, str, str], ...] = (
    ("github", "{root}/blob/{rev}/{path}", ""),
    ("gitlab", "{root}/-/blob/{rev}/{path}", ""),
    ("gitea", "{root}/src/commit/{rev}/{path}", ""),
    ("forgejo", "{root}/src/commit/{rev}/{path}", ""),
    ("codeberg", "{root}/src/commit/{rev}/{path}", ""),
    ("bitbucket", "{root}/src/{rev}/{path}", "markdown-header-"),
)


def github_slug(heading: str) -> str:
    """'Roll back a release (v2)!' → 'roll-back-a-release-v2'."""
    return _DROP.sub("", heading.strip().lower()).replace(" ", "-")


def git_host(url: str) -> tuple[str, str, str] | None:
    """The GIT_HOSTS row whose name is part of the URL's host, or None."""
    host = (urlsplit(url).hostname or "").lower()
    for row in GIT_HOSTS:
        if row[0] in host:
            return row
    return None


def fragment(url: str, path: str, anchor: str) -> str:
    """The `#fragment` for heading id `anchor` (a `github_slug`) in a file URL on a git host;
    '' elsewhere, for non-Markdown files and for a document's top."""
    row = git_host(url)
    if not anchor or row is None or PurePosixPath(path).suffix.lower() not in MARKDOWN_SUFFIXES:
        return ""
    return f"#{row[2]}{anchor}"
