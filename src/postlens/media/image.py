"""Decode any still or animated image safely into RGB, then shape it for a model.

Social media images are hostile input: decompression bombs (a tiny file that claims 20000x20000
pixels), truncated uploads, CMYK JPEGs, palette PNGs with transparency, 16-bit scans, phone photos
that rely on EXIF to stand upright, SVG/HEIC saved as .jpg. Every path here checks the header
before allocating pixels and raises :class:`MediaError` with a stable ``code`` and the file's name,
so an encoder can turn it into a per-item error and go on.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from postlens.errors import MediaError, UnsupportedMedia
from postlens.media.limits import MAX_IMAGE_BYTES
from postlens.media.sniff import sniff_bytes
from postlens.types import Modality

DEFAULT_MAX_PIXELS = 64_000_000  # 8000x8000: larger than any phone photo, far below a bomb
DEFAULT_MAX_FRAMES = 8
DEFAULT_MAX_BYTES = MAX_IMAGE_BYTES  # the import gate's limit too (media/limits.py); refuse before reading
EFFICIENTNET_RESIZE = 256  # shorter side before the centre crop (the usual 224/0.875)
EFFICIENTNET_CROP = 224

# Formats Pillow may open here; others (EPS needs Ghostscript, etc.) are refused.
_ALLOWED_FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF", "ICO", "PPM")
_UNSUPPORTED_MIMES = {
    "image/svg+xml": "SVG is a vector format; rasterise it first (e.g. with cairosvg or a browser)",
    "image/heic": "HEIC/HEIF needs a HEVC decoder; convert it to JPEG first (e.g. with pillow-heif)",
    "image/avif": "AVIF is not read here; convert it to JPEG or PNG first",
}
_ORIENTATION_TAG = 0x0112
_WHITE = (255, 255, 255)


@dataclass(slots=True)
class DecodedImage:
    """RGB frames of one image (one frame for stills) and facts about the original file.

    ``width``/``height`` are the original pixel size as the viewer sees it (after EXIF rotation),
    even when a JPEG was decoded at a reduced scale for speed. ``frames`` holds at most the
    requested number of evenly spaced frames; ``frame_count`` is how many the file really has.
    """

    frames: list[Image.Image]
    width: int
    height: int
    format: str
    frame_count: int = 1
    source: str = "<bytes>"
    frame_indices: list[int] = field(default_factory=lambda: [0])

    @property
    def image(self) -> Image.Image:
        """The first (or only) frame."""
        return self.frames[0]

    @property
    def animated(self) -> bool:
        return self.frame_count > 1


def load_image(
    source: str | Path | bytes,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_frames: int = DEFAULT_MAX_FRAMES,
    min_side: int | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> DecodedImage:
    """Decode ``source`` (a path or the file's bytes) into RGB frames.

    ``min_side``: when given, a JPEG may be decoded at 1/2, 1/4 or 1/8 scale as long as its shorter
    side stays >= ``min_side`` (DCT scaling: several times faster for models that resize anyway).
    Raises MediaError (codes ``missing``, ``empty``, ``too_large``, ``corrupt``, ``truncated``) or
    UnsupportedMedia; never returns a partially decoded image.
    """
    name, data = _read(source, max_bytes)
    if not data:
        raise MediaError(f"{name}: the file is empty (0 bytes); re-download it", code="empty")
    _refuse_unsupported(name, data[:64])
    Image.init()  # registers every plugin once; open(formats=...) needs them registered
    try:
        with warnings.catch_warnings():
            # our own pixel check below turns Pillow's bomb warning into an error
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=_ALLOWED_FORMATS)
    except Image.DecompressionBombError as exc:
        raise _too_large(name, str(exc)) from exc
    except UnidentifiedImageError as exc:
        raise UnsupportedMedia(
            f"{name}: not an image format postlens reads ({exc}); convert it to JPEG or PNG"
        ) from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise MediaError(f"{name}: corrupt image header ({exc}); re-download the file", code="corrupt") from exc
    with image:
        width, height = image.size
        if width <= 0 or height <= 0:
            raise MediaError(f"{name}: image claims size {width}x{height}", code="corrupt")
        if width * height > max_pixels:
            raise _too_large(name, f"{width}x{height} = {width * height:,} pixels > max_pixels={max_pixels:,}")
        fmt = image.format or "unknown"
        orientation = _orientation(image)
        if orientation in (5, 6, 7, 8):
            width, height = height, width
        frame_count = max(1, int(getattr(image, "n_frames", 1)))
        try:
            if frame_count == 1:
                if min_side and fmt in ("JPEG", "MPO"):
                    image.draft("RGB", _draft_request(image.size, min_side))
                frames, indices = [_to_rgb(ImageOps.exif_transpose(image))], [0]
            else:
                frames, indices = _sample_frames(image, frame_count, max_frames)
        except Image.DecompressionBombError as exc:
            raise _too_large(name, str(exc)) from exc
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            text = str(exc)
            code = "truncated" if "truncated" in text or isinstance(exc, EOFError) else "corrupt"
            raise MediaError(
                f"{name}: cannot decode the {fmt} pixels ({text}); re-download or re-export it", code=code
            ) from exc
    return DecodedImage(frames, width, height, fmt, frame_count, name, indices)


def _read(source: str | Path | bytes, max_bytes: int) -> tuple[str, bytes]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        if len(data) > max_bytes:
            raise _too_large("<bytes>", f"{len(data):,} bytes > max_bytes={max_bytes:,}")
        return "<bytes>", data
    path = Path(source)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise _too_large(path.name, f"{size:,} bytes > max_bytes={max_bytes:,}")
        return path.name, path.read_bytes()
    except FileNotFoundError as exc:
        raise MediaError(f"{path}: file not found", code="missing") from exc
    except IsADirectoryError as exc:
        raise MediaError(f"{path}: is a folder, not an image file", code="missing") from exc
    except OSError as exc:
        raise MediaError(f"{path}: cannot read ({exc})", code="unreadable") from exc


def _refuse_unsupported(name: str, head: bytes) -> None:
    sniffed = sniff_bytes(head)
    if sniffed is None:
        return  # let Pillow try (ICO, PPM...); it raises UnsupportedMedia when it cannot
    if sniffed.mime in _UNSUPPORTED_MIMES:
        raise UnsupportedMedia(f"{name}: {_UNSUPPORTED_MIMES[sniffed.mime]}")
    if sniffed.kind not in (Modality.IMAGE, Modality.GIF):
        raise UnsupportedMedia(f"{name}: is {sniffed.mime}, not an image; use the {sniffed.kind} pipeline")


def _too_large(name: str, detail: str) -> MediaError:
    return MediaError(
        f"{name}: image too large to decode safely ({detail}); downscale it or raise max_pixels",
        code="too_large",
    )


def _orientation(image: Image.Image) -> int:
    try:
        return int(image.getexif().get(_ORIENTATION_TAG, 1))
    except Exception:  # noqa: BLE001 - broken EXIF must not lose an otherwise good image
        return 1


def _draft_request(size: tuple[int, int], min_side: int) -> tuple[int, int]:
    """The size to ask ``Image.draft`` for so that the shorter side stays >= min_side."""
    width, height = size
    scale = min_side / max(1, min(width, height))
    return max(1, int(width * scale + 0.999)), max(1, int(height * scale + 0.999))


def _sample_frames(image: Image.Image, frame_count: int, max_frames: int) -> tuple[list[Image.Image], list[int]]:
    """Evenly spaced frames of an animation (GIF, APNG, WebP), each composited to RGB."""
    wanted = np.unique(np.linspace(0, frame_count - 1, num=max(1, min(max_frames, frame_count))).round().astype(int))
    frames = []
    for index in wanted.tolist():
        image.seek(index)
        frames.append(_to_rgb(image.copy()))
    return frames, wanted.tolist()


def _to_rgb(image: Image.Image) -> Image.Image:
    """Any Pillow mode -> 8-bit RGB; transparency is composited on white (how feeds show it)."""
    mode = image.mode
    if mode == "RGB":
        return image
    if mode in ("P", "PA"):
        has_alpha = mode == "PA" or "transparency" in image.info
        image = image.convert("RGBA" if has_alpha else "RGB")
        mode = image.mode
        if mode == "RGB":
            return image
    if mode in ("RGBA", "LA", "La", "RGBa"):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, _WHITE)
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if mode.startswith("I") or mode == "F":
        return _high_depth_to_rgb(image)
    return image.convert("RGB")  # L, 1, CMYK, YCbCr, LAB, HSV


def _high_depth_to_rgb(image: Image.Image) -> Image.Image:
    """16-bit / 32-bit greyscale: scale to 8 bits instead of clipping at 255 (Pillow's default)."""
    values = np.asarray(image, dtype=np.float64)
    top = float(values.max()) if values.size else 0.0
    if image.mode == "F" and top <= 1.0:
        scaled = values * 255.0
    elif top > 255:
        scaled = values / (65535.0 if top <= 65535 else top) * 255.0
    else:
        scaled = values
    grey = Image.fromarray(np.clip(scaled, 0, 255).astype(np.uint8), mode="L")
    return grey.convert("RGB")


def resize_shorter_side(image: Image.Image, size: int) -> Image.Image:
    """Scale so that the shorter side equals ``size`` (aspect kept); bilinear with antialiasing."""
    width, height = image.size
    scale = size / min(width, height)
    target = (max(size, round(width * scale)), max(size, round(height * scale)))
    if target == image.size:
        return image
    return image.resize(target, Image.Resampling.BILINEAR, reducing_gap=3.0)


def center_crop(image: Image.Image, size: int) -> Image.Image:
    width, height = image.size
    left, top = max(0, (width - size) // 2), max(0, (height - size) // 2)
    return image.crop((left, top, left + size, top + size))


def shrink_longest_side(image: Image.Image, max_side: int) -> Image.Image:
    """Downscale (never upscale) so the longest side is at most ``max_side``."""
    width, height = image.size
    if max(width, height) <= max_side:
        return image
    scale = max_side / max(width, height)
    return image.resize((max(1, round(width * scale)), max(1, round(height * scale))), Image.Resampling.BILINEAR)


def efficientnet_array(
    images: Sequence[Image.Image], *, resize: int = EFFICIENTNET_RESIZE, crop: int = EFFICIENTNET_CROP
) -> np.ndarray:
    """RGB images -> float32 (n, 3, crop, crop) in [-1, 1], the input EfficientNet-Lite was trained on.

    (x/255 - 0.5)/0.5 rather than ImageNet mean/std: the Lite weights were trained that way and gave
    confident, correct labels (see docs offline-models.md).
    """
    batch = np.empty((len(images), crop, crop, 3), dtype=np.uint8)
    for row, image in enumerate(images):
        batch[row] = np.asarray(center_crop(resize_shorter_side(image, resize), crop))
    out = batch.astype(np.float32).transpose(0, 3, 1, 2)
    out *= 2.0 / 255.0
    out -= 1.0
    return out
