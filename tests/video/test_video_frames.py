"""encoders/video/frames.py: key frames for OCR, batched encoder calls, merging captions across frames."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PIL import Image

from postlens.encoders.base import Features
from postlens.encoders.video.frames import FrameBatch, merge_caption_lines, normalise_line, pick_ocr_frames
from postlens.media.video import Frame
from postlens.types import Modality


def _frames(count: int, cuts: Sequence[int] = ()) -> list[Frame]:
    return [Frame(float(i), Image.new("RGB", (8, 8)), i in cuts) for i in range(count)]


def test_pick_ocr_frames_takes_spread_frames_and_scene_starts() -> None:
    chosen = pick_ocr_frames(_frames(40, cuts=(7, 12)), max_count=6, evenly=3)
    assert chosen == [0, 7, 12, 20, 39]


def test_pick_ocr_frames_reads_a_short_clip_once_per_shot() -> None:
    assert pick_ocr_frames(_frames(4), max_count=6, evenly=3) == [0]
    assert pick_ocr_frames(_frames(4, cuts=(2,)), max_count=6, evenly=3) == [0, 2]


def test_pick_ocr_frames_caps_many_scene_changes() -> None:
    chosen = pick_ocr_frames(_frames(32, cuts=range(1, 32)), max_count=6, evenly=3)
    assert len(chosen) == 6 and chosen[0] == 0 and chosen[-1] == 31
    assert pick_ocr_frames([], max_count=6) == []


def test_repeated_captions_merge_into_one_line() -> None:
    seen = [
        (0.0, ["BREAKING: River floods town", "@newsdesk"]),
        (1.0, ["BREAKING: River fl00ds town", "@newsdesk"]),  # OCR misreads a letter on the next frame
        (2.0, ["breaking river floods town"]),
        (3.0, ["BREAKING: River floods town", "Mayor calls for calm"]),
        (4.0, ["~", "Mayor calls for calm."]),
    ]
    merged = merge_caption_lines(seen)
    assert [c.text for c in merged] == ["BREAKING: River floods town", "@newsdesk", "Mayor calls for calm"]
    assert merged[0].frames == 4 and merged[0].first_seen_s == 0.0 and merged[0].last_seen_s == 3.0


def test_different_captions_stay_apart() -> None:
    merged = merge_caption_lines([(0.0, ["Vote on Tuesday"]), (1.0, ["Vote on Thursday night instead"])])
    assert len(merged) == 2
    assert normalise_line("  Héllo,   WORLD! ") == "héllo world"


class _PathOnlyEncoder:
    """An encoder that follows the file-path contract only (no encode_images)."""

    name, version, modality, dim = "fake-path", "1", Modality.IMAGE, 3

    def __init__(self) -> None:
        self.calls: list[list[Path]] = []

    def encode(self, items: Sequence[str | Path]) -> list[Features]:
        self.calls.append([Path(p) for p in items])
        return [Features(vector=Image.open(p).convert("RGB").getpixel((0, 0))) for p in items]


def test_frame_batch_writes_temp_files_once_and_cleans_up() -> None:
    images = [Image.new("RGB", (8, 8), (i * 40, 0, 0)) for i in range(4)]
    encoder = _PathOnlyEncoder()
    with FrameBatch(images) as batch:
        all_frames = batch.encode(encoder)
        some = batch.encode(encoder, [1, 3])
        assert batch.wrote_files
        folder = encoder.calls[0][0].parent
        assert folder.exists()
    assert not folder.exists()
    assert [f.vector[0] for f in all_frames] == [0, 40, 80, 120]
    assert [f.vector[0] for f in some] == [40, 120]
    assert len(encoder.calls) == 2 and encoder.calls[1][0] == encoder.calls[0][1]


def test_frame_batch_prefers_in_memory_images() -> None:
    class InMemory(_PathOnlyEncoder):
        def encode_images(self, images: list[Image.Image]) -> list[Features]:
            return [Features(vector=image.getpixel((0, 0))) for image in images]

    encoder = InMemory()
    with FrameBatch([Image.new("RGB", (4, 4), (9, 9, 9))]) as batch:
        assert batch.encode(encoder)[0].vector == (9, 9, 9)
        assert not batch.wrote_files and not encoder.calls


def test_partial_reads_of_a_caption_merge_into_the_full_line() -> None:
    seen = [
        (0.0, ["FLOOD WARNING"]),  # the caption types itself in
        (0.5, ["FLOOD WARNING FOR THE"]),
        (1.0, ["FLOOD WARNING FOR THE RIVER VALLEY"]),
        (2.0, ["FLOOD WARNlNG FOR THE RIVER VALLEY"]),
        (3.0, ["FLOOD WARNING FOR THE RIVER VALLEY"]),
        (3.0, ["WARN"]),  # too short to count as contained: its own line
    ]
    merged = merge_caption_lines(seen)
    assert [c.text for c in merged] == ["FLOOD WARNING FOR THE RIVER VALLEY", "WARN"]
    assert merged[0].frames == 5 and merged[0].first_seen_s == 0.0
