"""A git repository, synced with the real `git` binary so SSH keys, credential helpers and
GIT_* variables work as they do in a shell.

DATA_DIR/sources/<name>/repo.git holds a shallow copy; each sync fetches the ref (the
remote's default branch when none is given) and extracts exactly that commit into
`checkout-<commit>/`, which is what gets indexed. A failed fetch keeps the last good
checkout and reports the error, scrubbed of credentials. The clone URL reaches git through
GIT_CONFIG_* variables, so a token in it is neither on a command line nor on disk.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tarfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from urllib.parse import quote, urlsplit

from bot.config import Settings
from bot.filelock import held
from bot.ingest.loaders import discover
from bot.observability.logs import Redactor
from bot.sources.anchors import fragment, git_host
from bot.sources.base import Listing, SourceError, SourceState
from bot.sources.spec import SourceSpec, without_credentials
from bot.sources.state import load_state, save_state, source_dir

_USERINFO = re.compile(r"(\b[a-z][a-z0-9+.-]*://)[^/\s@]+@", re.IGNORECASE)
KEEP_CHECKOUTS = 2  # the synced one, and the one a concurrent ingest may still be reading


class GitSource:
    """One repository (optionally one folder of it) at the commit of its last good sync."""

    def __init__(
        self, spec: SourceSpec, settings: Settings, peers: Sequence[SourceSpec] = ()
    ) -> None:
        self.spec = spec
        self.settings = settings
        self.home = source_dir(settings, spec.name)
        self.repo = self.home / "repo.git"
        self._state = load_state(settings, spec.name) or SourceState(spec.name, "git", spec.display)
        self._listing: tuple[str, Listing] | None = None

    # ---- Source ------------------------------------------------------------------------

    def sync(self) -> SourceState:
        with self._locked():
            previous = self._state
            try:
                commit = self._fetch()
                if not self._checkout(commit).is_dir():
                    self._extract(commit)
                self._state = SourceState(
                    self.spec.name,
                    "git",
                    self.spec.display,
                    synced_at=time.time(),
                    revision=commit,
                )
                self._state = replace(self._state, documents=len(self.listing().files))
                self._prune(commit)
            except SourceError as exc:
                self._state = replace(previous, location=self.spec.display, error=str(exc))
                if not self.root().is_dir():  # the last good checkout is gone too
                    self._state = replace(self._state, synced_at=None)
            save_state(self.settings, self._state)
        return self._state

    def listing(self) -> Listing:
        revision = self._state.revision
        if self._listing is None or self._listing[0] != revision:
            root = self.root()
            if not revision or not root.is_dir():
                return Listing(())
            files, skipped = discover(root, self.settings.max_file_bytes)
            self._listing = (revision, Listing(tuple(files), tuple(skipped)))
        return self._listing[1]

    def state(self) -> SourceState:
        return self._state

    def url_for(self, path: str, anchor: str = "") -> str | None:
        if self.spec.base_url:
            base = self.spec.base_url
            return base.rstrip("/") + "/" + quote(path) + fragment(base, path, anchor)
        return web_url(
            self.spec.location, self._state.revision, self.spec.subdirectory, path, anchor
        )

    # ---- the copy on disk -------------------------------------------------------------

    def root(self) -> Path:
        """The folder indexed: the synced commit's checkout (or its subdirectory)."""
        checkout = self._checkout(self._state.revision)
        return checkout / self.spec.subdirectory if self.spec.subdirectory else checkout

    def _checkout(self, commit: str) -> Path:
        return self.home / f"checkout-{commit}"

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """One sync per repository at a time, across processes (`ask` and a server)."""
        try:
            self.home.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SourceError(f"cannot create {self.home}: {exc.strerror or exc}") from None
        busy = f"another process is syncing {self.spec.name!r}"
        with held(self.home / ".lock", self.settings.source_timeout, lambda: SourceError(busy)):
            yield

    def _fetch(self) -> str:
        """Fetch the ref, one commit deep; returns the commit fetched."""
        if not (self.repo / "HEAD").exists():
            self._git("init", "--bare", "--quiet", str(self.repo), git_dir=False)
        ref = self.spec.ref or "HEAD"
        self._git("fetch", "--depth=1", "--no-tags", "--quiet", "origin", ref)
        commit = self._git("rev-parse", "--verify", "FETCH_HEAD^{commit}").strip()
        self._git("update-ref", "refs/opsbot/synced", commit)  # keeps it from gc
        return commit

    def _extract(self, commit: str) -> None:
        """Write exactly `commit`'s files (of the subdirectory) into its checkout folder."""
        target = self._checkout(commit)
        partial = self.home / f".partial-{commit}"
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        command = ["archive", "--format=tar", commit]
        if self.spec.subdirectory:
            command += ["--", self.spec.subdirectory]
        with self._popen(*command) as process:
            assert process.stdout is not None
            try:
                with tarfile.open(fileobj=process.stdout, mode="r|") as archive:
                    archive.extractall(partial, filter=_safe_member)
            except (tarfile.TarError, OSError) as exc:
                process.kill()
                shutil.rmtree(partial, ignore_errors=True)
                raise SourceError(f"cannot unpack commit {commit[:12]}: {exc}") from None
            try:
                process.wait(timeout=self.settings.source_timeout)
            except subprocess.TimeoutExpired:
                process.kill()
            stderr = process.stderr.read().decode("utf-8", "replace") if process.stderr else ""
        if process.returncode != 0:
            shutil.rmtree(partial, ignore_errors=True)
            raise SourceError(self._scrub_error("archive", stderr))
        if self.spec.subdirectory and not (partial / self.spec.subdirectory).is_dir():
            shutil.rmtree(partial, ignore_errors=True)
            raise SourceError(f"{self.spec.subdirectory!r} is not a folder at {commit[:12]}")
        os.replace(partial, target)

    def _prune(self, keep: str) -> None:
        """Drop checkouts older than the last KEEP_CHECKOUTS."""
        checkouts = sorted(
            (p for p in self.home.glob("checkout-*") if p.name != f"checkout-{keep}"),
            key=lambda p: p.stat().st_mtime,
            reverse=True,
        )
        for old in checkouts[KEEP_CHECKOUTS - 1 :]:
            shutil.rmtree(old, ignore_errors=True)

    # ---- running git ------------------------------------------------------------------

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        given = env.get("GIT_CONFIG_COUNT", "0")
        n = int(given) if given.isdigit() else 0  # keep the operator's own GIT_CONFIG_* entries
        env.update(
            {
                "GIT_TERMINAL_PROMPT": "0",  # a missing password fails, never waits on a prompt
                "GCM_INTERACTIVE": "never",
                "GIT_CONFIG_COUNT": str(n + 1),
                f"GIT_CONFIG_KEY_{n}": "remote.origin.url",
                f"GIT_CONFIG_VALUE_{n}": self.spec.location,
            }
        )
        return env

    def _command(self, args: Sequence[str], git_dir: bool = True) -> list[str]:
        return ["git", *(["--git-dir", str(self.repo)] if git_dir else []), *args]

    def _git(self, *args: str, git_dir: bool = True) -> str:
        try:
            done = subprocess.run(
                self._command(args, git_dir),
                env=self._env(),
                capture_output=True,
                timeout=self.settings.source_timeout,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            raise SourceError(
                f"git {args[0]} timed out after {self.settings.source_timeout:g}s (SOURCE_TIMEOUT)"
            ) from None
        except OSError as exc:
            raise SourceError(f"cannot run git: {exc.strerror or exc}") from None
        if done.returncode != 0:
            raise SourceError(self._scrub_error(args[0], done.stderr.decode("utf-8", "replace")))
        return done.stdout.decode("utf-8", "replace")

    def _popen(self, *args: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            self._command(args),
            env=self._env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
        )

    def _scrub_error(self, command: str, stderr: str) -> str:
        """git's complaint in one line, with no credential in it."""
        lines = [line.strip() for line in stderr.splitlines() if line.strip()]
        fatal = [line for line in lines if line.lower().startswith(("fatal:", "error:"))]
        message = (fatal or lines or [f"git {command} failed"])[0]
        message = message.replace(self.spec.location, self.spec.display)
        message = _USERINFO.sub(r"\1", message)
        return Redactor()(f"git {command}: {message}")[:300]


def _safe_member(member: tarfile.TarInfo, path: str) -> tarfile.TarInfo | None:
    """tarfile's 'data' filter, skipping (not failing on) a member it refuses, such as a
    link out of the repository."""
    try:
        return tarfile.data_filter(member, path)
    except tarfile.FilterError:
        return None


def web_root(clone_url: str) -> str:
    """`ssh://git@github.com/org/repo.git` → `https://github.com/org/repo`."""
    parts = urlsplit(without_credentials(clone_url))
    host = parts.hostname or ""
    if parts.scheme in ("http", "https") and parts.port:
        host = f"{host}:{parts.port}"
    scheme = "http" if parts.scheme == "http" else "https"
    return f"{scheme}://{host}{parts.path.rstrip('/').removesuffix('.git')}"


def web_url(
    clone_url: str, revision: str, subdirectory: str, path: str, anchor: str = ""
) -> str | None:
    """A file's page at `revision` on GitHub, GitLab, Gitea/Forgejo or Bitbucket; None for
    other hosts (give the source a base URL for those)."""
    row = git_host(clone_url)
    if row is None or not revision or not path:
        return None
    inner = f"{subdirectory}/{path}" if subdirectory else path
    url = row[1].format(root=web_root(clone_url), rev=revision, path=quote(inner))
    return url + fragment(clone_url, path, anchor)
