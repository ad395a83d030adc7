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
