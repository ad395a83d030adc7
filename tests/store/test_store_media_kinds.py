"""A media part's kind comes from its streams: an mp4/webm/mov with only sound is audio, and reaches the audio encoder."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from postlens.demo.clips import write_mp4
from postlens.store.features import FeatureCache
from postlens.store.ingest import ingest
from postlens.store.media_store import MediaStore
from postlens.store.workspace import Workspace
from postlens.types import MediaPart, Modality, Post

SR = 16000


def tone(seconds: float = 1.5, hz: float = 440.0) -> np.ndarray:
    t = np.arange(int(SR * seconds)) / SR
    return (0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def write_audio_only(path: Path, container_format: str, codec: str, samples: np.ndarray) -> Path:
    """A container that usually holds video (mp4, webm, mov) with one audio stream and nothing else."""
    rate = 48000 if codec == "libopus" else SR
    if rate != SR:
        samples = np.interp(
            np.arange(int(len(samples) * rate / SR)) * SR / rate, np.arange(len(samples)), samples
        ).astype(np.float32)
    with av.open(str(path), "w", format=container_format) as container:
        stream = container.add_stream(codec, rate=rate, layout="mono")
        frame_size = 960 if codec == "libopus" else 1024
        for start in range(0, len(samples) - frame_size + 1, frame_size):
            frame = av.AudioFrame.from_ndarray(
                samples[None, start : start + frame_size], format=_fmt(codec), layout="mono"
            )
            frame.sample_rate, frame.pts = rate, start
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def _fmt(codec: str) -> str:
    return "flt" if codec == "libopus" else "fltp"


@pytest.mark.parametrize(
    ("name", "fmt", "codec", "mime", "ext"),
    [
        ("voice.mp4", "mp4", "aac", "audio/mp4", ".m4a"),
        ("voice.mov", "mov", "aac", "audio/quicktime", ".mov"),
        ("voice.webm", "webm", "libopus", "audio/webm", ".webm"),
        ("voice.mkv", "matroska", "aac", "audio/webm", ".webm"),
    ],
)
def test_audio_only_containers_are_stored_as_audio(
    tmp_path: Path, name: str, fmt: str, codec: str, mime: str, ext: str
) -> None:
    write_audio_only(tmp_path / name, fmt, codec, tone())
    stored = MediaStore(tmp_path / "ws").add_file(name, tmp_path)
    assert (stored.kind, stored.mime, Path(stored.path).suffix) == (Modality.AUDIO, mime, ext)
    assert stored.width is None and stored.duration_s is not None and 1.0 < stored.duration_s < 2.5


def test_an_mp4_with_pictures_stays_video(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (64, 48), (i * 20, 0, 0)) for i in range(8)]
    write_mp4(tmp_path / "clip.mp4", frames, tone(1.0), fps=8, size=(64, 48), sample_rate=SR)
    stored = MediaStore(tmp_path / "ws").add_file("clip.mp4", tmp_path)
    assert (stored.kind, stored.mime, stored.width, stored.height) == (Modality.VIDEO, "video/mp4", 64, 48)


def test_audio_only_mp4_is_featurized_by_the_audio_encoder(tmp_path: Path) -> None:
    """Imported as a video part by its name, stored as audio by its streams, encoded by ``audio``."""
    from postlens.pipeline.featurize import featurize

    write_audio_only(tmp_path / "voice.mp4", "mp4", "aac", tone(2.0))
    post = Post(
        source="t",
        native_id="1",
        platform="test",
        created_at=None,
        text="listen",
        media=[MediaPart(Modality.VIDEO, source_path="voice.mp4", root=str(tmp_path))],
        origin_line=1,
    )

    class One:
        name = "one"

        def iter_records(self, path: Path):
            yield post

    with Workspace(tmp_path / "ws") as ws:
        ingest(ws, One(), [tmp_path])
        kind, sha = ws.db.execute("SELECT kind, sha256 FROM media WHERE post_id = 't:1'").fetchone()
        assert kind == "audio"
        assert ws.db.execute("SELECT media_kinds FROM posts").fetchone()[0] == ["audio"]
        summary = featurize(ws, encoders=["audio"], parallel_ocr=False)
        (run,) = [r for r in summary.runs if r.encoder.startswith("audio")]
        assert (run.items, run.computed, run.errors) == (1, 1, 0), run
        assert ws.db.execute("SELECT count(*) FROM feature_errors").fetchone()[0] == 0
        (folder,) = [p.name for p in ws.features_dir.iterdir() if p.name.startswith("audio")]  # audio-<model>@<v>
        found = FeatureCache(ws.features_dir).read(folder, [sha])
        assert sha in found and found[sha].vector is not None and found[sha].vector.size > 0
