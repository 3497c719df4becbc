"""One sync of a docs site: which pages exist now, and what changed since the last sync.

The crawl reads robots.txt, then the sitemap when there is one (a sitemap index too), and
otherwise follows links from the start URL. It stays on the start URL's host and under its
path prefix, skips what robots.txt disallows, and visits at most SITE_MAX_PAGES URLs,
SITE_CONCURRENCY at a time, within SITE_BUDGET seconds. Every known page is fetched with a
conditional GET; a 304 keeps the page as it was (with its links, so a link crawl continues
through it without downloading it).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from posixpath import splitext
from urllib.parse import unquote, urlsplit
from urllib.robotparser import RobotFileParser

from bot.config import Settings
from bot.sources.base import SourceError
from bot.sources.extract import extract_page
from bot.sources.fetch import USER_AGENT, Fetcher, FetchError, robots_for, sitemap_urls

log = logging.getLogger(__name__)
MAX_CRAWL_DELAY = 10.0  # seconds; a larger Crawl-delay would let SITE_BUDGET cover few pages

# Links to these are files, not pages: never fetched.
# fmt: off
_NOT_PAGES = {
    ".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp", ".ico", ".bmp", ".css", ".js", ".mjs",
    ".map", ".json", ".xml", ".txt", ".pdf", ".zip", ".gz", ".tgz", ".tar", ".bz2", ".xz",
    ".whl", ".exe", ".dmg", ".deb", ".rpm", ".mp4", ".mp3", ".webm", ".woff", ".woff2",
    ".ttf", ".eot", ".csv", ".yaml", ".yml", ".ipynb",
}
# fmt: on


@dataclass
class PageRecord:
    """What the state file keeps about one page (and, just after a 200, its Markdown)."""

    path: str
    etag: str = ""
    last_modified: str = ""
    sha256: str = ""
    size: int = 0
    links: list[str] = field(default_factory=list)
    markdown: str | None = None  # set only when fetched with a 200 in this sync

    def stored(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k != "markdown"}


@dataclass
class CrawlResult:
    pages: dict[str, PageRecord]  # url -> page, fetched now or kept from the last sync
    failed: list[str]  # "url: reason"
    error: str = ""  # why this sync is incomplete ('' when it is not)


@dataclass
class _Visit:
    url: str  # after redirects, when the page was fetched
    record: PageRecord | None = None  # None: the page does not exist (any more)
    links: tuple[str, ...] = ()
    failure: str = ""


def page_path(url: str, prefix: str) -> str:
    """Where a page's Markdown lives, relative to the source: its URL path under the prefix."""
    path = unquote(urlsplit(url).path)
    rel = path[len(prefix) :] if path.startswith(prefix) else ""
    rel = rel.strip("/")
    stem, ext = splitext(rel)
    if ext.lower() in (".html", ".htm", ".php", ".aspx"):
        rel = stem
    if rel == "index" or rel.endswith("/index"):
        rel = rel.removesuffix("index").rstrip("/")
    rel = rel or "index"
    safe = [part.lstrip(".") or "_" for part in rel.split("/") if part not in ("", ".", "..")]
    return "/".join(safe or ["index"]) + ".md"


class Crawl:
    def __init__(
        self,
        *,
        start: str,
        root: str,
        prefix: str,
        known: dict[str, PageRecord],
        settings: Settings,
        auth: tuple[str, str] | None = None,
    ) -> None:
        self.start, self.root, self.prefix, self.known = start, root, prefix, known
        self.settings = settings
        self.fetcher = Fetcher(
            timeout=settings.site_timeout,
            max_bytes=settings.max_file_bytes,
            concurrency=settings.site_concurrency,
            auth=auth,
        )
        self._host = urlsplit(start).netloc
        self._robots: RobotFileParser | None = None

    def in_scope(self, url: str) -> bool:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or parts.netloc != self._host:
            return False
        path = parts.path or "/"
        if not (path.startswith(self.prefix) or path == self.prefix.rstrip("/")):
            return False
        if splitext(path)[1].lower() in _NOT_PAGES:
            return False
        return self._robots is None or self._robots.can_fetch(USER_AGENT, url)

    def run(self) -> CrawlResult:
        try:
            try:
                robots = self._robots = robots_for(self.fetcher, self.root)
            except FetchError as exc:
                raise SourceError(f"cannot reach {self.root}: {exc}") from None
            if not self.in_scope(self.start):
                raise SourceError(f"robots.txt does not allow crawling {self.start}")
            cap = self.settings.site_max_pages
            sitemaps = [*(robots.site_maps() or []), self._under_prefix("sitemap.xml")]
            sitemaps.append(self.root + "sitemap.xml")
            listed = sitemap_urls(self.fetcher, sitemaps, self.in_scope, cap)
            return self._visit_all(listed)
        finally:
            self.fetcher.close()

    def _under_prefix(self, name: str) -> str:
        return self.root.rstrip("/") + self.prefix + name

    def _visit_all(self, listed: list[str] | None) -> CrawlResult:
        """Visit the sitemap's pages, or (listed is None) follow links from the start."""
        follow = listed is None
        queue = deque(listed if listed is not None else [self.start])
        seen = set(queue)
        cap, deadline = self.settings.site_max_pages, time.monotonic() + self.settings.site_budget
        pages: dict[str, PageRecord] = {}
        failed: list[str] = []
        visited = answered = 0
        out_of_time = False
        taken: set[str] = set()  # page paths in use: two URLs never share one file
        gone: set[str] = set()  # answered that the page does not exist (any more)
        delay = self._crawl_delay()
        workers = 1 if delay else self.settings.site_concurrency
        next_at = 0.0
        with ThreadPoolExecutor(workers, "site-crawl") as pool:
            running: set[Future[_Visit]] = set()
            while queue or running:
                while queue and len(running) < workers and visited < cap:
                    time.sleep(max(0.0, min(next_at, deadline) - time.monotonic()))
                    if time.monotonic() > deadline:
                        out_of_time = True
                        break
                    next_at = time.monotonic() + delay
                    running.add(pool.submit(self._visit, queue.popleft()))
                    visited += 1
                if not running:
                    break
                done, running = wait(running, timeout=1.0, return_when=FIRST_COMPLETED)
                for future in done:
                    visit = future.result()
                    if visit.failure:
                        failed.append(f"{visit.url}: {visit.failure}")
                    else:
                        answered += 1
                    seen.add(visit.url)
                    if visit.record is None and not visit.failure:
                        gone.add(visit.url)
                    elif visit.record is not None and visit.record.path not in taken:
                        pages[visit.url] = visit.record
                        taken.add(visit.record.path)
                    for link in visit.links if follow else ():
                        if link not in seen and self.in_scope(link):
                            seen.add(link)
                            queue.append(link)
        error = ""
        if out_of_time or time.monotonic() > deadline:
            error = f"stopped after SITE_BUDGET={self.settings.site_budget:g}s"
            self._keep_known(pages, taken, gone)  # not visited: may well still exist
        elif queue:
            log.warning("site %s: SITE_MAX_PAGES=%d reached", self.root, cap)
        if failed and not answered:  # the site is down, not its pages gone: keep them all
            error = error or f"every page failed (first: {failed[0]})"
            self._keep_known(pages, taken, gone)
        return CrawlResult(pages, failed, error)

    def _keep_known(self, pages: dict[str, PageRecord], taken: set[str], gone: set[str]) -> None:
        """Keep the last sync's pages that this one could not check."""
        for url, record in self.known.items():
            if url not in pages and url not in gone and record.path not in taken:
                pages[url] = record
                taken.add(record.path)

    def _crawl_delay(self) -> float:
        """robots.txt's Crawl-delay for us (one request at a time, at most MAX_CRAWL_DELAY)."""
        try:
            value = float(self._robots.crawl_delay(USER_AGENT) or 0) if self._robots else 0.0
        except (TypeError, ValueError):
            return 0.0
        return min(max(value, 0.0), MAX_CRAWL_DELAY)

    def _visit(self, url: str) -> _Visit:
        old = self.known.get(url)
        try:
            response = self.fetcher.get(
                url,
                allowed=self.in_scope,
                etag=old.etag if old else "",
                last_modified=old.last_modified if old else "",
            )
        except FetchError as exc:
            return _Visit(url, old, tuple(old.links) if old else (), str(exc))
        if response.status == 304 and old is not None:
            return _Visit(url, old, tuple(old.links))
        if response.status in (404, 410):
            return _Visit(url)
        if response.status != 200:
            return _Visit(url, old, tuple(old.links) if old else (), f"HTTP {response.status}")
        if not response.is_html:
            return _Visit(url)
        final = response.url
        charset = response.headers.get("content-type", "").partition("charset=")[2]
        try:
            html = response.body.decode(charset.strip().strip('"') or "utf-8", "replace")
        except LookupError:
            html = response.body.decode("utf-8", "replace")
        try:
            page = extract_page(html, final)
        except Exception as exc:  # a page the extractor chokes on must not stop the sync
            return _Visit(url, old, tuple(old.links) if old else (), f"unreadable ({exc})")
        links = tuple(link for link in page.links if self.in_scope(link))
        if response.noindex or page.noindex or not page.markdown:
            return _Visit(final, None, links)
        record = PageRecord(
            path=page_path(final, self.prefix),
            etag=response.headers.get("etag", ""),
            last_modified=response.headers.get("last-modified", ""),
            links=list(links),
            markdown=page.markdown,
        )
        return _Visit(final, record, links)
