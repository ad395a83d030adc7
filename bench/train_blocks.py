"""TweetEval emotion through ``postlens train``'s own code: several text encoders per model, and
baseline hyper-parameters fixed vs chosen on validation.

    .venv/bin/python bench/train_blocks.py [--workspace /tmp/tweeteval-emotion-ws] [--lightgbm]

Builds the workspace once (TweetEval emotion train + validation as posts, the file's side in
label ``split``; featurize minilm and vader), then trains with ``split: {strategy: column}``: the
benchmark's validation rows are the held-out side, validation for tuning is carved from train.
Prints one row per model: encoders, C fixed or tuned (and the C chosen), macro-F1 on the tuning
side (carved from train) and on the held-out side (TweetEval's validation file).
"""

from __future__ import annotations

import argparse
import csv
import os
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from postlens.models.config import parse_config  # noqa: E402
from postlens.models.data import assemble  # noqa: E402
from postlens.pipeline.train import train_from_config  # noqa: E402
from postlens.store.workspace import Workspace  # noqa: E402

DATASETS = Path(os.environ.get("POSTLENS_SHARED_DATASETS", Path(__file__).resolve().parents[1].parent / "shared" / "datasets"))
FOLDER = DATASETS / "tweeteval" / "emotion"


def build_workspace(root: Path) -> None:
    """TweetEval emotion as posts (id, text, labels emotion + split), featurized with minilm and vader."""
    from postlens.pipeline import run_ingest
    from postlens.pipeline.featurize import featurize

    names = (FOLDER / "mapping.txt").read_text().split()[1::2]
    root.mkdir(parents=True, exist_ok=True)
    table = root / "emotion.csv"
    with table.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text", "emotion", "split"])
        for side in ("train", "val"):
            labels = (FOLDER / f"{side}_labels.txt").read_text().split()
            texts = (FOLDER / f"{side}_text.txt").read_text(encoding="utf-8").split("\n")[: len(labels)]
            writer.writerows([f"{side}{i}", t, names[int(y)], side] for i, (t, y) in enumerate(zip(texts, labels)))
    run_ingest([table], importer_name="csv", workspace=root / "ws", source="tweeteval",
               mapping_pairs=["text=text", "id=id", "labels.emotion=emotion", "labels.split=split"])
    with Workspace(root / "ws") as ws:
        featurize(ws, encoders=["minilm", "vader"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, default=Path("/tmp/tweeteval-emotion-bench"),
                        help="folder holding (or to hold) the featurized workspace in ws/")
    parser.add_argument("--lightgbm", action="store_true", help="also LightGBM on minilm+vader, fixed vs tuned")
    args = parser.parse_args()
    if not FOLDER.exists():
        print(f"{FOLDER} absent: skipped")
        return
    if not (args.workspace / "ws" / "postlens.duckdb").exists():
        build_workspace(args.workspace)
    base = {"target": "emotion", "split": {"strategy": "column", "column": "split", "val_size": 0.1},
            "seed": 0, "num_threads": 1, "features": {"metadata": False}}
    encoders = [["minilm"], ["vader"], ["tfidf"], ["word2vec"], ["minilm", "vader"], ["minilm", "tfidf"],
                ["minilm", "vader", "tfidf"], ["minilm", "vader", "word2vec"]]
    runs = [(e, "logreg", fixed) for e in encoders for fixed in (True, False)]
    if args.lightgbm:
        runs += [(["minilm", "vader"], "lightgbm", fixed) for fixed in (True, False)]
    print(f"{'model':<9} {'text encoders':<22} {'hyper-parameters':<40} {'val (tuning)':>12} {'held-out':>9} {'s':>6}")
    with Workspace(args.workspace / "ws", read_only=True) as ws:
        for names, kind, fixed in runs:
            config = parse_config({**base, "features": {**base["features"], "modalities": {"text": names}},
                                   "model": {"kind": kind, "tune": not fixed}})
            data = assemble(ws, config)
            started = time.perf_counter()
            report = train_from_config(config, data)
            tuning = report.get("tuning", {})
            chosen = ", ".join(f"{k}={v:g}" for k, v in tuning.get("chosen", {}).items())
            how = f"fixed {chosen}" if fixed else f"tuned -> {chosen} ({len(tuning.get('candidates', []))} tried)"
            print(f"{kind:<9} {'+'.join(names):<22} {how:<40} {report['val']['macro_f1']:>12.3f} "
                  f"{report['test']['macro_f1']:>9.3f} {time.perf_counter() - started:>6.1f}", flush=True)
    print(f"held-out = TweetEval emotion's validation file ({report['sizes']['test']} posts); val (tuning) = "
          f"{report['sizes']['val']} posts carved from its train file; train {report['sizes']['train']}")


if __name__ == "__main__":
    main()
