"""Embeddings from an OpenAI-compatible server: the real llama.cpp server with `--embedding`
on the test GGUF (quality is irrelevant here, the plumbing is real), and a plain HTTP server
that fails before it answers, for the retries."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from bot.config import Settings
from bot.engine.engine import Engine
from bot.index.embedder import open_embedder
from bot.index.embedserver import EmbeddingServerError, ServerEmbedder

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def embedding_server(tmp_path_factory) -> Iterator[str]:
    from real_server import start
    from serve_proc import free_port

    log = tmp_path_factory.mktemp("llama-embed") / "server.log"
    proc, url = start(free_port(), log, "--embedding", "true")
    yield url
    proc.terminate()
    proc.wait(15)


def test_ingest_and_questions_embed_through_the_llama_cpp_server(
    embedding_server, index_url, tmp_path
):
    from bot.index.pgstore import DimensionMismatchError
    from bot.ingest.pipeline import ingest

    kb = tmp_path / "kb"
    kb.mkdir()
    (kb / "alpha.md").write_text("# Alpha\n\n## Restarting\n\nRestart alpha with systemctl.\n")
    settings = Settings(
        knowledge_dirs=(kb,),
        index_url=index_url,
        embedding_base_url=embedding_server,
        embedding_model="smollm2",
        embedding_batch=2,
        embedding_concurrency=2,
        decline_threshold=0.1,  # no calibration: ~100 questions through a slow test server
    )
    embedder = open_embedder(settings)
    assert isinstance(embedder, ServerEmbedder)
    summary = ingest(settings, embedder=embedder)
    assert summary.chunks == 1 and summary.embedded == 1
    engine = Engine.open(settings, notify=lambda _m: None)
    assert engine.index.dimension == embedder.dimension == 576  # SmolLM2-135M's width
    assert engine.index.manifest.model == "smollm2@embedding-server"
    answer = engine.answer("How do I restart alpha?")
    assert answer.sources and answer.sources[0].path.endswith("alpha.md")
    # the in-process model's 384-d vectors would not fit this index: refused, in one line
    local = Settings(knowledge_dirs=(kb,), index_url=index_url)
    with pytest.raises(DimensionMismatchError, match="576-dimensional .* 384-dimensional"):
        ingest(local, force=True)


class FakeEmbeddings(BaseHTTPRequestHandler):
    """An OpenAI-style /embeddings endpoint; subclasses decide what each request gets."""

    def do_POST(self) -> None:  # noqa: N802 - the http.server API
        texts = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["input"]
        self.answer(texts)

    def answer(self, texts: list[str]) -> None:
        raise NotImplementedError

    def send_vectors(self, data: list[dict]) -> None:
        payload = json.dumps({"data": data}).encode()
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except OSError:
            pass  # the client gave up waiting

    def log_message(self, *args) -> None:
        pass


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """A real HTTP server on a free port for the test's duration; yields its /v1 URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/v1"
    finally:
        server.shutdown()
        server.server_close()  # now nothing listens on that port


class Flaky(FakeEmbeddings):
    """Answers 429, then 503, then embeddings (3-d, unnormalised, out of order)."""

    calls: list[int] = []

    def answer(self, texts: list[str]) -> None:
        Flaky.calls.append(len(texts))
        if len(Flaky.calls) == 1:
            self.send_response(429)
            self.send_header("Retry-After", "0")
            self.end_headers()
        elif len(Flaky.calls) == 2:
            self.send_error(503)
        else:
            data = [{"index": i, "embedding": [3.0, 4.0, float(i)]} for i in range(len(texts))]
            self.send_vectors(list(reversed(data)))


def test_429_and_5xx_are_retried_and_an_unreachable_server_fails_in_one_line():
    with serving(Flaky) as url:
        embedder = ServerEmbedder(url, "m", batch=2)
        vectors = embedder.encode(["a", "b"])
        assert Flaky.calls == [2, 2, 2]
        np.testing.assert_allclose(vectors[0], [0.6, 0.8, 0.0], atol=1e-6)  # in input order
        assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0)
    missing = ServerEmbedder(url, "m")
    with pytest.raises(EmbeddingServerError, match="unreachable"):
        missing._request(["a"])


class NeedsBasicAuth(FakeEmbeddings):
    """Embeddings only for the right basic-auth pair, as a proxy in front of a server does."""

    def answer(self, texts: list[str]) -> None:
        if self.headers.get("Authorization") != "Basic " + base64.b64encode(b"ops:p@ss").decode():
            self.send_error(401)
        else:
            self.send_vectors([{"index": i, "embedding": [1.0, 0.0]} for i in range(len(texts))])


def test_credentials_in_the_url_are_sent_as_basic_auth_and_never_shown():
    with serving(NeedsBasicAuth) as url:
        with_credentials = url.replace("http://", "http://ops:p%40ss@")
        embedder = ServerEmbedder(with_credentials, "m")
        assert embedder.encode(["a"]).shape == (1, 2)
        assert embedder.base_url == url
        wrong = ServerEmbedder(url.replace("http://", "http://ops:nope-51b0@"), "m")
        with pytest.raises(EmbeddingServerError, match="HTTP 401") as refused:
            wrong.encode(["a"])
        assert "nope-51b0" not in str(refused.value)


class SlowForLargeBatches(FakeEmbeddings):
    """Answers two texts at once quickly; more than two take longer than the client waits,
    like a one-thread CPU server behind a queue."""

    sizes: list[int] = []

    def answer(self, texts: list[str]) -> None:
        SlowForLargeBatches.sizes.append(len(texts))
        if len(texts) > 2:
            time.sleep(1.5)  # the client gave up after 0.5 s
        self.send_vectors([{"index": i, "embedding": [1.0, float(i)]} for i in range(len(texts))])


def test_a_batch_that_times_out_is_sent_again_in_halves_not_whole():
    with serving(SlowForLargeBatches) as url:
        embedder = ServerEmbedder(url, "m", batch=8, concurrency=1, timeout=0.5)
        vectors = embedder.encode([f"text {i}" for i in range(8)])
        assert vectors.shape == (8, 2)
        assert SlowForLargeBatches.sizes == [8, 4, 2, 2, 4, 2, 2]  # never 8 twice
        np.testing.assert_allclose(vectors[:2, 1], [0.0, 0.7071068], atol=1e-6)  # input order
