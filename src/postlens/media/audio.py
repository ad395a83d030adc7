"""Decode the audio of any common container into 16 kHz mono float32, safely and with a cap.

Social media audio arrives as mp3, m4a, ogg/opus, wav, flac or as the sound track of an mp4/webm/mov.
PyAV (bundled FFmpeg) reads them all. Decoding streams packet by packet and stops at ``max_seconds``
so a 3-hour livestream costs the same as a 10-minute clip. Every failure is a ``MediaError`` whose
``code`` is stable (stored with per-item errors) and whose message names the file and the fix.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from postlens.errors import MediaError, UnsupportedMedia
from postlens.media.limits import MAX_AUDIO_BYTES, MAX_MEDIA_BYTES
from postlens.media.sniff import extension_agrees, kind_from_extension, sniff_file
from postlens.types import Modality

TARGET_RMS_DBFS = -20.0  # speech-friendly level; Whisper and VAD are level-sensitive at the extremes
PEAK_LIMIT = 0.99
SILENCE_DBFS = -60.0  # below this gated level we treat the clip as silence and leave it alone
MAX_GAIN_DB = 30.0  # never amplify hiss from near-silent clips by more than this
_BLOCK_SECONDS = 0.4  # gating block length, as in EBU R128 / LUFS


@dataclass(slots=True)
class AudioClip:
    """Decoded samples plus what the file said about itself.

    samples          float32 mono at ``sr``, loudness-normalised, at most ``max_seconds`` long
    duration_s       duration of the whole media (from the container, else the decoded length)
    decoded_s        seconds FFmpeg actually produced before the cap cut them (proves early stop)
    truncated        True when decoding stopped at ``max_seconds`` before the media's end
    gain_db          gain applied by loudness normalisation (0.0 for silence)
    warnings         non-fatal problems (damaged packets, a cut-off container)
    """

    samples: np.ndarray
    sr: int
    original_sr: int
    channels: int
    codec: str
    container: str
    duration_s: float
    offset_s: float = 0.0
    decoded_s: float = 0.0
    truncated: bool = False
    gain_db: float = 0.0
    warnings: list[str] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        """Length of the decoded samples (not of the whole media)."""
        return len(self.samples) / self.sr


def load_audio(
    path: str | Path,
    *,
    sr: int = 16000,
    max_seconds: float = 600.0,
    offset: float = 0.0,
    normalize: bool = True,
    allow_partial: bool = False,
) -> AudioClip:
    """Decode ``[offset, offset + max_seconds)`` of the first audio stream of ``path``.

    ``allow_partial`` keeps the decodable start of a cut-off mp4/m4a/mov instead of failing.
    Raises ``MediaError`` with code ``not_found``, ``empty``, ``wrong_type``, ``not_media``,
    ``no_audio``, ``truncated``, ``corrupt`` or ``unsupported``.
    """
    import av  # imported here: PyAV loads FFmpeg, keep it off the import path of the CLI

    path = Path(path)
    _check_file(path)
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except av.error.FFmpegError as exc:
        if _iso_is_cut_off(path):
            raise MediaError(
                f"{path}: the file is truncated (cut off mid-download?): {exc}; download it again", code="truncated"
            ) from exc
        raise MediaError(
            f"{path}: FFmpeg cannot open it as media ({exc}); the file is corrupt or not audio", code="corrupt"
        ) from exc
    with container:
        stream = next((s for s in container.streams if s.type == "audio"), None)
        if stream is None:
            kinds: list[str] = sorted({s.type for s in container.streams}) or ["nothing"]
            raise MediaError(f"{path}: has no audio track (streams: {', '.join(kinds)})", code="no_audio")
        if stream.codec_context is None:
            raise UnsupportedMedia(
                f"{path}: its audio codec is unknown to the bundled FFmpeg (no "
                "decoder); convert it to mp3/aac/opus/flac/wav"
            )
        clip = _decode_stream(container, stream, path, sr=sr, max_seconds=max_seconds, offset=offset)
    if len(clip.samples) == 0:
        if clip.warnings or clip.duration_s > 0:
            reason = clip.warnings[0] if clip.warnings else f"header claims {clip.duration_s:.1f} s"
            raise MediaError(f"{path}: no audio could be decoded ({reason}); the stream is corrupt", code="corrupt")
        raise MediaError(f"{path}: the audio track has no samples (0 seconds)", code="empty")
    if _iso_is_cut_off(path):
        if not allow_partial:
            raise MediaError(
                f"{path}: the file is truncated (cut off mid-download?); only "
                f"{clip.seconds:.1f} of {clip.duration_s:.1f} s are present. Download it "
                "again, or pass allow_partial=True to keep what is there",
                code="truncated",
            )
        clip.warnings.append("container is cut off (truncated file); decoded what was there")
    if normalize:
        clip.samples, clip.gain_db = normalize_loudness(clip.samples, sr)
    return clip


def _check_file(path: Path) -> None:
    """Cheap checks before FFmpeg sees the file: existence, size, and what its bytes really are."""
    if not path.is_file():
        raise MediaError(f"{path}: no such file", code="not_found")
    size = os.path.getsize(path)
    if size == 0:
        raise MediaError(f"{path}: the file is empty (0 bytes)", code="empty")
    sniffed = sniff_file(path)
    limit = MAX_MEDIA_BYTES.get(sniffed.kind if sniffed else Modality.AUDIO, MAX_AUDIO_BYTES)
    if size > limit:  # the import gate's limit (media/limits.py): a larger file was never meant to get here
        raise MediaError(f"{path}: {size:,} bytes is over the {limit:,}-byte limit", code="too_large")
    if sniffed is not None and sniffed.kind in (Modality.IMAGE, Modality.GIF):
        raise MediaError(
            f"{path}: is really {sniffed.mime}, not audio or video (the extension lies); store it as {sniffed.ext}",
            code="wrong_type",
        )
    if sniffed is not None and not extension_agrees(path, sniffed):
        claimed = kind_from_extension(path)
        if claimed not in (Modality.AUDIO, Modality.VIDEO):
            raise MediaError(f"{path}: is really {sniffed.mime}; store it as {sniffed.ext}", code="wrong_type")
        # audio named as video or the reverse: the sound track is still what we want
    if sniffed is None:
        with open(path, "rb") as handle:
            head = handle.read(64).lstrip().lower()
        if head.startswith((b"<!doctype", b"<html", b"{", b"[", b"<?xml")):
            raise MediaError(
                f"{path}: is a text/HTML document, not media (an error page saved as a media file?)", code="not_media"
            )


def _decode_stream(container, stream, path: Path, *, sr: int, max_seconds: float, offset: float) -> AudioClip:
    """Streaming decode + resample; stops as soon as ``max_seconds`` of output exist."""
    import av

    ctx = stream.codec_context
    original_sr = int(ctx.sample_rate or 0)
    channels = int(ctx.channels or 0)
    duration = _container_duration(container, stream)
    if offset > 0:
        try:
            container.seek(int(offset * av.time_base))  # keyframe before offset; trimmed below
        except av.error.FFmpegError:
            pass  # unseekable stream: decode from the start and drop samples
    resampler = av.AudioResampler(format="flt", layout="mono", rate=sr)
    max_samples = int(round(max_seconds * sr))
    chunks: list[np.ndarray] = []
    have = 0
    bad_packets = 0
    warnings: list[str] = []
    stopped_early = False
    try:
        for packet in container.demux(stream):
            try:
                frames = packet.decode()
            except av.error.FFmpegError as exc:
                bad_packets += 1
                if bad_packets == 1:
                    warnings.append(f"undecodable packet: {exc}")
                if bad_packets > 50 and have == 0:
                    break
                continue
            for frame in frames:
                start_s = float(frame.pts * frame.time_base) if frame.pts is not None else None
                for out in resampler.resample(frame):
                    data = out.to_ndarray().reshape(-1)
                    if offset > 0 and start_s is not None and start_s < offset:
                        skip = int(round((offset - start_s) * sr))
                        data = data[skip:]
                    chunks.append(data)
                    have += len(data)
            if have >= max_samples:
                stopped_early = True
                break
    except av.error.FFmpegError as exc:  # demuxer gave up mid-file: keep what decoded
        warnings.append(f"demuxing stopped: {exc}")
    if not stopped_early:
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray().reshape(-1))
    samples = np.concatenate(chunks).astype(np.float32, copy=False) if chunks else np.zeros(0, np.float32)
    samples = samples[:max_samples]
    decoded_s = len(samples) / sr
    if duration is None or duration <= 0:
        duration = offset + decoded_s
    truncated = stopped_early and duration > offset + decoded_s + 0.05
    if bad_packets:
        warnings.append(f"{bad_packets} undecodable packet(s) skipped")
    return AudioClip(
        samples=np.nan_to_num(samples),
        sr=sr,
        original_sr=original_sr,
        channels=channels,
        codec=ctx.name,
        container=container.format.name,
        duration_s=float(duration),
        offset_s=offset,
        decoded_s=have / sr,
        truncated=truncated,
        warnings=warnings,
    )


def _container_duration(container, stream) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / 1_000_000
    return None


def normalize_loudness(
    samples: np.ndarray,
    sr: int,
    target_dbfs: float = TARGET_RMS_DBFS,
) -> tuple[np.ndarray, float]:
    """Gated RMS normalisation (a simple stand-in for LUFS) with a peak limit.

    Quiet pauses are gated out so that a sentence followed by silence is not over-amplified;
    silence itself is returned untouched (gain 0 dB).
    """
    block = max(1, int(_BLOCK_SECONDS * sr))
    n_blocks = max(1, len(samples) // block)
    blocks = samples[: n_blocks * block].reshape(n_blocks, -1) if len(samples) >= block else samples[None, :]
    block_db = 10 * np.log10(np.mean(blocks.astype(np.float64) ** 2, axis=1) + 1e-12)
    loud = block_db[block_db > SILENCE_DBFS]
    if loud.size == 0:
        return samples, 0.0
    mean_db = 10 * np.log10(np.mean(10 ** (loud / 10)))
    gated = loud[loud > mean_db - 10.0]  # relative gate, as in R128
    level_db = 10 * np.log10(np.mean(10 ** (gated / 10))) if gated.size else mean_db
    gain_db = min(target_dbfs - level_db, MAX_GAIN_DB)
    peak = float(np.max(np.abs(samples))) or 1.0
    gain_db = min(gain_db, 20 * np.log10(PEAK_LIMIT / peak))
    gain = np.float32(10 ** (gain_db / 20))
    return (samples * gain).astype(np.float32, copy=False), float(gain_db)


def _iso_is_cut_off(path: Path) -> bool:
    """True when an ISO-BMFF file (mp4/m4a/mov) declares boxes that run past its end.

    That is the signature of a partial download; FFmpeg then reports a vague 'moov atom not found'.
    """
    size = os.path.getsize(path)
    with open(path, "rb") as handle:
        head = handle.read(12)
        if len(head) < 12 or head[4:8] != b"ftyp":
            return False
        position = 0
        for _ in range(10_000):
            handle.seek(position)
            header = handle.read(16)
            if len(header) < 8:
                return position < size  # trailing bytes too short to be a box header
            box_size = int.from_bytes(header[:4], "big")
            if box_size == 1 and len(header) == 16:
                box_size = int.from_bytes(header[8:16], "big")
            elif box_size == 0:
                return False  # box runs to the end of the file by definition
            if box_size < 8:
                return True
            position += box_size
            if position > size:
                return True
            if position == size:
                return False
    return False
