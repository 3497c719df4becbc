"""Configured URLs as they may be shown: scheme, host and port, nothing else.

Any *_URL / *_URLS setting (LLM_BASE_URL, DATABASE_URL, KNOWLEDGE_URLS, SLACK_API_URL,
and whatever comes next: INDEX_URL, EMBEDDING_BASE_URL, a git source URL) may carry
`user:password@`, a token in the path or the query string. /healthz, logs, error messages
and the report show `safe_url(url)` instead, so none of that is ever printed.
"""

from __future__ import annotations

import os
import re
from urllib.parse import urlsplit

URL_SETTING = re.compile(r"_URLS?$")  # the environment variables that hold URLs
HIDDEN = "…"
_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*):", re.IGNORECASE)


def safe_url(url: str) -> str:
    """'scheme://host:port' of `url` (no credentials, path, query or fragment).

    Also for what is not quite a URL: 'user:pw@db:5432/x' gives 'db:5432'; anything
    without a recognisable host gives just the scheme, or HIDDEN."""
    text = str(url or "").strip()
    scheme_match = _SCHEME.match(text)
    scheme = scheme_match.group(1).lower() if scheme_match and "//" in text[:20] else ""
    rest = text.split("://", 1)[1] if scheme else text.lstrip("/")
    netloc = re.split(r"[/?#\s]", rest, maxsplit=1)[0]
    hostport = netloc.rpartition("@")[2]  # userinfo never shown, even when it holds '@'
    host, port = _host_port(hostport)
    shown = host + (f":{port}" if port else "")
    if scheme:
        return f"{scheme}://{shown}" if shown else f"{scheme}://"
    return shown or HIDDEN


def _host_port(hostport: str) -> tuple[str, str]:
    """Host and port as urllib reads them; junk (a stray ':' or quote) hides the host."""
    try:
        parts = urlsplit("//" + hostport)
        host, port = parts.hostname or "", parts.port
    except ValueError:  # a bad port (git@host:org/repo): the host alone
        host, port = hostport.partition(":")[0].lower(), None
    if not re.fullmatch(r"[A-Za-z0-9._~%-]+|\[[0-9A-Fa-f:.]+\]|[0-9A-Fa-f:.]+", host or "x"):
        return "", ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    return host, str(port) if port else ""


def url_settings(env: dict[str, str] | None = None) -> dict[str, str]:
    """Every configured URL setting: name → raw value."""
    env = dict(os.environ if env is None else env)
    return {k: v for k, v in env.items() if URL_SETTING.search(k) and v.strip()}


def url_credentials(value: str) -> list[str]:
    """The secrets inside one URL setting (KNOWLEDGE_URLS may list several URLs):
    passwords, and user names that are tokens (https://TOKEN@host), found even when
    the URL does not parse."""
    found = []
    for item in re.split(r"[\s,]+", value):
        rest = item.partition("://")[2] or item
        netloc = rest.split("/", 1)[0] if "@" in rest.split("/", 1)[0] else rest
        userinfo = netloc.rpartition("@")[0] if "@" in netloc else ""
        user, _, password = userinfo.partition(":")
        if password:
            found.append(password)
        elif len(user) >= 16:  # a bare token as the user name
            found.append(user)
    return found
