"""Round-trip posts through Label Studio: export tasks, import the annotations back as post labels.

Tasks (``export_label_studio``) follow Label Studio's task import format, a JSON list::

    [{"id": 1,
      "data": {"post_id": "mastodon:1099", "text": "...", "image": "<url or path>", "video": ..., "audio": ...,
               "platform": "mastodon", "created_at": "2024-05-01T08:00:00+00:00"},
      "meta": {"post_id": "mastodon:1099", "labels": {"event": "flood"}}}]

``data.post_id`` carries the post id through Label Studio (``data`` is kept verbatim in its exports;
the task ``id`` is Label Studio's own and is not relied on). A media field holds the part's remote
URL, or for a stored file ``<media_url_prefix><path in the workspace>`` (e.g. a Label Studio
local-files URL ``/data/local-files/?d=postlens-workspace/``), or its absolute path without a prefix.
Only the first part of each kind goes in ``image``/``video``/``audio``; all are listed in ``media``.

Annotations (``import_annotations``) are read from Label Studio's JSON export (a list of tasks, each
with ``annotations[].result[]``). Per task the newest annotation that was not cancelled counts (by
``updated_at``, else ``created_at``, else its place in the list); its ``choices`` values (classification)
and ``labels`` values (span labels), optionally only from the control named ``from_name``, become the
value of label ``label``: one value as is, several sorted and joined with ``|``. A task without a
post id, without such an annotation, or naming an unknown post is quarantined with its position
in the file; merging goes through ``store/labels.py`` like ``postlens label import``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa

from postlens.errors import ConfigError
from postlens.store.labels import LabelRow, LabelSummary, merge_labels
from postlens.store.post_filter import select_post_ids
from postlens.store.workspace import Workspace
from postlens.types import RAW_LIMIT, Rejected

FORMATS = ("label-studio",)
MULTI_SEPARATOR = "|"
_VALUE_KEYS = ("choices", "labels")


@dataclass
class ExportSummary:
    path: Path
    tasks: int
    with_media: int


def export_label_studio(
    out: str | Path,
    *,
    where: str | None = None,
    workspace: Any = None,
    media_url_prefix: str | None = None,
    format: str = "label-studio",
) -> ExportSummary:
    """Write the posts picked by ``where`` (all without it) to ``out`` as Label Studio tasks."""
    if format not in FORMATS:
        raise ConfigError(f"unknown export format {format!r}; known: {', '.join(FORMATS)}")
    out = Path(out)
    with Workspace(workspace, read_only=True) as ws:
        ids = select_post_ids(ws.db, where) if where else None
        tasks = list(_tasks(ws, ids, media_url_prefix))
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(orjson.dumps(tasks, option=orjson.OPT_INDENT_2))
        os.replace(name, out)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return ExportSummary(out, len(tasks), sum(1 for t in tasks if t["data"].get("media")))


def _tasks(ws: Workspace, ids: list[str] | None, prefix: str | None) -> Iterator[dict[str, Any]]:
    query = (
        "SELECT id, text, platform, created_at, map_keys(labels), map_values(labels) FROM posts"
        + (" WHERE id IN (SELECT id FROM _export_ids)" if ids is not None else "")
        + " ORDER BY id"
    )
    media_query = (
        "SELECT post_id, kind, status, path, url FROM media"
        + (" WHERE post_id IN (SELECT id FROM _export_ids)" if ids is not None else "")
        + " ORDER BY post_id, position"
    )
    if ids is not None:
        ws.db.register("_export_ids", pa.table({"id": pa.array(ids, pa.string())}))
    try:
        media: dict[str, list[tuple[str, str]]] = {}
        for post_id, kind, status, path, url in ws.db.execute(media_query).fetchall():
            ref = _media_ref(ws.root, status, path, url, prefix)
            if ref:
                media.setdefault(post_id, []).append((kind, ref))
        rows = ws.db.execute(query).fetchall()
    finally:
        if ids is not None:
            ws.db.unregister("_export_ids")
    for number, (post_id, text, platform, created_at, keys, values) in enumerate(rows, 1):
        data: dict[str, Any] = {
            "post_id": post_id,
            "text": text,
            "platform": platform,
            "created_at": created_at.isoformat() if created_at else None,
        }
        parts = media.get(post_id, [])
        for kind, ref in parts:
            data.setdefault(kind, ref)
        if parts:
            data["media"] = [{"kind": kind, "src": ref} for kind, ref in parts]
        yield {"id": number, "data": data, "meta": {"post_id": post_id, "labels": dict(zip(keys or [], values or []))}}


def _media_ref(root: Path, status: str, path: str | None, url: str | None, prefix: str | None) -> str | None:
    if status == "stored" and path:
        return prefix + path if prefix else str((root / path).resolve())
    return url or None


# ------------------------------------------------------------------ annotations back in


def import_annotations(
    path: str | Path, *, label: str, from_name: str | None = None, workspace: Any = None, batch_size: int = 5000
) -> LabelSummary:
    """Merge the annotations of a Label Studio JSON export into label ``label`` of the posts."""
    path = Path(path)
    if not label.strip():
        raise ConfigError("give the label name the annotations are stored under (--label NAME)")
    tasks = _read_export(path)
    options = {"format": "label-studio", "label": label, "from_name": from_name}
    with Workspace(workspace, create=False) as ws:
        return merge_labels(
            ws,
            annotation_rows(tasks, path, label=label, from_name=from_name),
            inputs=[str(path)],
            options=options,
            batch_size=batch_size,
        )


def _read_export(path: Path) -> list[Any]:
    try:
        document = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise ConfigError(f"{path} is not JSON ({exc}); export the project from Label Studio as JSON") from None
    if isinstance(document, dict):
        document = [document]
    if not isinstance(document, list):
        raise ConfigError(f"{path}: a Label Studio JSON export is a list of tasks, not a {type(document).__name__}")
    return document


def annotation_rows(
    tasks: list[Any], path: Path, *, label: str, from_name: str | None = None
) -> Iterator[LabelRow | Rejected]:
    """One ``LabelRow`` per annotated task, or a ``Rejected`` naming the task's position (``line``)."""
    file = str(path)
    for position, task in enumerate(tasks, 1):
        raw = orjson.dumps(task).decode()[:RAW_LIMIT] if task is not None else "null"
        if not isinstance(task, dict):
            yield Rejected(file, position, "bad_record", f"task {position} is not a JSON object", raw=raw)
            continue
        post_id = _post_id(task)
        if post_id is None:
            yield Rejected(
                file,
                position,
                "missing_id",
                f"task {position} (Label Studio id {task.get('id')!r}) has "
                "no data.post_id (export the tasks with "
                "'postlens label export')",
                raw=raw,
            )
            continue
        annotation = _latest(task.get("annotations"))
        values = _values(annotation, from_name) if annotation is not None else []
        if not values:
            whose = f" from control {from_name!r}" if from_name else ""
            yield Rejected(
                file,
                position,
                "no_annotation",
                f"task {position} ({post_id}) has no annotation with choices or labels{whose} that was not cancelled",
                post_id=post_id,
                raw=raw,
            )
            continue
        value = MULTI_SEPARATOR.join(sorted(set(values))) if len(set(values)) > 1 else values[0]
        yield LabelRow(post_id, {label: value}, file, position, raw)


def _post_id(task: dict[str, Any]) -> str | None:
    for holder in (task.get("data"), task.get("meta")):
        if isinstance(holder, dict):
            value = holder.get("post_id")
            if isinstance(value, str) and value.strip():
                return value.strip()
    return None


def _latest(annotations: Any) -> dict[str, Any] | None:
    usable = [
        (i, a)
        for i, a in enumerate(annotations if isinstance(annotations, list) else [])
        if isinstance(a, dict) and not a.get("was_cancelled")
    ]
    if not usable:
        return None

    def when(item: tuple[int, dict[str, Any]]) -> tuple[str, int]:
        stamp = item[1].get("updated_at") or item[1].get("created_at")
        return (stamp if isinstance(stamp, str) else "", item[0])

    return max(usable, key=when)[1]


def _values(annotation: dict[str, Any], from_name: str | None) -> list[str]:
    found: list[str] = []
    results = annotation.get("result")
    for region in results if isinstance(results, list) else []:
        if not isinstance(region, dict) or (from_name and region.get("from_name") != from_name):
            continue
        value = region.get("value")
        if not isinstance(value, dict):
            continue
        for key in _VALUE_KEYS:
            entries = value.get(key)
            for entry in entries if isinstance(entries, list) else []:
                if isinstance(entry, str) and entry.strip():
                    found.append(entry.strip())
    return found
