"""Embeddings from an OpenAI-compatible server (EMBEDDING_BASE_URL): text-embeddings-inference,
vLLM, llama.cpp, Ollama or a hosted API, instead of the in-process model.

Texts go in batches of EMBEDDING_BATCH, at most EMBEDDING_CONCURRENCY requests at a time;
a 429 or 5xx is retried with backoff (honouring Retry-After), anything else fails in one line.
A batch that times out (EMBEDDING_TIMEOUT) is not sent again whole: a server slower than
the batch size assumed (one CPU thread, a queue) gets it in halves, down to one text.
Answer units are embedded as their own texts (a server gives no token vectors to pool).
Only the standard library is used: no extra dependency on this path.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from urllib.parse import unquote, urlsplit, urlunsplit

import numpy as np

from bot.index.embedder import Embedder, ModelError

RETRIES = 5
TIMEOUT_SECONDS = 120.0


class EmbeddingServerError(ModelError):
    """The embeddings server refused, failed or answered something unusable."""


class _TimedOut(EmbeddingServerError):
    """A request of several texts took longer than the timeout: split it, don't resend it."""


class ServerEmbedder(Embedder):
    """The `Embedder` interface over POST {base_url}/embeddings."""

    def __init__(
        self,
        base_url: str,
        model: str = "",
        api_key: str = "",
        *,
        batch: int = 64,
        concurrency: int = 4,
        timeout: float = TIMEOUT_SECONDS,
    ) -> None:
        self.base_url, self._basic = _split_credentials(base_url.rstrip("/"))
        self.model = model or "default"
        self.name = f"{self.model}@embedding-server"  # what builds record and replicas check
        self._source = ""
        self._model = None
        self.api_key = api_key
        self.batch = max(1, batch)
        self.timeout = max(1.0, timeout)
        self._slots = threading.BoundedSemaphore(max(1, concurrency))
        self._pool = ThreadPoolExecutor(max(1, concurrency), thread_name_prefix="embed")
        self._dimension: int | None = None

    @property
    def loaded(self) -> bool:
        return self._dimension is not None

    def load(self):
        """Nothing to load: checks the server answers, and learns the dimension."""
        _ = self.dimension
        return None

    @property
    def dimension(self) -> int:
        if self._dimension is None:
            self._dimension = int(self._request(["dimension"]).shape[1])
        return self._dimension

    @property
    def max_seq_length(self) -> int:
        return 512

    @cached_property
    def count_tokens(self) -> Callable[[str], int]:
        """Chunk sizes by the packaged MiniLM tokenizer: the server does not expose its own."""
        return Embedder("").count_tokens

    def encode(self, texts: Sequence[str], *, progress: Callable[[int], None] | None = None):
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        batches = [list(texts[i : i + self.batch]) for i in range(0, len(texts), self.batch)]

        def one(batch: list[str]) -> np.ndarray:
            vectors = self._halving(batch)
            if progress:
                progress(len(batch))
            return vectors

        out = np.vstack(list(self._pool.map(one, batches)))
        self._check_width(out)
        return out

    def encode_passages(
        self,
        texts: Sequence[str],
        spans: Sequence[Sequence[tuple[int, int]]],
        *,
        progress: Callable[[int], None] | None = None,
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Passage vectors, and each span's text embedded alone, all in the same batches."""
        pieces = [text[a:b] or " " for text, own in zip(texts, spans, strict=True) for a, b in own]
        passages = self.encode(texts, progress=progress)
        flat = self.encode(pieces) if pieces else np.zeros((0, passages.shape[1]), np.float32)
        units, at = [], 0
        for own in spans:
            units.append(flat[at : at + len(own)])
            at += len(own)
        return passages, units

    def encode_query(self, text: str) -> np.ndarray:
        vector = self._request([text])
        self._check_width(vector)
        return vector

    def _check_width(self, vectors: np.ndarray) -> None:
        if self._dimension is None:
            self._dimension = int(vectors.shape[1])
        elif vectors.shape[1] != self._dimension:
            raise EmbeddingServerError(
                f"{self.base_url} returned {vectors.shape[1]}-dimensional vectors after "
                f"{self._dimension}-dimensional ones; is EMBEDDING_MODEL pinned?"
            )

    def _halving(self, texts: list[str]) -> np.ndarray:
        """`texts` in one request, or in halves when that one times out."""
        try:
            return self._request(texts)
        except _TimedOut:
            half = len(texts) // 2
            return np.vstack([self._halving(texts[:half]), self._halving(texts[half:])])

    def _request(self, texts: list[str]) -> np.ndarray:
        body = json.dumps({"model": self.model, "input": texts}).encode()
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        elif self._basic:  # user:password@ in EMBEDDING_BASE_URL (a proxy's basic auth)
            headers["Authorization"] = f"Basic {self._basic}"
        url = f"{self.base_url}/embeddings"
        delay = 0.5
        for attempt in range(1, RETRIES + 1):
            request = urllib.request.Request(url, body, headers, method="POST")
            try:
                with self._slots, urllib.request.urlopen(request, timeout=self.timeout) as r:
                    return _vectors(json.load(r), len(texts), url)
            except urllib.error.HTTPError as exc:
                retry = exc.code == 429 or exc.code >= 500
                if not retry or attempt == RETRIES:
                    detail = exc.read()[:200].decode("utf-8", "replace").strip()
                    raise EmbeddingServerError(
                        f"embeddings server {url} answered HTTP {exc.code}: {detail}"
                    ) from None
                wait = _retry_after(exc.headers.get("Retry-After"), delay)
            except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
                timed_out = isinstance(getattr(exc, "reason", exc), TimeoutError)
                if timed_out and len(texts) > 1:
                    raise _TimedOut(f"{url} took over {self.timeout:g} s") from None
                if timed_out and attempt == RETRIES:
                    raise EmbeddingServerError(
                        f"embeddings server {url} took over {self.timeout:g} s for one text, "
                        f"{RETRIES} times; raise EMBEDDING_TIMEOUT or lower "
                        "EMBEDDING_CONCURRENCY"
                    ) from None
                if attempt == RETRIES:
                    reason = getattr(exc, "reason", exc)
                    raise EmbeddingServerError(
                        f"embeddings server {url} is unreachable ({reason})"
                    ) from None
                wait = delay
            except ValueError as exc:  # not JSON
                raise EmbeddingServerError(f"{url} did not answer JSON ({exc})") from None
            time.sleep(wait)
            delay = min(delay * 2, 8.0)
        raise AssertionError("unreachable")


def _split_credentials(url: str) -> tuple[str, str]:
    """The URL without `user:password@`, and those as a Basic credential (urllib would
    otherwise try to resolve them as part of the host, and errors would show them)."""
    parts = urlsplit(url)
    if not (parts.username or parts.password):
        return url, ""
    pair = f"{unquote(parts.username or '')}:{unquote(parts.password or '')}"
    netloc = parts.netloc.rpartition("@")[2]
    plain = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return plain, base64.b64encode(pair.encode()).decode()


def _retry_after(header: str | None, default: float) -> float:
    try:
        return min(max(float(header), 0.0), 30.0) if header else default
    except ValueError:
        return default


def _pooled(embedding: np.ndarray) -> np.ndarray:
    """One vector per input: a server without a pooling layer (llama.cpp on a generative
    model) returns one per token, which are averaged here as a sentence model would."""
    return embedding.mean(axis=0) if embedding.ndim == 2 else embedding


def _vectors(payload: dict, expected: int, url: str) -> np.ndarray:
    """The `data[].embedding` rows, in input order, L2-normalised (as the engine assumes)."""
    try:
        rows = sorted(payload["data"], key=lambda item: item.get("index", 0))
        pooled = [_pooled(np.asarray(row["embedding"], dtype=np.float32)) for row in rows]
        matrix = np.vstack(pooled) if pooled else np.zeros((0, 0), np.float32)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise EmbeddingServerError(f"{url} answered without embeddings ({exc})") from None
    if matrix.ndim != 2 or len(matrix) != expected:
        raise EmbeddingServerError(
            f"{url} returned {len(matrix)} embeddings of shape {matrix.shape[1:]} for "
            f"{expected} texts"
        )
    return matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
