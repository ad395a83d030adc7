"""media/video.py: probing, bounded 1 fps sampling, scene cuts, and every way a video file breaks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from video_synth import BLUE, GREEN, RED, Segment

from postlens.errors import MediaError
from postlens.media.video import probe_video, sample_frames, scene_score


def _mostly(image: Image.Image, color: tuple[int, int, int]) -> bool:
    mean = np.asarray(image, dtype=np.float32).reshape(-1, 3).mean(axis=0)
    return bool(np.abs(mean - np.array(color)).max() < 40)


def test_probe_reads_metadata(red_blue_video: Path) -> None:
    info = probe_video(red_blue_video)
    assert info.duration_s == pytest.approx(4.0, abs=0.15)
    assert info.fps == pytest.approx(10.0)
    assert (info.width, info.height) == (160, 96)
    assert info.has_audio and info.audio_codec == "aac"
    assert info.video_codec == "h264" and info.mime == "video/mp4"
    assert info.frame_count == 40 and info.rotation == 0


def test_rotated_phone_video_is_displayed_upright(make_video) -> None:
    path = make_video("portrait.mp4", [Segment(1, RED)], size=(64, 32), rotation=90, audio=False)
    info = probe_video(path)
    assert info.rotation == 90 and (info.width, info.height) == (32, 64)
    assert sample_frames(path)[0].image.size == (32, 64)


def test_samples_one_frame_per_second(red_blue_video: Path) -> None:
    stats: dict[str, int] = {}
    frames = sample_frames(red_blue_video, scene_threshold=2.0, stats=stats)  # threshold > 1: no scene frames
    assert [round(f.timestamp, 2) for f in frames] == [0.0, 1.0, 2.0, 3.0]
    assert stats["seeks"] == 0  # a short clip is decoded straight through
    assert all(f.image.mode == "RGB" and f.image.size == (160, 96) for f in frames)
    assert _mostly(frames[0].image, RED) and _mostly(frames[3].image, BLUE)


def test_cap_spreads_frames_over_duration(red_blue_video: Path) -> None:
    frames = sample_frames(red_blue_video, max_frames=2, scene_threshold=2.0)
    assert [round(f.timestamp, 1) for f in frames] == [1.0, 3.0]


def test_scene_change_found_where_the_cut_is(red_blue_video: Path) -> None:
    frames = sample_frames(red_blue_video)
    cuts = [f for f in frames if f.is_scene_change]
    assert len(cuts) == 1
    assert abs(cuts[0].timestamp - 2.5) <= 0.3  # within one analysis step (4/s), well under a 1 s sample step
    assert _mostly(cuts[0].image, BLUE)
    assert [f.timestamp for f in frames] == sorted(f.timestamp for f in frames)


def test_scene_score_separates_cut_from_noise() -> None:
    rng = np.random.default_rng(1)
    red = np.clip(np.array(RED) + rng.integers(-5, 6, (18, 32, 3)), 0, 255).astype(np.uint8)
    red2 = np.clip(np.array(RED) + rng.integers(-5, 6, (18, 32, 3)), 0, 255).astype(np.uint8)
    blue = np.full((18, 32, 3), BLUE, np.uint8)
    assert scene_score(red, red2) < 0.1 < 0.5 < scene_score(red, blue)


def test_max_seconds_limits_the_analysed_span(red_blue_video: Path) -> None:
    frames = sample_frames(red_blue_video, max_seconds=2.0)
    assert frames and max(f.timestamp for f in frames) < 2.0


def test_max_side_downscales_frames(make_video) -> None:
    path = make_video("wide.mp4", [Segment(1, GREEN)], size=(640, 360), audio=False)
    assert sample_frames(path, max_side=320)[0].image.size == (320, 180)


def test_video_without_audio(make_video) -> None:
    path = make_video("silent.mp4", [Segment(2, GREEN)], audio=False)
    info = probe_video(path)
    assert not info.has_audio and info.audio_codec is None
    assert len(sample_frames(path)) == 2


def test_long_video_is_sampled_by_seeking_and_stays_bounded(make_video) -> None:
    colors = [RED, BLUE, GREEN]
    segments = [Segment(60, colors[i % 3]) for i in range(15)]  # 15 minutes at 1 fps, tiny frames
    path = make_video("long.mp4", segments, fps=1, size=(32, 18), audio=False, gop=10)
    stats: dict[str, int] = {}
    frames = sample_frames(path, max_frames=32, stats=stats)
    uniform = [f.timestamp for f in frames]
    assert 32 <= len(frames) <= 32 + 16
    assert min(uniform) < 30 and max(uniform) > 870  # spread over the whole 900 s
    gaps = np.diff(sorted(uniform))
    assert gaps.max() < 60
    assert stats["seeks"] >= 20 and stats["decoded"] < 900 / 2  # never decoded whole


def test_long_video_respects_max_seconds(make_video) -> None:
    path = make_video("long2.mp4", [Segment(300, RED)], fps=1, size=(32, 18), audio=False, gop=10)
    frames = sample_frames(path, max_frames=8, max_seconds=120)
    assert len(frames) == 8 and max(f.timestamp for f in frames) < 120


def test_truncated_mp4(red_blue_video: Path, tmp_path: Path) -> None:
    data = red_blue_video.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(MediaError) as error:
        probe_video(cut)
    assert error.value.code == "truncated" and "cut.mp4" in str(error.value)


def test_zero_byte_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(MediaError) as error:
        sample_frames(empty)
    assert error.value.code == "empty"


def test_zero_second_mp4(tmp_path: Path) -> None:
    import av

    path = tmp_path / "zero.mp4"
    container = av.open(str(path), "w")
    stream = container.add_stream("libx264", rate=30)
    stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
    container.start_encoding()
    container.close()
    with pytest.raises(MediaError) as error:
        probe_video(path)
    assert error.value.code == "empty"


def test_corrupt_stream(red_blue_video: Path, tmp_path: Path) -> None:
    data = bytearray(red_blue_video.read_bytes())
    start = data.find(b"mdat") + 4
    size = int.from_bytes(data[start - 8 : start - 4], "big") - 8
    data[start : start + size] = np.random.default_rng(3).integers(0, 256, size, dtype=np.uint8).tobytes()
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(bytes(data))
    with pytest.raises(MediaError) as error:
        sample_frames(broken)
    assert error.value.code == "corrupt" and "broken.mp4" in str(error.value)


def test_corrupt_header(red_blue_video: Path, tmp_path: Path) -> None:
    data = bytearray(red_blue_video.read_bytes())
    start = data.find(b"moov") + 4
    size = int.from_bytes(data[start - 8 : start - 4], "big") - 8  # box sizes stay valid, contents do not
    data[start : start + size] = np.random.default_rng(4).integers(0, 256, size, dtype=np.uint8).tobytes()
    path = tmp_path / "header.mp4"
    path.write_bytes(bytes(data))
    with pytest.raises(MediaError) as error:
        probe_video(path)
    assert error.value.code in ("corrupt", "unsupported")


def test_unsupported_codec(red_blue_video: Path, tmp_path: Path) -> None:
    odd = tmp_path / "odd.mp4"
    odd.write_bytes(red_blue_video.read_bytes().replace(b"avc1", b"zzzz"))  # a codec FFmpeg has no decoder for
    with pytest.raises(MediaError) as error:
        probe_video(odd)
    assert error.value.code == "unsupported" and "odd.mp4" in str(error.value)


def test_extension_that_lies(tmp_path: Path, red_blue_video: Path) -> None:
    png = tmp_path / "photo.mp4"
    Image.new("RGB", (10, 10), RED).save(png, format="PNG")
    with pytest.raises(MediaError) as error:
        probe_video(png)
    assert error.value.code == "wrong_kind" and "image/png" in str(error.value)
    html = tmp_path / "page.mp4"
    html.write_text("<!doctype html><html><body>404 not found</body></html>")
    with pytest.raises(MediaError) as error:
        sample_frames(html)
    assert error.value.code == "not_media"
    disguised = tmp_path / "clip.gif"  # a real mp4 named .gif: the bytes decide, it decodes fine
    disguised.write_bytes(red_blue_video.read_bytes())
    assert probe_video(disguised).mime == "video/mp4"


def test_gif_is_a_silent_video(tmp_path: Path) -> None:
    path = tmp_path / "anim.gif"
    frames = [Image.new("RGB", (40, 30), c) for c in (RED, RED, BLUE, BLUE)]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=[500, 700, 500, 300], loop=0)
    info = probe_video(path)
    assert info.container == "gif" and not info.has_audio and info.duration_s == pytest.approx(2.0)
    sampled = sample_frames(path)
    assert [round(f.timestamp, 2) for f in sampled][:2] == [0.0, 1.2]
    assert _mostly(sampled[0].image, RED) and _mostly(sampled[-1].image, BLUE)
    assert any(f.is_scene_change for f in sampled)


def test_fast_busy_footage_does_not_cut_on_every_frame(tmp_path: Path) -> None:
    import av

    path = tmp_path / "busy.mp4"
    rng = np.random.default_rng(5)
    container = av.open(str(path), "w")
    stream = container.add_stream("libx264", rate=10)
    stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
    for _ in range(40):  # every frame a new random block pattern: scores high all the time
        blocks = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8).repeat(8, axis=0).repeat(8, axis=1)
        for packet in stream.encode(av.VideoFrame.from_ndarray(blocks, format="rgb24")):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)
    container.close()
    frames = sample_frames(path)
    assert sum(f.is_scene_change for f in frames) <= 1


def test_truncated_streaming_mp4_with_index_first(tmp_path: Path) -> None:
    import av

    path = tmp_path / "fast.mp4"
    container = av.open(str(path), "w", options={"movflags": "faststart"})
    stream = container.add_stream("libx264", rate=10)
    stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
    for i in range(30):
        frame = np.full((48, 64, 3), i * 8, np.uint8)
        for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)
    container.close()
    data = path.read_bytes()
    assert data.find(b"moov") < data.find(b"mdat")  # the index comes first, so FFmpeg would open a cut file
    cut = tmp_path / "fast_cut.mp4"
    cut.write_bytes(data[: len(data) - 200])
    with pytest.raises(MediaError) as error:
        sample_frames(cut)
    assert error.value.code == "truncated"


def test_webm_vp9_decodes(make_video) -> None:
    path = make_video("clip.webm", [Segment(1, RED), Segment(1, BLUE)], codec="libvpx-vp9", audio=False)
    info = probe_video(path)
    assert info.mime == "video/webm" and info.video_codec in ("vp9", "libvpx-vp9")
    frames = sample_frames(path)
    assert len(frames) >= 2 and _mostly(frames[0].image, RED) and _mostly(frames[-1].image, BLUE)


def test_mp4_with_only_sound_says_so(tmp_path: Path) -> None:
    import av
    from video_synth import _write_tone

    path = tmp_path / "voice_note.mp4"
    container = av.open(str(path), "w")
    _write_tone(container, container.add_stream("aac", rate=16000, layout="mono"), 1.0)
    container.close()
    with pytest.raises(MediaError) as error:
        probe_video(path)
    assert error.value.code == "no_video" and "audio" in str(error.value)
