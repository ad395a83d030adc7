"""Run imports under an audit hook that records every file opened outside the allowed folders.

Run as a subprocess (audit hooks cannot be removed): ``python _media_audit_child.py SPEC.json``.
The spec names the workspace, the allowed folders (media root, data, workspace) and the imports
(``runs``) or a Hypothesis property (``property``). Python's own files (``sys.prefix``, the
postlens sources) are allowed too; anything else opened (``open``/``os.open``) or listed
(``os.scandir``/``os.listdir``) while an import runs is reported as ``outside``. FFmpeg opens
files in C, unaudited: the store only lets it read the copy inside the workspace.
"""

from __future__ import annotations

import os
import sys

OUTSIDE: list[str] = []
_STATE = {"active": False, "busy": False}
_ALLOWED: list[str] = []


def _hook(event: str, args: tuple[object, ...]) -> None:
    if not _STATE["active"] or _STATE["busy"] or event not in ("open", "os.scandir", "os.listdir"):
        return
    path = args[0] if args else None
    if path is None or isinstance(path, int):
        return
    _STATE["busy"] = True
    try:
        text = os.fsdecode(path) if isinstance(path, bytes) else str(path)
        try:
            full = os.path.realpath(text)
        except (ValueError, OSError):
            full = text
        if not any(full == root or full.startswith(root.rstrip(os.sep) + os.sep) for root in _ALLOWED):
            OUTSIDE.append(f"{event}:{full}")
    finally:
        _STATE["busy"] = False


sys.addaudithook(_hook)

import json  # noqa: E402  (after the hook, so that nothing escapes it)
from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402


def _allow(paths: list[str]) -> None:
    import postlens

    base = [
        sys.prefix,
        sys.base_prefix,
        sys.exec_prefix,
        str(Path(postlens.__file__).parents[1]),
        "/proc/self",
        "/dev/null",
        "/dev/urandom",
        "/usr/share/zoneinfo",
        "/etc/localtime",
    ]
    _ALLOWED.extend(os.path.realpath(p) for p in [*paths, *base])


def _quarantine(ws: Any, run_id: str) -> list[dict[str, Any]]:
    rows = ws.db.execute(
        "SELECT line, code, post_id, reason, post_kept FROM quarantine WHERE run_id = ? ORDER BY line, code", [run_id]
    ).fetchall()
    return [dict(zip(("line", "code", "post_id", "reason", "post_kept"), r)) for r in rows]


def run_imports(spec: dict[str, Any]) -> dict[str, Any]:
    from postlens.pipeline.ingest import build_importer
    from postlens.store.ingest import ingest
    from postlens.store.workspace import Workspace

    results: dict[str, Any] = {}
    if spec.get("control"):  # proves the hook sees an outside open (else an empty list proves nothing)
        _STATE["active"] = True
        with open(spec["control"], "rb"):
            pass
        _STATE["active"] = False
        results["control"] = sorted(set(OUTSIDE))
    with Workspace(spec["workspace"]) as ws:
        for run in spec["runs"]:
            importer = build_importer(
                run["importer"],
                mapping_pairs=run.get("map", []),
                media_root=Path(run["media_root"]) if run.get("media_root") else None,
            )
            OUTSIDE.clear()
            _STATE["active"] = True
            try:
                summary = ingest(ws, importer, [Path(p) for p in run["paths"]])
            finally:
                _STATE["active"] = False
            media = ws.db.execute("SELECT post_id, position, status, kind FROM media ORDER BY 1, 2").fetchall()
            results[run["name"]] = {
                "posts_written": summary.posts_written,
                "quarantined": summary.quarantined,
                "flagged": summary.flagged,
                "media_stored": summary.media_stored,
                "media_problems": summary.media_problems,
                "quarantine": _quarantine(ws, summary.run_id),
                "media": [list(row) for row in media],
                "outside": sorted(set(OUTSIDE)),
            }
    return results


def run_property(spec: dict[str, Any]) -> dict[str, Any]:
    """Arbitrary media names through csv, jsonl, postlens JSONL and the Python API: a post or a quarantine row each."""
    import csv
    import io

    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from postlens.pipeline.ingest import build_importer
    from postlens.store.ingest import ingest
    from postlens.store.workspace import Workspace
    from postlens.types import MediaPart, Modality, Post

    root, data = Path(spec["root"]), Path(spec["data"])
    prefixes = st.sampled_from(
        [
            "",
            "../",
            "../../",
            "/",
            "~/",
            "~/..",
            "file://",
            "file:///",
            "sub/",
            "sub/../",
            "link/",
            "dirlink/",
            "pipe.jpg/",
            "\\..\\",
            "./",
            str(root) + "/",
            str(root.parent) + "/",
        ]
    )
    surrogates = st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1, max_size=4)
    middle = st.text(max_size=300) | st.builds(str.__add__, st.text(max_size=20), surrogates)  # lone surrogates too
    names = st.builds(
        lambda p, t, s: p + t + s, prefixes, middle, st.sampled_from(["", ".jpg", ".mp4", ".wav", "/..", "\x00"])
    )
    names = names | st.sampled_from(
        ["good.jpg", "link.jpg", "pipe.jpg", "sub", "dirlink/secret.jpg", "dangling.jpg", "x" * 5000, "a/" * 3000]
    )
    seen: dict[str, Any] = {"examples": 0, "imports": 0, "stored": 0, "problems": {}}

    class OnePost:
        name = "python-api"

        def __init__(self, name: str) -> None:
            self.part = MediaPart(Modality.IMAGE, source_path=name, root=str(root))

        def iter_records(self, path: Path) -> Iterator[Post]:
            yield Post(
                source="prop",
                native_id="1",
                platform="test",
                created_at=None,
                text="kept",
                media=[self.part],
                origin_file=str(path),
                origin_line=1,
            )

    def files(n: int, value: str) -> list[Path]:
        """One record per file; JSON escapes lone surrogates, CSV writes them as the bytes they stand for."""
        table = data / f"t{n}.jsonl"
        table.write_text(json.dumps({"id": str(n), "text": "kept", "media": [value]}) + "\n")
        native = root / f"n{n}.jsonl"  # postlens JSONL: the media root is the file's folder
        native.write_text(
            json.dumps(
                {
                    "source": "n",
                    "native_id": str(n),
                    "platform": "t",
                    "text": "kept",
                    "media": [{"kind": "image", "source_path": value}],
                }
            )
            + "\n"
        )
        rows = io.StringIO()
        csv.writer(rows).writerows([["id", "text", "media"], [str(n), "kept", value]])
        sheet = data / f"c{n}.csv"
        sheet.write_bytes(rows.getvalue().encode("utf-8", "surrogatepass"))
        return [table, native, sheet]

    with Workspace(spec["workspace"]) as ws:
        mapping = ["text=text", "id=id", "media=media"]
        jsonl, sheet = (build_importer(f, mapping_pairs=mapping, media_root=root) for f in ("jsonl", "csv"))
        native = build_importer("postlens")

        @settings(
            max_examples=spec["examples"],
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        @given(name=names, as_url=st.booleans())
        def check(name: str, as_url: bool) -> None:
            seen["examples"] += 1
            value = ("file://" + name) if as_url else name
            table, native_file, csv_file = files(seen["examples"], value)
            for importer, path in ((jsonl, table), (native, native_file), (sheet, csv_file), (OnePost(value), table)):
                OUTSIDE.clear()
                _STATE["active"] = True
                try:
                    summary = ingest(ws, importer, [path])
                finally:
                    _STATE["active"] = False
                seen["imports"] += 1
                assert not OUTSIDE, f"{importer.name} opened outside the root for {value!r}: {OUTSIDE}"
                assert summary.posts_written + summary.quarantined == 1, (importer.name, value, summary)
                seen["stored"] += summary.media_stored
                for code, count in summary.reasons.items():
                    seen["problems"][code] = seen["problems"].get(code, 0) + count

        check()
    return seen


def main() -> None:
    spec = json.loads(Path(sys.argv[1]).read_text())
    _allow(spec["allowed"])
    result = run_property(spec) if spec.get("property") else run_imports(spec)
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
