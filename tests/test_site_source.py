"""The docs-site source against a real MkDocs site served over loopback HTTP.

The site is built once per session with the real `mkdocs` from a few playbook pages (copied
to a temporary folder at test time), and served by a real HTTP server that answers
conditional GETs with ETags and can be told to 404 a page, answer slowly, loop redirects or
fail. Each test serves its own copy of the built site, so tests can change pages.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from bot.config import Settings
from bot.ingest.chunker import chunk_document
from bot.ingest.loaders import load_document
from bot.sources.crawl import page_path
from bot.sources.site import SiteSource
from bot.sources.spec import parse_source

PLAYBOOK = Path(__file__).resolve().parents[2] / "shared/corpus/code-with-engineering-playbook"
PAGES = {  # playbook file -> where it goes in the MkDocs docs folder
    "docs/observability/README.md": "index.md",
    "docs/observability/correlation-id.md": "correlation-id.md",
    "docs/observability/alerting.md": "alerting.md",
    "docs/observability/log-vs-metric-vs-trace.md": "log-vs-metric-vs-trace.md",
    "docs/security/threat-modelling.md": "security/threat-modelling.md",
}
FOOTER = "Maintained by the Example Platform Team"
EXPECTED = {
    "index.md",
    "correlation-id.md",
    "alerting.md",
    "log-vs-metric-vs-trace.md",
    "security/threat-modelling.md",
}


@dataclass
class Control:
    """What the test server does; reset for every test."""

    root: Path = Path()
    missing: set[str] = field(default_factory=set)
    slow: set[str] = field(default_factory=set)  # paths that drip their body for 30 s
    redirects: dict[str, str] = field(default_factory=dict)
    down: bool = False  # every request answers 503
    requests: list[tuple[str, int]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def count(self, path: str, status: int | None = None) -> int:
        return sum(p == path and (status is None or s == status) for p, s in self.requests)


class Handler(BaseHTTPRequestHandler):
    control: Control

    def log_message(self, *args: object) -> None:
        pass

    def reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        path = urlsplit(self.path).path
        self.control.requests.append((path, status))
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and path not in self.control.slow:
            self.wfile.write(body)
        elif body:  # a server that sends its headers, then a byte now and then
            for byte in body[:300]:
                if self.control.stop.wait(0.1):
                    return
                self.wfile.write(bytes([byte]))
                self.wfile.flush()

    def do_GET(self) -> None:
        control = self.control
        path = urlsplit(self.path).path
        if control.down:
            return self.reply(503, b"maintenance")
        if path in control.redirects:
            return self.reply(302, headers={"Location": control.redirects[path]})
        if path in control.missing:
            return self.reply(404, b"not found")
        target = control.root / path.lstrip("/")
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            return self.reply(404, b"not found")
        body = target.read_bytes()
        etag = f'"{hashlib.sha1(body).hexdigest()}"'
        if self.headers.get("If-None-Match") == etag:
            return self.reply(304, headers={"ETag": etag})
        kind = {".html": "text/html; charset=utf-8", ".xml": "application/xml"}.get(
            target.suffix, "text/plain"
        )
        self.reply(200, body, {"Content-Type": kind, "ETag": etag})


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Control, Path]]:
    """(base URL, server control, the built site) — MkDocs runs once per session."""
    if not PLAYBOOK.is_dir():
        pytest.skip("the shared playbook corpus is missing")
    control = Control()
    handler = type("BoundHandler", (Handler,), {"control": control})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    project = tmp_path_factory.mktemp("mkdocs")
    for source, target in PAGES.items():
        (project / "docs" / target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(PLAYBOOK / source, project / "docs" / target)
    (project / "docs/private").mkdir()
    (project / "docs/private/secret.md").write_text("# Private\n\nPRIVATE-PAGE-TEXT here.\n")
    (project / "docs/draft.md").write_text("# Draft\n\nDRAFT-PAGE-TEXT not for search.\n")
    (project / "mkdocs.yml").write_text(
        f"site_name: Ops Handbook\nsite_url: {base}\ncopyright: {FOOTER}\n"
    )
    subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "-q", "-f", str(project / "mkdocs.yml")],
        check=True,
        capture_output=True,
    )
    site = project / "site"
    (site / "robots.txt").write_text(
        f"User-agent: *\nDisallow: /private/\nSitemap: {base}sitemap.xml\n"
    )
    draft = site / "draft/index.html"
    draft.write_text(
        draft.read_text().replace("<head>", '<head><meta name="robots" content="noindex">', 1)
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield base, control, site
    control.stop.set()
    server.shutdown()
    server.server_close()


@pytest.fixture
def site(served: tuple[str, Control, Path], tmp_path: Path) -> tuple[str, Control]:
    base, control, built = served
    copy = tmp_path / "www"
    shutil.copytree(built, copy)
    control.root = copy
    control.missing, control.slow, control.redirects = set(), set(), {}
    control.down, control.requests = False, []
    return base, control


def source_for(url: str, tmp_path: Path, **settings: object) -> SiteSource:
    config = Settings(data_dir=tmp_path / "data", index_dir=tmp_path / "index").with_overrides(
        **settings
    )
    return SiteSource(parse_source(url), config)


def paths(source: SiteSource) -> set[str]:
    return {f.path for f in source.listing().files}


def test_sitemap_pages_robots_and_noindex(site: tuple[str, Control], tmp_path: Path) -> None:
    base, control = site
    source = source_for(base, tmp_path)
    state = source.sync()
    assert state.error == "" and state.kind == "site"
    assert paths(source) == EXPECTED
    assert state.documents == len(EXPECTED) and state.revision == f"{len(EXPECTED)} pages"
    assert control.count("/sitemap.xml") == 1 and control.count("/robots.txt") == 1
    assert control.count("/private/secret/") == 0  # robots.txt disallows it
    assert control.count("/draft/") == 1  # fetched, but its meta robots says noindex
    assert source.url_for("correlation-id.md", "solution") == f"{base}correlation-id/#solution"


def test_link_crawl_without_sitemap(site: tuple[str, Control], tmp_path: Path) -> None:
    base, control = site
    control.missing.add("/sitemap.xml")
    (control.root / "robots.txt").write_text("User-agent: *\nDisallow: /private/\n")
    source = source_for(base, tmp_path)
    assert source.sync().error == ""
    assert paths(source) == EXPECTED
    assert control.count("/private/secret/") == 0
    assert not any(p.endswith((".css", ".js", ".png")) for p, _ in control.requests)


def test_passages_are_main_content_with_deep_links(
    site: tuple[str, Control], tmp_path: Path
) -> None:
    base, _ = site
    source = source_for(base, tmp_path)
    source.sync()
    chunks = []
    for file in source.listing().files:
        doc = load_document(file)
        assert doc.url == source.url_for(file.path)
        chunks += chunk_document(doc, 256, lambda s: len(s.split()))
    text = "\n".join(f"{c.heading}\n{c.text}" for c in chunks)
    for boilerplate in (FOOTER, "Ops Handbook", "Built with MkDocs", "Search", "Previous"):
        assert boilerplate not in text
    assert "PRIVATE-PAGE-TEXT" not in text and "DRAFT-PAGE-TEXT" not in text
    solution = [c for c in chunks if c.heading.endswith("› Solution")]
    assert solution and solution[0].url == f"{base}correlation-id/#solution"
    assert solution[0].title == "Correlation IDs"
    assert "glue that binds the transaction together" in solution[0].text


def test_unchanged_resync_downloads_nothing_and_a_change_is_fetched_alone(
    site: tuple[str, Control], tmp_path: Path
) -> None:
    base, control = site
    source = source_for(base, tmp_path)
    source.sync()
    before = {f.path: f.sha256 for f in source.listing().files}
    control.requests.clear()
    source.sync()
    assert source.report.changed == 0 and source.report.fetched == 0
    assert sum(s == 304 for _, s in control.requests) == len(EXPECTED)
    assert {f.path: f.sha256 for f in source.listing().files} == before

    page = control.root / "alerting/index.html"
    page.write_text(page.read_text().replace("</h1>", "</h1><p>PAGER-ROTATION-NOTE</p>", 1))
    source = source_for(base, tmp_path)  # a new process reads the state file
    source.sync()
    assert (source.report.fetched, source.report.changed) == (1, 1)
    after = {f.path: f.sha256 for f in source.listing().files}
    assert {p for p in after if after[p] != before[p]} == {"alerting.md"}


def test_a_changed_page_is_re_embedded_alone(site: tuple[str, Control], tmp_path: Path) -> None:
    from bot.index.cache import EmbeddingCache
    from bot.index.embedder import Embedder
    from bot.ingest.embed import embed_with_cache
    from bot.ingest.pipeline import build_chunks

    base, control = site
    settings = Settings(data_dir=tmp_path / "data", index_dir=tmp_path / "index")
    source = SiteSource(parse_source(base), settings)
    embedder = Embedder(settings.embedding_model)
    cache = EmbeddingCache(tmp_path / "embeddings.sqlite", embedder.name)

    def embed() -> int:
        chunks, _, skipped = build_chunks(list(source.listing().files), settings, embedder)
        assert not skipped
        return embed_with_cache(chunks, cache, embedder, show_progress=False)[2]

    source.sync()
    first = embed()
    assert first > 5
    source.sync()
    assert embed() == 0  # unchanged site: nothing to embed
    page = control.root / "alerting/index.html"
    page.write_text(page.read_text().replace("</h1>", "</h1><p>PAGER-ROTATION-NOTE</p>", 1))
    source.sync()
    changed = embed()
    assert 1 <= changed < first
    cache.close()


def test_a_404_page_leaves_the_listing(site: tuple[str, Control], tmp_path: Path) -> None:
    base, control = site
    source = source_for(base, tmp_path)
    source.sync()
    control.missing.add("/alerting/")
    state = source.sync()
    assert state.error == ""
    assert paths(source) == EXPECTED - {"alerting.md"}
    assert source.report.removed == [f"{base}alerting/"]
    assert not (tmp_path / "data/sources/127.0.0.1/pages/alerting.md").exists()


def test_slow_page_and_redirect_loop_are_bounded(site: tuple[str, Control], tmp_path: Path) -> None:
    base, control = site
    control.slow.add("/alerting/")
    control.redirects.update({"/loop-a/": "/loop-b/", "/loop-b/": f"{base}loop-a/"})
    sitemap = control.root / "sitemap.xml"
    sitemap.write_text(
        sitemap.read_text().replace("</urlset>", f"<url><loc>{base}loop-a/</loc></url></urlset>")
    )
    source = source_for(base, tmp_path, site_timeout=0.5)
    started = time.monotonic()
    state = source.sync()
    assert time.monotonic() - started < 5
    assert state.error == ""  # one slow page does not fail the sync
    assert paths(source) == EXPECTED - {"alerting.md"}
    failed = dict(line.rsplit(": ", 1) for line in source.report.failed)
    assert failed == {
        f"{base}alerting/": "timed out after 0.5s",
        f"{base}loop-a/": f"redirect loop at {base}loop-b/",
    }
    assert control.count("/loop-a/") + control.count("/loop-b/") <= 6


def test_a_failed_sync_keeps_the_last_good_pages(
    site: tuple[str, Control], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    base, control = site
    url = base.replace("http://", "http://deploy:s3cret-token@")
    source = source_for(url, tmp_path)
    assert source.sync().error == ""
    before = source.listing()
    control.down = True
    with caplog.at_level(logging.INFO):
        state = source.sync()
    assert "503" in state.error
    assert source.listing() == before and state.documents == len(EXPECTED)
    assert "s3cret" not in state.error + state.location + caplog.text
    assert state.location == base


def test_page_cap(site: tuple[str, Control], tmp_path: Path) -> None:
    base, _ = site
    source = source_for(base, tmp_path, site_max_pages=2)
    source.sync()
    assert len(paths(source)) <= 2


@pytest.mark.parametrize(
    ("url", "prefix", "path"),
    [
        ("https://d.org/guide/install/", "/guide/", "install.md"),
        ("https://d.org/guide/", "/guide/", "index.md"),
        ("https://d.org/guide/a/b.html", "/guide/", "a/b.md"),
        ("https://d.org/guide/a/index.html", "/guide/", "a.md"),
        ("https://d.org/guide/../.env", "/guide/", "env.md"),
        ("https://d.org/guide/%C3%A9t%C3%A9/", "/guide/", "été.md"),
    ],
)
def test_page_paths(url: str, prefix: str, path: str) -> None:
    assert page_path(url, prefix) == path


def test_site_settings_from_the_environment() -> None:
    from bot.config import ConfigError, from_env

    settings = from_env({"SITE_MAX_PAGES": "50", "SITE_CONCURRENCY": "2", "SITE_TIMEOUT": "2.5"})
    assert (settings.site_max_pages, settings.site_concurrency) == (50, 2)
    assert settings.site_timeout == 2.5 and settings.site_budget == Settings().site_budget
    with pytest.raises(ConfigError):
        from_env({"SITE_CONCURRENCY": "0"})


def test_trafilatura_stays_off_the_import_path() -> None:
    code = "import sys, bot.sources.site, bot.ingest.loaders; print('trafilatura' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_sitemap_naming_another_host_falls_back_to_links(
    site: tuple[str, Control], tmp_path: Path
) -> None:
    base, control = site
    source = source_for(base.replace("127.0.0.1", "localhost"), tmp_path)
    assert source.sync().error == ""
    assert paths(source) == EXPECTED  # the sitemap's 127.0.0.1 URLs are not this host's
    assert control.count("/private/secret/") == 0


def test_a_sync_out_of_budget_keeps_what_it_could_not_check(
    site: tuple[str, Control], tmp_path: Path
) -> None:
    base, control = site
    source_for(base, tmp_path).sync()
    control.slow.add("/alerting/")
    page = control.root / "alerting/index.html"  # changed, so it is sent (slowly), not a 304
    page.write_text(page.read_text().replace("</h1>", "</h1><p>PAGER-ROTATION-NOTE</p>", 1))
    source = source_for(base, tmp_path, site_budget=1.0, site_timeout=1.5, site_concurrency=1)
    started = time.monotonic()
    state = source.sync()
    assert time.monotonic() - started < 4
    assert state.error == "stopped after SITE_BUDGET=1s"
    assert paths(source) == EXPECTED


def test_crawl_delay_is_honoured(site: tuple[str, Control], tmp_path: Path) -> None:
    base, control = site
    robots = control.root / "robots.txt"  # urllib.robotparser reads whole seconds only
    robots.write_text(robots.read_text().replace("Disallow:", "Crawl-delay: 1\nDisallow:"))
    source = source_for(base, tmp_path, site_max_pages=3)
    control.requests.clear()
    started = time.monotonic()
    assert source.sync().error == ""
    assert time.monotonic() - started >= 2.0  # three pages, one at a time, a second apart
    assert len(paths(source)) == 3
