"""Same seed -> byte-identical corpus (posts, truth AND media); another seed -> another corpus."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from postlens.demo import CorpusParams, generate_corpus
from postlens.errors import ConfigError


def tree_hashes(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_same_seed_gives_identical_files(demo_corpus, demo_settings, tmp_path):
    seed, n_posts = demo_settings
    again = generate_corpus(tmp_path / "again", seed=seed, n_posts=n_posts)
    assert again.posts_path.read_bytes() == demo_corpus.posts_path.read_bytes()
    assert again.truth_path.read_bytes() == demo_corpus.truth_path.read_bytes()
    first, second = tree_hashes(demo_corpus.out_dir), tree_hashes(again.out_dir)
    assert first.keys() == second.keys()
    differing = [name for name in first if first[name] != second[name]]
    assert differing == [], f"media not byte-identical for the same seed: {differing[:5]}"


def test_other_seed_gives_other_corpus(demo_corpus, demo_settings, tmp_path):
    seed, n_posts = demo_settings
    other = generate_corpus(tmp_path / "other", seed=seed + 1, n_posts=n_posts)
    assert other.posts_path.read_bytes() != demo_corpus.posts_path.read_bytes()
    assert other.truth_path.read_bytes() != demo_corpus.truth_path.read_bytes()


def test_progress_is_reported_for_every_post(tmp_path):
    calls: list[tuple[int, int]] = []
    summary = generate_corpus(tmp_path / "p", seed=1, n_posts=25, progress=lambda d, t: calls.append((d, t)))
    assert summary.n_posts == 25
    assert calls[-1] == (25, 25)
    assert [d for d, _ in calls] == list(range(1, 26))


def test_regenerating_into_an_earlier_demo_folder_replaces_it(tmp_path):
    out = tmp_path / "corpus"
    generate_corpus(out, seed=3, n_posts=60)
    stale = out / "media" / "stale_leftover.png"
    stale.write_bytes(b"old")
    summary = generate_corpus(out, seed=3, n_posts=20)
    assert not stale.exists()
    assert len(summary.posts_path.read_bytes().splitlines()) == 20


def test_refuses_a_non_empty_folder_that_is_not_a_demo_corpus(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("precious")
    with pytest.raises(ConfigError, match="not empty"):
        generate_corpus(out, seed=0, n_posts=10)
    assert (out / "notes.txt").read_text() == "precious"


def test_bad_sizes_and_params_are_rejected(tmp_path):
    with pytest.raises(ConfigError):
        generate_corpus(tmp_path / "zero", n_posts=0)
    with pytest.raises(ValueError, match="not a demo topic"):
        generate_corpus(tmp_path / "bad", n_posts=10, params=CorpusParams(burst_topic="gardening"))
