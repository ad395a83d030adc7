"""robots.txt parsing and matching as RFC 9309 specifies (section 2.2: groups, longest match, * and $)."""

from __future__ import annotations

import pytest

from postlens.sources.scrape.robots import parse_robots

FILE = """
# comment
User-agent: GoogleBot
Disallow: /

User-agent: PostLens/2.0 (ignored words)
User-agent: otherbot
Disallow: /private
Allow: /private/open
Disallow: /*.pdf$
Allow: /files/*.html
Disallow: /files/
Crawl-delay: 2

User-agent: *
Disallow: /everything-for-star
"""


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/", True),
        ("/private", False),
        ("/private/x", False),
        ("/private/open", True),  # the longer Allow wins
        ("/private/open/deeper", True),
        ("/doc.pdf", False),  # $ anchors the end
        ("/doc.pdf?x=1", True),
        ("/files/a/b.html", True),  # /files/*.html (13 chars) beats /files/ (7)
        ("/files/a/b.txt", False),
        ("/everything-for-star", True),  # our group applies, not *
        ("/robots.txt", True),
    ],
)
def test_our_group_with_longest_match(path, allowed):
    rules = parse_robots(FILE, "postlens")
    assert rules.verdict(f"https://example.org{path}")[0] is allowed
    assert rules.crawl_delay == 2.0


def test_star_group_applies_when_no_group_names_us():
    rules = parse_robots(FILE, "somebot")
    assert rules.verdict("https://example.org/everything-for-star/x")[0] is False
    assert rules.verdict("https://example.org/private")[0] is True


def test_groups_naming_us_twice_are_merged():
    text = (
        "User-agent: postlens\nDisallow: /a\n\nUser-agent: other\nDisallow: /\n\nUser-agent: postlens\nDisallow: /b\n"
    )
    rules = parse_robots(text, "postlens")
    assert [rules.verdict(f"http://h{p}")[0] for p in ("/a", "/b", "/c")] == [False, False, True]


def test_equal_length_allow_beats_disallow_and_empty_disallow_is_no_rule():
    rules = parse_robots("User-agent: *\nDisallow: /page\nAllow: /page\nDisallow:\n", "postlens")
    assert rules.verdict("http://h/page")[0] is True
    assert parse_robots("User-agent: *\nDisallow:\n", "postlens").verdict("http://h/x")[0] is True


def test_no_file_content_or_no_group_allows_everything():
    assert parse_robots("", "postlens").verdict("http://h/x")[0] is True
    assert parse_robots("garbage\n\x00\xff::::\nDisallow /x", "postlens").verdict("http://h/x")[0] is True


def test_percent_encoding_and_non_ascii_compare_alike():
    rules = parse_robots("User-agent: *\nDisallow: /caf%C3%A9\nDisallow: /straße\n", "postlens")
    assert rules.verdict("http://h/café/menu")[0] is False
    assert rules.verdict("http://h/stra%C3%9Fe")[0] is False


def test_many_wildcards_do_not_explode():
    pattern = "/" + "*a" * 500 + "$"
    rules = parse_robots(f"User-agent: *\nDisallow: {pattern}\n", "postlens")
    assert rules.verdict("http://h/" + "a" * 499 + "b")[0] is True
    assert rules.verdict("http://h/" + "a" * 600)[0] is False
