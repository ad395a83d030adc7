"""OCREncoder: settings -> cache key without a model; memes, screenshots and small print read with the real models."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from postlens.encoders.base import cache_key
from postlens.encoders.image.ocr import OCREncoder
from postlens.errors import ConfigError

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")


def _font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    path = FONT_DIR / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")
    return ImageFont.truetype(str(path), size) if path.exists() else ImageFont.load_default(size=size)


def _noisy_photo(width: int, height: int, seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    colours = Image.fromarray(rng.integers(0, 256, (4, 5, 3), dtype=np.uint8))
    field = colours.resize((width, height), Image.Resampling.BICUBIC)
    noise = rng.normal(0, 12, (height, width, 3))
    return Image.fromarray(np.clip(np.asarray(field, np.float32) + noise, 0, 255).astype(np.uint8))


def _meme(path: Path, top: str, bottom: str, seed: int = 0) -> Path:
    """Outlined white capitals at the top and bottom of a busy background, as meme generators draw them."""
    image = _noisy_photo(800, 700, seed)
    draw = ImageDraw.Draw(image)
    font = _font(64, bold=True)
    for text, y in ((top, 30), (bottom, 600)):
        x = (800 - font.getlength(text)) / 2
        draw.text((x, y), text, font=font, fill="white", stroke_width=4, stroke_fill="black")
    image.save(path, quality=90)
    return path


def _screenshot(path: Path, lines: list[str]) -> Path:
    image = Image.new("RGB", (900, 80 + 48 * len(lines)), "white")
    draw = ImageDraw.Draw(image)
    for row, text in enumerate(lines):
        draw.text((40, 40 + 48 * row), text, font=_font(30), fill=(15, 20, 25))
    image.save(path)
    return path


# ------------------------------------------------------------------ settings (no model)


@pytest.mark.parametrize(
    "setting",
    [
        {"min_score": 0.8},
        {"max_side": 1600},
        {"det_side": 512},
        {"use_angle_classifier": True},
        {"max_pixels": 10_000_000},
    ],
)
def test_every_output_setting_changes_the_cache_key(setting: dict[str, object]) -> None:
    assert cache_key(OCREncoder(**setting)) != cache_key(OCREncoder())


def test_thread_count_does_not_change_the_cache_key_and_full_size_settings_share_one() -> None:
    assert cache_key(OCREncoder(num_threads=1)) == cache_key(OCREncoder(num_threads=3)) == cache_key(OCREncoder())
    assert cache_key(OCREncoder(det_side=1024)) == cache_key(OCREncoder(det_side=4000))  # both: detect at max_side


def test_a_changed_setting_after_construction_changes_the_key() -> None:
    encoder = OCREncoder()
    before = cache_key(encoder)
    encoder.min_score = 0.9
    assert cache_key(encoder) != before


@pytest.mark.parametrize(
    "setting, word",
    [
        ({"min_score": 1.5}, "min_score"),
        ({"det_side": 8}, "det_side"),
        ({"max_side": 0}, "max_side"),
        ({"num_threads": 0}, "num_threads"),
    ],
)
def test_bad_settings_are_refused_by_name(setting: dict[str, object], word: str) -> None:
    with pytest.raises(ConfigError, match=word):
        OCREncoder(**setting)


def test_defaults_use_every_core_this_process_may_use() -> None:
    import os

    expected = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert OCREncoder().num_threads == expected


def test_pickling_keeps_settings_and_drops_models() -> None:
    encoder = OCREncoder(min_score=0.7, det_side=512, num_threads=1)
    copy = pickle.loads(pickle.dumps(encoder))
    assert copy.version == encoder.version and copy.num_threads == 1 and copy._models is None


# ------------------------------------------------------------------ reading (real models)


@pytest.mark.slow
def test_reads_meme_captions_and_screenshot_lines_in_order(tmp_path: Path) -> None:
    meme = _meme(tmp_path / "meme.jpg", "WHEN THE WIFI DROPS", "EVERYONE STARES")
    lines = ["Breaking news from the river", "roads closed until monday", "stay indoors tonight"]
    shot = _screenshot(tmp_path / "shot.png", lines)
    blank = tmp_path / "blank.jpg"
    _noisy_photo(640, 480, seed=5).save(blank)
    encoder = OCREncoder(num_threads=1)
    meme_out, shot_out, blank_out, missing = encoder.encode([meme, shot, blank, tmp_path / "missing.png"])
    assert meme_out.error is None and meme_out.text.splitlines() == ["WHEN THE WIFI DROPS", "EVERYONE STARES"]
    assert shot_out.text.lower().splitlines() == [line.lower() for line in lines]
    assert shot_out.info["has_text"] and len(shot_out.info["boxes"]) == len(shot_out.info["lines"]) == 3
    assert all(score >= encoder.min_score for score in shot_out.info["scores"])
    assert blank_out.text == "" and blank_out.info["has_text"] is False
    assert missing.error.startswith("missing:")
    assert encoder.times.images == 3 and encoder.times.lines >= 5


@pytest.mark.slow
def test_boxes_are_in_the_original_image_pixels(tmp_path: Path) -> None:
    path = tmp_path / "wide.png"
    image = Image.new("RGB", (2400, 600), "white")
    ImageDraw.Draw(image).text((1500, 400), "bottom right corner", font=_font(60), fill="black")
    image.save(path)
    out = OCREncoder(num_threads=1).encode([path])[0]
    assert out.text == "bottom right corner"
    xs = [x for x, _ in out.info["boxes"][0]]
    ys = [y for _, y in out.info["boxes"][0]]
    assert 1400 < min(xs) < max(xs) < 2400 and 380 < min(ys) < max(ys) < 500


@pytest.mark.slow
def test_small_print_missed_at_detection_size_is_found_at_full_size(tmp_path: Path) -> None:
    grey_noise = np.random.default_rng(3).integers(90, 110, (1200, 1600, 3), dtype=np.uint8)
    image = Image.fromarray(grey_noise)
    draw = ImageDraw.Draw(image)
    draw.text((200, 100), "BIG HEADLINE", font=_font(110, bold=True), fill="white", stroke_width=4, stroke_fill="black")
    draw.text((60, 1120), "photo credit: river news agency 2024", font=_font(12), fill="white")
    path = tmp_path / "credit.png"
    image.save(path)
    encoder = OCREncoder(num_threads=1)  # det_side 640: the 12 px credit is ~5 px there
    out = encoder.encode([path])[0]
    assert "river news agency" in out.text and out.text.startswith("BIG HEADLINE")
    assert encoder.times.full_size_detections == 1


@pytest.mark.slow
def test_output_does_not_depend_on_threads_or_on_the_other_images_of_the_call(tmp_path: Path) -> None:
    paths = [
        _meme(tmp_path / f"m{i}.jpg", top, "SHARE IF YOU AGREE", seed=i)
        for i, top in enumerate(["NOBODY TOLD ME", "THIS IS FINE", "COFFEE FIRST"])
    ]
    paths.append(_screenshot(tmp_path / "s.png", ["one weird trick", "teachers hate him"]))
    alone = [OCREncoder(num_threads=1).encode([p])[0] for p in paths]
    together = OCREncoder(num_threads=1).encode(paths)
    parallel = OCREncoder(num_threads=3).encode(paths)
    for a, b, c in zip(alone, together, parallel):
        assert a.text == b.text == c.text and a.info == b.info == c.info
    assert [f.text.splitlines()[0] for f in alone[:3]] == ["NOBODY TOLD ME", "THIS IS FINE", "COFFEE FIRST"]


@pytest.mark.slow
def test_in_memory_frames_read_like_files(tmp_path: Path) -> None:
    path = _screenshot(tmp_path / "frame.png", ["caption on a video frame"])
    encoder = OCREncoder(num_threads=2)
    from_file = encoder.encode([path])[0]
    from_memory = encoder.encode_images([Image.open(path).convert("RGB"), Image.open(path).convert("L")])
    assert from_memory[0].text == from_file.text == "caption on a video frame"
    assert from_memory[1].text == from_file.text  # any mode is converted to RGB first


@pytest.mark.slow
def test_one_unreadable_image_does_not_stop_the_batch(tmp_path: Path) -> None:
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 40)
    good = _screenshot(tmp_path / "good.png", ["still read"])
    out = OCREncoder(num_threads=2).encode([broken, good, broken])
    assert out[0].error and out[2].error and "broken.jpg" in out[0].error
    assert out[1].error is None and out[1].text == "still read"
