"""``postlens sentiment``: fill what the per-post sentiment lacks, then group it by topic or time bin.

The model's outputs go to the ``predictions`` table through the ordinary predict path (which
featurizes what the cache lacks, with exactly the model's encoders); only posts without a
prediction of the model's current fingerprint are predicted, so a second run predicts nothing.
VADER scores missing from the feature cache are computed and stored there.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from postlens.models.artifact import load_model
from postlens.pipeline.predict import predict, resolve_model_folder
from postlens.store.post_filter import check_where, select_post_ids
from postlens.store.workspace import Workspace, resolve_workspace_path
from postlens.tasks.sentiment import PostSentiment, SentimentReport, aggregate_sentiment, load_post_sentiment

DEFAULT_SEGMENTATION = "topics"


def post_sentiment(
    workspace: str | Path | None = None,
    *,
    model: str | Path | None = None,
    segmentation: str | None = None,
    where: str | None = None,
    post_ids: Sequence[str] | None = None,
    predict_missing: bool = True,
    progress: Callable[[str, int, int], None] | None = None,
) -> tuple[PostSentiment, int]:
    """(per-post sentiment, posts predicted now). ``model``: a folder name under ``<workspace>/models/``
    or a path; ``where``: a SQL condition over posts; ``predict_missing``: predict the posts that
    have no prediction of this model yet (else they are read as unpredicted); ``progress``: predict's
    ``(step, done, total)`` callback."""
    root = resolve_workspace_path(workspace)
    ids = None if post_ids is None else list(post_ids)
    if where is not None:
        where = check_where(where)
        with Workspace(root, read_only=True) as ws:
            ids = select_post_ids(ws.db, where, within=ids)
    name, predicted_now = None, 0
    if model is not None:
        folder = resolve_model_folder(model, root)
        trained = load_model(folder)
        name = trained.name
        if predict_missing:
            missing = _unpredicted(root, name, trained.fingerprint, ids)
            if missing:
                predicted_now = len(predict(folder, workspace=root, post_ids=missing, progress=progress).predictions)
    with Workspace(root, read_only=True) as ws:
        return load_post_sentiment(ws, post_ids=ids, model=name, segmentation=segmentation), predicted_now


def run_sentiment(
    workspace: str | Path | None = None,
    *,
    model: str | Path | None = None,
    by: str = "topic",
    segmentation: str | None = None,
    where: str | None = None,
    predict_missing: bool = True,
    progress: Callable[[str, int, int], None] | None = None,
) -> SentimentReport:
    """Sentiment grouped ``by`` topic (segmentation ``topics`` unless named), hour, day, week, month or none."""
    if by == "topic" and segmentation is None:
        segmentation = DEFAULT_SEGMENTATION
    posts, predicted_now = post_sentiment(
        workspace,
        model=model,
        segmentation=segmentation,
        where=where,
        predict_missing=predict_missing,
        progress=progress,
    )
    report = aggregate_sentiment(posts, by=by)
    report.predicted_now = predicted_now
    return report


def _unpredicted(root: Path, model: str, fingerprint: str, ids: list[str] | None) -> list[str]:
    """Posts (of ``ids``, or all) without a prediction of ``model`` at its current fingerprint."""
    with Workspace(root, read_only=True) as ws:
        done = {
            r[0]
            for r in ws.db.execute(
                "SELECT post_id FROM predictions WHERE model = ? AND model_fingerprint = ?", [model, fingerprint]
            ).fetchall()
        }
        wanted = (
            ids if ids is not None else [r[0] for r in ws.db.execute("SELECT id FROM posts ORDER BY id").fetchall()]
        )
    return [p for p in wanted if p not in done]
