"""Tell what a media file really is from its first bytes and its streams, not from its name.

Extensions lie (a PNG saved as .jpg, an HTML error page saved as .mp4); the store must not
attach such a file under the wrong kind. Only the header is read, so this is cheap. Containers
such as MP4, WebM/Matroska and QuickTime hold video or only sound: ``probe_header`` asks PyAV
which streams are there, so an audio-only ``.mp4`` is audio and reaches the audio encoder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from postlens.types import Modality


@dataclass(frozen=True, slots=True)
class Sniffed:
    kind: Modality
    mime: str
    ext: str


_EXT_KIND: dict[str, Modality] = {
    ".jpg": Modality.IMAGE,
    ".jpeg": Modality.IMAGE,
    ".png": Modality.IMAGE,
    ".webp": Modality.IMAGE,
    ".bmp": Modality.IMAGE,
    ".tif": Modality.IMAGE,
    ".tiff": Modality.IMAGE,
    ".gif": Modality.GIF,
    ".svg": Modality.IMAGE,
    ".heic": Modality.IMAGE,
    ".heif": Modality.IMAGE,
    ".avif": Modality.IMAGE,
    ".mp4": Modality.VIDEO,
    ".m4v": Modality.VIDEO,
    ".mov": Modality.VIDEO,
    ".webm": Modality.VIDEO,
    ".mkv": Modality.VIDEO,
    ".avi": Modality.VIDEO,
    ".mp3": Modality.AUDIO,
    ".m4a": Modality.AUDIO,
    ".aac": Modality.AUDIO,
    ".wav": Modality.AUDIO,
    ".ogg": Modality.AUDIO,
    ".opus": Modality.AUDIO,
    ".flac": Modality.AUDIO,
}


def kind_from_extension(path: str | Path) -> Modality | None:
    """The modality a file name claims; None for unknown extensions."""
    return _EXT_KIND.get(Path(path).suffix.lower())


def sniff_bytes(head: bytes) -> Sniffed | None:
    """Identify a media container from its first 64 bytes; None when it is no known media."""
    if head.startswith(b"\xff\xd8\xff"):
        return Sniffed(Modality.IMAGE, "image/jpeg", ".jpg")
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return Sniffed(Modality.IMAGE, "image/png", ".png")
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return Sniffed(Modality.GIF, "image/gif", ".gif")
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return Sniffed(Modality.IMAGE, "image/webp", ".webp")
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return Sniffed(Modality.AUDIO, "audio/wav", ".wav")
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return Sniffed(Modality.VIDEO, "video/x-msvideo", ".avi")
    if head[:2] == b"BM":
        return Sniffed(Modality.IMAGE, "image/bmp", ".bmp")
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return Sniffed(Modality.IMAGE, "image/tiff", ".tif")
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"heic", b"heix", b"mif1", b"msf1", b"heim", b"hevc"):
            return Sniffed(Modality.IMAGE, "image/heic", ".heic")
        if brand in (b"avif", b"avis"):
            return Sniffed(Modality.IMAGE, "image/avif", ".avif")
        if brand in (b"M4A ", b"M4B "):
            return Sniffed(Modality.AUDIO, "audio/mp4", ".m4a")
        if brand.startswith(b"qt"):
            return Sniffed(Modality.VIDEO, "video/quicktime", ".mov")
        return Sniffed(Modality.VIDEO, "video/mp4", ".mp4")
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return Sniffed(Modality.VIDEO, "video/webm", ".webm")
    if head[:4] == b"OggS":
        return Sniffed(Modality.AUDIO, "audio/ogg", ".ogg")
    if head[:4] == b"fLaC":
        return Sniffed(Modality.AUDIO, "audio/flac", ".flac")
    if head[:3] == b"ID3" or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return Sniffed(Modality.AUDIO, "audio/mpeg", ".mp3")
    stripped = head.lstrip()
    if stripped.startswith(b"<svg") or (stripped.startswith(b"<?xml") and b"<svg" in head):
        return Sniffed(Modality.IMAGE, "image/svg+xml", ".svg")
    return None


def sniff_file(path: str | Path) -> Sniffed | None:
    with open(path, "rb") as handle:
        return sniff_bytes(handle.read(64))


def extension_agrees(path: str | Path, sniffed: Sniffed) -> bool:
    """True when the file name's claimed kind matches its bytes.

    Within still images the family is not enforced (a PNG saved as .jpg is common and harmless:
    the store records the true mime); across kinds it is (an HTML page saved as .mp4 is not).
    """
    claimed = kind_from_extension(path)
    if claimed is None:
        return True
    visual = {Modality.IMAGE, Modality.GIF}
    if claimed in visual and sniffed.kind in visual:
        return True
    if claimed == Modality.VIDEO and sniffed.mime in ("audio/mp4", "audio/ogg"):
        return True  # .mp4 with only an audio track, .webm/.ogg audio
    if claimed == Modality.AUDIO and sniffed.mime in ("video/mp4", "video/webm"):
        return True  # .m4a/.opus written with a video brand
    return claimed == sniffed.kind


# Containers whose first bytes do not say whether they hold pictures or only sound:
# sniffed mime -> (what it is with only audio streams, what it is with a video stream).
_BY_STREAMS: dict[str, tuple[Sniffed, Sniffed]] = {
    "video/mp4": (Sniffed(Modality.AUDIO, "audio/mp4", ".m4a"), Sniffed(Modality.VIDEO, "video/mp4", ".mp4")),
    "audio/mp4": (Sniffed(Modality.AUDIO, "audio/mp4", ".m4a"), Sniffed(Modality.VIDEO, "video/mp4", ".mp4")),
    "video/quicktime": (
        Sniffed(Modality.AUDIO, "audio/quicktime", ".mov"),
        Sniffed(Modality.VIDEO, "video/quicktime", ".mov"),
    ),
    "video/webm": (Sniffed(Modality.AUDIO, "audio/webm", ".webm"), Sniffed(Modality.VIDEO, "video/webm", ".webm")),
    "video/x-msvideo": (
        Sniffed(Modality.AUDIO, "audio/x-msvideo", ".avi"),
        Sniffed(Modality.VIDEO, "video/x-msvideo", ".avi"),
    ),
}


@dataclass(frozen=True, slots=True)
class Header:
    """What a media file is after its header was read: kind and mime from the streams, and its size."""

    sniffed: Sniffed
    width: int | None = None
    height: int | None = None
    duration_s: float | None = None


def probe_header(path: str | Path, sniffed: Sniffed) -> Header:
    """Read the header only (Pillow for pictures, PyAV for the rest); an unreadable one keeps ``sniffed``.

    Featurize reports a file whose header cannot be read; here it only decides the kind.
    """
    try:
        if sniffed.kind in (Modality.IMAGE, Modality.GIF):
            return _image_header(path, sniffed)
        return _av_header(path, sniffed)
    except Exception:  # noqa: BLE001 - any decoder error means "header unknown", never a failed import
        return Header(sniffed)


def _image_header(path: str | Path, sniffed: Sniffed) -> Header:
    from PIL import Image

    with Image.open(path) as image:
        duration = None
        frames = getattr(image, "n_frames", 1)
        if frames > 1:
            duration = frames * image.info.get("duration", 100) / 1000.0
        return Header(sniffed, image.width, image.height, duration)


def _av_header(path: str | Path, sniffed: Sniffed) -> Header:
    import av

    with av.open(str(path), metadata_errors="ignore") as container:
        duration_s = container.duration / 1_000_000 if container.duration else None
        pictures = [s for s in container.streams.video if not _is_cover_art(s)]
        has_audio = any(True for _ in container.streams.audio)
        choices = _BY_STREAMS.get(sniffed.mime)
        if choices is not None and (pictures or has_audio):
            sniffed = choices[1] if pictures else choices[0]
        if pictures:
            context = pictures[0].codec_context
            return Header(sniffed, context.width or None, context.height or None, duration_s)
        return Header(sniffed, None, None, duration_s)


def _is_cover_art(stream: object) -> bool:
    """An album cover in an audio file is a one-picture "video" stream, not video."""
    import av

    disposition = getattr(stream, "disposition", 0)
    try:
        return bool(disposition & av.stream.Disposition.attached_pic)
    except TypeError:
        return False
