"""Property: any string as a media name gives a post or a quarantine row, and opens nothing outside the root.

Hypothesis draws names (any Unicode, lone surrogates, NUL, 5,000 characters, ``..``, ``~``,
``file://`` and absolute prefixes, names of the traps in the root) and sends each through the csv,
jsonl and postlens JSONL importers and through the Python API (a ``MediaPart`` built by hand, which
reaches the store with characters no file format carries). It runs in a subprocess under the audit hook of
``_media_audit_child.py``; a falsifying example fails the child with its traceback.
"""

from __future__ import annotations

from pathlib import Path

from _media_traps import build_tree, run_child


def test_any_media_name_gives_a_post_or_a_quarantine_row_and_opens_nothing_outside(tmp_path: Path) -> None:
    tree = build_tree(tmp_path)
    data = tmp_path / "data"
    data.mkdir()
    spec = {
        "property": True,
        "examples": 120,
        "root": str(tree["root"]),
        "data": str(data),
        "workspace": str(tmp_path / "ws"),
        "allowed": [str(tree["root"]), str(data), str(tmp_path / "ws")],
    }
    seen = run_child(spec, tmp_path, timeout=1200)
    assert seen["examples"] >= 120 and seen["imports"] == 4 * seen["examples"]
    assert seen["stored"] > 0  # good names were among the examples, and were attached
    refused = set(seen["problems"])
    assert {"media_outside_root", "media_bad_name"} <= refused, refused
