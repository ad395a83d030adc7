"""Probe a video and sample a bounded set of frames from it, without decoding long files whole.

Frames are taken at ``fps`` (1 per second) up to ``max_frames``; when a video is longer than the cap
allows, the cap is spread evenly over the duration and the decoder *seeks* to each target instead of
decoding everything in between, so a 3-hour file costs about as much as a 1-minute one.
Scene changes are found cheaply on 32x18 thumbnails of frames decoded anyway (a few per second) and
added as extra frames: they are the frames worth reading text from.

Every failure is a :class:`~postlens.errors.MediaError` whose ``code`` is stable:
``missing``, ``empty``, ``not_media``, ``wrong_kind``, ``truncated``, ``corrupt``, ``no_video``,
``unsupported``.
"""

from __future__ import annotations

import bisect
import math
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np
from PIL import Image

from postlens.errors import MediaError, UnsupportedMedia
from postlens.media.limits import MAX_VIDEO_BYTES
from postlens.media.sniff import Sniffed, sniff_file
from postlens.types import Modality

_FTYP_MIMES = ("video/mp4", "video/quicktime", "audio/mp4")
_THUMB_SIZE = (32, 18)
_MAX_DECODE_ERRORS = 50
_ADAPTIVE_RATIO = 3.0  # a cut stands out from the scores just before it
_ADAPTIVE_WINDOW = 8
_MAX_INDEX_ENTRIES = 400_000  # ~3.7 h at 30 fps; longer files fall back to the time rule for seeking


@dataclass(frozen=True, slots=True)
class VideoInfo:
    """Facts about a video file. ``width``/``height`` are as displayed (after ``rotation``)."""

    path: str
    mime: str
    container: str
    duration_s: float
    fps: float
    width: int
    height: int
    rotation: int  # counter-clockwise degrees applied for display: 0, 90, 180 or 270
    has_audio: bool
    video_codec: str
    audio_codec: str | None
    frame_count: int  # from the container index when present, else duration * fps
    bit_rate: int | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class Frame:
    """One sampled frame: seconds from the start, an RGB image, and whether a new shot starts here."""

    timestamp: float
    image: Image.Image
    is_scene_change: bool = False


def probe_video(path: str | Path) -> VideoInfo:
    """Read the container header and the first frame; raise MediaError when the file is not a usable video."""
    sniffed = _check_file(path)
    with _open(path) as container:
        stream = _video_stream(container, path)
        first = _first_frame(container, stream, path)
        return _build_info(path, sniffed, container, stream, first.rotation or 0)


def sample_frames(
    path: str | Path,
    *,
    fps: float = 1.0,
    max_frames: int = 32,
    scene_threshold: float = 0.2,
    max_scene_frames: int | None = None,
    max_seconds: float | None = None,
    max_side: int = 960,
    scene_fps: float = 4.0,
    seek_gap_s: float = 4.0,
    stats: dict[str, int] | None = None,
) -> list[Frame]:
    """Frames at ``fps`` up to ``max_frames`` (spread over the duration when it is longer), plus scene cuts.

    scene_threshold   0..1 score on thumbnails (half colour-histogram distance, half mean abs pixel
                      difference) above which a frame starts a new shot; hard cuts score 0.25-1, noise
                      and slow motion < 0.05. A score must also be ``_ADAPTIVE_RATIO`` times the
                      recent average, so that shaky or fast footage does not cut on every frame.
    max_scene_frames  cap on the extra scene-cut frames (default ``max_frames // 2``).
    max_seconds       analyse only the first seconds of the video (None: all of it).
    max_side          frames are downscaled so their longer side is at most this (memory, OCR speed).
    scene_fps         how many decoded frames per second are compared while decoding forward.
    seek_gap_s        seek instead of decoding forward when that skips more than this many seconds
                      (measured to the keyframe before the target when the container has an index).
                      Between seeks, cuts are found by comparing the sampled frames themselves.
    stats             when given, filled with ``decoded`` (frames decoded) and ``seeks`` (for benchmarks).
    Returned frames are in time order; ``is_scene_change`` marks the first frame of a new shot.
    """
    if fps <= 0 or max_frames < 1:
        raise ValueError(f"fps must be > 0 and max_frames >= 1, got fps={fps}, max_frames={max_frames}")
    _check_file(path)
    with _open(path) as container:
        stream = _video_stream(container, path)
        sampler = _Sampler(
            container,
            stream,
            str(path),
            fps=fps,
            max_frames=max_frames,
            scene_threshold=scene_threshold,
            max_scene_frames=max_frames // 2 if max_scene_frames is None else max_scene_frames,
            max_seconds=max_seconds,
            max_side=max_side,
            scene_fps=scene_fps,
            seek_gap_s=seek_gap_s,
        )
        frames = sampler.run()
    if stats is not None:
        stats.update(decoded=sampler.decoded, seeks=sampler.seeks)
    if not frames:
        raise MediaError(f"{path}: no frame could be decoded; the video stream is corrupt", code="corrupt")
    return frames


def scene_score(previous: np.ndarray, current: np.ndarray) -> float:
    """How different two small RGB thumbnails are, 0 (same) .. 1 (nothing in common).

    Histograms ignore motion (a pan keeps its colours), pixel differences catch cuts between shots of
    similar colours; averaging both keeps either from firing alone on ordinary movement.
    """
    hist_distance = 0.0
    for channel in range(3):
        a = np.bincount(previous[..., channel].ravel() >> 5, minlength=8) / previous[..., 0].size
        b = np.bincount(current[..., channel].ravel() >> 5, minlength=8) / current[..., 0].size
        hist_distance += 0.5 * float(np.abs(a - b).sum()) / 3
    pixel_distance = float(np.abs(previous.astype(np.int16) - current.astype(np.int16)).mean()) / 255
    return 0.5 * hist_distance + 0.5 * pixel_distance


# --------------------------------------------------------------------------------------------- checks


def _check_file(path: str | Path) -> Sniffed:
    """Catch missing, empty, mislabelled and cut-off files before FFmpeg sees them (its errors are vague)."""
    try:
        size = os.path.getsize(path)
    except OSError as exc:
        raise MediaError(f"{path}: cannot read the file ({exc})", code="missing") from exc
    if size == 0:
        raise MediaError(f"{path}: the file is empty (0 bytes); re-download it", code="empty")
    if size > MAX_VIDEO_BYTES:  # the import gate's limit (media/limits.py)
        raise MediaError(f"{path}: {size:,} bytes is over the {MAX_VIDEO_BYTES:,}-byte video limit", code="too_large")
    sniffed = sniff_file(path)
    if sniffed is None:
        raise MediaError(
            f"{path}: the bytes are no known media format (an HTML error page or a text file saved "
            f"as '{Path(path).suffix}'?); re-download it",
            code="not_media",
        )
    if sniffed.kind not in (Modality.VIDEO, Modality.GIF) and sniffed.mime not in _FTYP_MIMES:
        raise MediaError(
            f"{path}: the name says video but the bytes are {sniffed.mime}; encode it as {sniffed.kind}",
            code="wrong_kind",
        )
    if sniffed.mime in _FTYP_MIMES and _mp4_is_truncated(path, size):
        raise MediaError(
            f"{path}: the MP4 is cut off (a box runs past the end of the file or the index 'moov' "
            f"is missing); the download was incomplete, fetch it again",
            code="truncated",
        )
    return sniffed


def _mp4_is_truncated(path: str | Path, size: int) -> bool:
    """Walk the top-level MP4 boxes: each must end inside the file, and the index (moov) must exist."""
    boxes = _mp4_boxes(path, size)
    return boxes is None or b"moov" not in boxes


def _mp4_boxes(path: str | Path, size: int) -> dict[bytes, int] | None:
    """Payload bytes per top-level box type; None when a box is malformed or runs past the end."""
    offset, boxes = 0, dict[bytes, int]()
    with open(path, "rb") as handle:
        while offset + 8 <= size:
            handle.seek(offset)
            header = handle.read(16)
            box_size, box_type = int.from_bytes(header[:4], "big"), header[4:8]
            if box_size == 1 and len(header) >= 16:
                box_size = int.from_bytes(header[8:16], "big")
            elif box_size == 0:
                box_size = size - offset
            if box_size < 8 or offset + box_size > size:
                return None
            boxes[box_type] = boxes.get(box_type, 0) + box_size - 8
            offset += box_size
    return boxes


def _open(path: str | Path) -> Any:
    try:
        return av.open(str(path), metadata_errors="ignore")
    except av.FFmpegError as exc:
        raise MediaError(
            f"{path}: FFmpeg cannot open the container ({exc}); the file is damaged", code="corrupt"
        ) from exc


def _video_stream(container: Any, path: str | Path) -> Any:
    if not container.streams.video:
        if container.streams.audio:
            raise MediaError(f"{path}: no video track, only audio; encode it as audio", code="no_video")
        if _holds_media_data(path):
            raise MediaError(
                f"{path}: the container has media data but no readable stream; the index "
                f"is damaged, re-download or repair the file",
                code="corrupt",
            )
        raise MediaError(f"{path}: the container holds no video (0 seconds)", code="empty")
    stream = container.streams.video[0]
    if stream.codec_context is None:
        tag = getattr(stream, "codec_tag", "?")
        raise UnsupportedMedia(f"{path}: the video codec ({tag}) has no decoder in FFmpeg; transcode it to H.264")
    stream.codec_context.thread_type = "AUTO"  # frame + slice threads: both cores decode
    return stream


def _holds_media_data(path: str | Path) -> bool:
    """For MP4s: is there a non-empty 'mdat' box? Tells a damaged index from a genuinely empty file."""
    size = os.path.getsize(path)
    sniffed = sniff_file(path)
    if sniffed is None or sniffed.mime not in _FTYP_MIMES:
        return size > 4096
    boxes = _mp4_boxes(path, size)
    return bool(boxes and boxes.get(b"mdat", 0) > 0)


def _first_frame(container: Any, stream: Any, path: str | Path) -> Any:
    for frame in _decode(container, stream, path):
        return frame
    if _duration(container, stream) <= 0:
        raise MediaError(f"{path}: the video has no frames (0 seconds)", code="empty")
    raise MediaError(f"{path}: no frame could be decoded; the video stream is corrupt", code="corrupt")


def _decode(container: Any, stream: Any, path: str | Path) -> Iterator[Any]:
    """Decode frames, skipping packets the decoder rejects (a few bad packets should not lose a video)."""
    errors = 0
    try:
        for packet in container.demux(stream):
            try:
                frames = packet.decode()
            except av.error.DecoderNotFoundError as exc:
                raise UnsupportedMedia(f"{path}: no decoder for codec of this video ({exc})") from exc
            except av.FFmpegError as exc:
                errors += 1
                if errors > _MAX_DECODE_ERRORS:
                    raise MediaError(f"{path}: too many undecodable packets ({exc})", code="corrupt") from exc
                continue
            yield from frames
    except av.FFmpegError:
        return  # demuxing broke (damaged tail): keep what was decoded, stop here


def _duration(container: Any, stream: Any) -> float:
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / av.time_base
    return 0.0


def _build_info(path: str | Path, sniffed: Sniffed, container: Any, stream: Any, rotation: float) -> VideoInfo:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    fps = float(rate) if rate else 0.0
    duration = _duration(container, stream)
    rotation = int(round(rotation)) % 360
    width, height = stream.codec_context.width, stream.codec_context.height
    if rotation in (90, 270):
        width, height = height, width
    audio = container.streams.audio[0] if container.streams.audio else None
    frames = stream.frames or int(round(duration * fps))
    return VideoInfo(
        path=str(path),
        mime=sniffed.mime,
        container=container.format.name,
        duration_s=round(duration, 3),
        fps=round(fps, 3),
        width=width,
        height=height,
        rotation=rotation,
        has_audio=audio is not None,
        video_codec=stream.codec_context.name,
        audio_codec=audio.codec_context.name if audio is not None and audio.codec_context else None,
        frame_count=int(frames),
        bit_rate=container.bit_rate or None,
    )


# -------------------------------------------------------------------------------------------- sampler


class _Sampler:
    """One pass over a video: forward decoding between near targets, seeks across long gaps."""

    def __init__(
        self,
        container: Any,
        stream: Any,
        path: str,
        *,
        fps: float,
        max_frames: int,
        scene_threshold: float,
        max_scene_frames: int,
        max_seconds: float | None,
        max_side: int,
        scene_fps: float,
        seek_gap_s: float,
    ) -> None:
        self.container, self.stream, self.path = container, stream, path
        self.max_frames, self.max_scene_frames = max_frames, max_scene_frames
        self.scene_threshold, self.max_side = scene_threshold, max_side
        self.scene_step = 1.0 / scene_fps
        duration = _duration(container, stream)
        self.span = min(duration or math.inf, max_seconds if max_seconds is not None else math.inf)
        if math.isfinite(self.span) and self.span * fps > max_frames:
            self.step = self.span / max_frames  # spread the cap over the whole video
            self.first_target = self.step / 2
        else:
            self.step, self.first_target = 1.0 / fps, 0.0
        rate = stream.average_rate or stream.guessed_rate
        self.tolerance = 0.5 / float(rate) if rate else 0.01
        self.start = float(stream.start_time * stream.time_base) if stream.start_time is not None else 0.0
        self.seek_gap = seek_gap_s if container.format.name != "gif" else math.inf
        self.keyframes = _keyframe_seconds(stream, self.start)
        self.rotation = 0
        self.decoded = 0
        self.seeks = 0

    def run(self) -> list[Frame]:
        taken: list[Frame] = []
        scene_frames: list[Frame] = []
        target, position = self.first_target, 0.0
        previous_thumb: np.ndarray | None = None
        next_analysis, last_cut = 0.0, -math.inf
        recent: list[float] = []
        frames = self._frames_from(None)
        after_seek = False
        while len(taken) < self.max_frames and target < self.span:
            if self._worth_seeking(target, position):
                frames, after_seek = self._frames_from(target), True
            advanced = False
            for timestamp, frame in frames:
                advanced, position = True, timestamp
                if timestamp >= self.span:
                    return _merge(taken, scene_frames)
                is_target = timestamp >= target - self.tolerance
                if after_seek and not is_target:
                    continue  # run-up from the keyframe: decoded only to reach the target
                if not (is_target or timestamp >= next_analysis):
                    continue
                thumb = frame.reformat(width=_THUMB_SIZE[0], height=_THUMB_SIZE[1], format="rgb24").to_ndarray()
                cut = False
                if previous_thumb is not None:
                    score = scene_score(previous_thumb, thumb)
                    baseline = sum(recent) / len(recent) if recent else 0.0
                    cut = score >= self.scene_threshold and score >= _ADAPTIVE_RATIO * baseline
                    recent = ([*recent, score])[-_ADAPTIVE_WINDOW:]
                previous_thumb, next_analysis = thumb, timestamp + self.scene_step
                if (
                    cut
                    and not is_target
                    and len(scene_frames) < self.max_scene_frames
                    and timestamp - last_cut >= self.scene_step
                ):
                    scene_frames.append(Frame(timestamp, self._image(frame), True))
                if cut:
                    last_cut = timestamp
                if is_target:
                    taken.append(Frame(timestamp, self._image(frame), bool(cut)))
                    target += self.step * max(1, math.ceil((timestamp - target + self.tolerance) / self.step))
                    after_seek = False
                    break
            if not advanced:
                break  # end of stream (or nothing decodable after a seek)
        return _merge(taken, scene_frames)

    def _worth_seeking(self, target: float, position: float) -> bool:
        """Seek when it skips more than ``seek_gap`` seconds of decoding (a seek lands on a keyframe)."""
        if not math.isfinite(self.seek_gap):
            return False
        if self.keyframes:
            landing = bisect.bisect_right(self.keyframes, target + self.tolerance) - 1
            return landing >= 0 and self.keyframes[landing] - position > self.seek_gap
        return target - position > self.seek_gap

    def _frames_from(self, seconds: float | None) -> Iterator[tuple[float, Any]]:
        """A generator of (seconds from start, frame); seek first when ``seconds`` is given."""
        if seconds is not None:
            offset = int((seconds + self.start) / self.stream.time_base)
            self.seeks += 1
            try:
                self.container.seek(offset, stream=self.stream, backward=True, any_frame=False)
            except av.FFmpegError:
                self.seek_gap = math.inf  # not seekable: decode forward from where we are
        return self._timed(_decode(self.container, self.stream, self.path))

    def _timed(self, frames: Iterator[Any]) -> Iterator[tuple[float, Any]]:
        last = -self.step
        for frame in frames:
            if frame.pts is not None and frame.time is not None:
                seconds = float(frame.time) - self.start
            else:
                seconds = last + self.tolerance * 2
            last = seconds
            self.decoded += 1
            self.rotation = frame.rotation or 0
            yield seconds, frame

    def _image(self, frame: Any) -> Image.Image:
        width, height = frame.width, frame.height
        scale = min(1.0, self.max_side / max(width, height))
        if scale < 1.0:
            width, height = max(2, int(width * scale) // 2 * 2), max(2, int(height * scale) // 2 * 2)
        image = Image.fromarray(frame.reformat(width=width, height=height, format="rgb24").to_ndarray())
        rotation = int(round(self.rotation)) % 360
        return image.rotate(rotation, expand=True) if rotation else image


def _keyframe_seconds(stream: Any, start: float) -> list[float]:
    """Keyframe times from the container index (MP4/MOV have one; read without decoding), or []."""
    try:
        entries = stream.index_entries
        if not entries or len(entries) > _MAX_INDEX_ENTRIES:
            return []
        base = float(stream.time_base)
        return sorted(e.timestamp * base - start for e in entries if e.is_keyframe)
    except (AttributeError, av.FFmpegError):
        return []


def _merge(taken: list[Frame], scene_frames: list[Frame]) -> list[Frame]:
    """Time-ordered frames; a scene frame within 50 ms of a sampled one only flags it."""
    merged = sorted(taken, key=lambda f: f.timestamp)
    for scene in scene_frames:
        twin = next((f for f in merged if abs(f.timestamp - scene.timestamp) < 0.05), None)
        if twin is not None:
            twin.is_scene_change = True
        else:
            merged.append(scene)
    return sorted(merged, key=lambda f: f.timestamp)
