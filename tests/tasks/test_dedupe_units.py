"""The pieces of postlens dedupe: canonical URLs, text normalisation, MinHash estimates, LSH linking."""

from __future__ import annotations

import numpy as np
import pytest

from postlens.tasks.dedupe.links import Links
from postlens.tasks.dedupe.minhash import (
    MAX_SHINGLES,
    MinHasher,
    comparable,
    normalise_text,
    shingles,
    similarity,
)
from postlens.tasks.dedupe.urls import canonical_url


@pytest.mark.parametrize(
    "spelling",
    [
        "https://example.com/a/b?x=1&y=2",
        "HTTP://WWW.Example.COM:80/a/b/?y=2&x=1#section",
        "https://m.example.com/a/b?x=1&utm_source=t&y=2&fbclid=abc",
        "https://user:secret@example.com:443/a/b?y=2&x=1&gclid=1",
    ],
)
def test_spellings_of_one_address_are_equal(spelling):
    assert canonical_url(spelling) == "https://example.com/a/b?x=1&y=2"


def test_different_addresses_stay_different_and_junk_names_none():
    assert canonical_url("https://example.com/a?id=1") != canonical_url("https://example.com/a?id=2")
    assert canonical_url("https://example.com/a") != canonical_url("https://example.com/b")
    assert canonical_url("https://x.com/u/status/1?s=20&t=abc") == canonical_url("https://twitter.com/u/status/1")
    for junk in (
        None,
        "",
        "not a url",
        "javascript:alert(1)",
        "ftp://example.com/f",
        "http://[",
        "http://h:99999/",
        "https://example.com/" + "a" * 5000,
        42,
    ):
        assert canonical_url(junk) is None
    assert "secret" not in (canonical_url("https://u:secret@example.com/") or "")


def test_normalised_text_drops_links_retweet_marker_and_case():
    base = "The river has flooded the old town square"
    assert normalise_text(f"RT @news: {base.upper()}!! http://t.co/x1 www.example.com/p") == normalise_text(base)
    assert normalise_text(None) == normalise_text("   ") == normalise_text("https://only.example/link") == ""
    assert not comparable(normalise_text("lol lol lol")) and comparable(normalise_text(base))
    assert normalise_text("Syrian HERO boy الصبي السوري") == "syrian hero boy الصبي السوري"


def test_shingles_are_capped_for_a_huge_text():
    huge = normalise_text("word " * 1_000_000)
    assert len(shingles(huge)) == MAX_SHINGLES
    assert len(shingles("abc")) == 0


def test_minhash_estimates_jaccard():
    rng = np.random.default_rng(0)
    universe = rng.integers(0, 2**63, 1000, dtype=np.uint64)
    first, second = universe[:600], universe[300:900]  # Jaccard 300 / 900
    signatures = MinHasher().signatures([first, second, first.copy()])
    assert abs(similarity(signatures, 0, 1) - 1 / 3) < 0.12
    assert similarity(signatures, 0, 2) == 1.0


def _texts(n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    words = [f"w{i}" for i in range(5000)]
    return [" ".join(rng.choice(words, 20)) for _ in range(n)]


def test_lsh_links_near_copies_without_comparing_all_pairs():
    texts = _texts(2000, 1)
    texts += [t.replace(t.split()[3], "changed", 1) for t in texts[:50]]  # 50 edited copies
    hasher = MinHasher()
    signatures = hasher.signatures([shingles(normalise_text(t)) for t in texts])
    links = Links(len(texts))
    compared = links.link_similar_texts(np.arange(len(texts)), signatures, 0.7)
    clusters = links.clusters()
    assert sorted(map(sorted, clusters.values())) == [[i, 2000 + i] for i in range(50)]
    assert compared < 20_000  # all pairs would be about 2 million


def test_paths_lead_every_member_to_its_first_post():
    links = Links(6)
    links.link(4, 5, "url")
    links.link(2, 5, "text", 0.8)
    links.link(2, 4, "image")  # already joined: no new edge
    links.link(0, 1, "id")
    paths = links.paths()
    assert set(paths) == {1, 4, 5}
    for post, (towards, edge) in paths.items():
        assert towards in (edge.first, edge.second) and post in (edge.first, edge.second)
    assert paths[5][0] == 2 and paths[4][0] == 5
    assert links.reason_groups("image") == {2: 2}
