"""postlens from a notebook: ``ws = postlens.open(path)``, then DataFrames in, scikit-learn estimators on top.

    ws = postlens.open("postlens-workspace")
    posts = ws.posts(where="len(media_kinds) > 0")           # one row per post, labels and engagement as columns
    labelled = posts[posts["label.topic"].notna()]
    X = ws.features(["minilm", "efficientnet"], on=labelled)  # aligned with labelled.index, NaN = missing
    y = labelled["label.topic"]
    GridSearchCV(postlens.BaselineModel(), {"C": [0.1, 1, 10]}).fit(X, y)

Every method opens the workspace for the call only (read-only for reads), so a notebook never holds
DuckDB's lock between cells and ``postlens ingest`` can run beside it. The pipeline steps (ingest,
featurize, train, predict) are the functions the CLI runs, called with this workspace.

Feature frames: one block of columns ``<name>.0 .. <name>.<d-1>`` per encoder name, index ``post_id``;
a post without that modality (no image, no text, not featurized) has NaN across its block. Every
postlens estimator reads such a frame as is (``postlens.models.inputs.as_post_data``); for plain
scikit-learn, impute first (``SimpleImputer(strategy="constant", fill_value=0, add_indicator=True)``)
or use a model that takes NaN (``HistGradientBoostingClassifier``). ``metadata`` as a name adds the
facts known at posting time (followers, hour, weekday, media counts...) as plain numeric columns.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np

from postlens.errors import ConfigError
from postlens.store.post_filter import select_post_ids
from postlens.store.workspace import Workspace, resolve_workspace_path
from postlens.types import ENGAGEMENT_COUNTS

if TYPE_CHECKING:
    import pandas as pd

    from postlens.models.artifact import TrainedModel
    from postlens.models.config import TrainConfig
    from postlens.models.prediction import Predictions
    from postlens.pipeline.collect import CollectSummary
    from postlens.pipeline.dedupe import DedupeReport
    from postlens.pipeline.featurize import FeaturizeSummary
    from postlens.pipeline.scrape import ScrapeSummary
    from postlens.store.ingest import ImportSummary

METADATA = "metadata"
"""The feature name of the posting-time facts (``postlens.models.data.metadata_matrix``)."""
INDEX_NAME = "post_id"
LABEL_PREFIX = "label."
COUNTS = ENGAGEMENT_COUNTS
Ids: TypeAlias = "Sequence[str] | pd.Index | pd.DataFrame | None"
"""Which posts: a DataFrame from ``posts()`` (its index), an Index or sequence of ids; None = all."""

_POSTS_SQL = f"""
SELECT p.id AS {INDEX_NAME}, p.source, p.platform, p.native_id, p.created_at, p.text, p.language,
       p.author_id, p.author_handle, p.author_followers, p.author_verified, p.hashtags, p.mentions, p.urls,
       p.media_kinds, p.labels, {", ".join(f"e.{c}" for c in COUNTS)}, e.observed_at AS engagement_observed_at
FROM posts p LEFT JOIN (
    SELECT post_id, {", ".join(f"arg_max({c}, observed_at) AS {c}" for c in COUNTS)}, max(observed_at) AS observed_at
    FROM engagement GROUP BY post_id
) e ON e.post_id = p.id
"""


def open(path: str | Path | None = None, *, create: bool = False) -> WorkspaceHandle:
    """The workspace at ``path`` (default ``$POSTLENS_WORKSPACE`` or ``./postlens-workspace``).

    ``create``: make an empty workspace when there is none; otherwise a missing or unusable one is
    an error now, not at the first cell that reads it.
    """
    root = resolve_workspace_path(path)
    if create:
        Workspace(root).close()
    else:
        Workspace(root, read_only=True).close()
    return WorkspaceHandle(root)


class WorkspaceHandle:
    """A workspace folder seen from Python; see the module docstring."""

    def __init__(self, path: str | Path) -> None:
        self.path = resolve_workspace_path(path)

    def __repr__(self) -> str:
        return f"postlens.open({str(self.path)!r})"

    def _read(self) -> Workspace:
        return Workspace(self.path, read_only=True)

    # ------------------------------------------------------------------ data

    def posts(self, where: str | None = None, *, on: Ids = None) -> pd.DataFrame:
        """One row per post, indexed by ``post_id``: in the order of ``on`` when given, else by id.

        Columns: the post's fields (``created_at`` in UTC, hashtags / media_kinds as arrays), one
        ``label.<name>`` per label key (None where a post lacks it), and engagement: each count at
        the latest snapshot that recorded it (``likes``, ``shares``, ``comments``, ``views``; NaN
        when never observed) and ``engagement_observed_at``. ``where``: a SQL condition over posts
        (``postlens predict --where``'s, checked the same way); ``on``: only these posts.
        """
        import pandas as pd

        ids = post_ids(on)
        with self._read() as ws:
            if where is not None:
                ids = select_post_ids(ws.db, where, within=ids)
            if ids is None:
                frame = ws.db.execute(_POSTS_SQL + " ORDER BY p.id").df()
            else:
                frame = ws.db.execute(
                    _POSTS_SQL + " WHERE p.id IN (SELECT unnest(?::VARCHAR[])) ORDER BY p.id", [ids]
                ).df()
        frame = frame.set_index(INDEX_NAME)
        if on is not None and where is None and ids is not None:
            missing = [i for i in dict.fromkeys(ids) if i not in frame.index]
            if missing:
                raise ConfigError(f"{len(missing)} post ids are not in the workspace, e.g. {missing[:3]}")
            frame = frame.loc[ids]
        for column in ("created_at", "engagement_observed_at"):
            if isinstance(frame[column].dtype, pd.DatetimeTZDtype):
                frame[column] = frame[column].dt.tz_convert("UTC")
        labels = [m if isinstance(m, dict) else {} for m in frame.pop("labels")]
        names = sorted({k for m in labels for k in m})
        for name in names:
            frame[f"{LABEL_PREFIX}{name}"] = pd.Series([m.get(name) for m in labels], index=frame.index, dtype=object)
        return frame

    def features(
        self, names: str | Sequence[str] | Mapping[str, str], on: Ids = None, *, text_fields: Sequence[str] = ("text",)
    ) -> pd.DataFrame:
        """Cached features for the posts ``on`` (a DataFrame from ``posts()``, ids, or None = all), in that order.

        ``names``: encoder names (``minilm``, ``efficientnet``, a cache key ``name@version``) or
        ``metadata``; each encoder gives a block of columns ``<name>.<i>``, NaN rows where a post lacks
        it (see the module docstring). A dict ``{block: encoder}`` names the blocks itself, e.g.
        ``{"text": "minilm", "image": "efficientnet"}`` as ``train.yaml``'s ``features.modalities``
        (the blocks a model from ``train`` reads). ``text_fields``: the texts a text encoder's vector
        averages over (``text``, ``ocr``, ``video_text``, ``transcript``), as in ``train.yaml``.
        """
        import pandas as pd

        from postlens.models.config import parse_config
        from postlens.models.data import load_post_data

        blocks_wanted = (
            dict(names)
            if isinstance(names, Mapping)
            else {n: n for n in ([names] if isinstance(names, str) else names)}
        )
        listed = names if isinstance(names, (Mapping, str)) else list(names)
        if not blocks_wanted or (isinstance(listed, list) and len(set(listed)) != len(listed)):
            raise ConfigError(f"name each feature once, e.g. ws.features(['minilm', 'efficientnet']); got {names!r}")
        ids = post_ids(on)
        blocks: list[np.ndarray] = []
        columns: list[str] = []
        with self._read() as ws:
            if ids is None:
                ids = [r[0] for r in ws.db.execute("SELECT id FROM posts ORDER BY id").fetchall()]
            for block, name in blocks_wanted.items():
                modality = METADATA if name == METADATA else _modality_of(name)
                features = {
                    "modalities": {} if modality == METADATA else {modality: name},
                    "text_fields": list(text_fields),
                    "metadata": modality == METADATA,
                }
                data, _ = load_post_data(ws, parse_config({"features": features}, source="ws.features"), ids)
                if modality == METADATA:
                    blocks.append(data.meta)
                    columns += data.meta_names
                    continue
                matrix = data.modalities[modality].astype(np.float32, copy=True)
                matrix[~data.masks[modality]] = np.nan
                blocks.append(matrix)
                columns += [f"{block}.{i}" for i in range(matrix.shape[1])]
        values = np.concatenate(blocks, axis=1) if blocks else np.zeros((len(ids), 0), np.float32)
        return pd.DataFrame(values, index=pd.Index(ids, name=INDEX_NAME), columns=columns)

    def sql(self, query: str, *, limit: int = 1_000_000) -> pd.DataFrame:
        """One read-only SELECT (``postlens sql``'s rules: nothing written, no files read), first ``limit`` rows."""
        import pandas as pd

        from postlens.store.readonly_sql import run_read_only_sql

        result = run_read_only_sql(query, workspace=self.path, limit=limit)
        return pd.DataFrame(result.rows, columns=result.columns)

    # ------------------------------------------------------------------ pipeline steps

    def ingest(
        self,
        paths: Sequence[str | Path],
        *,
        importer: str | None = None,
        mapping: str | Path | None = None,
        map_pairs: Sequence[str] = (),
        media_root: str | Path | None = None,
        source: str | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> ImportSummary:
        """``postlens ingest``: import files (format guessed from the first unless ``importer`` names it);
        ``progress(records seen, quarantined)`` after each batch."""
        from postlens.pipeline.ingest import run_ingest

        return run_ingest(
            [Path(p) for p in paths],
            importer_name=importer,
            mapping_file=Path(mapping) if mapping else None,
            mapping_pairs=map_pairs,
            media_root=Path(media_root) if media_root else None,
            source=source,
            workspace=self.path,
            progress=progress,
        )

    def collect(self, source: str, query: str, **options: Any) -> CollectSummary:
        """``postlens collect``: posts from a platform API (mastodon, bluesky, reddit, x), resumable; the
        options are ``pipeline.collect.run_collect``'s (``since="2d"``, ``until_caught_up``, ``progress``...)."""
        from postlens.pipeline.collect import run_collect

        return run_collect(source, query, workspace=self.path, **options)

    def scrape(self, urls: Sequence[str], **options: Any) -> ScrapeSummary:
        """``postlens scrape``: posts from web pages that allow it (robots.txt, allow-list, SSRF guard); the
        options are ``pipeline.scrape.run_scrape``'s (``allow_domains``, ``contact``, ``min_interval``...)."""
        from postlens.pipeline.scrape import run_scrape

        return run_scrape(urls, workspace=self.path, **options)

    def featurize(
        self,
        encoders: Sequence[str] | None = None,
        *,
        on: Ids = None,
        batch_size: int = 32,
        progress: Callable[[str, int, int], None] | None = None,
    ) -> FeaturizeSummary:
        """``postlens featurize``: compute what the feature cache lacks (default encoders when None),
        for all posts or those ``on``."""
        from postlens.pipeline.featurize import featurize

        # the path, not an open Workspace: featurize opens the database only briefly, so other
        # readers (this notebook's own ws.posts() in another thread, postlens stats) are not locked out
        return featurize(self.path, encoders=encoders, batch_size=batch_size, progress=progress, post_ids=post_ids(on))

    def dedupe(self, **options: Any) -> DedupeReport:
        """``postlens dedupe``: copies linked into clusters (table ``duplicate_clusters``), nothing deleted;
        the options are ``pipeline.dedupe.run_dedupe``'s (``text_threshold``, ``image_max_distance``, ``progress``)."""
        from postlens.pipeline.dedupe import run_dedupe

        return run_dedupe(self.path, **options)

    def train(
        self,
        config: Mapping[str, Any] | TrainConfig | str | Path,
        *,
        cv: int | None = None,
        compare_imbalance: bool = False,
        progress: Callable[[str], None] | None = None,
    ) -> dict[str, Any]:
        """``postlens train``: ``config`` is a dict of ``train.yaml``'s keys, a TrainConfig or a YAML path.
        Returns the report (figures, sizes, where the model folder went)."""
        from postlens.models.config import parse_config
        from postlens.pipeline.train import run_train

        if isinstance(config, Mapping):
            config = parse_config(dict(config), source="train config")
        return run_train(config, workspace=self.path, cv=cv, compare_imbalance=compare_imbalance, progress=progress)

    def models(self) -> list[str]:
        """Names of the model folders under ``<workspace>/models``."""
        folder = self.path / "models"
        return sorted(p.name for p in folder.iterdir() if (p / "model.json").is_file()) if folder.is_dir() else []

    def model(self, name: str | Path) -> TrainedModel:
        """A saved model (a name under ``<workspace>/models`` or a folder); ``.predict(X)`` takes PostData
        or a feature frame, ``.classes`` names its labels."""
        from postlens.models.artifact import load_model
        from postlens.pipeline.predict import resolve_model_folder

        return load_model(resolve_model_folder(name, self.path))

    def predict(self, model: str | Path, *, on: Ids = None, where: str | None = None, save: bool = True) -> Predictions:
        """``postlens predict``: predict posts (all, ``on``, narrowed by ``where``) with a saved model,
        featurizing what the cache lacks; ``.frame`` is the DataFrame. ``save``: upsert the
        ``predictions`` table."""
        from postlens.pipeline.predict import predict

        return predict(model, workspace=self.path, where=where, post_ids=post_ids(on), save=save).predictions


def post_ids(on: Ids) -> list[str] | None:
    """Post ids from a DataFrame (its ``post_id`` / ``id`` index or column), an Index, a sequence of ids, or None."""
    if on is None:
        return None
    if isinstance(on, str):
        raise ConfigError(f"pass a list of post ids, not one string ({on!r}); e.g. on=[{on!r}]")
    frame_type = _pandas_type("DataFrame")
    if frame_type is not None and isinstance(on, frame_type):
        if on.index.name in (INDEX_NAME, "id"):
            values: Iterable[Any] = on.index
        else:
            column = next((c for c in (INDEX_NAME, "id") if c in on.columns), None)
            if column is None:
                raise ConfigError(
                    f"cannot tell which posts this DataFrame holds: name its index {INDEX_NAME!r} "
                    f"(as ws.posts() does) or give it a {INDEX_NAME!r} column; it has index "
                    f"{on.index.name!r} and columns {list(on.columns)[:8]}"
                )
            values = on[column]
    else:
        values = on
        if getattr(getattr(on, "dtype", None), "kind", "") == "b":
            raise ConfigError(
                "on= takes post ids or a DataFrame of posts, not a True/False mask: pass posts[mask] instead"
            )
    return [str(v) for v in values]


def present(features: pd.DataFrame) -> pd.DataFrame:
    """One boolean column per feature block of ``features``: True where the post has that modality."""
    import pandas as pd

    from postlens.models.inputs import as_post_data

    data = as_post_data(features)
    return pd.DataFrame({name: mask for name, mask in data.masks.items()}, index=features.index)


def _modality_of(name: str) -> str:
    from importlib import import_module

    from postlens.encoders.identity import TEXT_FIELD_SOURCES, registry_name_of
    from postlens.encoders.registry import SPECS, get_spec

    registry = registry_name_of(name) if "@" in name else name
    if registry is None:
        raise ConfigError(
            f"no encoder of this postlens writes {name!r}; known encoders: {', '.join(SPECS)} (or {METADATA!r})"
        )
    if registry not in SPECS:
        raise ConfigError(f"unknown feature {name!r}; known: {', '.join(SPECS)}, {METADATA}")
    spec = get_spec(registry)
    if getattr(getattr(import_module(spec.module), spec.factory), "dim", None) == 0:
        fields = [f for f, source in TEXT_FIELD_SOURCES.items() if source == registry]
        raise ConfigError(
            f"encoder {name!r} writes text, not vectors: read that text through a text encoder, e.g. "
            f"ws.features('minilm', text_fields=['text', {fields[0] if fields else 'ocr'!r}])"
        )
    return spec.modality.value


def _pandas_type(name: str) -> Any:
    import sys

    pandas = sys.modules.get("pandas")
    return getattr(pandas, name) if pandas is not None else None
