"""postlens segments vs BERTopic on real corpora, with events as the reference; one run, both tools.

    HF_HUB_OFFLINE=1 python bench/topics.py pheme=/tmp/ws-pheme mediaeval=/tmp/ws-mediaeval [--label event]

Each argument is NAME=WORKSPACE, a featurized workspace (``postlens featurize``: minilm at least;
MediaEval also efficientnet and ocr). Both tools get the SAME MiniLM vectors of the posts' text
from the feature cache; BERTopic (a bench-only extra: pip install 'postlens[bench]') gets them as
precomputed embeddings with ``embedding_model=None`` and postlens' tokenisation as its
vectorizer (so both tools' words come from one vocabulary). postlens additionally reads what the
posts carry beyond their text (OCR, image embeddings and labels) where the workspace has it; the
row "postlens (text)" gets exactly BERTopic's input.

Figures, per tool: topics; outliers (share of posts without a topic); NMI vs the label (outliers
count as one more cluster); NPMI of each topic's top-10 words, averaged over topics, with
co-occurrence in the corpus' own posts (pairs never seen together score -1), on the post texts
and on all text fields + image labels; topic diversity (distinct share of all top-10 words);
fit time (postlens: shared space + clustering + words; BERTopic: fit_transform), wall seconds and
CPU seconds of the process (all its threads; steadier than wall time when other work shares the cores).
Which NPMI to compare: "NPMI all" scores both tools' words on the same documents, which hold every
word either tool could have chosen. "NPMI text" scores them on the post texts alone, so every pair
with a word postlens read from an image (OCR text, an ImageNet label) counts -1 there, by construction.
Image-label prompts are embedded (and cached) before the clock starts; BERTopic fits a small
warm-up corpus first so that numba's one-time compilation is not charged to it.
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
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from postlens.store.workspace import Workspace
from postlens.tasks.segments.describe import describe_topics
from postlens.tasks.segments.embed import cached_embedder
from postlens.tasks.segments.load import load_parts
from postlens.tasks.segments.model import TopicModel, post_documents
from postlens.tasks.segments.parts import PostParts
from postlens.tasks.segments.quality import diversity, npmi
from postlens.tasks.segments.words import Vocabulary, clear_token_cache, topic_tokens

TOP = 10
DATASETS = Path(
    os.environ.get("POSTLENS_SHARED_DATASETS", Path(__file__).resolve().parents[1].parent / "shared" / "datasets")
)


def nmi(a: list[object], b: list[object]) -> float:
    from sklearn.metrics import normalized_mutual_info_score

    return float(normalized_mutual_info_score([str(x) for x in a], [str(x) for x in b]))


def run_postlens(parts: PostParts, embed) -> tuple[list[object], list[list[str]], float, float]:  # type: ignore[no-untyped-def]
    started, cpu = time.perf_counter(), time.process_time()
    model = TopicModel(embed_texts=embed)
    result = model.fit(parts)
    summaries = describe_topics(parts, result.topics, result.scores, top_n=TOP)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    words = [[w for w, _ in s.words[:TOP]] for s in summaries.values()]
    return [t if t is not None else -1 for t in result.topics], words, seconds, cpu


def warm_up_bertopic() -> float:
    """One small fit before any timed run: UMAP and HDBSCAN compile with numba on first use in a process,
    which would otherwise be charged to the first corpus."""
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(300, 16)).astype(np.float32)
    texts = [f"word{i % 7} other{i % 5} thing{i % 3}" for i in range(300)]
    started = time.perf_counter()
    run_bertopic(texts, vectors)
    return time.perf_counter() - started


def run_bertopic(texts: list[str], vectors: np.ndarray) -> tuple[list[object], list[list[str]], float, float]:
    from bertopic import BERTopic
    from sklearn.feature_extraction.text import CountVectorizer

    vectorizer = CountVectorizer(analyzer=topic_tokens)  # the same tokens postlens uses
    started, cpu = time.perf_counter(), time.process_time()
    model = BERTopic(embedding_model=None, vectorizer_model=vectorizer, top_n_words=TOP, verbose=False)
    topics, _ = model.fit_transform(texts, embeddings=vectors)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    words = [[w for w, _ in (model.get_topic(t) or [])][:TOP] for t in sorted(set(topics)) if t != -1]
    return list(topics), words, seconds, cpu


def figures(
    name: str,
    topics: list[object],
    words: list[list[str]],
    seconds: float,
    cpu: float,
    reference: list[object],
    text_vocabulary: Vocabulary,
    all_vocabulary: Vocabulary,
) -> dict[str, object]:
    outliers = float(np.mean([t == -1 for t in topics]))
    return {
        "tool": name,
        "topics": len(words),
        "outliers": outliers,
        "nmi": nmi(reference, topics),
        "npmi_text": float(np.nanmean(npmi(text_vocabulary, words))) if words else float("nan"),
        "npmi_all": float(np.nanmean(npmi(all_vocabulary, words))) if words else float("nan"),
        "diversity": diversity(words, TOP),
        "seconds": seconds,
        "cpu": cpu,
    }


def bench(name: str, workspace: Path, label: str) -> list[dict[str, object]]:
    with Workspace(workspace) as ws:
        parts = load_parts(ws)
        reference_of = dict(ws.db.execute(f"SELECT id, labels['{label}'] FROM posts").fetchall())
        own_text = dict(ws.db.execute("SELECT id, text FROM posts").fetchall())
        embed = cached_embedder(ws)
        prompts = sorted({f"a photo of a {n}" for labels in parts.labels for n, _ in labels})
        if prompts:
            embed(prompts)  # cached before the clock starts
    keep = np.flatnonzero(parts.has("text"))
    parts = parts.subset(keep)
    reference = [reference_of.get(p) for p in parts.ids]
    texts = [own_text[p] for p in parts.ids]
    vectors = parts.vectors["text"].astype(np.float32)
    text_vocabulary = Vocabulary.build([topic_tokens(t, lang) for t, lang in zip(texts, parts.languages)], min_df=1)
    all_vocabulary = Vocabulary.build(post_documents(parts), min_df=1)
    print(
        f"\n{name}: {len(parts):,} posts with text, {len(set(reference))} distinct {label} values; "
        f"parts: " + ", ".join(f"{k} {int(v.sum()):,}" for k, v in parts.masks.items() if v.any()),
        flush=True,
    )
    rows = []
    text_only = PostParts.from_text_vectors(parts.ids, vectors, texts, parts.times)
    for tool, run in (
        ("postlens", lambda: run_postlens(parts, embed)),
        ("postlens (text)", lambda: run_postlens(text_only, embed)),
        ("BERTopic", lambda: run_bertopic(texts, vectors)),
    ):
        clear_token_cache()  # every tool tokenises from scratch inside its timed run
        topics, words, seconds, cpu = run()
        rows.append(figures(tool, topics, words, seconds, cpu, reference, text_vocabulary, all_vocabulary))
        print(f"  {tool} done in {seconds:.1f} s ({cpu:.1f} CPU s)", flush=True)
    return rows


def print_table(name: str, rows: list[dict[str, object]]) -> None:
    bertopic = next(r for r in rows if r["tool"] == "BERTopic")
    print(f"\n{name}")
    print(
        f"{'tool':<16} {'topics':>6} {'outliers':>9} {'NMI':>6} {'NPMI text':>10} {'NPMI all':>9} {'diversity':>9} "
        f"{'fit s':>8} {'x BERTopic':>10} {'CPU s':>8} {'x BERTopic':>10}"
    )
    for r in rows:
        print(
            f"{r['tool']:<16} {r['topics']:>6} {r['outliers']:>9.1%} {r['nmi']:>6.3f} {r['npmi_text']:>10.3f} "
            f"{r['npmi_all']:>9.3f} {r['diversity']:>9.3f} {r['seconds']:>8.1f} "
            f"{r['seconds'] / bertopic['seconds']:>10.2f} {r['cpu']:>8.1f} {r['cpu'] / bertopic['cpu']:>10.2f}"
        )  # type: ignore[operator]


def prepared_workspace(name: str, encoders: list[str], root: Path) -> Path | None:
    """A workspace of the dataset ``name`` (pheme, mediaeval) featurized with ``encoders``, kept under ``root``
    for the next run (featurize computes only what its cache lacks); None when the dataset is absent."""
    from postlens.pipeline.featurize import featurize
    from postlens.pipeline.ingest import run_ingest

    recipe, folder = {"pheme": ("pheme", "pheme"), "mediaeval": ("mediaeval2016", "mediaeval2016")}[name]
    data = DATASETS / folder
    if not data.exists():
        return None
    ws = root / f"topics-{name}"
    if not (ws / "postlens.duckdb").exists():
        run_ingest([data], importer_name=recipe, workspace=ws)
    featurize(ws, encoders=encoders)
    return ws


def suite_rows(quick: bool = False) -> list[dict[str, object]]:
    """The suite's rows: per corpus (quick: PHEME; full: PHEME and MediaEval with image embeddings) and tool,
    NMI vs the events, NPMI of the top words, diversity, outliers, and fit time with its ratio to BERTopic."""
    import tempfile

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _rows import row, skipped

    try:
        import bertopic  # noqa: F401
    except ImportError:
        return [
            skipped(
                "topics", "postlens segments vs BERTopic", "bertopic is not installed (pip install 'postlens[bench]')"
            )
        ]
    root = Path(tempfile.gettempdir()) / "postlens-bench-suite"
    corpora = [("pheme", ["minilm"])] + ([] if quick else [("mediaeval", ["minilm", "efficientnet"])])
    print(f"BERTopic warm-up (numba compilation, not timed): {warm_up_bertopic():.1f} s", flush=True)
    rows: list[dict[str, object]] = []
    for name, encoders in corpora:
        ws = prepared_workspace(name, encoders, root)
        if ws is None:
            rows.append(skipped("topics", f"{name}: segments vs BERTopic", f"dataset not in {DATASETS}"))
            continue
        figures = bench(name, ws, "event")
        print_table(name, figures)
        bertopic_seconds = next(float(f["seconds"]) for f in figures if f["tool"] == "BERTopic")  # type: ignore[arg-type]
        for f in figures:
            tool = f"{name}, {f['tool']}"
            rows.append(row("topics", f"{tool}: topics / outliers", f"{f['topics']} / {f['outliers']:.1%}"))
            rows.append(row("topics", f"{tool}: NMI vs events", f["nmi"]))
            rows.append(row("topics", f"{tool}: NPMI of top-10 words (post texts)", f["npmi_text"]))
            rows.append(row("topics", f"{tool}: topic diversity", f["diversity"]))
            rows.append(row("topics", f"{tool}: fit time", f["seconds"], "s"))
            if f["tool"] != "BERTopic":
                rows.append(
                    row("topics", f"{tool}: fit time / BERTopic's", float(f["seconds"]) / bertopic_seconds, "x")
                )  # type: ignore[arg-type]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpora", nargs="+", help="NAME=WORKSPACE (a featurized workspace)")
    parser.add_argument("--label", default="event", help="The reference label (default: event)")
    args = parser.parse_args()
    print(
        f"cores available: {len(os.sched_getaffinity(0))}; load average {os.getloadavg()[0]:.1f} "
        "(other work on the machine slows both tools alike)"
    )
    print(f"BERTopic warm-up (numba compilation, not timed below): {warm_up_bertopic():.1f} s", flush=True)
    results = []
    for item in args.corpora:
        name, _, path = item.partition("=")
        if not path:
            parser.error(f"{item!r}: write NAME=WORKSPACE")
        results.append((name, bench(name, Path(path), args.label)))
    for name, rows in results:
        print_table(name, rows)


if __name__ == "__main__":
    main()
