"""MiniLM through ONNX Runtime: exported from the packaged weights on first use, int8 when asked.

Why int8 and not just ONNX: the fp32 graph gives torch's vectors but not a 2x speed-up, so the
runtime switch alone is not enough. ORT's stock dynamic int8 was ~2x faster but moved vectors to a
mean cosine of 0.955 to torch (one scale per weight matrix) and made a post's vector depend on the
other posts in its batch (one activation scale per batch). ``onnx_int8`` instead quantises weights
per output channel and activations per token: same speed, mean cosine ~0.997 to torch, and a post
gets the same vector whatever its batch (bench/encoders.py prints the figures and the TweetEval
emotion macro-F1 of each variant).

The mean-pooling and L2 normalisation are part of the graph, so one ``run`` gives the vectors.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np

from postlens.encoders.onnx_cache import OnnxArtifact, require_onnxruntime
from postlens.encoders.text.onnx_int8 import RECIPE as INT8_RECIPE
from postlens.encoders.text.onnx_int8 import quantize_per_token
from postlens.errors import EncoderError, MissingDependency

PRECISIONS = ("fp32", "int8")
OPSET = 17
# The exported graph must give the torch vectors back; int8 may move them, but never this far.
_MIN_PROBE_COSINE = {"fp32": 0.999, "int8": 0.97}
_PROBES = [
    "ok",
    "The game was great and the fans loved it #GameDay",
    "je suis so tired of this weather, vraiment :weary_face: #mondaymood",
    "I can't believe they cancelled the show after one season, what a waste of a great cast " * 3,
]


def export_settings(precision: str, max_seq_length: int) -> dict[str, Any]:
    """What shapes the exported file's bytes (part of its cache key and of the encoder version)."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision {precision!r} is unknown; use one of {', '.join(PRECISIONS)}")
    settings: dict[str, Any] = {
        "graph": "bert+mean-pool+l2",
        "opset": OPSET,
        "precision": precision,
        "max_seq_length": max_seq_length,
    }
    if precision == "int8":
        settings["quantization"] = INT8_RECIPE
    return settings


class OnnxSentenceModel:
    """Fast tokenizer + ONNX session: texts -> L2-normalised mean-pooled vectors."""

    def __init__(self, session: Any, tokenizer: Any, max_seq_length: int, settings: dict[str, Any]) -> None:
        self.session = session
        self.tokenizer = tokenizer
        self.max_seq_length = max_seq_length
        self.settings = settings

    def tokenize(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """ids and mask padded to the batch's longest text (not to ``max_seq_length``)."""
        encodings = self.tokenizer.encode_batch(texts)
        ids = np.array([encoding.ids for encoding in encodings], dtype=np.int64)
        mask = np.array([encoding.attention_mask for encoding in encodings], dtype=np.int64)
        return ids, mask

    def forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return self.session.run(None, {"input_ids": ids, "attention_mask": mask})[0]

    def embed(self, texts: list[str]) -> np.ndarray:
        return self.forward(*self.tokenize(texts))

    def truncates(self, text: str) -> bool:
        """True when the model reads only the first ``max_seq_length`` word pieces of ``text``."""
        return bool(self.tokenizer.encode(text).overflowing)


def load_tokenizer(model_dir: Path, max_seq_length: int) -> Any:
    """The model's own fast tokenizer (``tokenizer.json``), truncating and padding like sentence-transformers."""
    try:
        from tokenizers import Tokenizer
    except ImportError as error:
        raise MissingDependency("tokenizers", "text") from error
    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=max_seq_length)
    pad_id = tokenizer.token_to_id("[PAD]")
    tokenizer.enable_padding(pad_id=0 if pad_id is None else pad_id, pad_token="[PAD]")
    return tokenizer


def minilm_artifact(model_dir: Path, precision: str, max_seq_length: int, cache_dir: str | Path | None) -> OnnxArtifact:
    settings = export_settings(precision, max_seq_length)
    return OnnxArtifact(
        name=f"minilm-l6-{precision}",
        sources=[model_dir / "model.safetensors", model_dir / "config.json"],
        settings=settings,
        build=lambda destination: export_minilm(model_dir, destination, precision, max_seq_length),
        cache_dir=cache_dir,
    )


def load_minilm_onnx(
    model_dir: Path, precision: str, max_seq_length: int, num_threads: int, cache_dir: str | Path | None
) -> OnnxSentenceModel:
    """The cached ONNX MiniLM (exported first when missing or corrupt) with its tokenizer."""
    require_onnxruntime("text")
    artifact = minilm_artifact(model_dir, precision, max_seq_length, cache_dir)
    session = artifact.session(num_threads, "text")
    return OnnxSentenceModel(session, load_tokenizer(model_dir, max_seq_length), max_seq_length, artifact.settings)


def export_minilm(model_dir: Path, destination: Path, precision: str, max_seq_length: int) -> None:
    """Write MiniLM (+ pooling + normalisation) as ONNX at ``destination``; check it against torch."""
    try:
        import torch
        from transformers import AutoModel
    except ImportError as error:
        raise MissingDependency(error.name or "torch", "text") from error

    class MeanPooled(torch.nn.Module):
        def __init__(self, bert: Any) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            weights = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2.0, dim=1)

    # eval() on the wrapper too: torch.onnx.export restores the wrapper's own mode afterwards, and a
    # wrapper left in training mode would switch dropout back on for the check below.
    model = MeanPooled(AutoModel.from_pretrained(str(model_dir), attn_implementation="sdpa")).eval()
    float_path = destination.with_name(destination.name + ".fp32") if precision == "int8" else destination
    # The example batch MUST contain padding: with an all-ones mask transformers skips building
    # the attention mask, and the trace would bake "no padding" into the graph.
    mask = torch.tensor([[1] * 8, [1] * 5 + [0] * 3], dtype=torch.long)
    dummy = (torch.full((2, 8), 1000, dtype=torch.long) * mask, mask)
    axes = {0: "batch", 1: "tokens"}
    try:
        with torch.inference_mode(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer notes about Python booleans; the check below is the judge
            torch.onnx.export(
                model,
                dummy,
                str(float_path),
                input_names=["input_ids", "attention_mask"],
                output_names=["embedding"],
                opset_version=OPSET,
                dynamo=False,
                dynamic_axes={"input_ids": axes, "attention_mask": axes, "embedding": {0: "batch"}},
            )
        if precision == "int8":
            quantize_per_token(float_path, destination)
    finally:
        if float_path != destination:
            float_path.unlink(missing_ok=True)
    _check_against_torch(model, destination, load_tokenizer(model_dir, max_seq_length), precision)


def _check_against_torch(model: Any, path: Path, tokenizer: Any, precision: str) -> None:
    """Refuse an export whose vectors drift from torch's (a changed exporter or model class)."""
    import torch

    ort = require_onnxruntime("text")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    onnx_model = OnnxSentenceModel(session, tokenizer, 0, {})
    ids, mask = onnx_model.tokenize(_PROBES)
    with torch.inference_mode():
        expected = model(torch.from_numpy(ids), torch.from_numpy(mask)).numpy()
    cosines = (onnx_model.forward(ids, mask) * expected).sum(axis=1)
    if not np.all(cosines >= _MIN_PROBE_COSINE[precision]):
        raise EncoderError(
            f"exported MiniLM ({precision}) disagrees with torch: probe cosines {np.round(cosines, 4).tolist()}"
        )
