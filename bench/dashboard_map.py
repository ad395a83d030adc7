"""How long the dashboard's segments map takes to build for a large shared space: a neighbour index of
50,000 unit vectors (384-d, as MiniLM's space), then ``live_rows(limit)`` (the server-side sample) and the
PCA to 2-D, for a few sample sizes; and the JSON size the browser receives. Prints figures; asserts nothing.

    PYTHONPATH=src python bench/dashboard_map.py [--posts 50000]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

from postlens.agent.index import META_SCHEMA, NeighbourIndex, NewRows
from postlens.serve.dashboard.space import pca_2d


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=50_000)
    parser.add_argument("--dim", type=int, default=384)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(args.posts, args.dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = [f"p:{i}" for i in range(args.posts)]
    meta = pa.table(
        {
            "post_id": ids,
            "signature": ["s"] * args.posts,
            "text": ["a post about something"] * args.posts,
            "created_at": [None] * args.posts,
            "media_kinds": [[]] * args.posts,
            "topic_id": [i % 12 for i in range(args.posts)],
            "labels": ["{}"] * args.posts,
            "has_vector": [True] * args.posts,
        },
        schema=META_SCHEMA,
    )
    with tempfile.TemporaryDirectory() as folder:
        index = NeighbourIndex(Path(folder) / "index", fingerprint="bench", dim=args.dim, kind="exact")
        index.sync({i: "s" for i in ids}, NewRows(vectors, meta))
        for limit in (2_000, 5_000, 20_000, args.posts):
            started = time.perf_counter()
            sample, sample_meta = index.live_rows(limit)
            sampled = time.perf_counter()
            xy = pca_2d(sample)
            done = time.perf_counter()
            payload = json.dumps(
                [
                    {
                        "id": i,
                        "x": round(float(x), 4),
                        "y": round(float(y), 4),
                        "topic": 0,
                        "text": "a post about something",
                    }
                    for i, (x, y) in zip(sample_meta.column("post_id").to_pylist(), xy)
                ]
            )
            print(
                f"{args.posts:,} posts, limit {limit:>6,}: sample {1000 * (sampled - started):7.1f} ms, "
                f"PCA {1000 * (done - sampled):7.1f} ms, JSON {len(payload) / 1e6:5.2f} MB"
            )


if __name__ == "__main__":
    main()
