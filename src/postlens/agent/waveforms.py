"""Raw audio crops of new posts for models whose fusion network reads the waveform (RawNet trained end to end)."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence

import numpy as np

from postlens.agent.inputs import AgentPost
from postlens.models.config import WaveformConfig
from postlens.types import Modality


def crops_of(posts: Sequence[AgentPost], config: WaveformConfig) -> list[np.ndarray | None]:
    """Per post, the float16 crops of its first decodable audio file (then video sound tracks when
    ``from_video``), as ``models/waveform.load_waveforms`` gives stored posts; decoded in a temporary folder."""
    from postlens.encoders.audio.rawnet import CropCache

    kinds = [Modality.AUDIO, Modality.VIDEO] if config.from_video else [Modality.AUDIO]
    out: list[np.ndarray | None] = []
    with tempfile.TemporaryDirectory(prefix="postlens-agent-crops-") as folder:
        cache = CropCache(folder, seconds=config.seconds, max_crops=config.max_crops)
        for post in posts:
            paths = [m.path for kind in kinds for m in post.media if m.kind == kind]
            found = next((r.crops for r in cache.get(list(paths)) if r.crops is not None), None) if paths else None
            out.append(None if found is None else found.astype(np.float16))
    return out
