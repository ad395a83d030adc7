"""The sample corpus and the main job on it: generate, ingest, featurize, train.

Nothing here prints: each stage reports through the callbacks of ``DemoHooks`` and the run returns a
``DemoReport``. The CLI (``serve/demo.py``) draws bars from the callbacks and prints each stage's
result when ``on_stage`` says it is done; a notebook can pass nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from postlens.pipeline.ingest import run_ingest
from postlens.store.ingest import ImportSummary
from postlens.store.workspace import resolve_workspace_path

if TYPE_CHECKING:
    from postlens.pipeline.featurize import FeaturizeSummary

DEMO_TRAIN = {
    "name": "demo-topic",
    "target": "topic",
    "features": {"modalities": {"text": "minilm", "image": "efficientnet", "video": "video", "audio": "audio"},
                 "text_fields": ["text", "ocr"]},
    "split": {"strategy": "time"},
    "model": {"kind": "fusion", "epochs": 20},
    "seed": 0,
}
"""The topic model ``postlens demo`` trains on the labelled subset (``labels['topic']``)."""


@dataclass
class DemoHooks:
    """What the caller hears while the demo runs; every callback is optional.

    ``on_stage(name, result)`` is called when a stage ends: ``"corpus"`` (a ``DemoCorpus``),
    ``"ingest"`` (an ``ImportSummary``), ``"featurize"`` (a ``FeaturizeSummary``) or ``"train"``
    (the training report); and ``"train-start"`` (None) before training begins.
    """

    generating: Callable[[int, int], None] | None = None  # (posts written, total)
    importing: Callable[[int, int], None] | None = None  # (records seen, quarantined)
    featurizing: Callable[[str, int, int], None] | None = None  # (encoder, done, total)
    training: Callable[[str], None] | None = None  # progress messages
    on_stage: Callable[[str, Any], None] | None = None


@dataclass(frozen=True)
class DemoCorpus:
    """Where the sample corpus is and whether this run wrote it (False: an earlier one with the same seed was reused)."""

    folder: Path
    seed: int
    n_posts: int
    generated: bool
    summary: Any = None  # demo.CorpusSummary when generated


@dataclass
class DemoReport:
    corpus: DemoCorpus
    imported: ImportSummary
    workspace: Path
    featurized: FeaturizeSummary | None = None
    trained: dict[str, Any] | None = None


def run_demo_data(out: Path, *, seed: int = 0, n_posts: int = 3000,
                  progress: Callable[[int, int], None] | None = None) -> Any:
    """Write the sample corpus into ``out``; returns its ``CorpusSummary`` (truth in ``out/truth.json``)."""
    from postlens.demo import generate_corpus

    return generate_corpus(out, seed=seed, n_posts=n_posts, progress=progress)


def ensure_corpus(out: Path, *, seed: int = 0, n_posts: int = 3000,
                  progress: Callable[[int, int], None] | None = None) -> DemoCorpus:
    """The corpus in ``out``: reused when one with this seed and size is there, else written."""
    if _corpus_matches(out, seed, n_posts):
        return DemoCorpus(out, seed, n_posts, generated=False)
    return DemoCorpus(out, seed, n_posts, generated=True,
                      summary=run_demo_data(out, seed=seed, n_posts=n_posts, progress=progress))


def run_demo(
    out: Path, *, seed: int = 0, n_posts: int = 3000, workspace: Path | None = None,
    featurize: bool = True, train: bool = True, hooks: DemoHooks | None = None,
) -> DemoReport:
    """The main job on the sample corpus: generate (unless already there), ingest, featurize, train.

    Every stage is idempotent: a second run reuses the corpus, imports nothing new, computes no
    feature twice, and retrains the (small) topic model.
    """
    hooks = hooks or DemoHooks()

    def done(stage: str, result: Any) -> None:
        if hooks.on_stage is not None:
            hooks.on_stage(stage, result)

    corpus = ensure_corpus(out, seed=seed, n_posts=n_posts, progress=hooks.generating)
    done("corpus", corpus)
    summary = run_ingest([out], importer_name="postlens", workspace=workspace, progress=hooks.importing)
    report = DemoReport(corpus=corpus, imported=summary, workspace=resolve_workspace_path(workspace))
    done("ingest", summary)
    if featurize:
        from postlens.pipeline.featurize import featurize as run_featurize

        report.featurized = run_featurize(report.workspace, progress=hooks.featurizing)
        done("featurize", report.featurized)
    if featurize and train:
        from postlens.models.config import parse_config
        from postlens.pipeline.train import run_train

        done("train-start", None)
        report.trained = run_train(parse_config(DEMO_TRAIN), workspace=workspace, progress=hooks.training)
        done("train", report.trained)
    return report


def _corpus_matches(out: Path, seed: int, n_posts: int) -> bool:
    import orjson

    truth = out / "truth.json"
    if not truth.exists() or not (out / "posts.jsonl").exists():
        return False
    try:
        meta = orjson.loads(truth.read_bytes())
    except orjson.JSONDecodeError:
        return False
    params = meta.get("params", {})
    return meta.get("seed") == seed and params.get("n_posts", n_posts) == n_posts
