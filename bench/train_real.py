"""Training-stage figures on the real datasets in ../shared/datasets (skips what is absent).

    .venv/bin/python bench/train_real.py --only tweeteval,finetune,mediaeval,pheme
    (MediaEval / PHEME need featurized workspaces: --mediaeval-ws /tmp/me-ws --pheme-ws /tmp/pheme-ws)

Every figure goes through the same code as ``postlens train`` (models.trainer).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from postlens.evaluation.splits import make_split
from postlens.models import trainer
from postlens.models.config import parse_config
from postlens.models.data import TrainingSet
from postlens.models.imbalance import supported_methods
from postlens.models.inputs import PostData

DATASETS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"
CACHE = Path(os.environ.get("POSTLENS_BENCH_CACHE", "/tmp/postlens-bench-cache"))


def _row(name: str, metrics: dict, seconds: float, extra: str = "") -> None:
    keys = [k for k in ("macro_f1", "balanced_accuracy", "minority_recall", "spearman", "mae") if k in metrics]
    figures = "  ".join(f"{k} {metrics[k]:.3f}" for k in keys)
    print(f"  {name:<34} {figures}  train {seconds:7.1f}s {extra}", flush=True)


def _minilm(texts: list[str], tag: str) -> np.ndarray:
    """MiniLM embeddings through the encoder the featurize stage uses, cached between runs."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"{tag}.npy"
    if path.exists():
        return np.load(path)
    from postlens.encoders.text.sentence import MiniLMEncoder

    started = time.perf_counter()
    features = MiniLMEncoder(batch_size=64).encode(texts)
    matrix = np.stack([f.vector if f.vector is not None else np.zeros(384, np.float32) for f in features])
    print(f"  (embedded {len(texts)} texts in {time.perf_counter() - started:.1f}s)", flush=True)
    np.save(path, matrix)
    return matrix


def _tweeteval(split: str) -> tuple[list[str], np.ndarray]:
    folder = DATASETS / "tweeteval" / "emotion"
    texts = (folder / f"{split}_text.txt").read_text(encoding="utf-8").splitlines()
    labels = np.array([int(x) for x in (folder / f"{split}_labels.txt").read_text().split()])
    return texts, labels


def tweeteval(with_frozen: bool, with_finetune: bool, finetune_epochs: int) -> None:
    if not (DATASETS / "tweeteval" / "emotion").exists():
        print("tweeteval: absent, skipped")
        return
    classes = (DATASETS / "tweeteval" / "emotion" / "mapping.txt").read_text().split()[1::2]
    train_texts, train_y = _tweeteval("train")
    val_texts, val_y = _tweeteval("val")
    print(
        f"TweetEval emotion: train {len(train_y)}, val {len(val_y)}, classes {classes}, "
        f"train counts {np.bincount(train_y).tolist()}"
    )
    x_train, x_val = _minilm(train_texts, "tweeteval_emotion_train"), _minilm(val_texts, "tweeteval_emotion_val")

    def as_set(x, y, texts):
        data = PostData(
            modalities={"text": x},
            masks={"text": np.ones(len(y), bool)},
            meta=np.zeros((len(y), 0), np.float32),
            texts=texts,
        )
        return TrainingSet(data=data, y=y, task="classification", classes=classes)

    full = as_set(x_train, train_y, train_texts)
    inner = make_split("stratified", len(train_y), y=train_y, test_size=0.1, val_size=0.0, seed=0)
    fit_set, stop_set = full.subset(inner.train), full.subset(inner.test)  # early stopping inside train
    val = as_set(x_val, val_y, val_texts)
    if with_frozen:
        frozen(full, fit_set, stop_set, val)
    if with_finetune:
        config = parse_config(
            {
                "model": {
                    "kind": "finetune",
                    "epochs": finetune_epochs,
                    "batch_size": 32,
                    "finetune_lr": 3e-5,
                    "max_length": 64,
                },
                "num_threads": 2,
                "seed": 0,
            }
        )
        model = trainer.fit(config, fit_set, stop_set)
        per_epoch = ", ".join(f"{s:.0f}s" for s in model.epoch_seconds_)
        _row(
            f"fine-tuned MiniLM ({finetune_epochs} ep)",
            trainer.evaluate(model, val),
            model.fit_seconds_,
            f"(epochs: {per_epoch})",
        )


def frozen(full: TrainingSet, fit_set: TrainingSet, stop_set: TrainingSet, val: TrainingSet) -> None:
    """Baselines, frozen-embedding fusion and every imbalance method on the official validation set."""
    for kind in ("logreg", "lightgbm", "fusion"):
        config = parse_config({"model": {"kind": kind, "epochs": 40, "patience": 6}, "num_threads": 1, "seed": 0})
        model = trainer.fit(config, fit_set if kind == "fusion" else full, stop_set)
        _row(f"{kind} (frozen MiniLM)", trainer.evaluate(model, val), model.fit_seconds_)
    print(" imbalance methods (fusion on frozen MiniLM, official val):")
    config = parse_config({"model": {"kind": "fusion", "epochs": 40, "patience": 6}, "num_threads": 1, "seed": 0})
    for method in supported_methods("fusion"):
        model = trainer.fit(config, fit_set, stop_set, imbalance=method)
        _row(f"fusion + {method}", trainer.evaluate(model, val), model.fit_seconds_)
    print(" imbalance methods (logreg):")
    for method in supported_methods("logreg"):
        config_lr = parse_config({"model": {"kind": "logreg"}, "seed": 0})
        model = trainer.fit(config_lr, full, stop_set, imbalance=method)
        _row(f"logreg + {method}", trainer.evaluate(model, val), model.fit_seconds_)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", default="tweeteval,mediaeval,pheme")
    parser.add_argument("--finetune-epochs", type=int, default=1)
    parser.add_argument("--mediaeval-ws", default="/tmp/me-ws")
    parser.add_argument("--pheme-ws", default="/tmp/pheme-ws")
    args = parser.parse_args()
    wanted = set(args.only.split(","))
    if not DATASETS.exists():
        print(f"{DATASETS} is absent: nothing to measure")
        return
    if "tweeteval" in wanted or "finetune" in wanted:
        tweeteval("tweeteval" in wanted, "finetune" in wanted, args.finetune_epochs)
    if "mediaeval" in wanted:
        from train_real_workspaces import mediaeval

        mediaeval(Path(args.mediaeval_ws))
    if "pheme" in wanted:
        from train_real_workspaces import pheme

        pheme(Path(args.pheme_ws))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
