"""Render the media of one demo post and describe it (a MediaPart for the post, a dict for truth).

Kept apart from the planner so that each post's media depends only on (seed, post index, plan),
never on the order of rendering: the corpus stays byte-identical whatever the batch layout.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from postlens.demo.clips import VIDEO_SAMPLE_RATE, WAV_SAMPLE_RATE, synth_tones, write_gif, write_mp4, write_wav
from postlens.demo.scenes import draw_caption, make_style, render_scene
from postlens.demo.texts import compose_caption, pick
from postlens.demo.topics import TOPICS, Topic
from postlens.types import MediaPart, Modality

IMAGE_SIZES: tuple[tuple[int, int], ...] = ((320, 240), (256, 256), (240, 320))
JPEG_RATE = 0.4
CAPTION_AT_TOP_RATE = 0.25
SECOND_IMAGE_RATE = 0.12
VIDEO_SIZE = (224, 160)
VIDEO_FPS = 8
VIDEO_DURATIONS = (2.0, 2.5, 3.0, 3.5, 4.0)
AUDIO_DURATIONS = (2.0, 3.0, 4.0)
GIF_SIZE = (160, 120)
GIF_FRAMES = 6
GIF_FRAME_MS = 120


@dataclass(frozen=True, slots=True)
class MediaPlan:
    """What to render for one post, decided by the planner."""

    index: int  # the post number used in file names (same digits as the native id)
    kind: str  # post kind: text, image, image_only, video, audio, gif
    topic: int
    scene_change_topic: int | None = None


@dataclass(slots=True)
class RenderedMedia:
    parts: list[MediaPart]
    truth: list[dict[str, Any]]
    bytes_written: int


def _image(rng: np.random.Generator, topic: Topic, media_dir: Path, name: str) -> tuple[MediaPart, dict[str, Any]]:
    size = IMAGE_SIZES[int(rng.integers(len(IMAGE_SIZES)))]
    image = render_scene(topic, make_style(rng, topic), size)
    box = draw_caption(image, compose_caption(rng, topic), at_top=bool(rng.random() < CAPTION_AT_TOP_RATE))
    jpeg = bool(rng.random() < JPEG_RATE)
    file_name = f"{name}.jpg" if jpeg else f"{name}.png"
    if jpeg:
        image.save(media_dir / file_name, format="JPEG", quality=88)
    else:
        image.save(media_dir / file_name, format="PNG", compress_level=3)
    part = MediaPart(
        kind=Modality.IMAGE,
        mime="image/jpeg" if jpeg else "image/png",
        source_path=f"media/{file_name}",
        width=size[0],
        height=size[1],
    )
    truth = {
        "path": part.source_path,
        "kind": "image",
        "caption": box.text,
        "caption_band": [box.top, box.bottom],
        "font_size": box.font_size,
    }
    return part, truth


def _video(rng: np.random.Generator, plan: MediaPlan, media_dir: Path) -> tuple[MediaPart, dict[str, Any]]:
    topic = TOPICS[plan.topic]
    duration = float(pick(rng, VIDEO_DURATIONS))
    n_frames = int(duration * VIDEO_FPS)
    style = make_style(rng, topic)
    caption = compose_caption(rng, topic)
    change_s: float | None = None
    second: Topic | None = None
    if plan.scene_change_topic is not None:
        second = TOPICS[plan.scene_change_topic]
        change_frame = int(rng.integers(VIDEO_FPS, n_frames - VIDEO_FPS + 1))
        change_s = change_frame / VIDEO_FPS
    second_style = make_style(rng, second) if second else None
    second_caption = compose_caption(rng, second) if second else None

    def frames():
        for f in range(n_frames):
            changed = second is not None and change_s is not None and f / VIDEO_FPS >= change_s
            scene_topic, scene_style = (second, second_style) if changed else (topic, style)
            image = render_scene(scene_topic, scene_style, VIDEO_SIZE, phase=f / n_frames)
            draw_caption(image, second_caption if changed else caption)
            yield image

    audio = synth_tones(
        rng,
        topic.tone_hz,
        duration,
        VIDEO_SAMPLE_RATE,
        change_at_s=change_s,
        second_hz=second.tone_hz if second else None,
    )
    file_name = f"vid_{plan.index:06d}.mp4"
    write_mp4(media_dir / file_name, frames(), audio, fps=VIDEO_FPS, size=VIDEO_SIZE)
    part = MediaPart(
        kind=Modality.VIDEO,
        mime="video/mp4",
        source_path=f"media/{file_name}",
        width=VIDEO_SIZE[0],
        height=VIDEO_SIZE[1],
        duration_s=duration,
    )
    truth: dict[str, Any] = {
        "path": part.source_path,
        "kind": "video",
        "caption": caption,
        "duration_s": duration,
        "fps": VIDEO_FPS,
        "tone_hz": topic.tone_hz,
        "scene_change_s": change_s,
    }
    if second is not None:
        truth["second_topic"] = second.name
        truth["second_caption"] = second_caption
        truth["second_tone_hz"] = second.tone_hz
    return part, truth


def _audio(rng: np.random.Generator, plan: MediaPlan, media_dir: Path) -> tuple[MediaPart, dict[str, Any]]:
    topic = TOPICS[plan.topic]
    duration = float(pick(rng, AUDIO_DURATIONS))
    samples = synth_tones(rng, topic.tone_hz, duration, WAV_SAMPLE_RATE)
    file_name = f"aud_{plan.index:06d}.wav"
    write_wav(media_dir / file_name, samples, WAV_SAMPLE_RATE)
    part = MediaPart(kind=Modality.AUDIO, mime="audio/wav", source_path=f"media/{file_name}", duration_s=duration)
    return part, {
        "path": part.source_path,
        "kind": "audio",
        "duration_s": duration,
        "tone_hz": topic.tone_hz,
        "sample_rate": WAV_SAMPLE_RATE,
    }


def _gif(rng: np.random.Generator, plan: MediaPlan, media_dir: Path) -> tuple[MediaPart, dict[str, Any]]:
    topic = TOPICS[plan.topic]
    style = make_style(rng, topic)
    caption = compose_caption(rng, topic)
    frames = []
    for f in range(GIF_FRAMES):
        image = render_scene(topic, style, GIF_SIZE, phase=f / GIF_FRAMES)
        box = draw_caption(image, caption)
        frames.append(image)
    file_name = f"gif_{plan.index:06d}.gif"
    write_gif(media_dir / file_name, frames, frame_ms=GIF_FRAME_MS)
    duration = GIF_FRAMES * GIF_FRAME_MS / 1000
    part = MediaPart(
        kind=Modality.GIF,
        mime="image/gif",
        source_path=f"media/{file_name}",
        width=GIF_SIZE[0],
        height=GIF_SIZE[1],
        duration_s=duration,
    )
    return part, {
        "path": part.source_path,
        "kind": "gif",
        "caption": caption,
        "frames": GIF_FRAMES,
        "caption_band": [box.top, box.bottom],
        "duration_s": duration,
    }


def render_media(rng: np.random.Generator, plan: MediaPlan, out_dir: Path) -> RenderedMedia:
    """Write the post's media files under ``out_dir/media`` and return their parts and truth."""
    media_dir = out_dir / "media"
    pairs: list[tuple[MediaPart, dict[str, Any]]] = []
    if plan.kind in ("image", "image_only"):
        count = 2 if rng.random() < SECOND_IMAGE_RATE else 1
        for k in range(count):
            pairs.append(_image(rng, TOPICS[plan.topic], media_dir, f"img_{plan.index:06d}_{k}"))
    elif plan.kind == "video":
        pairs.append(_video(rng, plan, media_dir))
    elif plan.kind == "audio":
        pairs.append(_audio(rng, plan, media_dir))
    elif plan.kind == "gif":
        pairs.append(_gif(rng, plan, media_dir))
    written = sum((out_dir / p.source_path).stat().st_size for p, _ in pairs if p.source_path)
    return RenderedMedia(parts=[p for p, _ in pairs], truth=[t for _, t in pairs], bytes_written=written)
