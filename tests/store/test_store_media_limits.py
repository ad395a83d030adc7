"""Media size limits: refused from ``stat`` before a byte is copied, per kind, with the decoders' own constants."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from postlens.errors import ConfigError, MediaError
from postlens.media import image as image_decoder
from postlens.media import video as video_decoder
from postlens.media.limits import MAX_MEDIA_BYTES, media_limits, parse_media_limits, parse_size
from postlens.serve.cli import app
from postlens.store.ingest import ingest
from postlens.store.media_store import MediaProblem, MediaStore
from postlens.store.workspace import Workspace
from postlens.types import MediaPart, Modality, Post


def jpeg_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 24), "red").save(out, "JPEG")
    return out.getvalue()


def sparse(path: Path, size: int, head: bytes = b"") -> Path:
    """A file of ``size`` bytes that takes no disk space (``truncate -s``), starting with ``head``."""
    path.write_bytes(head)
    os.truncate(path, size)
    return path


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) if folder.exists() else 0


class _Posts:
    name = "list"

    def __init__(self, posts: list[Post]) -> None:
        self.posts = posts

    def iter_records(self, path: Path):
        yield from self.posts


@pytest.mark.parametrize("head", [b"", None], ids=["zeros", "jpeg-header"])
def test_a_sparse_512_mb_jpg_is_refused_at_ingest_without_copying(tmp_path: Path, head: bytes | None) -> None:
    sparse(tmp_path / "big.jpg", 512 * 1024 * 1024, jpeg_bytes()[:64] if head is None else head)
    (tmp_path / "ok.jpg").write_bytes(jpeg_bytes())
    post = Post(
        source="t",
        native_id="1",
        platform="test",
        created_at=None,
        text="big picture",
        origin_line=1,
        media=[
            MediaPart(Modality.IMAGE, source_path="big.jpg", root=str(tmp_path)),
            MediaPart(Modality.IMAGE, source_path="ok.jpg", root=str(tmp_path)),
        ],
    )
    with Workspace(tmp_path / "ws") as ws:
        summary = ingest(ws, _Posts([post]), [tmp_path])
        assert summary.posts_written == 1 and summary.media_stored == 1
        code, kept = ws.db.execute("SELECT code, post_kept FROM quarantine").fetchone()
        assert (code, kept) == ("media_too_large", True)
        assert folder_bytes(ws.media_dir) < 64 * 1024  # only ok.jpg: nothing of the 512 MB was copied
        assert not list(ws.media_dir.glob(".incoming-*"))


def test_an_unnamed_large_file_is_refused_by_its_sniffed_kind_before_copying(tmp_path: Path) -> None:
    """No extension: the largest limit applies to ``stat``, then the kind its first bytes show."""
    sparse(tmp_path / "blob", MAX_MEDIA_BYTES[Modality.IMAGE] + 1, jpeg_bytes()[:64])
    store = MediaStore(tmp_path / "ws")
    with pytest.raises(MediaProblem) as caught:
        store.add_file("blob", tmp_path)
    assert caught.value.code == "media_too_large" and "image limit" in caught.value.reason
    assert folder_bytes(store.folder) == 0


def test_the_user_sets_limits_per_kind_in_python_and_on_the_command_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "pic.jpg").write_bytes(jpeg_bytes())
    (data / "posts.csv").write_text("id,text,media\n1,hello,pic.jpg\n")
    with Workspace(tmp_path / "ws-py") as ws:
        from postlens.pipeline.ingest import build_importer

        importer = build_importer("csv", mapping_pairs=["id=id", "text=text", "media=media"])
        summary = ingest(ws, importer, [data / "posts.csv"], max_media_bytes={"image": 100})
        assert summary.reasons == {"media_too_large": 1} and summary.posts_written == 1
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "ingest",
            str(data / "posts.csv"),
            "--map",
            "media=media",
            "-w",
            str(tmp_path / "ws-cli"),
            "--max-media-size",
            "image=100",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "media_too_large 1" in result.output
    result = runner.invoke(
        app,
        [
            "ingest",
            str(data / "posts.csv"),
            "--map",
            "media=media",
            "-w",
            str(tmp_path / "ws-cli"),
            "--max-media-size",
            "all=1MB",
        ],
    )
    assert result.exit_code == 0 and "1 attached" in result.output, result.output


def test_limits_parse_sizes_and_name_the_valid_kinds() -> None:
    assert parse_size("500MB") == 500_000_000 and parse_size("2GiB") == 2 * 1024**3 and parse_size("10") == 10
    assert parse_media_limits(["video=1GB", "image=20MiB"]) == {Modality.VIDEO: 10**9, Modality.IMAGE: 20 * 2**20}
    assert set(parse_media_limits(["all=5"]).values()) == {5}
    assert media_limits({"audio": 7})[Modality.AUDIO] == 7
    with pytest.raises(ConfigError, match="image, video, audio, gif"):
        parse_media_limits(["text=5MB"])
    for bad in (["video"], ["video=lots"], ["video=0"]):
        with pytest.raises(ConfigError):
            parse_media_limits(bad)


def test_the_decoders_refuse_at_the_same_limits(tmp_path: Path) -> None:
    """One source of truth: featurize's decoders read the constants the import gate uses."""
    assert MAX_MEDIA_BYTES[Modality.IMAGE] == image_decoder.DEFAULT_MAX_BYTES
    big_image = sparse(tmp_path / "big.jpg", MAX_MEDIA_BYTES[Modality.IMAGE] + 1, jpeg_bytes()[:64])
    with pytest.raises(MediaError) as image_error:
        image_decoder.load_image(big_image)
    assert image_error.value.code == "too_large"
    mp4_head = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"
    big_video = sparse(tmp_path / "big.mp4", MAX_MEDIA_BYTES[Modality.VIDEO] + 1, mp4_head)
    with pytest.raises(MediaError) as video_error:
        video_decoder.sample_frames(big_video)
    assert video_error.value.code == "too_large"
