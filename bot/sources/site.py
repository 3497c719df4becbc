"""A docs website as a knowledge source: crawled politely, kept as Markdown files on disk.

    https://docs.example.com/guide/     pages under /guide/ on that host, nothing else

`sync` reads robots.txt, then the sitemap (or, without one, follows links from the start
URL), and fetches each page with a conditional GET (ETag / Last-Modified from the last
sync), `SITE_CONCURRENCY` at a time, at most `SITE_MAX_PAGES` pages within `SITE_BUDGET`
seconds. Each page's main content is written to DATA_DIR/sources/<name>/pages/<path>.md;
an unchanged page keeps its file byte for byte, so ingest re-embeds nothing. Pages that
answer 404/410, leave the sitemap, turn `noindex` or are no longer linked leave the
listing. When the site cannot be reached at all, the last good pages stay and the state
says why. Page paths mirror the URL under the prefix: `/guide/install/` → `install.md`,
`/guide/` → `index.md`, `/guide/a/b.html` → `a/b.md`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from bot.config import Settings
from bot.ingest.loaders import SourceFile
from bot.sources.base import Listing, Source, SourceState
from bot.sources.crawl import Crawl, PageRecord
from bot.sources.spec import SourceSpec, without_credentials

log = logging.getLogger(__name__)
STATE_FILE = "state.json"


@dataclass
class SyncReport:
    """What the last sync did, for logs and tests."""

    requests: int = 0
    fetched: int = 0  # pages that answered 200
    unchanged: int = 0  # 304, or 200 with the same extracted text
    changed: int = 0  # new or different extracted text
    removed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # "url: reason", kept at their last copy


class SiteSource:
    """Kind "site" of the `Source` protocol (bot/sources/base.py)."""

    def __init__(self, spec: SourceSpec, settings: Settings) -> None:
        self.spec, self.settings = spec, settings
        parts = urlsplit(spec.location)
        self._auth = (
            (unquote(parts.username), unquote(parts.password or "")) if parts.username else None
        )
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        path = parts.path or "/"
        self.prefix = path if path.endswith("/") else path.rpartition("/")[0] + "/"
        if "." not in path.rpartition("/")[2] and not path.endswith("/"):
            self.prefix = path + "/"  # https://host/docs means the /docs/ section
        self.start = urlunsplit((parts.scheme, netloc, path, parts.query, ""))
        self.root = urlunsplit((parts.scheme, netloc, "/", "", ""))
        self.home = Path(settings.data_dir) / "sources" / spec.name
        self.pages_dir = self.home / "pages"
        self.report = SyncReport()
        self._state = self._read_state()
        self._urls = self._urls_by_path()

    # ---- the Source protocol ------------------------------------------------------------

    def sync(self) -> SourceState:
        started = time.monotonic()
        crawl = Crawl(
            start=self.start,
            root=self.root,
            prefix=self.prefix,
            known={url: PageRecord(**rec) for url, rec in self._state["pages"].items()},
            settings=self.settings,
            auth=self._auth,
        )
        try:
            result = crawl.run()
        except Exception as exc:  # unreachable site, robots.txt denying all, a bug: keep serving
            reason = " ".join(str(exc).split()) or type(exc).__name__
            self._state["error"] = without_credentials(reason)[:300]
            self._write_state()
            log.warning("site %s: sync failed, keeping the last good pages: %s",
                        self.spec.display, self._state["error"])  # fmt: skip
            return self.state()
        report = SyncReport(requests=crawl.fetcher.counters.requests, failed=result.failed)
        pages: dict[str, dict] = {}
        for url, record in result.pages.items():
            old = self._state["pages"].get(url)
            if record.markdown is not None:  # fetched with a 200
                report.fetched += 1
                record = self._write_page(record)
                same = old is not None and old.get("sha256") == record.sha256
                report.unchanged += same
                report.changed += not same
            else:
                report.unchanged += 1
            pages[url] = record.stored()
        for url, old in self._state["pages"].items():
            if url not in pages:
                report.removed.append(url)
                self._delete_page(old["path"], keep={p["path"] for p in pages.values()})
        self._state.update(
            pages=pages,
            synced_at=time.time(),
            error=result.error,
            revision=f"{len(pages)} pages",
        )
        self._write_state()
        self._urls = self._urls_by_path()
        self.report = report
        log.info(
            "site %s: %d pages (%d changed, %d unchanged, %d removed, %d failed), "
            "%d requests in %.1fs",
            self.spec.display, len(pages), report.changed, report.unchanged,
            len(report.removed), len(report.failed), report.requests,
            time.monotonic() - started,
        )  # fmt: skip
        for failure in report.failed[:5]:
            log.warning("site %s: kept the last copy of %s", self.spec.display, failure)
        return self.state()

    def listing(self) -> Listing:
        files: list[SourceFile] = []
        urls: dict[str, str] = {}
        for url, record in sorted(self._state["pages"].items(), key=lambda kv: kv[1]["path"]):
            abspath = self.pages_dir / record["path"]
            if abspath.is_file():
                files.append(SourceFile(record["path"], abspath, record["sha256"], record["size"]))
                urls[record["path"]] = url
        return Listing(tuple(files), (), urls)

    def url_for(self, path: str, anchor: str = "") -> str | None:
        url = self._urls.get(path)
        return f"{url}#{anchor}" if url and anchor else url

    def state(self) -> SourceState:
        return SourceState(
            name=self.spec.name,
            kind="site",
            location=self.spec.display,
            synced_at=self._state.get("synced_at"),
            revision=self._state.get("revision", ""),
            documents=len(self.listing().files),
            error=self._state.get("error", ""),
        )

    # ---- files on disk ------------------------------------------------------------------

    def _write_page(self, record: PageRecord) -> PageRecord:
        data = (record.markdown or "").encode("utf-8")
        record.sha256, record.size = hashlib.sha256(data).hexdigest(), len(data)
        target = self.pages_dir / record.path
        if not (target.is_file() and target.read_bytes() == data):
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.tmp")
            tmp.write_bytes(data)
            os.replace(tmp, target)
        return record

    def _delete_page(self, path: str, keep: set[str]) -> None:
        if path in keep:  # another URL now maps to the same file
            return
        target = self.pages_dir / path
        target.unlink(missing_ok=True)
        for parent in target.parents:
            if parent == self.pages_dir or not parent.is_relative_to(self.pages_dir):
                break
            try:
                parent.rmdir()
            except OSError:
                break

    def _urls_by_path(self) -> dict[str, str]:
        return {record["path"]: url for url, record in self._state["pages"].items()}

    def _read_state(self) -> dict:
        empty: dict = {"pages": {}, "synced_at": None, "error": "", "revision": ""}
        try:
            loaded = json.loads((self.home / STATE_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return empty
        if not isinstance(loaded, dict) or not isinstance(loaded.get("pages"), dict):
            return empty
        return {**empty, **loaded}

    def _write_state(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        tmp = self.home / f".{STATE_FILE}.tmp"
        tmp.write_text(json.dumps(self._state, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, self.home / STATE_FILE)


def _conforms(source: SiteSource) -> Source:
    return source  # mypy checks SiteSource against the Source protocol here
