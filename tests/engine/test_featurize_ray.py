"""Featurize on Ray writes the same features as in-process featurize: same cache keys, same rows.

The sample corpus (``postlens demo-data``: captioned pictures, GIFs, texts with hashtags and emoji) is
imported into two workspaces; one is featurized here, the other on a local Ray with two actors per
encoder. Every encoder folder must hold the same keys with equal vectors, texts, info and errors.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from postlens.engine import RayEngine
from postlens.pipeline.featurize import featurize
from postlens.store.features import FeatureCache
from postlens.store.workspace import Workspace
from postlens.types import Features

N_POSTS = 30
ENCODERS = ["efficientnet", "image-stats", "ocr", "minilm", "vader"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from postlens.demo import generate_corpus

    out = tmp_path_factory.mktemp("ray-corpus") / "corpus"
    generate_corpus(out, seed=3, n_posts=N_POSTS)
    return out


def imported(corpus: Path, root: Path) -> Path:
    from postlens.pipeline.ingest import run_ingest

    run_ingest([corpus / "posts.jsonl"], importer_name="postlens", media_root=corpus, workspace=root)
    return root


def cache_contents(root: Path) -> dict[str, dict[str, Features]]:
    cache = FeatureCache(root / "features")
    return {folder.name: cache.read(folder.name) for folder in sorted((root / "features").iterdir())}


def same_features(a: Features, b: Features) -> bool:
    def same_array(x: np.ndarray | None, y: np.ndarray | None) -> bool:
        return (x is None and y is None) or (x is not None and y is not None and np.array_equal(x, y))

    return (
        same_array(a.vector, b.vector)
        and same_array(a.sequence, b.sequence)
        and (a.text, a.info, a.error) == (b.text, b.info, b.error)
    )


def test_ray_writes_the_same_features_as_the_local_engine(corpus: Path, tmp_path: Path, ray_engine: RayEngine) -> None:
    local_ws, ray_ws = imported(corpus, tmp_path / "local"), imported(corpus, tmp_path / "ray")
    local = featurize(local_ws, encoders=ENCODERS, parallel_ocr=False)
    steps: list[tuple[str, int, int]] = []
    on_ray = featurize(ray_ws, encoders=ENCODERS, engine=ray_engine, progress=lambda *s: steps.append(s))

    assert on_ray.computed == local.computed > N_POSTS  # images and texts of every post
    assert on_ray.text_fields == local.text_fields
    assert {r.encoder: (r.items, r.computed, r.errors) for r in on_ray.runs} == {
        r.encoder: (r.items, r.computed, r.errors) for r in local.runs
    }
    expected, found = cache_contents(local_ws), cache_contents(ray_ws)
    assert sorted(found) == sorted(expected)  # the same encoder@version folders: same cache keys
    for folder, rows in expected.items():
        assert sorted(found[folder]) == sorted(rows), folder
        different = [key for key, feat in rows.items() if not same_features(feat, found[folder][key])]
        assert not different, f"{folder}: {len(different)} items differ, e.g. {different[:3]}"
    for encoder in ENCODERS:  # progress went from 0 to the total of each encoder
        mine = [s for s in steps if s[0] == encoder]
        assert mine[0][1] == 0 and mine[-1][1] == mine[-1][2]
    assert not (ray_ws / "tmp").exists()  # the run's Parquet parts were removed

    with Workspace(local_ws, read_only=True) as a, Workspace(ray_ws, read_only=True) as b:
        query = "SELECT encoder, key, error FROM feature_errors ORDER BY ALL"
        assert a.db.execute(query).fetchall() == b.db.execute(query).fetchall()
        fields = "SELECT post_id, field, key FROM text_fields ORDER BY ALL"
        assert a.db.execute(fields).fetchall() == b.db.execute(fields).fetchall()

    again = featurize(ray_ws, encoders=ENCODERS, engine=ray_engine)
    assert again.computed == 0  # everything is in the workspace cache: a re-run on either engine is free
    assert featurize(ray_ws, encoders=ENCODERS).computed == 0


def test_post_ids_limit_the_ray_run_to_those_posts(corpus: Path, tmp_path: Path, ray_engine: RayEngine) -> None:
    workspace = imported(corpus, tmp_path / "ws")
    with Workspace(workspace, read_only=True) as ws:
        some = [pid for (pid,) in ws.db.execute("SELECT id FROM posts ORDER BY id LIMIT 5").fetchall()]
        texts = ws.db.execute(
            "SELECT count(*) FROM posts WHERE id IN (SELECT unnest(?)) AND length(trim(text)) > 0", [some]
        ).fetchone()
    summary = featurize(workspace, encoders=["vader"], engine=ray_engine, post_ids=some)
    assert texts is not None and summary.computed == texts[0] > 0
    shutil.rmtree(workspace)
