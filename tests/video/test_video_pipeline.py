"""VideoPipeline with small fake encoders: vector layout, sequence, text, progress, per-item failures."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from video_synth import BLUE, GREEN, RED, Segment

from postlens.encoders.base import Features
from postlens.encoders.video import META_FIELDS, VideoPipeline
from postlens.types import Modality

CAPTIONS = {"red": "BREAKING: River floods town", "blue": "Mayor calls for calm"}


def _colour_name(image: Image.Image) -> str:
    r, g, b = np.asarray(image.convert("RGB"), dtype=np.float32).reshape(-1, 3).mean(axis=0)
    return "red" if r > b and r > g else "blue" if b > g else "green"


class FakeFrameEncoder:
    """8-d vector from the mean colour; counts calls to prove frames are batched per video."""

    name, version, modality, dim = "fake-frames", "1", Modality.IMAGE, 8

    def __init__(self, fail: bool = False) -> None:
        self.calls, self.fail = 0, fail

    def encode_images(self, images: list[Image.Image]) -> list[Features]:
        self.calls += 1
        if self.fail:
            return [Features.failed("encoder_error", "boom") for _ in images]
        out = []
        for image in images:
            mean = np.asarray(image, dtype=np.float32).reshape(-1, 3).mean(axis=0) / 255
            out.append(Features(vector=np.concatenate([mean, np.zeros(5)]).astype(np.float32)))
        return out

    def encode(self, items: Sequence[str | Path]) -> list[Features]:
        return self.encode_images([Image.open(p) for p in items])


class FakeOCR:
    """Reads the caption a frame's colour stands for, with an OCR-like slip on every other call."""

    name, version, modality, dim = "fake-ocr", "1", Modality.IMAGE, 0

    def __init__(self) -> None:
        self.frames_read = 0

    def encode(self, items: Sequence[str | Path]) -> list[Features]:
        out = []
        for path in items:
            self.frames_read += 1
            caption = CAPTIONS.get(_colour_name(Image.open(path)), "")
            if self.frames_read % 2 == 0:
                caption = caption.replace("o", "0", 1)
            out.append(Features(text=caption + "\n@newsdesk" if caption else None))
        return out


class FakeAudio:
    name, version, modality, dim = "fake-audio", "1", Modality.AUDIO, 4

    def encode(self, items: Sequence[str | Path]) -> list[Features]:
        return [
            Features(
                vector=np.ones(4, np.float32), text="residents were told to stay indoors", info={"speech_ratio": 0.8}
            )
            for _ in items
        ]


@pytest.fixture
def news_video(make_video) -> Path:
    return make_video("news.mp4", [Segment(3, RED), Segment(3, BLUE)])


def test_vector_layout_and_dim_with_audio(news_video: Path) -> None:
    frames = FakeFrameEncoder()
    pipeline = VideoPipeline(frames, FakeOCR(), FakeAudio())
    assert pipeline.dim == 2 * 8 + 4 + len(META_FIELDS) and pipeline.modality == Modality.VIDEO
    [result] = pipeline.encode([news_video])
    assert result.error is None and result.vector.shape == (pipeline.dim,) and result.vector.dtype == np.float32
    layout = pipeline.layout()
    assert result.vector[layout["has_audio"]][0] == 1.0
    np.testing.assert_allclose(result.vector[layout["audio"]], 1.0)
    assert result.vector[layout["log1p_duration_s"]][0] == pytest.approx(np.log1p(6.0), abs=0.05)
    assert result.vector[layout["has_onscreen_text"]][0] == 1.0
    assert result.vector[layout["scene_cuts_per_minute"]][0] == pytest.approx(10.0, abs=0.5)  # 1 cut in 6 s
    assert frames.calls == 1  # all frames of the video in one call
    seq = result.sequence
    assert seq.shape == (len(result.info["frame_timestamps"]), 8)
    np.testing.assert_allclose(result.vector[layout["frames_mean"]], seq.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(result.vector[layout["frames_max"]], seq.max(axis=0), rtol=1e-5)
    assert result.info["scene_changes"] and abs(result.info["scene_changes"][0] - 3.0) <= 0.3


def test_text_merges_repeated_captions_and_appends_transcript(news_video: Path) -> None:
    ocr = FakeOCR()
    [result] = VideoPipeline(FakeFrameEncoder(), ocr, FakeAudio(), max_ocr_frames=6, ocr_every_s=1.0).encode(
        [news_video]
    )
    assert ocr.frames_read >= 3  # the captions were read several times...
    assert result.info["onscreen_text"] == [CAPTIONS["red"], "@newsdesk", CAPTIONS["blue"]]  # ...kept once
    assert result.text == "\n".join(result.info["onscreen_text"]) + "\n\nresidents were told to stay indoors"
    assert result.info["transcript"] == "residents were told to stay indoors"


def test_dim_is_fixed_when_the_video_has_no_audio(make_video) -> None:
    silent = make_video("silent.mp4", [Segment(2, GREEN)], audio=False)
    pipeline = VideoPipeline(FakeFrameEncoder(), FakeOCR(), FakeAudio())
    [result] = pipeline.encode([silent])
    assert result.error is None and result.vector.shape == (pipeline.dim,)
    assert result.vector[pipeline.layout()["has_audio"]][0] == 0.0
    assert not result.vector[pipeline.layout()["audio"]].any()
    assert result.text is None and result.info["video"]["has_audio"] is False


def test_bad_items_fail_alone_and_progress_is_reported(news_video: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(news_video.read_bytes()[:5000])
    seen: list[tuple[str, str, float]] = []
    pipeline = VideoPipeline(FakeFrameEncoder(), progress=lambda *event: seen.append(event))
    results = pipeline.encode([broken, news_video, tmp_path / "missing.mp4"])
    assert results[0].error.startswith("truncated:") and results[2].error.startswith("missing:")
    assert results[1].error is None and results[1].vector.shape == (pipeline.dim,)
    stages = [stage for path, stage, _ in seen if path == str(news_video)]
    assert stages == ["probe", "decode", "frames", "ocr", "done"]
    assert [f for _, _, f in seen if _ == "done"] == [1.0]


def test_frame_encoder_failing_everywhere_fails_the_item(news_video: Path) -> None:
    [result] = VideoPipeline(FakeFrameEncoder(fail=True)).encode([news_video])
    assert result.error.startswith("frame_encoder:")


def test_version_changes_with_injected_encoders() -> None:
    plain = VideoPipeline(FakeFrameEncoder())
    assert plain.version != VideoPipeline(FakeFrameEncoder(), audio=FakeAudio()).version
    assert plain.version == VideoPipeline(FakeFrameEncoder()).version and plain.version.startswith("1.")


def test_gif_encodes_as_silent_video(tmp_path: Path) -> None:
    path = tmp_path / "anim.gif"
    images = [Image.new("RGB", (40, 30), c) for c in (RED, BLUE, RED)]
    images[0].save(path, save_all=True, append_images=images[1:], duration=700, loop=0)
    pipeline = VideoPipeline(FakeFrameEncoder(), audio=FakeAudio())
    [result] = pipeline.encode([path])
    assert result.error is None and result.sequence.shape[0] >= 2
    assert result.vector[pipeline.layout()["has_audio"]][0] == 0.0


def test_factory_builds_the_default_layout_without_loading_models() -> None:
    pytest.importorskip("efficientnet_lite_pytorch")
    from postlens.encoders.video.factory import build_video_pipeline

    pipeline = build_video_pipeline(audio=False, max_frames=16)
    assert pipeline.frame_dim == 1280 and pipeline.audio is None and pipeline.max_frames == 16
    assert pipeline.dim == 2 * 1280 + len(META_FIELDS)
    assert pipeline.frame_encoder._net is None  # models load on the first video, not here
