"""Per-post sentiment: VADER from the feature cache and a trained model's outputs from ``predictions``.

The lexicon is cheap, needs no training and reads emoji, capitals and "!!!"; the trained model knows
the team's own classes (sentiment, or emotions such as TweetEval's anger / joy / optimism / sadness).
Both are read per post, next to the post's time and its topic, so every aggregate (per topic, per
day) is a plain group-by over one frame, and the agent reads the same frame for one post.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from postlens.encoders.identity import installed_identity, text_key
from postlens.encoders.text.language import LanguageDetector
from postlens.encoders.text.lexicon import lexicon_reads
from postlens.errors import ConfigError, MissingDependency
from postlens.store.features import FeatureCache
from postlens.store.workspace import Workspace

if TYPE_CHECKING:
    import pandas as pd

VADER_ENCODER = "vader"
"""Registry name of the lexicon encoder (``text-vader`` in the feature cache)."""
VADER_COLUMNS = ("vader_neg", "vader_neu", "vader_pos", "vader_compound")
LEXICON_LABELS = ("negative", "neutral", "positive")
PROBA_PREFIX = "proba_"


@dataclass
class PostSentiment:
    """One row per post in ``frame``:

    post_id, created_at (UTC), language (the stored one, else detected from the text; None without
    text), vader_neg / vader_neu / vader_pos / vader_compound (NaN: no text, or a language VADER's
    English lexicon cannot read), vader_label (negative / neutral / positive by VADER's +-0.05 compound
    cut, None when the scores are NaN),
    topic_id and topic (with a segmentation), label and ``proba_<class>`` (with a model; None / NaN
    for a post the model has not predicted).
    """

    frame: pd.DataFrame
    model: str | None = None
    classes: list[str] = field(default_factory=list)
    segmentation: str | None = None
    vader_key: str = ""
    vader_computed: int = 0
    """Texts scored now because the feature cache lacked them (and written to it when ``store``)."""
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.frame)

    def post(self, post_id: str) -> dict[str, Any]:
        """One post's row as a dict (the agent's view); a ConfigError when the post is not in the frame."""
        rows = self.frame[self.frame["post_id"] == post_id]
        if rows.empty:
            raise ConfigError(f"post {post_id!r} is not among the {len(self.frame):,} posts read")
        return {str(k): _plain(v) for k, v in rows.iloc[0].to_dict().items()}


def load_post_sentiment(
    workspace: Workspace,
    *,
    post_ids: Sequence[str] | None = None,
    model: str | None = None,
    segmentation: str | None = None,
    store: bool = True,
) -> PostSentiment:
    """Sentiment of ``post_ids`` (every post when None), ordered by post id.

    ``model``: the name a model's rows carry in the ``predictions`` table (its folder name); its
    label and class probabilities join the frame (run ``postlens predict`` or
    ``postlens.pipeline.sentiment.run_sentiment`` first: posts without a row get None).
    ``segmentation``: a name in ``post_topics`` whose topic each post gets. VADER scores come from the
    feature cache; texts it lacks are scored here (VADER is ~0.1 ms a text) and, with ``store``,
    written to the cache as featurize would.
    """
    try:
        import pandas as pd
    except ImportError as exc:
        raise MissingDependency("pandas", "train") from exc
    rows = _post_rows(workspace, post_ids)
    ids = [r[0] for r in rows]
    frame = pd.DataFrame(
        {
            "post_id": pd.Series(ids, dtype="object"),
            "created_at": pd.to_datetime(pd.Series([r[2] for r in rows], dtype="object"), utc=True),
        }
    )
    key = installed_identity(VADER_ENCODER).key
    scores, computed = _vader_scores(workspace, [r[1] for r in rows], key, store=store)
    languages = _languages(rows)
    frame["language"] = pd.Series(languages, dtype="object")
    unread = [i for i, language in enumerate(languages) if not lexicon_reads(language)]
    scores[unread] = np.nan
    for j, column in enumerate(VADER_COLUMNS):
        frame[column] = scores[:, j]
    frame["vader_label"] = [_lexicon_label(c) for c in scores[:, 3]]
    result = PostSentiment(frame=frame, vader_key=key, vader_computed=computed)
    if unread:
        counts = Counter(languages[i] for i in unread).most_common()
        shown = ", ".join(f"{language} {n:,}" for language, n in counts[:8]) + (", ..." if len(counts) > 8 else "")
        result.notes.append(
            f"{len(unread):,} posts are in languages VADER's English lexicon cannot read ({shown}): they have "
            "no lexicon sentiment (it would call them neutral); a trained model (--model) can cover them"
        )
    if segmentation is not None:
        _join_topics(workspace, frame, segmentation)
        result.segmentation = segmentation
    if model is not None:
        result.classes = _join_predictions(workspace, frame, model)
        result.model = model
        missing = int(frame["label"].isna().sum())
        if missing:
            result.notes.append(f"{missing:,} of {len(frame):,} posts have no prediction of model {model!r}")
    return result


def _plain(value: Any) -> Any:
    """numpy / pandas scalars as plain Python (NaN and NaT as None), for JSON and the agent."""
    if value is None:
        return None
    if hasattr(value, "to_pydatetime"):
        return None if value != value else value.to_pydatetime()  # NaT != NaT
    if isinstance(value, (np.floating, float)):
        return None if np.isnan(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


def _lexicon_label(compound: float, threshold: float = 0.05) -> str | None:
    if np.isnan(compound):
        return None
    if compound >= threshold:
        return "positive"
    if compound <= -threshold:
        return "negative"
    return "neutral"


def _languages(rows: Sequence[tuple[Any, ...]]) -> list[str | None]:
    """Each post's language: the platform's or importer's when stored, else detected from its text
    (None without text; ``und`` when the text is too short to tell)."""
    detector = LanguageDetector()
    detected: dict[str, str] = {}  # reposts repeat their text: each distinct text is read once
    return [
        language if language else (_detected(detector, detected, text) if text and text.strip() else None)
        for _, text, _, language in rows
    ]


def _detected(detector: LanguageDetector, seen: dict[str, str], text: str) -> str:
    if text not in seen:
        seen[text] = detector.detect(text).code
    return seen[text]


def _post_rows(workspace: Workspace, post_ids: Sequence[str] | None) -> list[tuple[Any, ...]]:
    sql = "SELECT id, text, created_at, language FROM posts"
    if post_ids is None:
        return workspace.db.execute(sql + " ORDER BY id").fetchall()
    wanted = list(dict.fromkeys(str(p) for p in post_ids))
    with _ids_view(workspace, wanted):
        found = {r[0]: r for r in workspace.db.execute(sql + " WHERE id IN (SELECT id FROM _sentiment_ids)").fetchall()}
    missing = [p for p in wanted if p not in found]
    if missing:
        raise ConfigError(f"{len(missing)} post ids are not in the workspace, e.g. {missing[:3]}")
    return [found[p] for p in sorted(wanted)]


def _vader_scores(workspace: Workspace, texts: list[str | None], key: str, *, store: bool) -> tuple[np.ndarray, int]:
    """(posts x 4 scores, NaN rows for posts without text; texts computed now)."""
    scores = np.full((len(texts), len(VADER_COLUMNS)), np.nan, np.float32)
    keys = [text_key(t) if t and t.strip() else None for t in texts]
    wanted = {k for k in keys if k is not None}
    cache = FeatureCache(workspace.features_dir)
    found = {k: f.vector for k, f in cache.read(key, wanted).items() if f.vector is not None} if wanted else {}
    lacking = {k: t for k, t in zip(keys, texts) if k is not None and k not in found}
    if lacking:
        from postlens.encoders.text.lexicon import VaderEncoder

        encoder = VaderEncoder()
        if f"{encoder.name}@{encoder.version}" != key:  # the registry builds VADER with other settings
            raise ConfigError(
                f"the installed VADER encoder writes {key}, not {encoder.name}@{encoder.version}; "
                "run 'postlens featurize --encoders vader' first"
            )
        features = encoder.encode([text or "" for text in lacking.values()])
        if store:
            cache.write(key, list(lacking), features)
        found.update({k: f.vector for k, f in zip(lacking, features) if f.vector is not None})
    for i, k in enumerate(keys):
        if k is not None and k in found:
            scores[i] = found[k]
    return scores, len(lacking)


def _join_topics(workspace: Workspace, frame: pd.DataFrame, segmentation: str) -> None:
    names = [r[0] for r in workspace.db.execute("SELECT DISTINCT segmentation FROM post_topics ORDER BY 1").fetchall()]
    if segmentation not in names:
        raise ConfigError(
            f"no segmentation {segmentation!r} in post_topics; segmentations here: "
            f"{', '.join(names) or 'none (run postlens segments fit first)'}"
        )
    with _ids_view(workspace, frame["post_id"].tolist()):
        rows = workspace.db.execute(
            "SELECT p.post_id, p.topic_id, coalesce(t.name, t.label) FROM post_topics p "
            "LEFT JOIN topics t ON t.segmentation = p.segmentation AND t.topic_id = p.topic_id "
            "WHERE p.segmentation = ? AND p.post_id IN (SELECT id FROM _sentiment_ids)",
            [segmentation],
        ).fetchall()
    topic_id = {pid: tid for pid, tid, _ in rows}
    label = {pid: name for pid, _, name in rows}
    frame["topic_id"] = frame["post_id"].map(topic_id).astype("Int64")
    frame["topic"] = frame["post_id"].map(label)


def _join_predictions(workspace: Workspace, frame: pd.DataFrame, model: str) -> list[str]:
    """Adds ``label`` and ``proba_<class>``; returns the classes (in the order the model's rows name them)."""
    with _ids_view(workspace, frame["post_id"].tolist()):
        rows = workspace.db.execute(
            "SELECT post_id, task, label, probabilities FROM predictions WHERE model = ? "
            "AND post_id IN (SELECT id FROM _sentiment_ids)",
            [model],
        ).fetchall()
    if not rows:
        known = [r[0] for r in workspace.db.execute("SELECT DISTINCT model FROM predictions ORDER BY 1").fetchall()]
        if model not in known:
            raise ConfigError(
                f"no predictions of model {model!r} in this workspace; models with predictions: "
                f"{', '.join(known) or 'none'} (postlens predict --model {model} writes them)"
            )
    tasks = {r[1] for r in rows}
    if tasks - {"classification"}:
        raise ConfigError(
            f"model {model!r} is a {', '.join(sorted(tasks))} model; sentiment reads a classifier's labels"
        )
    classes: list[str] = []
    for _, _, _, probabilities in rows:
        for name in _as_mapping(probabilities):
            if name not in classes:
                classes.append(name)
    frame["label"] = frame["post_id"].map({r[0]: r[2] for r in rows})
    for name in classes:
        frame[f"{PROBA_PREFIX}{name}"] = (
            frame["post_id"].map({r[0]: _as_mapping(r[3]).get(name, 0.0) for r in rows}).astype(float)
        )
    return classes


def _as_mapping(value: Any) -> dict[str, float]:
    """DuckDB returns a MAP as a dict (or, in older versions, {'key': [...], 'value': [...]})."""
    if not value:
        return {}
    if set(value) == {"key", "value"} and isinstance(value["key"], list):
        return dict(zip(value["key"], value["value"]))
    return dict(value)


class _ids_view:
    """``_sentiment_ids`` as a temporary view of ``ids`` for the duration of a ``with`` block."""

    def __init__(self, workspace: Workspace, ids: Sequence[str]) -> None:
        self.db, self.ids = workspace.db, ids

    def __enter__(self) -> None:
        self.db.register("_sentiment_ids", pa.table({"id": pa.array(list(self.ids), pa.string())}))

    def __exit__(self, *_: object) -> None:
        self.db.unregister("_sentiment_ids")
