"""The key check on its own: where a client may put the key, and that only the exact key passes."""

from __future__ import annotations

from postlens.serve.api.gate import given_key, key_matches
from postlens.serve.api.uploads import client_suffix, display_name


def test_the_key_is_read_from_bearer_or_x_api_key() -> None:
    assert given_key([(b"authorization", b"Bearer s3cret")]) == b"s3cret"
    assert given_key([(b"Authorization", b"bearer  s3cret ")]) == b"s3cret"
    assert given_key([(b"x-api-key", b" s3cret")]) == b"s3cret"
    assert given_key([(b"authorization", b"Basic czNjcmV0Og==")]) is None
    assert given_key([(b"cookie", b"key=s3cret")]) is None


def test_only_the_exact_key_matches() -> None:
    assert key_matches(b"s3cret", b"s3cret")
    for wrong in (None, b"", b"s3cre", b"s3cret ", b"S3cret", b"s3cret\x00", "s3crét".encode()):
        assert not key_matches(wrong, b"s3cret"), wrong


def test_a_client_file_name_is_only_a_label() -> None:
    assert display_name("../../etc/passwd.png", 0) == "passwd.png"
    assert display_name("C:\\Users\\me\\photo.JPG", 0) == "photo.JPG"
    assert display_name("", 2) == "#3" and display_name("dir/", 0) == "dir"
    assert display_name("bad\x00name.png", 0) == "bad\\x00name.png"
    assert client_suffix("photo.JPG") == ".jpg" and client_suffix("notes.txt") == "" and client_suffix(None) == ""
    assert client_suffix("../x.png/..") == ""


def test_an_upload_is_checked_from_its_bytes_name_and_declared_type() -> None:
    import io

    import pytest

    from postlens.serve.api.problems import ApiProblem
    from postlens.serve.api.uploads import Upload, UploadChecker

    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 100
    checker = UploadChecker({"image": 50})

    def code(data: bytes, name: str, declared: str | None = None) -> str:
        with pytest.raises(ApiProblem) as refused:
            checker.check(Upload(io.BytesIO(data), name, declared), 0)
        return refused.value.code

    assert code(png, "song.mp3") == "media_mismatch"
    assert code(png, "photo.png", "video/mp4") == "media_mismatch"
    assert code(png, "photo.png", "image/png") == "media_too_large"  # 108 bytes over the 50-byte image limit
    assert code(b"hello", "photo.png") == "media_unknown_type"
    assert UploadChecker().check(Upload(io.BytesIO(png), "photo.jpg", "image/jpeg"), 0).mime == "image/png"
