"""Audio understanding: decode once, then voice activity, English transcript, embedding, spectra.

Public entry points:
    AudioPipeline      the Encoder for audio files and video sound tracks (name "audio-whisper-tiny")
    analyse_audio      one path -> Features, with a shared per-process pipeline (used by video)
    RawNetEncoder      trainable end-to-end waveform encoder (torch), in ``rawnet`` (imports torch)
"""

from postlens.encoders.audio.pipeline import AudioPipeline, analyse_audio, default_pipeline

__all__ = ["AudioPipeline", "analyse_audio", "default_pipeline"]
