"""MediaResolver: media cells -> parts that carry their root; names are found, never opened, never followed out."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PIL import Image

from postlens.sources import media_refs, table
from postlens.sources.media_refs import MediaResolver
from postlens.types import Modality


@pytest.fixture
def root(tmp_path: Path) -> Path:
    media = tmp_path / "media"
    (media / "sub").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    for path in (media / "good.jpg", media / "sub" / "inner.png", outside / "secret.jpg"):
        Image.new("RGB", (4, 4)).save(path)
    (media / "dirlink").symlink_to(outside, target_is_directory=True)
    return media


def test_table_importers_use_the_one_resolver() -> None:
    assert table.MediaResolver is MediaResolver


def test_parts_carry_the_absolute_root_and_names_are_found_by_stem(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(root.parent)
    parts = MediaResolver().parts("good.jpg, inner, sub/inner, nothing", Path("media"))
    assert [p.root for p in parts] == [str(root)] * 4
    assert [p.source_path for p in parts] == [str(root / "good.jpg"), str(root / "sub" / "inner.png"),
                                              str(root / "sub" / "inner.png"), str(root / "nothing")]
    assert [p.kind for p in parts] == [Modality.IMAGE] * 4


def test_no_home_expansion_and_no_index_through_symlinked_folders(root: Path) -> None:
    resolver = MediaResolver()
    (tilde, secret, through) = resolver.parts(["~/good.jpg", "secret", "dirlink/secret"], root)
    assert tilde.source_path == os.path.join(str(root), "~/good.jpg")
    assert secret.source_path == str(root / "secret")  # the outside file is not in the index
    assert through.source_path == str(root / "dirlink" / "secret")
    assert not any(str(root.parent / "outside") in path for path in resolver._index(str(root)).values())


def test_names_outside_the_root_are_not_even_looked_at(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The resolver stats a candidate only when it stays inside the root on paper; the store judges the rest."""
    looked: list[str] = []
    real_isfile = os.path.isfile
    monkeypatch.setattr(media_refs.os.path, "isfile", lambda p: looked.append(str(p)) or real_isfile(p))
    names = ["/etc/passwd", "../outside/secret.jpg", "sub/../../outside/secret.jpg", "good.jpg"]
    parts = MediaResolver().parts(names, root)
    assert looked == [str(root / "good.jpg")]
    assert [p.source_path for p in parts[:2]] == ["/etc/passwd", str(root / "../outside/secret.jpg")]
    assert all(p.root == str(root) for p in parts)


def test_urls_remote_and_file(root: Path) -> None:
    resolver = MediaResolver()
    remote, broken, local, spaced, other_host = resolver.parts(
        ["https://cdn.example/v/clip.mp4?x=1", "http://[", "file://" + str(root / "good.jpg"),
         "file://" + str(root) + "/sub/inner%2Epng", "file://evil.example/etc/passwd"], root)
    assert (remote.url, remote.kind, remote.root, remote.source_path) == (
        "https://cdn.example/v/clip.mp4?x=1", Modality.VIDEO, None, None)
    assert broken.url == "http://[" and broken.source_path is None
    assert (local.source_path, local.url, local.root) == (str(root / "good.jpg"), None, str(root))
    assert spaced.source_path == str(root / "sub" / "inner.png")  # percent-decoded
    assert (other_host.url, other_host.root, other_host.source_path) == (
        "file://evil.example/etc/passwd", str(root), None)  # the store refuses it with a reason


def test_cells_with_nulls_lists_dicts_and_a_forced_kind(root: Path) -> None:
    resolver = MediaResolver(separator="|", kind="audio")
    assert resolver.parts(None, root) == [] and resolver.parts(float("nan"), root) == []
    assert resolver.parts(" null ", root) == [] and resolver.parts("n/a|-|", root) == []
    parts = resolver.parts([{"path": "good.jpg"}, {"url": "https://x.example/a"}, None, {"other": 1}], root)
    assert [(p.kind, p.source_path, p.url) for p in parts] == [
        (Modality.AUDIO, str(root / "good.jpg"), None), (Modality.AUDIO, None, "https://x.example/a")]
    (single,) = resolver.parts({"file": "sub/inner.png"}, root)
    assert single.source_path == str(root / "sub" / "inner.png")
