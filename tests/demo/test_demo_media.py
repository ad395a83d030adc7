"""Every referenced media file exists, opens, and carries what truth.json says it does."""

from __future__ import annotations

import itertools
import wave

import av
import numpy as np
import pytest
from PIL import Image

from postlens.demo.scenes import CAPTION_BAND_RGB
from postlens.media.sniff import sniff_bytes


def parts_of(demo_posts, demo_truth, kind):
    for record, truth in zip(demo_posts, demo_truth["posts"], strict=True):
        for part, part_truth in zip(record["media"], truth["media"], strict=True):
            if part["kind"] == kind:
                yield record, truth, part, part_truth


def test_every_referenced_file_exists_and_is_sniffed_as_its_kind(demo_corpus, demo_posts):
    referenced = set()
    for record in demo_posts:
        for part in record["media"]:
            path = demo_corpus.out_dir / part["source_path"]
            assert path.is_file(), f"{record['id']} points to missing {path}"
            sniffed = sniff_bytes(path.read_bytes()[:64])
            assert sniffed is not None and sniffed.kind == part["kind"] and sniffed.mime == part["mime"], path
            referenced.add(path.name)
    on_disk = {p.name for p in demo_corpus.media_dir.iterdir()}
    assert on_disk == referenced, "media/ holds files no post references"
    assert demo_corpus.n_media_files == len(referenced)


def test_images_open_with_the_declared_size(demo_corpus, demo_posts, demo_truth):
    for _, _, part, _ in parts_of(demo_posts, demo_truth, "image"):
        with Image.open(demo_corpus.out_dir / part["source_path"]) as image:
            image.load()
            assert image.size == (part["width"], part["height"])


def band_stats(image: Image.Image, top: int, bottom: int) -> tuple[float, float]:
    """(share of band pixels close to the band colour, share of dark text pixels) in the caption band."""
    rgb = np.asarray(image.convert("RGB"), dtype=np.int16)[top:bottom]
    light = (np.abs(rgb - np.array(CAPTION_BAND_RGB)).max(axis=2) < 40).mean()
    dark = (rgb.max(axis=2) < 90).mean()
    return float(light), float(dark)


def test_image_captions_are_dark_text_on_a_light_band(demo_corpus, demo_posts, demo_truth):
    checked = 0
    for _, _, part, truth in parts_of(demo_posts, demo_truth, "image"):
        top, bottom = truth["caption_band"]
        assert truth["caption"] and truth["font_size"] >= 18, "caption too small for OCR"
        with Image.open(demo_corpus.out_dir / part["source_path"]) as image:
            light, dark = band_stats(image, top, bottom)
            assert light > 0.6 and 0.03 < dark < 0.4, (part["source_path"], light, dark)
            # Outside the band the picture is not the band colour: the band really is a band.
            rows = slice(bottom, None) if top == 0 else slice(0, top)
            outside = np.asarray(image.convert("RGB"), dtype=np.int16)[rows]
            assert (np.abs(outside - np.array(CAPTION_BAND_RGB)).max(axis=2) < 40).mean() < 0.5
        checked += 1
    assert checked > 50


def test_gifs_are_animated_with_a_caption(demo_corpus, demo_posts, demo_truth):
    gifs = list(parts_of(demo_posts, demo_truth, "gif"))
    assert gifs
    for _, _, part, truth in gifs:
        with Image.open(demo_corpus.out_dir / part["source_path"]) as image:
            assert image.format == "GIF" and image.n_frames == truth["frames"] > 1
            assert image.info.get("loop") == 0
            light, dark = band_stats(image, *truth["caption_band"])
            assert light > 0.5 and dark > 0.02


def test_videos_have_video_and_audio_streams_of_the_written_duration(demo_corpus, demo_posts, demo_truth):
    videos = list(parts_of(demo_posts, demo_truth, "video"))
    assert videos
    for _, _, part, truth in videos:
        with av.open(str(demo_corpus.out_dir / part["source_path"])) as container:
            kinds = {s.type: s for s in container.streams}
            assert set(kinds) == {"video", "audio"}
            assert kinds["video"].codec_context.name == "h264" and kinds["audio"].codec_context.name == "aac"
            assert container.duration / 1e6 == pytest.approx(truth["duration_s"], abs=0.15)
            frames = sum(1 for _ in container.decode(video=0))
            assert frames == round(truth["duration_s"] * truth["fps"])


def test_scene_change_happens_at_the_recorded_time(demo_corpus, demo_posts, demo_truth):
    changed = [x for x in parts_of(demo_posts, demo_truth, "video") if x[3]["scene_change_s"] is not None]
    assert len(changed) >= 2
    for _, _, part, truth in changed:
        with av.open(str(demo_corpus.out_dir / part["source_path"])) as container:
            frames = [f.to_ndarray(format="rgb24").astype(np.float32) for f in container.decode(video=0)]
        change = round(truth["scene_change_s"] * truth["fps"])
        diffs = [np.abs(a - b).mean() for a, b in itertools.pairwise(frames)]
        assert int(np.argmax(diffs)) + 1 == change, (part["source_path"], diffs)


def dominant_hz(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[np.argmax(spectrum)])


def test_wav_clips_are_readable_tones_at_the_topic_pitch(demo_corpus, demo_posts, demo_truth):
    clips = list(parts_of(demo_posts, demo_truth, "audio"))
    assert clips
    for _, _, part, truth in clips:
        with wave.open(str(demo_corpus.out_dir / part["source_path"])) as reader:
            rate, n = reader.getframerate(), reader.getnframes()
            assert reader.getnchannels() == 1 and reader.getsampwidth() == 2
            samples = np.frombuffer(reader.readframes(n), dtype="<i2").astype(np.float32) / 32768
        assert n / rate == pytest.approx(truth["duration_s"], abs=0.01)
        # The first quarter is one note: the fundamental times one of the planted ratios.
        note = samples[int(0.05 * n) : int(0.2 * n)]
        peak = dominant_hz(note, rate)
        ratios = np.array([1.0, 1.25, 1.5, 2.0]) * truth["tone_hz"]
        assert np.min(np.abs(ratios - peak) / ratios) < 0.03, (part["source_path"], peak, ratios)
