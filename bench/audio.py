"""Audio understanding throughput: decode + VAD + ASR + embedding (+ spectra), in x real time.

    .venv/bin/python bench/audio.py [--three-hours]

Synthesises English speech with espeak-ng (wav, mp3 and the sound track of mp4) plus music and tone
clips, runs the AudioPipeline once to warm up, then times every clip and prints the share of time per
stage, wall-clock and CPU-time throughput (CPU time is the fairer figure when other jobs share the
2 cores: the load average is printed too), and the word error rate per sentence.
Goal: >= 10x real time on 2 cores. ``--three-hours`` also writes a 3-hour low-bitrate mp3 and shows
that decoding stops at the 600 s cap.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from postlens.encoders.audio import AudioPipeline
from postlens.encoders.audio.asr import load_whisper, word_error_rate
from postlens.encoders.audio.synth import chord_music, espeak_available, speak, tone, write_audio, write_video
from postlens.media.audio import load_audio

SENTENCES = [
    "The quick brown fox jumps over the lazy dog. Social media posts often contain short videos "
    "with people talking about the news of the day.",
    "I can't believe how crowded the beach was this weekend, everyone should stay home.",
    "Please subscribe to my channel for more cooking videos every Tuesday.",
    "Breaking news: the city council has approved the new budget for public transport.",
    "This is the best pizza I have ever eaten, you have to try it when you visit Naples.",
    "Scientists say the storm will reach the coast tomorrow morning, so please be careful.",
]

FOREIGN = [
    ("de", "Guten Morgen, heute sprechen wir über das Wetter in Berlin und die Nachrichten des Tages."),
    ("es", "Buenos días, hoy hablamos sobre el tiempo en Madrid y las noticias del día."),
    ("fr", "Bonjour à tous, aujourd'hui nous parlons de la météo à Paris et des nouvelles du jour."),
    ("it", "Buongiorno a tutti, oggi parliamo del tempo a Roma e delle notizie del giorno."),
    ("pt", "Bom dia a todos, hoje falamos sobre o tempo em Lisboa e as notícias do dia."),
    ("nl", "Goedemorgen allemaal, vandaag praten we over het weer in Amsterdam en het nieuws."),
]


def make_clips(folder: Path) -> list[tuple[Path, str | None]]:
    """(path, reference transcript or None) for speech in three containers, music and tones."""
    clips: list[tuple[Path, str | None]] = []
    if espeak_available():
        for i, sentence in enumerate(SENTENCES):
            speech = load_audio(speak(folder / f"s{i}.wav", sentence)).samples
            padded = np.concatenate([np.zeros(16000, np.float32), speech, np.zeros(16000, np.float32)])
            clips.append((folder / f"s{i}.wav", sentence))
            clips.append((write_audio(folder / f"s{i}.mp3", padded[None, :] * 0.5), sentence))
            clips.append((write_video(folder / f"s{i}.mp4", len(padded) / 16000, padded[None, :] * 0.3), sentence))
        for voice, sentence in FOREIGN:
            clips.append((speak(folder / f"foreign_{voice}.wav", sentence, voice=voice), f"[{voice}]"))
    else:
        print("espeak-ng missing (apt-get install -y espeak-ng): speech clips skipped")
    for i, seconds in enumerate((10.0, 20.0, 30.0)):
        clips.append((write_audio(folder / f"music{i}.mp3", chord_music(seconds, seed=i)), None))
    clips.append((write_audio(folder / "tone.m4a", tone(15.0, 523.0)), None))
    clips.append((write_video(folder / "tone_video.mp4", 15.0, tone(15.0, 330.0, channels=2)), None))
    return clips


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--three-hours", action="store_true", help="also check the decode cap on a 3 h file")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    started = time.perf_counter()
    load_whisper()
    print(f"Whisper tiny.en load: {time.perf_counter() - started:.2f} s")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        clips = make_clips(folder)
        pipeline = AudioPipeline()
        pipeline.encode([clips[0][0]])  # warm-up: first ONNX/CTranslate2 calls allocate
        pipeline.stage_seconds = dict.fromkeys(pipeline.stage_seconds, 0.0)
        pipeline.audio_seconds = 0.0
        load_before = os.getloadavg()[0]
        wall, cpu = time.perf_counter(), time.process_time()
        results = pipeline.encode([path for path, _ in clips])
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        load_after = os.getloadavg()[0]
        audio = pipeline.audio_seconds
        errors = [r.error for r in results if r.error]
        print(f"\n{len(clips)} clips, {audio:.1f} s of audio ({len(errors)} errors)")
        print(
            f"wall {wall:.2f} s -> {audio / wall:.1f}x real time;  CPU {cpu:.2f} s -> "
            f"{audio / cpu:.1f}x real time per CPU-second (2 threads)"
        )
        print(
            f"load average {load_before:.1f} -> {load_after:.1f} on {os.cpu_count()} cores "
            "(other jobs share the CPU: wall figures are pessimistic)"
        )
        total = sum(pipeline.stage_seconds.values()) or 1.0
        print("\nstage        seconds   share")
        for stage, seconds in pipeline.stage_seconds.items():
            print(f"{stage:<12}{seconds:>8.2f}{100 * seconds / total:>7.1f}%")
        print("\nWER per clip (espeak-ng speech, Whisper tiny.en, beam 1)")
        wers = []
        english_flagged = 0
        for (path, reference), features in zip(clips, results):
            if reference is None or reference.startswith("["):
                continue
            english_flagged += bool(features.info.get("language_flag"))
            wer = word_error_rate(reference, features.text or "")
            wers.append(wer)
            print(f"  {path.name:<10}{wer:>6.2f}  {features.text!r}")
        if wers:
            print(f"mean WER {np.mean(wers):.3f}, median {np.median(wers):.3f}, max {np.max(wers):.2f}")
            print(f"English clips wrongly flagged as possibly not English: {english_flagged}/{len(wers)}")
        foreign = [(ref, f) for (_, ref), f in zip(clips, results) if ref and ref.startswith("[")]
        if foreign:
            caught = sum(bool(f.info.get("language_flag")) for _, f in foreign)
            print(f"foreign-language clips flagged: {caught}/{len(foreign)}")
            for ref, f in foreign:
                print(
                    f"  {ref:<5} logprob={f.info['asr_avg_logprob']:.2f} "
                    f"no_speech={f.info['asr_no_speech_prob']:.2f} flag={f.info.get('language_flag')!r}"
                    f"  text={f.text[:90]!r}"
                )
        non_speech = [f for (_, ref), f in zip(clips, results) if ref is None and not f.error]
        print(
            "non-speech clips: speech_ratio "
            + ", ".join(f"{f.info['speech_ratio']:.2f}" for f in non_speech)
            + "; transcripts empty: "
            + str(all(not f.text for f in non_speech))
        )
        if args.three_hours:
            three_hours(folder)


def three_hours(folder: Path) -> None:
    started = time.perf_counter()
    path = write_audio(folder / "three_hours.mp3", tone(3 * 3600.0, 180.0, amp=0.05), rate=8000, bit_rate=8000)
    written = time.perf_counter() - started
    started = time.perf_counter()
    clip = load_audio(path)
    print(
        f"\n3 h mp3 ({path.stat().st_size / 1e6:.1f} MB, written in {written:.1f} s): decoded "
        f"{clip.decoded_s:.0f} s of {clip.duration_s:.0f} s in {time.perf_counter() - started:.2f} s, "
        f"truncated={clip.truncated}"
    )


if __name__ == "__main__":
    main()
