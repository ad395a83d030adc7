"""Image encoders: label names, EfficientNet vectors + labels, OCR text, stats and hashes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from _image_fixtures import animated_gif, draw_clock, draw_crossword, draw_words
from PIL import Image

from postlens.encoders.image.labels import imagenet_class_names, top_labels
from postlens.encoders.image.phash import hash_distance
from postlens.encoders.image.stats import STATS_FIELDS, ImageStatsEncoder, colourfulness


def test_imagenet_names_are_in_standard_order() -> None:
    names = imagenet_class_names()
    assert len(names) == 1000
    known = {
        0: "tench",
        1: "goldfish",
        2: "great white shark",
        281: "tabby",
        409: "analog clock",
        918: "crossword puzzle",
        948: "Granny Smith",
        999: "toilet tissue",
        151: "Chihuahua",
        340: "zebra",
        530: "digital clock",
        892: "wall clock",
        954: "banana",
    }
    for index, name in known.items():
        assert names[index] == name, index
    assert len(set(names)) == 998  # the standard list repeats "crane" and "maillot"


def test_top_labels_sorted() -> None:
    probs = np.zeros(1000)
    probs[[409, 892, 3]] = [0.6, 0.3, 0.1]
    labels = top_labels(probs, k=3)
    assert [label["name"] for label in labels] == ["analog clock", "wall clock", "tiger shark"]


def test_stats_encoder(tmp_path: Path) -> None:
    white = tmp_path / "white.png"
    Image.new("RGB", (300, 100), "white").save(white)
    grey = tmp_path / "grey.png"
    Image.new("RGB", (100, 100), (128, 128, 128)).save(grey)
    colourful = tmp_path / "colour.png"
    stripes = np.zeros((100, 100, 3), dtype=np.uint8)
    stripes[:, :50] = (255, 0, 0)
    stripes[:, 50:] = (0, 0, 255)
    Image.fromarray(stripes).save(colourful)
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"")
    out = ImageStatsEncoder().encode([white, grey, colourful, bad])
    assert out[0].vector.shape == (len(STATS_FIELDS),)
    assert out[0].info["brightness"] > 0.99 and out[0].info["aspect_ratio"] == 3.0
    assert out[0].info["log_aspect"] > 1.0
    assert out[1].info["colourfulness"] == 0.0 and abs(out[1].info["brightness"] - 0.5) < 0.01
    assert out[2].info["colourfulness"] > 1.0
    assert len(out[0].info["phash"]) == 16
    assert out[3].error is not None and out[3].error.startswith("empty:")


def test_phash_finds_resized_copies() -> None:
    clock = draw_clock()
    copy_small = clock.resize((150, 150))
    other = draw_crossword()
    from postlens.encoders.image.phash import perceptual_hash

    assert hash_distance(perceptual_hash(clock), perceptual_hash(copy_small)) <= 6
    assert hash_distance(perceptual_hash(clock), perceptual_hash(other)) > 16


def test_colourfulness_of_grey_is_zero() -> None:
    assert colourfulness(np.full((8, 8, 3), 90, dtype=np.uint8)) == 0.0


@pytest.mark.slow
def test_efficientnet_labels_vectors_and_errors(tmp_path: Path) -> None:
    from postlens.encoders.image.efficientnet import EfficientNetEncoder

    clock = tmp_path / "clock.png"
    draw_clock().save(clock)
    crossword = tmp_path / "crossword.jpg"
    draw_crossword().save(crossword, quality=92)
    gif = animated_gif(tmp_path / "anim.gif", frames=10)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 10)
    encoder = EfficientNetEncoder(batch_size=2, max_frames=4)
    out = encoder.encode([clock, broken, crossword, gif])
    assert [f.error is None for f in out] == [True, False, True, True]
    assert out[1].error.split(":")[0] in ("corrupt", "truncated", "unsupported")
    for features in (out[0], out[2], out[3]):
        assert features.vector.shape == (1280,) and features.vector.dtype == np.float32
        probs = [label["prob"] for label in features.info["labels"]]
        assert len(probs) == 5 and probs == sorted(probs, reverse=True) and sum(probs) <= 1.0001
    clock_names = [label["name"] for label in out[0].info["labels"][:2]]
    assert "analog clock" in clock_names or "wall clock" in clock_names
    assert out[2].info["labels"][0]["index"] == 918  # crossword puzzle
    assert out[3].info["frame_count"] == 10 and out[3].info["frames_used"] == 4
    embeddings, probabilities = encoder.forward(np.zeros((1, 3, 224, 224), dtype=np.float32))
    assert embeddings.shape == (1, 1280) and probabilities.shape == (1, 1000)


@pytest.mark.slow
def test_ocr_reads_a_drawn_word(tmp_path: Path) -> None:
    from postlens.encoders.image.ocr import OCREncoder

    words = tmp_path / "words.png"
    draw_words(["HELLO WORLD", "postlens reads"]).save(words)
    blank = tmp_path / "blank.png"
    Image.new("RGB", (400, 300), (90, 140, 200)).save(blank)
    out = OCREncoder().encode([words, blank, tmp_path / "missing.png"])
    assert out[0].error is None
    assert "HELLO WORLD" in out[0].text.upper()
    lines = out[0].text.split("\n")
    assert lines[0].upper().startswith("HELLO") and "reads" in lines[-1].lower()  # reading order
    assert out[0].info["has_text"] and len(out[0].info["boxes"]) == len(out[0].info["lines"])
    assert out[1].text == "" and out[1].info["has_text"] is False
    assert out[2].error.startswith("missing:")
