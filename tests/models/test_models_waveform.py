"""The RawNet waveform path: crops from a workspace's audio, trained end to end inside the fusion network."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from postlens.encoders.audio.synth import tone, write_audio
from postlens.encoders.base import Features
from postlens.errors import ConfigError
from postlens.models.artifact import load_model
from postlens.models.config import load_config, parse_config
from postlens.models.data import load_post_data
from postlens.models.waveform import WAVEFORM, load_waveforms, pick_crops
from postlens.pipeline.featurize import text_key
from postlens.pipeline.train import run_train
from postlens.store.features import FeatureCache
from postlens.store.workspace import Workspace

TEXT_KEY = "text-minilm-l6@test"
PITCHES = {"low": 220.0, "mid": 550.0, "high": 1400.0}


@pytest.fixture(scope="module")
def tone_workspace(tmp_path_factory):
    """150 posts whose label is the pitch of their audio clip; text is noise; every 5th post has no audio."""
    root = tmp_path_factory.mktemp("wave") / "ws"
    rng = np.random.default_rng(0)
    labels = list(PITCHES)
    start, now = datetime(2024, 1, 1, tzinfo=UTC), datetime.now(UTC)
    ws = Workspace(root)
    (root / "media").mkdir(exist_ok=True)
    texts = [f"post {i}" for i in range(150)]
    for i in range(150):
        label = labels[i % 3]
        has_audio = i % 5 != 4
        ws.db.execute(
            "INSERT INTO posts (id, source, native_id, platform, created_at, text, author_id, author_followers, "
            "hashtags, labels, media_kinds, content_hash, run_id, first_seen, updated_at) "
            "VALUES (?, 's', ?, 'x', ?, ?, ?, 100, [], MAP(['pitch'], [?]), ?, 'h', 'r', ?, ?)",
            [
                f"s:{i:03d}",
                str(i),
                start + timedelta(hours=int(rng.integers(0, 2000))),
                texts[i],
                f"a{i % 9}",
                label,
                ["audio"] if has_audio else [],
                now,
                now,
            ],
        )
        if has_audio:
            seconds = float(rng.uniform(0.3, 1.2))  # shorter than a crop sometimes: tiled
            samples = tone(seconds, PITCHES[label] * rng.uniform(0.95, 1.05), amp=float(rng.uniform(0.05, 0.5)))
            samples = samples + rng.normal(scale=0.02, size=samples.shape).astype(np.float32)
            write_audio(root / "media" / f"{i}.wav", samples)
            ws.db.execute(
                "INSERT INTO media (post_id, position, kind, status, path, sha256) "
                "VALUES (?, 0, 'audio', 'stored', ?, ?)",
                [f"s:{i:03d}", f"media/{i}.wav", f"sha{i}"],
            )
    ws.db.execute(
        "INSERT INTO media (post_id, position, kind, status, path, sha256) "
        "VALUES ('s:004', 1, 'audio', 'stored', 'media/broken.wav', 'bad')"
    )
    (root / "media" / "broken.wav").write_bytes(b"RIFF not really a wav")
    FeatureCache(ws.features_dir).write(
        TEXT_KEY, [text_key(t) for t in texts], [Features(vector=rng.normal(size=8).astype(np.float32)) for _ in texts]
    )
    ws.close()
    return root


def _config(tmp_path, body: str):
    path = tmp_path / "train.yaml"
    path.write_text(f"features:\n  modalities: {{text: '{TEXT_KEY}'}}\n  metadata: false\n" + body)
    return path


WAVE = "  waveform: {enabled: true, seconds: 0.5, max_crops: 3}\n"
MODEL = (
    "target: pitch\nsplit: {strategy: stratified, test_size: 0.3, val_size: 0.15}\nseed: 4\nnum_threads: 1\n"
    "model: {kind: fusion, width: 32, epochs: 12, patience: 12, batch_size: 32, lr: 0.003, modality_dropout: 0.1}\n"
)


def test_waveform_crops_loaded_per_post_and_broken_files_skipped(tone_workspace, tmp_path):
    config = load_config(_config(tmp_path, WAVE + "target: pitch\n"))
    with Workspace(tone_workspace, read_only=True) as ws:
        data, facts = load_post_data(ws, config, ["s:000", "s:004", "s:009"])
        errors: list[str] = []
        crops, _ = load_waveforms(ws, ["s:004"], config.features.waveform, errors)
    assert data.masks[WAVEFORM].tolist() == [True, False, False]  # s:004 only has the broken file
    assert data.waveforms[WAVEFORM][0].shape[1] == 8000  # 0.5 s at 16 kHz, clips shorter than that tiled
    assert crops == [None] and errors and "broken.wav" in errors[0]
    assert facts["feature_keys"][WAVEFORM].startswith("rawnet-crops@0.5s")
    assert any((tone_workspace / "features" / "waveforms").glob("*.npy"))


def test_waveform_is_off_by_default_and_accepts_true_shorthand():
    assert parse_config({}).features.waveform.enabled is False
    assert parse_config({"features": {"waveform": True}}).features.waveform.enabled is True
    with pytest.raises(ConfigError, match="unknown key"):
        parse_config({"features": {"waveform": {"enabled": True, "second": 2}}})


def test_pick_crops_one_random_crop_when_training_all_at_eval():
    crops = [np.arange(30, dtype=np.float16).reshape(3, 10), None, np.ones((2, 10), np.float16)]
    present = np.array([True, True, False])
    chosen, owners = pick_crops(crops, present, np.array([0.7, 0.1, 0.1]), 10)
    assert owners.tolist() == [0] and chosen[0, 0] == 20  # crop index int(0.7 * 3) = 2
    chosen, owners = pick_crops(crops, np.array([True, False, True]), None, 10)
    assert owners.tolist() == [0, 0, 0, 2, 2] and chosen.dtype == np.float32


def test_pitch_learnt_from_waveform_only_deterministic_and_reloads(tone_workspace, tmp_path):
    first = run_train(_config(tmp_path, WAVE + MODEL + "output: m1\n"), workspace=tone_workspace)
    second = run_train(_config(tmp_path, WAVE + MODEL + "output: m2\n"), workspace=tone_workspace)
    assert first["test"] == second["test"]
    # a fifth of the posts have no audio: they can only be guessed (1/3), the rest should be right
    assert first["test"]["accuracy"] > 0.7
    assert first["test_missing"]["without_waveform"]["accuracy"] < 0.6
    model = load_model(tmp_path / "m1")
    config = load_config(_config(tmp_path, WAVE + "target: pitch\n"))
    with Workspace(tone_workspace, read_only=True) as ws:
        posts, _ = load_post_data(ws, config, [f"s:{i:03d}" for i in range(20)])
    predicted = model.predict_labels(posts)
    assert len(predicted) == 20  # s:004, s:009... have no audio and still predict
    truth = [list(PITCHES)[i % 3] for i in range(20)]
    with_audio = [i for i in range(20) if posts.masks[WAVEFORM][i]]
    assert np.mean([predicted[i] == truth[i] for i in with_audio]) > 0.8
    again = load_model(tmp_path / "m1").predict_proba(posts)
    assert np.allclose(model.predict_proba(posts), again)
