"""Time `generate_corpus` at a given size and print the planted-structure figures.

Usage: .venv/bin/python bench/bench_demo_data.py [--posts 3000] [--seed 0] [--out /tmp/postlens-demo-bench]
"""

from __future__ import annotations

import argparse
import math
import shutil
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

import numpy as np
import orjson

from postlens.demo import generate_corpus


def spearman(a: list[float], b: list[float]) -> float:
    return float(np.corrcoef(np.argsort(np.argsort(a)), np.argsort(np.argsort(b)))[0, 1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("/tmp/postlens-demo-bench"))
    args = parser.parse_args()
    shutil.rmtree(args.out, ignore_errors=True)
    started, cpu = time.perf_counter(), time.process_time()
    summary = generate_corpus(args.out, seed=args.seed, n_posts=args.posts)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(
        f"posts={summary.n_posts} wall={wall:.1f}s cpu={cpu:.1f}s media_files={summary.n_media_files} "
        f"media_MB={summary.media_bytes / 1e6:.1f} labelled={summary.labelled}"
    )
    print("by_kind", summary.by_kind)
    posts = [orjson.loads(line) for line in summary.posts_path.read_bytes().splitlines()]
    truth = orjson.loads(summary.truth_path.read_bytes())
    rows = truth["posts"]
    likes = [p["engagement"][-1]["likes"] for p in posts]
    print(f"spearman(final likes, expected_log_likes)={spearman(likes, [t['expected_log_likes'] for t in rows]):.3f}")
    start = datetime.fromisoformat(truth["params"]["start"])
    burst = truth["burst"]
    weekly = Counter(
        (datetime.fromisoformat(p["created_at"]) - start).days // 7
        for p, t in zip(posts, rows)
        if t["topic"] == burst["topic"]
    )
    print(f"burst topic={burst['topic']} week={burst['week_index']} weekly counts={dict(sorted(weekly.items()))}")
    try:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        vader = SentimentIntensityAnalyzer()
        for hard in (False, True):
            hits = []
            for p, t in zip(posts, rows):
                if p["text"] and t["sentiment_hard"] == hard:
                    c = vader.polarity_scores(p["text"])["compound"]
                    read = "positive" if c >= 0.05 else "negative" if c <= -0.05 else "neutral"
                    hits.append(read == t["sentiment"])
            label = "hard (sarcasm/understatement)" if hard else "plain"
            print(f"VADER agreement with planted sentiment, {label}: {np.mean(hits):.3f} on {len(hits)} texts")
    except ImportError:
        print("vaderSentiment not installed: sentiment figure skipped")
    scenes = sum(1 for t in rows for m in t["media"] if m.get("scene_change_s") is not None)
    print(
        f"videos with a scene change={scenes} noise_sigma={truth['engagement']['noise_sigma']}"
        f" sqrt(mean noise^2)={math.sqrt(np.mean([t['noise'] ** 2 for t in rows])):.3f}"
    )


if __name__ == "__main__":
    main()
