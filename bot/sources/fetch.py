"""HTTP for the docs-site source: bounded GETs, conditional requests, robots.txt, sitemaps.

Every request has a deadline for the whole response (not only per socket read, so a server
that drips bytes is cut off), a size cap, and redirects followed by hand: at most
`MAX_REDIRECTS` hops, never twice to the same URL, and only while they stay in scope.
URLs carry no credentials here; a site's user and password go in a Basic auth header.
"""

from __future__ import annotations

import gzip
import threading
import time
import urllib.robotparser
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urldefrag, urljoin, urlsplit

import urllib3

from bot import __version__

USER_AGENT = f"opsbot/{__version__} (docs-site source; +https://github.com/opsbot-dev/opsbot)"
MAX_REDIRECTS = 5
MAX_SITEMAPS = 50  # sitemap files read from one sitemap index
_REDIRECTS = {301, 302, 303, 307, 308}
_HTML_TYPES = ("text/html", "application/xhtml+xml")


class FetchError(Exception):
    """One request failed (timeout, too big, redirect loop, connection refused)."""


@dataclass
class Response:
    url: str  # after redirects
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes = b""

    @property
    def is_html(self) -> bool:
        kind = self.headers.get("content-type", "").split(";")[0].strip().lower()
        return kind in _HTML_TYPES

    @property
    def noindex(self) -> bool:
        return "noindex" in self.headers.get("x-robots-tag", "").lower()


@dataclass
class Counters:
    """What a sync cost: requests made, and how many answered 200 / 304."""

    requests: int = 0
    ok: int = 0
    not_modified: int = 0
    failures: list[str] = field(default_factory=list)


class Fetcher:
    """Bounded GETs against one site, shared by the crawl's worker threads."""

    def __init__(
        self,
        *,
        timeout: float,
        max_bytes: int,
        concurrency: int,
        auth: tuple[str, str] | None = None,
    ) -> None:
        self.timeout, self.max_bytes = timeout, max_bytes
        self.counters = Counters()
        self._lock = threading.Lock()
        headers = {"User-Agent": USER_AGENT, "Accept": "text/html,application/xhtml+xml,*/*;q=0.5"}
        if auth:
            headers.update(urllib3.make_headers(basic_auth=f"{auth[0]}:{auth[1]}"))
        self._pool = urllib3.PoolManager(
            num_pools=4, maxsize=max(1, concurrency), block=False, headers=headers
        )

    def close(self) -> None:
        self._pool.clear()

    def get(
        self,
        url: str,
        *,
        allowed: Callable[[str], bool] = lambda _: True,
        etag: str = "",
        last_modified: str = "",
    ) -> Response:
        """GET `url` (conditionally when `etag`/`last_modified` are given), following
        redirects that `allowed` accepts. A redirect out of scope is a FetchError."""
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        seen = {url}
        for _ in range(MAX_REDIRECTS + 1):
            response = self._once(url, headers)
            if response.status not in _REDIRECTS:
                return response
            location = response.headers.get("location", "")
            target = urldefrag(urljoin(url, location))[0]
            if not location or target in seen:
                raise FetchError(f"redirect loop at {url}")
            if not allowed(target):
                raise FetchError(f"redirects out of the site ({target})")
            seen.add(target)
            url = target
        raise FetchError(f"more than {MAX_REDIRECTS} redirects")

    def _once(self, url: str, headers: dict[str, str]) -> Response:
        deadline = time.monotonic() + self.timeout
        with self._lock:
            self.counters.requests += 1
        try:
            raw = self._pool.request(
                "GET",
                url,
                headers=headers,
                redirect=False,
                retries=False,
                preload_content=False,
                timeout=urllib3.Timeout(connect=self.timeout, read=self.timeout),
            )
        except urllib3.exceptions.HTTPError as exc:
            raise FetchError(_reason(exc)) from None
        try:
            names = {k.lower(): v for k, v in raw.headers.items()}
            declared = names.get("content-length", "")
            if declared.isdigit() and int(declared) > self.max_bytes:
                raise FetchError(f"page over size limit ({declared} bytes)")
            chunks: list[bytes] = []
            size = 0
            while chunk := raw.read1(64 * 1024):  # what has arrived: a drip can't stall us
                size += len(chunk)
                if size > self.max_bytes:
                    raise FetchError(f"page over size limit (> {self.max_bytes} bytes)")
                if time.monotonic() > deadline:
                    raise FetchError(f"timed out after {self.timeout:g}s")
                chunks.append(chunk)
            if time.monotonic() > deadline:
                raise FetchError(f"timed out after {self.timeout:g}s")
        except urllib3.exceptions.HTTPError as exc:
            raise FetchError(_reason(exc)) from None
        finally:
            raw.release_conn()
        with self._lock:
            self.counters.ok += raw.status == 200
            self.counters.not_modified += raw.status == 304
        return Response(url, raw.status, names, b"".join(chunks))


def _reason(exc: Exception) -> str:
    """One short line: 'timed out', 'connection refused', … (never the URL's userinfo)."""
    text = str(getattr(exc, "reason", None) or exc)
    for needle, reason in (
        ("timed out", "timed out"),
        ("Read timed out", "timed out"),
        ("Connection refused", "connection refused"),
        ("Name or service not known", "unknown host"),
        ("nodename nor servname", "unknown host"),
    ):
        if needle in text:
            return reason
    return type(exc).__name__


def robots_for(fetcher: Fetcher, root: str) -> urllib.robotparser.RobotFileParser:
    """The site's robots.txt rules (allow all when it has none; deny all on 401/403, as
    urllib.robotparser does). A robots.txt that cannot be fetched is a FetchError."""
    parser = urllib.robotparser.RobotFileParser(urljoin(root, "/robots.txt"))
    response = fetcher.get(urljoin(root, "/robots.txt"))
    if response.status >= 500:  # the site is down: don't guess what it allows
        raise FetchError(f"robots.txt answered HTTP {response.status}")
    if response.status in (401, 403):
        parser.parse(["User-agent: *", "Disallow: /"])
    elif response.status >= 400:
        parser.parse([])
    else:
        parser.parse(response.body.decode("utf-8", "replace").splitlines())
    return parser


def sitemap_urls(
    fetcher: Fetcher, candidates: list[str], in_scope: Callable[[str], bool], limit: int
) -> list[str] | None:
    """Page URLs from the first sitemap that lists pages in scope (following a sitemap
    index), at most `limit`. None when there is none: the crawl then follows links."""
    for candidate in dict.fromkeys(candidates):
        try:
            found = _read_sitemap(fetcher, candidate, in_scope, limit, depth=0)
        except FetchError:
            continue
        if found:  # a sitemap listing nothing in scope (another host name?): try the next
            return found
    return None


def _read_sitemap(
    fetcher: Fetcher, url: str, in_scope: Callable[[str], bool], limit: int, depth: int
) -> list[str] | None:
    response = fetcher.get(url, allowed=lambda u: urlsplit(u).netloc == urlsplit(url).netloc)
    if response.status != 200 or not response.body.strip():
        return None
    body = response.body
    if body[:2] == b"\x1f\x8b":
        try:
            body = gzip.decompress(body)[: fetcher.max_bytes]
        except (OSError, EOFError):
            return None
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return None
    kind = root.tag.rpartition("}")[2]
    locs = [(el.text or "").strip() for el in root.iter() if el.tag.rpartition("}")[2] == "loc"]
    if kind == "sitemapindex" and depth == 0:
        pages: list[str] = []
        for child in locs[:MAX_SITEMAPS]:
            try:
                pages += _read_sitemap(fetcher, child, in_scope, limit - len(pages), 1) or []
            except FetchError:
                continue
            if len(pages) >= limit:
                break
        return pages[:limit]
    if kind != "urlset":
        return None
    pages = [urldefrag(loc)[0] for loc in locs if loc and in_scope(urldefrag(loc)[0])]
    return list(dict.fromkeys(pages))[:limit]
