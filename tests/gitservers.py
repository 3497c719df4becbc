"""Real git servers on loopback for source tests: `git daemon` (git://) and smart HTTP
through `git http-backend` run as CGI behind a small threaded WSGI server with basic auth."""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.com",
}


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, env={**os.environ, **GIT_ENV}, capture_output=True, check=True
    )
    return done.stdout.decode().strip()


class Repo:
    """A working repository pushing to a bare one under `served/`."""

    def __init__(self, root: Path, files: dict[str, str]) -> None:
        self.served = root / "served"
        self.bare = self.served / "docs.git"
        self.work = root / "work"
        self.served.mkdir(parents=True)
        git(root, "init", "-q", "--bare", "-b", "main", str(self.bare))
        git(root, "init", "-q", "-b", "main", str(self.work))
        git(self.work, "remote", "add", "origin", str(self.bare))
        self.commit(files, "first")

    def commit(self, files: dict[str, str | None], message: str, force: bool = False) -> str:
        for path, text in files.items():
            target = self.work / path
            if text is None:
                target.unlink()
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        git(self.work, "add", "-A")
        git(self.work, "commit", "-q", "-m", message)
        git(self.work, "push", "-q", *(["--force"] if force else []), "origin", "main")
        return git(self.work, "rev-parse", "HEAD")

    def rewrite(self, files: dict[str, str | None], message: str) -> str:
        """Drop the last commit and force-push a different one in its place."""
        git(self.work, "reset", "-q", "--hard", "HEAD~1")
        return self.commit(files, message, force=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_listening(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {port}")


@contextmanager
def git_daemon(base: Path) -> Iterator[str]:
    """`git daemon` exporting every repository under `base`; yields git://127.0.0.1:PORT/."""
    port = free_port()
    process = subprocess.Popen(
        [
            "git",
            "daemon",
            "--reuseaddr",
            "--export-all",
            "--listen=127.0.0.1",
            f"--port={port}",
            f"--base-path={base}",
            str(base),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_listening(port)
        yield f"git://127.0.0.1:{port}/"
    finally:
        process.terminate()
        process.wait(timeout=10)


class _Threading(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


class SmartHttp:
    """`git http-backend` behind basic auth. `die_mid_fetch` makes the next pack response
    stop half-way and the server shut down, as a server dying during a fetch does."""

    def __init__(self, base: Path, user: str, password: str) -> None:
        self.base, self.user, self.password = base, user, password
        self.die_mid_fetch = False
        self.port = free_port()
        self.server = make_server(
            "127.0.0.1", self.port, self.app, server_class=_Threading, handler_class=_Quiet
        )
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, credentials: str = "") -> str:
        auth = f"{credentials}@" if credentials else ""
        return f"http://{auth}127.0.0.1:{self.port}/"

    def app(self, environ: dict, start_response):  # type: ignore[no-untyped-def]
        expected = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        if environ.get("HTTP_AUTHORIZATION", "") != f"Basic {expected}":
            start_response("401 Unauthorized", [("WWW-Authenticate", 'Basic realm="git"')])
            return [b"auth required\n"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        cgi_env = {
            "PATH": os.environ["PATH"],
            "GIT_PROJECT_ROOT": str(self.base),
            "GIT_HTTP_EXPORT_ALL": "1",
            "REMOTE_USER": self.user,
            "REQUEST_METHOD": environ["REQUEST_METHOD"],
            "PATH_INFO": environ.get("PATH_INFO", ""),
            "QUERY_STRING": environ.get("QUERY_STRING", ""),
            "CONTENT_TYPE": environ.get("CONTENT_TYPE", ""),
            "CONTENT_LENGTH": str(len(body)),
            "HTTP_GIT_PROTOCOL": environ.get("HTTP_GIT_PROTOCOL", ""),
        }
        if environ.get("HTTP_CONTENT_ENCODING"):
            cgi_env["HTTP_CONTENT_ENCODING"] = environ["HTTP_CONTENT_ENCODING"]
        done = subprocess.run(
            ["git", "http-backend"], input=body, env=cgi_env, capture_output=True, check=False
        )
        head, _, payload = done.stdout.partition(b"\r\n\r\n")
        status, headers = "200 OK", []
        for line in head.decode().split("\r\n"):
            key, _, value = line.partition(":")
            if key.lower() == "status":
                status = value.strip()
            elif key:
                headers.append((key, value.strip()))
        if self.die_mid_fetch and environ.get("PATH_INFO", "").endswith("git-upload-pack"):
            start_response(status, headers)
            threading.Thread(target=self.server.shutdown, daemon=True).start()
            return [payload[: len(payload) // 2]]
        headers.append(("Content-Length", str(len(payload))))
        start_response(status, headers)
        return [payload]

    def __enter__(self) -> SmartHttp:
        self.thread.start()
        wait_listening(self.port)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
