"""Safe decoding: every bad input becomes a MediaError with a stable code; odd modes become RGB."""

from __future__ import annotations

import io
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from _image_fixtures import animated_gif, huge_png_header
from PIL import Image

from postlens.errors import MediaError, UnsupportedMedia
from postlens.media.image import (
    center_crop,
    efficientnet_array,
    load_image,
    resize_shorter_side,
    shrink_longest_side,
)


def _png_bytes(image: Image.Image, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", **kwargs)
    return buffer.getvalue()


def _jpeg_bytes(image: Image.Image, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", **kwargs)
    return buffer.getvalue()


def test_empty_file_is_named_and_coded(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    with pytest.raises(MediaError) as caught:
        load_image(empty)
    assert caught.value.code == "empty"
    assert "empty.jpg" in str(caught.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(MediaError) as caught:
        load_image(tmp_path / "nope.png")
    assert caught.value.code == "missing"


def test_corrupt_jpeg(tmp_path: Path) -> None:
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 20)
    with pytest.raises(MediaError) as caught:
        load_image(bad)
    assert caught.value.code in ("corrupt", "unsupported", "truncated")
    assert "broken.jpg" in str(caught.value)


def test_truncated_png(tmp_path: Path) -> None:
    noise = np.random.default_rng(0).integers(0, 256, (200, 200, 3), dtype=np.uint8)
    data = _png_bytes(Image.fromarray(noise))
    cut = tmp_path / "cut.png"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(MediaError) as caught:
        load_image(cut)
    assert caught.value.code == "truncated"
    assert "cut.png" in str(caught.value)


def test_huge_image_is_refused_before_allocating(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(huge_png_header(20000, 20000))
    tracemalloc.start()
    try:
        with pytest.raises(MediaError) as caught:
            load_image(bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert caught.value.code == "too_large"
    assert "bomb.png" in str(caught.value) and "400" in str(caught.value)
    assert peak < 20 * 1024 * 1024  # 400 MB would be needed to decode it


def test_max_pixels_is_configurable() -> None:
    data = _png_bytes(Image.new("RGB", (100, 100), "red"))
    with pytest.raises(MediaError) as caught:
        load_image(data, max_pixels=5_000)
    assert caught.value.code == "too_large"
    assert load_image(data, max_pixels=10_000).image.size == (100, 100)
    with pytest.raises(MediaError) as caught:  # below Pillow's own bomb limit, above ours
        load_image(huge_png_header(9000, 9000))
    assert caught.value.code == "too_large" and "9000x9000" in str(caught.value)


@pytest.mark.parametrize(
    "name, head",
    [
        ("vector.svg", b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>'),
        ("phone.heic", b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64),
        ("song.mp3", b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\x00" * 64),
        ("random.bin", b"this is not an image at all" * 4),
    ],
)
def test_unsupported_formats(tmp_path: Path, name: str, head: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(head)
    with pytest.raises(UnsupportedMedia) as caught:
        load_image(path)
    assert caught.value.code == "unsupported"
    assert name in str(caught.value)


def test_animated_gif_frames_are_sampled_and_counted(tmp_path: Path) -> None:
    decoded = load_image(animated_gif(tmp_path / "anim.gif", frames=12), max_frames=5)
    assert decoded.frame_count == 12
    assert decoded.animated
    assert len(decoded.frames) == 5
    assert decoded.frame_indices[0] == 0 and decoded.frame_indices[-1] == 11
    assert all(frame.mode == "RGB" and frame.size == (64, 48) for frame in decoded.frames)
    # frames differ: really different frames, not the first one repeated
    assert len({frame.getpixel((0, 0)) for frame in decoded.frames}) > 1


def test_exif_orientation_is_applied() -> None:
    image = Image.new("RGB", (60, 30), "red")
    image.paste((0, 0, 255), (30, 0, 60, 30))  # left red, right blue
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    decoded = load_image(_jpeg_bytes(image, exif=exif, quality=95))
    assert (decoded.width, decoded.height) == (30, 60)
    assert decoded.image.size == (30, 60)
    top = decoded.image.getpixel((15, 5))
    bottom = decoded.image.getpixel((15, 55))
    assert top[0] > 200 and top[2] < 60  # red now on top
    assert bottom[2] > 200 and bottom[0] < 60


def test_cmyk_jpeg_becomes_rgb() -> None:
    cmyk = Image.new("CMYK", (32, 32), (0, 255, 255, 0))  # pure red in CMYK
    decoded = load_image(_jpeg_bytes(cmyk))
    assert decoded.image.mode == "RGB"
    red, green, blue = decoded.image.getpixel((16, 16))
    assert red > 200 and green < 60 and blue < 60


def test_palette_with_transparency_goes_on_white() -> None:
    palette = Image.new("P", (20, 20), 0)
    palette.putpalette([0, 0, 0] + [255, 0, 0] + [0] * (254 * 3))
    palette.paste(1, (10, 0, 20, 20))
    decoded = load_image(_png_bytes(palette, transparency=0))
    assert decoded.image.mode == "RGB"
    assert decoded.image.getpixel((2, 2)) == (255, 255, 255)  # transparent black -> white
    assert decoded.image.getpixel((15, 2)) == (255, 0, 0)


def test_alpha_is_composited_on_white() -> None:
    rgba = Image.new("RGBA", (10, 10), (0, 0, 0, 0))
    rgba.paste((0, 0, 255, 128), (0, 0, 5, 10))
    decoded = load_image(_png_bytes(rgba))
    assert decoded.image.getpixel((8, 5)) == (255, 255, 255)
    red, _green, blue = decoded.image.getpixel((2, 5))
    assert 120 <= red <= 135 and blue == 255  # half-transparent blue over white


def test_sixteen_bit_and_grey_images_scale_not_clip() -> None:
    values = np.array([[0, 32768], [65535, 65535]], dtype=np.uint16)
    decoded = load_image(_png_bytes(Image.fromarray(values)))
    pixels = np.asarray(decoded.image)
    assert decoded.image.mode == "RGB"
    assert pixels[0, 0, 0] == 0 and 120 <= pixels[0, 1, 0] <= 135 and pixels[1, 0, 0] == 255
    grey = load_image(_png_bytes(Image.new("L", (4, 4), 77))).image
    assert grey.mode == "RGB" and grey.getpixel((0, 0)) == (77, 77, 77)
    la = load_image(_png_bytes(Image.new("LA", (4, 4), (0, 0)))).image
    assert la.getpixel((0, 0)) == (255, 255, 255)


def test_jpeg_draft_keeps_original_size_and_min_side() -> None:
    data = _jpeg_bytes(Image.new("RGB", (2000, 1200), "green"))
    decoded = load_image(data, min_side=256)
    assert (decoded.width, decoded.height) == (2000, 1200)
    assert min(decoded.image.size) >= 256 and decoded.image.size[0] < 2000


def test_resize_crop_and_normalise() -> None:
    image = Image.new("RGB", (400, 200), (255, 0, 128))
    resized = resize_shorter_side(image, 256)
    assert resized.size == (512, 256)
    assert center_crop(resized, 224).size == (224, 224)
    assert shrink_longest_side(image, 100).size == (100, 50)
    assert shrink_longest_side(image, 1000).size == (400, 200)
    batch = efficientnet_array([image, Image.new("RGB", (224, 300), "black")])
    assert batch.shape == (2, 3, 224, 224) and batch.dtype == np.float32
    assert np.allclose(batch[0, 0], 1.0) and np.allclose(batch[0, 1], -1.0)
    assert np.allclose(batch[1], -1.0)
