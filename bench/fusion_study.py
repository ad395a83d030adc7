"""Does fusion earn its place? Grouped 5-fold CV of single modalities, fusion variants and logistic regression.

    python bench/fusion_study.py --mediaeval-ws /work/ws/mediaeval --demo-ws /tmp/h-fusion-demo
    (--variants all adds every variant tried; --fresh ignores cached fold results)

Workspaces must be featurized (minilm, efficientnet, image-stats); one that is absent is skipped with
a message. Folds: groups = the event label (MediaEval) or the author (sample corpus), joined with
near-duplicate image clusters (perceptual hash within 6 bits), so neither an event nor a picture
straddles folds; each fold keeps every class (evaluation.group_folds). Early stopping and late
fusion's pool are fitted inside the training folds only (grouped inner splits), never on the
held-out fold. Each fold's held-out probabilities are cached under --cache (keyed by the variant,
the data, the folds and the source of the model code), so the variants table reprints cheaply;
ensembles average cached probabilities.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from postlens.evaluation.group_folds import stratified_group_folds
from postlens.evaluation.image_groups import combine_groups, workspace_image_groups
from postlens.evaluation.metrics import classification_metrics
from postlens.models.config import parse_config
from postlens.models.data import assemble
from postlens.models.inputs import PostData
from postlens.store.workspace import Workspace

SETS: tuple[tuple[str, ...], ...] = (("text",), ("image",), ("text", "image"))
SRC = Path(__file__).resolve().parents[1] / "src" / "postlens"
CODE = {  # the sources each kind of variant runs: a cached fold result is reused only while they are unchanged
    "logreg": ("models/baselines.py", "models/inputs.py"),
    "net": (
        "models/fusion.py",
        "models/fusion_net.py",
        "models/duplicates.py",
        "models/inputs.py",
        "models/torch_utils.py",
        "evaluation/group_folds.py",
        "evaluation/image_groups.py",
        "models/late_fusion.py",
        "models/fusion_select.py",
    ),
}
CODE["late"] = CODE["net"]
CODE_DIGEST = {
    kind: hashlib.sha256(b"".join((SRC / name).read_bytes() for name in names)).hexdigest()
    for kind, names in CODE.items()
}  # read once, when the code that runs is imported
NET = {"epochs": 30, "patience": 5, "num_threads": 1, "seed": 0}


@dataclass
class Study:
    name: str
    data: PostData
    y: np.ndarray
    classes: list[str]
    groups: np.ndarray  # fold groups: event/author joined with image clusters
    image_groups: np.ndarray
    events: np.ndarray
    facts: dict[str, Any] = field(default_factory=dict)


def load_study(
    path: Path,
    name: str,
    target: str,
    group_label: str | None,
    text: str = "minilm",
    image: str = "efficientnet",
    stats_key: str | None = None,
) -> Study | None:
    """``text`` / ``image``: encoder names or full cache keys (a workspace featurized by an older runtime)."""
    if not (path / "postlens.duckdb").exists():
        print(f"{name}: workspace {path} absent, skipped (ingest + featurize it first: see the module docstring)")
        return None
    config = parse_config(
        {
            "target": target,
            "features": {"modalities": {"text": text, "image": image}, "metadata": False},
            "split": {"strategy": "group", "group_label": group_label} if group_label else {"strategy": "author"},
        }
    )
    with Workspace(path, read_only=True) as ws:
        ts = assemble(ws, config)
        images, facts = workspace_image_groups(ws, ts.data.ids or [], stats_key=stats_key)
    events = ts.groups["group"] if group_label else ts.groups["author"]
    groups = combine_groups(events, images)
    return Study(name, ts.data, ts.y, ts.classes, groups, images, np.asarray(events, dtype=object), facts)


# ---------------------------------------------------------------------------- variants


@dataclass
class Variant:
    name: str
    change: str
    params: dict[str, Any] = field(default_factory=dict)  # FusionModel parameters; kind "logreg" = BaselineModel
    blend: tuple[str, ...] = ()  # average these variants' cached probabilities instead of fitting


VARIANTS = [
    Variant("logreg", "logistic regression on [vectors | presence flags] (the baseline)", {"kind": "logreg"}),
    Variant(
        "net",
        "joint FusionNet: attention, width 128, modality dropout 0.25, random 10% val slice (main's)",
        {"fusion": "attention", "legacy_val": True},
    ),
    Variant(
        "net-grouped-val",
        "net, early stopping on whole groups + identical pictures (inner grouped split)",
        {"fusion": "attention"},
    ),
    Variant(
        "net-dedup",
        "net-grouped-val + each picture weighted once (duplicate_weighting inverse)",
        {"fusion": "attention", "duplicate_weighting": "inverse"},
    ),
    Variant(
        "net-dedup-sqrt",
        "net-grouped-val + weight 1/sqrt(reposts)",
        {"fusion": "attention", "duplicate_weighting": "sqrt"},
    ),
    Variant(
        "net-dedup-drop0.6",
        "net-dedup + modality dropout 0.6",
        {"fusion": "attention", "duplicate_weighting": "inverse", "modality_dropout": 0.6},
    ),
    Variant(
        "net-concat-dedup",
        "net-dedup with concat fusion, width 64",
        {"fusion": "concat", "width": 64, "duplicate_weighting": "inverse"},
    ),
    Variant(
        "late-nodedup",
        "late fusion: per-modality logreg experts, pool on grouped OOF; no duplicate weighting",
        {"fusion": "late", "duplicate_weighting": "none", "late_pool": "evidence"},
    ),
    Variant(
        "late-mean",
        "late fusion + each picture weighted once; pool = weighted mean of experts (the default)",
        {"fusion": "late", "duplicate_weighting": "inverse", "late_pool": "mean"},
    ),
    Variant(
        "late",
        "late-mean + evidence scale beta (0, 1/2, 1) for posts with several experts",
        {"fusion": "late", "duplicate_weighting": "inverse", "late_pool": "evidence"},
    ),
    Variant(
        "late-joint",
        "late + the joint net (net-dedup) as one more expert",
        {"fusion": "late", "duplicate_weighting": "inverse", "late_joint": True, "late_pool": "evidence"},
    ),
    Variant(
        "auto",
        "fusion: auto - late-mean, late or net-dedup chosen per outer fold by grouped 3-fold CV "
        "inside its training part",
        {"fusion": "auto", "duplicate_weighting": "inverse"},
    ),
    Variant("net+logreg", "average of net-dedup and logreg probabilities", blend=("net-dedup", "logreg")),
    Variant("late+net", "average of late and net-dedup probabilities", blend=("late", "net-dedup")),
]
BY_NAME = {v.name: v for v in VARIANTS}
MAIN = ("logreg", "late-mean")
CHOSEN = "late-mean"


def fit_predict(
    variant: Variant, study: Study, mods: tuple[str, ...], train: np.ndarray, test: np.ndarray
) -> np.ndarray:
    data = study.data.select(list(mods), meta=False)
    params = dict(variant.params)
    if params.pop("kind", None) == "logreg":
        from postlens.models.baselines import BaselineModel

        model: Any = BaselineModel(kind="logreg", num_threads=1).fit(data.subset(train), study.y[train])
        return _full_proba(model.predict_proba(data.subset(test)), model.estimator_.classes_, len(study.classes))
    from postlens.models.fusion import FusionModel

    legacy = params.pop("legacy_val", False)
    model = FusionModel(**{**NET, **params})
    if legacy:
        fit_random_val(model, data, study.y, train)
    else:
        model.fit(data.subset(train), study.y[train], groups=study.groups[train])
    return model.predict_proba(data.subset(test))


def fit_random_val(model: Any, data: PostData, y: np.ndarray, train: np.ndarray) -> Any:
    """main's behaviour before this study: a random 10% slice of the training rows stops training."""
    order = np.random.default_rng(0).permutation(train)
    cut = max(1, len(order) // 10)
    fit_rows, val_rows = np.sort(order[cut:]), np.sort(order[:cut])
    return model.fit(data.subset(fit_rows), y[fit_rows], val=(data.subset(val_rows), y[val_rows], None))


def _full_proba(proba: np.ndarray, seen: np.ndarray, n_classes: int) -> np.ndarray:
    out = np.zeros((len(proba), n_classes))
    out[:, seen] = proba
    return out


# ---------------------------------------------------------------------------- cross-validation


def code_kind(variant: Variant) -> str:
    if variant.blend:
        return "net" if any(code_kind(BY_NAME[n]) == "net" for n in variant.blend) else "late"
    if variant.params.get("kind") == "logreg":
        return "logreg"
    return "late" if variant.params.get("fusion") == "late" else "net"


def fingerprint(study: Study, folds: list[np.ndarray], kind: str) -> str:
    digest = hashlib.sha256(CODE_DIGEST[kind].encode())
    digest.update(json.dumps(study.data.ids).encode())
    digest.update(study.y.tobytes())
    for fold in folds:
        digest.update(fold.tobytes())
    return digest.hexdigest()[:16]


def run_variant(
    variant: Variant, study: Study, folds: list[np.ndarray], cache: Path, fresh: bool, net_sets: tuple[str, ...] = ()
) -> dict[str, np.ndarray]:
    """Held-out probabilities of every row (each row predicted by the fold that held it out), per modality set.
    Joint-network variants (slow) run only the sets in ``net_sets`` (empty: all)."""
    out: dict[str, np.ndarray] = {}
    rows = np.arange(len(study.y))
    for mods in SETS:
        label = "+".join(mods)
        if net_sets and code_kind(variant) == "net" and label not in net_sets:
            continue
        if variant.blend:
            parts = [run_variant(BY_NAME[n], study, folds, cache, fresh, net_sets).get(label) for n in variant.blend]
            if all(p is not None for p in parts):
                out[label] = np.mean(parts, axis=0)
            continue
        params = json.dumps(variant.params, sort_keys=True)
        key = hashlib.sha256((fingerprint(study, folds, code_kind(variant)) + params).encode()).hexdigest()[:16]
        file = cache / f"{study.name}-{variant.name}-{label}-{key}.npy"
        if file.exists() and not fresh:
            out[label] = np.load(file)
            continue
        started = time.perf_counter()
        proba = np.zeros((len(rows), len(study.classes)))
        for held in folds:
            train = np.setdiff1d(rows, held)
            proba[held] = fit_predict(variant, study, mods, train, held)
        np.save(file, proba)
        print(
            f"    ({study.name}: {variant.name} {label} fitted on {len(folds)} folds in "
            f"{time.perf_counter() - started:.0f} s)",
            flush=True,
        )
        out[label] = proba
    return out


def fold_scores(study: Study, folds: list[np.ndarray], proba: np.ndarray) -> list[float]:
    n = len(study.classes)
    return [classification_metrics(study.y[f], proba[f].argmax(1), n)["macro_f1"] for f in folds]


def summary(scores: list[float]) -> str:
    return f"{np.mean(scores):.3f} +/- {np.std(scores):.3f}"


# ---------------------------------------------------------------------------- reports


def describe(study: Study, folds: list[np.ndarray]) -> None:
    print(
        f"\n## {study.name}: {len(study.y)} posts, classes {study.classes} "
        f"(counts {np.bincount(study.y, minlength=len(study.classes)).tolist()}), "
        f"text present {study.data.masks['text'].mean():.2f}, image present {study.data.masks['image'].mean():.2f}"
    )
    print(
        f"   images: {study.facts.get('images')} distinct files, {study.facts.get('hashed')} with a perceptual "
        f"hash, {study.facts.get('clusters')} near-duplicate clusters; {len(set(study.groups))} fold groups"
    )
    for i, fold in enumerate(folds, 1):
        counts = np.bincount(study.y[fold], minlength=len(study.classes)).tolist()
        events = sorted({str(e) for e in study.events[fold]})
        shown = ", ".join(events[:6]) + (f" +{len(events) - 6} more" if len(events) > 6 else "")
        print(f"   fold {i}: {len(fold):6d} posts {counts}  groups: {shown}")


def diagnose(study: Study, folds: list[np.ndarray]) -> None:
    """Reposted pictures: how many, how pure, and how much of a joint net's training fit is picture identity."""
    has = study.image_groups != ""
    keys, counts = np.unique(study.image_groups[has].astype(str), return_counts=True)
    purity, spans = [], 0
    for key in keys:
        rows = np.flatnonzero(study.image_groups == key)
        share = np.bincount(study.y[rows]).max() / len(rows)
        purity.append(share)
        spans += len({str(e) for e in study.events[rows]}) > 1
    ordered = np.sort(counts)[::-1]
    print("\n### Diagnosis: reposted pictures")
    print(
        f"   {has.sum()} posts with a picture, {len(keys)} near-duplicate clusters; posts per cluster: max "
        f"{ordered[0]}, top 5 {ordered[:5].tolist()}, median {np.median(counts):.0f}; clusters with >= 100 posts: "
        f"{(counts >= 100).sum()} (holding {ordered[ordered >= 100].sum() / has.sum():.0%} of picture posts); "
        f"single-post clusters: {(counts == 1).sum()}"
    )
    print(
        f"   label purity per cluster: mean {np.mean(purity):.3f}, clusters with one label only "
        f"{np.mean(np.array(purity) == 1):.1%}; clusters spanning more than one group (event): {spans}"
    )
    from postlens.models.fusion import FusionModel

    rows = np.arange(len(study.y))
    held = max(folds, key=len)
    train = np.setdiff1d(rows, held)
    data = study.data.select(["text", "image"], meta=False)
    model = fit_random_val(FusionModel(**{**NET, "fusion": "attention"}), data, study.y, train)
    pictured = train[study.data.masks["image"][train]]
    part = data.subset(pictured)
    logits = model.decision_function(part)
    margin = logits[:, 1] - logits[:, 0] if logits.shape[1] == 2 else logits.max(1)
    fit = (logits.argmax(1) == study.y[pictured]).mean()
    alone = (model.predict(part.without("text")) == study.y[pictured]).mean()
    blind = (model.predict(part.without("image")) == study.y[pictured]).mean()
    test = data.subset(held)
    f1 = classification_metrics(study.y[held], model.predict(test), len(study.classes))["macro_f1"]
    f1_blind = classification_metrics(study.y[held], model.predict(test.without("image")), len(study.classes))[
        "macro_f1"
    ]
    print(
        f"   joint net (main's default) trained on the {len(train)} posts outside the largest fold, on its "
        f"{len(pictured)} training posts with a picture: train accuracy {fit:.3f}; picture alone (text "
        f"removed) {alone:.3f}; text alone {blind:.3f}; share of the logit variance explained by picture "
        f"identity (eta^2) {eta_squared(margin, study.image_groups[pictured]):.3f}; best epoch "
        f"{int(np.argmax([h['val_score'] for h in model.history_])) + 1} of {model.epochs_run_}"
    )
    print(f"   on the held-out fold: macro-F1 {f1:.3f}, {f1_blind:.3f} with the picture removed")


def eta_squared(values: np.ndarray, groups: np.ndarray) -> float:
    """Share of the variance of ``values`` explained by group identity (1 = a lookup table of groups)."""
    values = np.asarray(values, float)
    _, inverse = np.unique(groups.astype(str), return_inverse=True)
    means = np.bincount(inverse, values) / np.bincount(inverse)
    total = ((values - values.mean()) ** 2).sum()
    return float(1 - ((values - means[inverse]) ** 2).sum() / max(total, 1e-12))


def late_weights(study: Study, folds: list[np.ndarray]) -> None:
    """The pool weights the chosen late fusion learnt per fold (its inner grouped OOF)."""
    from postlens.models.fusion import FusionModel

    rows = np.arange(len(study.y))
    data = study.data.select(["text", "image"], meta=False)
    lines = []
    for i, held in enumerate(folds, 1):
        train = np.setdiff1d(rows, held)
        model = FusionModel(**{**NET, **BY_NAME[CHOSEN].params}).fit(
            data.subset(train), study.y[train], groups=study.groups[train]
        )
        w = model.late_.weights()
        oof = model.late_.oof_scores_
        lines.append(
            f"fold {i}: "
            + ", ".join(f"{k} {v:.2f}" for k, v in w.items())
            + " | inner OOF macro-F1 "
            + ", ".join(f"{k} {v:.3f}" for k, v in oof.items())
        )
    print(f"\n### {study.name}: pool weights of '{CHOSEN}' (text+image) per outer fold")
    for line in lines:
        print("   " + line)


def tables(study: Study, folds: list[np.ndarray], results: dict[str, dict[str, np.ndarray]]) -> None:
    chosen = results[CHOSEN]
    rows = [
        (f"text only ({CHOSEN})", chosen["text"]),
        (f"image only ({CHOSEN})", chosen["image"]),
        (f"FUSION text+image ({CHOSEN})", chosen["text+image"]),
        ("logistic regression text+image (concat)", results["logreg"]["text+image"]),
        ("logistic regression text only", results["logreg"]["text"]),
        ("logistic regression image only", results["logreg"]["image"]),
    ]
    print(f"\n### {study.name}: {len(folds)} grouped folds, macro-F1 per held-out fold")
    print(f"   {'model':<42} {'mean +/- std':<16} {'pooled':>7}  per fold")
    scored = {}
    for name, proba in rows:
        scores = fold_scores(study, folds, proba)
        scored[name] = np.mean(scores)
        pooled = classification_metrics(study.y, proba.argmax(1), len(study.classes))["macro_f1"]
        print(f"   {name:<42} {summary(scores):<16} {pooled:7.3f}  {' '.join(f'{s:.3f}' for s in scores)}")
    fusion = scored[f"FUSION text+image ({CHOSEN})"]
    others = {k: v for k, v in scored.items() if not k.startswith("FUSION")}
    best = max(others, key=others.get)
    print(
        f"   goal fusion >= best other ({best}, {others[best]:.3f}): "
        f"{'MET' if fusion >= others[best] - 1e-9 else 'NOT MET'} ({fusion - others[best]:+.3f}); "
        f"fusion text+image >= fusion text only: "
        f"{'MET' if fusion >= scored[f'text only ({CHOSEN})'] - 1e-9 else 'NOT MET'} "
        f"({fusion - scored[f'text only ({CHOSEN})']:+.3f})"
    )


def variants_table(study: Study, folds: list[np.ndarray], results: dict[str, dict[str, np.ndarray]]) -> None:
    print(f"\n### {study.name}: every variant tried (macro-F1 mean +/- std over {len(folds)} folds)")
    print(f"   {'variant':<20} {'text':<16} {'image':<16} {'text+image':<16} what changed")
    for variant in VARIANTS:
        if variant.name not in results:
            continue
        got = results[variant.name]
        cells = [
            summary(fold_scores(study, folds, got["+".join(m)])) if "+".join(m) in got else "(not run)" for m in SETS
        ]
        print(f"   {variant.name:<20} {cells[0]:<16} {cells[1]:<16} {cells[2]:<16} {variant.change}")


def study_dataset(study: Study, args: argparse.Namespace, wanted: list[str], diagnosis: bool) -> None:
    folds = stratified_group_folds(study.groups, args.folds, y=study.y, seed=args.seed)
    net_sets = tuple(args.net_sets.split(",")) if args.net_sets != "all" and study.name == "mediaeval" else ()
    describe(study, folds)
    if diagnosis:
        diagnose(study, folds)
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    results = {}
    for name in wanted:
        results[name] = run_variant(BY_NAME[name], study, folds, cache, args.fresh, net_sets)
    tables(study, folds, results)
    if args.weights:
        late_weights(study, folds)
    variants_table(study, folds, results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mediaeval-ws", default="/work/ws/mediaeval")
    parser.add_argument("--demo-ws", default="/tmp/h-fusion-demo")
    parser.add_argument(
        "--demo-target", default="topic_all", help="label of the sample corpus ('topic' = the annotated 30%%)"
    )
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument(
        "--text", default="minilm", help="text encoder name or full cache key, e.g. text-minilm-l6@1.9d55ef50"
    )
    parser.add_argument(
        "--image", default="efficientnet", help="image encoder name or cache key, e.g. efficientnet_lite0@1"
    )
    parser.add_argument(
        "--image-stats",
        default=None,
        help="cache key of the image-stats features holding the "
        "perceptual hashes (default: this postlens' own), e.g. image_stats@1",
    )
    parser.add_argument(
        "--net-sets",
        default="text+image",
        help="modality sets the slow joint-network variants run on MediaEval ('all', or e.g. text+image)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--variants", default="main", help="'main' (logreg + the chosen fusion), 'all', or names")
    parser.add_argument("--only", default="mediaeval,demo")
    parser.add_argument("--cache", default="/tmp/postlens-fusion-study")
    parser.add_argument("--fresh", action="store_true", help="refit every fold, ignoring cached probabilities")
    parser.add_argument("--no-diagnosis", action="store_true")
    parser.add_argument("--weights", action="store_true", help="also print the late pool's weights per fold (refits)")
    args = parser.parse_args()
    if args.variants == "main":
        wanted = list(MAIN)
    elif args.variants == "all":
        wanted = [v.name for v in VARIANTS]
    else:
        wanted = list(dict.fromkeys([*MAIN, *args.variants.split(",")]))
        unknown = [n for n in wanted if n not in BY_NAME]
        if unknown:
            sys.exit(f"unknown variants {unknown}; known: {', '.join(BY_NAME)}")
    started = time.perf_counter()
    only = set(args.only.split(","))
    if "mediaeval" in only:
        study = load_study(
            Path(args.mediaeval_ws), "mediaeval", "label", "event", args.text, args.image, args.image_stats
        )
        if study is not None:
            study_dataset(study, args, wanted, not args.no_diagnosis)
    if "demo" in only:
        study = load_study(Path(args.demo_ws), "demo", args.demo_target, None, args.text, args.image, args.image_stats)
        if study is not None:
            study_dataset(study, args, wanted, False)
    print(
        f"\n(total {time.perf_counter() - started:.0f} s; machine load {os.getloadavg()[0]:.1f}, "
        f"{len(os.sched_getaffinity(0))} cores)"
    )


if __name__ == "__main__":
    main()
