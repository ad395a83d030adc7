"""The store's media gate: a local media name is attached only when it resolves to a regular file inside its root.

Unit tests of ``MediaStore.add_part``/``add_file`` and of the gate's race checks; the audited
end-to-end runs through every importer are in ``test_store_media_confinement.py``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from _media_traps import build_tree, jpeg

from postlens.store.ingest import ingest
from postlens.store.media_gate import MediaProblem, confine, open_confined
from postlens.store.media_store import MediaStore
from postlens.store.workspace import Workspace
from postlens.types import MediaPart, Modality, Post


@pytest.fixture
def tree(tmp_path: Path) -> dict[str, Any]:
    found = build_tree(tmp_path)
    found["store"] = MediaStore(tmp_path / "ws")
    return found


def stored_files(store: MediaStore) -> list[Path]:
    return [p for p in store.folder.rglob("*") if p.is_file()] if store.folder.exists() else []


HOSTILE = [
    ("../outside/secret.jpg", "media_outside_root"),
    ("sub/../../outside/passwd", "media_outside_root"),
    ("/etc/passwd", "media_outside_root"),
    ("~/../../../../../../../../etc/passwd", "media_outside_root"),
    ("link.jpg", "media_outside_root"),
    ("dirlink/secret.jpg", "media_outside_root"),
    ("outpipe.jpg", "media_outside_root"),
    ("devzero.jpg", "media_outside_root"),
    ("pipe.jpg", "media_not_a_file"),
    ("sub", "media_not_a_file"),
    (".", "media_not_a_file"),
    ("~/..", "media_not_a_file"),  # no expanduser: "~" is a folder name, so this is the root itself
    ("dangling.jpg", "media_outside_root"),
    ("~/secret.jpg", "media_missing"),
    ("..\\outside\\secret.jpg", "media_missing"),  # a backslash is a plain character on POSIX
    ("good.jpg/x", "media_missing"),
    ("a\x00.jpg", "media_bad_name"),
    ("\ud800.jpg", "media_bad_name"),
    ("x" * 5000, "media_bad_name"),
    ("y" * 256 + ".jpg", "media_bad_name"),
    ("", "media_missing"),  # names nothing at all
    ("   ", "media_bad_name"),
]


@pytest.mark.parametrize(("name", "code"), HOSTILE, ids=[repr(n[:40]) for n, _ in HOSTILE])
def test_hostile_names_are_refused_with_a_code_and_nothing_is_copied(
    tree: dict[str, Any], name: str, code: str
) -> None:
    store: MediaStore = tree["store"]
    with pytest.raises(MediaProblem) as caught:
        store.add_part(MediaPart(Modality.IMAGE, source_path=name, root=str(tree["root"])))
    assert caught.value.code == code, caught.value.reason
    assert caught.value.reason and "\x00" not in caught.value.reason
    assert stored_files(store) == []


def test_device_node_inside_the_root_is_refused(tree: dict[str, Any]) -> None:
    with pytest.raises(MediaProblem) as caught:
        tree["store"].add_file("chardev.jpg", tree["root"])
    assert caught.value.code in ("media_not_a_file", "media_outside_root")  # a node, or a link to /dev/null


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "FILE:///etc/passwd",
        "file://localhost/etc/passwd",
        "file://evil.example/x.jpg",
        "file://[",
        "file://",
    ],
)
def test_file_urls_are_local_names_under_the_same_rule(tree: dict[str, Any], url: str) -> None:
    with pytest.raises(MediaProblem) as caught:
        tree["store"].add_part(MediaPart(Modality.IMAGE, url=url, root=str(tree["root"])))
    assert caught.value.code in ("media_outside_root", "media_bad_name")


def test_names_that_stay_inside_are_attached(tree: dict[str, Any]) -> None:
    store, root = tree["store"], tree["root"]
    good = root / "good.jpg"
    spaced = root / "sub" / "a b%.jpg"
    jpeg(spaced, "white")
    accepted = [
        MediaPart(Modality.IMAGE, source_path="good.jpg", root=str(root)),
        MediaPart(Modality.IMAGE, source_path=str(good), root=str(root)),
        MediaPart(Modality.IMAGE, source_path="sub/../good.jpg", root=str(root)),
        MediaPart(Modality.IMAGE, source_path="inlink.jpg", root=str(root)),
        MediaPart(Modality.IMAGE, url="file://" + str(good), root=str(root)),
        MediaPart(Modality.IMAGE, url="file://" + quote(str(spaced)), root=str(root)),
    ]
    shas = [store.add_part(part).sha256 for part in accepted]  # type: ignore[union-attr]
    assert len(set(shas[:5])) == 1 and shas[5] != shas[0]
    assert len(stored_files(store)) == 2


def test_a_local_file_without_a_root_is_refused_and_a_url_is_remote(tree: dict[str, Any]) -> None:
    store = tree["store"]
    with pytest.raises(MediaProblem) as caught:
        store.add_part(MediaPart(Modality.IMAGE, source_path=str(tree["root"] / "good.jpg")))
    assert caught.value.code == "media_no_root"
    assert store.add_part(MediaPart(Modality.IMAGE, url="https://example.com/a.jpg")) is None
    with pytest.raises(MediaProblem) as nothing:
        store.add_part(MediaPart(Modality.IMAGE))
    assert nothing.value.code == "media_missing"


def test_a_file_replaced_between_the_check_and_the_open_is_refused(tree: dict[str, Any]) -> None:
    root = tree["root"]
    found = confine("good.jpg", str(root), 10**9)
    jpeg(root / "other.jpg", "black")
    os.replace(root / "other.jpg", root / "good.jpg")  # a new inode under the checked name
    with pytest.raises(MediaProblem) as caught:
        open_confined(found)
    assert caught.value.code == "media_changed"


def test_a_folder_swapped_for_a_link_out_is_caught_after_the_open(tree: dict[str, Any]) -> None:
    """Same inode (a hard link outside), but the path the kernel opened is outside: refused."""
    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("needs /proc/self/fd (Linux)")
    root, outside = tree["root"], tree["outside"]
    found = confine("sub/inner.jpg", str(root), 10**9)
    os.link(root / "sub" / "inner.jpg", outside / "inner.jpg")
    os.rename(root / "sub", root / "sub-old")
    (root / "sub").symlink_to(outside, target_is_directory=True)
    with pytest.raises(MediaProblem) as caught:
        open_confined(found)
    assert caught.value.code == "media_outside_root"


def _post(native_id: str, parts: list[MediaPart], line: int) -> Post:
    return Post(
        source="t",
        native_id=native_id,
        platform="test",
        created_at=None,
        text=f"post {native_id}",
        media=parts,
        origin_file="data.jsonl",
        origin_line=line,
    )


class _Posts:
    name = "list"

    def __init__(self, posts: list[Post]) -> None:
        self.posts = posts

    def iter_records(self, path: Path) -> Any:
        yield from self.posts


def test_odd_names_in_an_import_keep_the_post_and_say_why(tree: dict[str, Any], tmp_path: Path) -> None:
    """A NUL byte once raised ValueError in the store and imported 0 posts; now each part is a reason."""
    root = str(tree["root"])
    names = ["a\x00.jpg", "\udcff.jpg", "x" * 5000, "pipe.jpg", "sub", "dangling.jpg", "/etc/passwd"]
    posts = [
        _post(str(i), [MediaPart(Modality.IMAGE, source_path=name, root=root)], i)
        for i, name in enumerate(names, start=1)
    ]
    # two bad parts with the same problem in one post: one quarantine row naming both, one count
    posts.append(
        _post(
            "twice",
            [
                MediaPart(Modality.IMAGE, source_path="/etc/passwd", root=root),
                MediaPart(Modality.IMAGE, source_path="good.jpg", root=root),
                MediaPart(Modality.IMAGE, source_path="../outside/passwd", root=root),
            ],
            99,
        )
    )
    with Workspace(tmp_path / "ws2") as ws:
        summary = ingest(ws, _Posts(posts), [tmp_path])
        assert summary.posts_written == len(posts) and summary.quarantined == 0
        rows = ws.db.execute("SELECT post_id, code, reason, post_kept FROM quarantine ORDER BY post_id").fetchall()
        assert len(rows) == summary.flagged == len(posts)
        assert all(kept and reason for _pid, _code, reason, kept in rows)
        twice = [r for r in rows if r[0] == "t:twice"]
        assert [r[1] for r in twice] == ["media_outside_root"]
        assert "part 1:" in twice[0][2] and "part 3:" in twice[0][2]
        sources = dict(ws.db.execute("SELECT post_id, source_path FROM media WHERE position = 0").fetchall())
        assert sources["t:1"] == "a\\x00.jpg" and sources["t:2"] == "\\udcff.jpg"  # stored escaped, readable
        kinds = dict(ws.db.execute("SELECT id, media_kinds FROM posts").fetchall())
        assert kinds["t:twice"] == ["image"] and kinds["t:1"] == []
