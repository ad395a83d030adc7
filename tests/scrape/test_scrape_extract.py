"""Posts from local pages in each markup kind, stored through the workspace writer with the page as provenance."""

from __future__ import annotations

import json

import duckdb
from _site import HOST, Site, html, raw

JSONLD = """<!doctype html><html><head>
<meta property="og:description" content="page card, not a post when postings exist">
<script type="application/ld+json">
{"@context": "https://schema.org", "@graph": [
  {"@type": "WebPage", "name": "thread"},
  {"@type": "SocialMediaPosting", "@id": "/thread/1#p1", "headline": "Opening",
   "articleBody": "Flooding on Main St #flood @cityhall", "datePublished": "2024-05-01T10:00:00+02:00",
   "author": {"@type": "Person", "name": "Ann", "alternateName": "@ann", "url": "/users/ann"},
   "image": ["/img/a.png", {"@type": "ImageObject", "contentUrl": "https://cdn.example.org/b.jpg"}, "javascript:alert(1)"],
   "interactionStatistic": [
     {"@type": "InteractionCounter", "interactionType": "https://schema.org/LikeAction", "userInteractionCount": 12},
     {"@type": "InteractionCounter", "interactionType": {"@type": "ShareAction"}, "userInteractionCount": "3"}],
   "comment": [{"@type": "Comment", "text": "not a posting"}]}
]}
</script>
<script type="application/ld+json">[{"@type": ["DiscussionForumPosting"], "url": "https://site.test/thread/1#p2",
  "text": "Reply in the forum", "author": "bob"}]</script>
</head><body></body></html>"""

MICRODATA = """<html><body>
<article itemscope itemtype="https://schema.org/BlogPosting" itemid="https://site.test/blog/7">
  <h1 itemprop="headline">Blog title</h1>
  <div itemprop="articleBody">Storm <b>damage</b> report
     <p>second paragraph</div>
  <time itemprop="datePublished" datetime="2024-06-02T08:30:00Z">June 2</time>
  <span itemprop="author" itemscope itemtype="https://schema.org/Person"><span itemprop="name">Cleo</span></span>
  <img itemprop="image" src="/pics/storm.jpg">
  <meta itemprop="inLanguage" content="en">
</article>
<div itemscope itemtype="https://schema.org/Comment"><span itemprop="text">ignored kind</span></div>
</body></html>"""

OPENGRAPH = """<html><head>
<meta property="og:site_name" content="Example Social">
<meta property="og:url" content="https://site.test/posts/99">
<meta property="og:title" content="A post">
<meta property="og:description" content="Sunset at the pier #sunset">
<meta property="og:image" content="https://cdn.site.test/sunset.jpg">
<meta property="article:published_time" content="2024-07-03T19:00:00Z">
<meta property="article:author" content="dana">
</head><body>broken <div><span></body>"""

TWITTER = """<html><head>
<meta name="twitter:card" content="summary_large_image">
<meta name="twitter:creator" content="@eve">
<meta name="twitter:description" content="Card text only">
<meta name="twitter:image" content="/card.png">
<link rel="canonical" href="/status/5">
</head></html>"""


def posts(tmp_path) -> dict[str, dict]:
    with duckdb.connect(str(tmp_path / "ws" / "postlens.duckdb"), read_only=True) as db:
        rows = db.execute(
            "SELECT id, platform, text, author_handle, author_id, created_at, hashtags, raw, origin_file "
            "FROM posts ORDER BY id"
        ).fetchall()
        media = db.execute("SELECT post_id, kind, url FROM media ORDER BY post_id, position").fetchall()
        engagement = db.execute("SELECT post_id, likes, shares FROM engagement").fetchall()
    out = {}
    for row in rows:
        post = dict(
            zip(["id", "platform", "text", "handle", "author_id", "created_at", "hashtags", "raw", "origin"], row)
        )
        post["raw"] = json.loads(post["raw"])
        post["media"] = [(k, u) for pid, k, u in media if pid == post["id"]]
        post["engagement"] = [(likes, shares) for pid, likes, shares in engagement if pid == post["id"]]
        out[post["id"]] = post
    return out


def quarantine(tmp_path) -> list[tuple[str, str, bool]]:
    with duckdb.connect(str(tmp_path / "ws" / "postlens.duckdb"), read_only=True) as db:
        return db.execute("SELECT code, reason, post_kept FROM quarantine ORDER BY code").fetchall()


def test_jsonld_postings_become_posts_and_the_card_is_not_a_second_post(site: Site, scrape, tmp_path):
    site.page("/thread/1", html(JSONLD))
    summary = scrape([site.url("/thread/1")])
    assert summary.pages[0].posts == 2 and summary.imported == 2
    stored = posts(tmp_path)
    page = site.url("/thread/1")
    first = stored[f"web:{page}#p1"]
    assert first["text"] == "Flooding on Main St #flood @cityhall"
    assert first["handle"] == "@ann" and first["author_id"] == site.url("/users/ann")
    assert first["created_at"].isoformat().startswith("2024-05-01T08:00:00")
    assert first["hashtags"] == ["flood"]
    assert first["media"] == [("image", site.url("/img/a.png")), ("image", "https://cdn.example.org/b.jpg")]
    assert first["engagement"] == [(12, 3)]
    assert first["raw"]["page_url"] == page and first["raw"]["markup"] == "json-ld"
    assert first["origin"] == f"{HOST}:{site.port}/thread/1"
    second = stored["web:https://site.test/thread/1#p2"]
    assert second["text"] == "Reply in the forum" and second["handle"] == "bob"


def test_microdata_item_becomes_a_post(site: Site, scrape, tmp_path):
    site.page("/blog/7", html(MICRODATA))
    summary = scrape([site.url("/blog/7")])
    assert summary.pages[0].posts == 1
    post = posts(tmp_path)["web:https://site.test/blog/7"]
    assert post["text"] == "Storm damage report second paragraph"
    assert post["handle"] == "Cleo"
    assert post["created_at"].isoformat().startswith("2024-06-02T08:30:00")
    assert post["media"] == [("image", site.url("/pics/storm.jpg"))]
    assert post["raw"]["markup"] == "microdata"


def test_opengraph_and_twitter_cards_give_one_post_per_page(site: Site, scrape, tmp_path):
    site.page("/og", html(OPENGRAPH))
    site.page("/tw", html(TWITTER))
    summary = scrape([site.url("/og"), site.url("/tw")])
    assert [p.posts for p in summary.pages] == [1, 1]
    stored = posts(tmp_path)
    og = stored["web:https://site.test/posts/99"]
    assert og["text"] == "Sunset at the pier #sunset" and og["platform"] == "Example Social"
    assert og["handle"] == "dana" and og["media"] == [("image", "https://cdn.site.test/sunset.jpg")]
    tw = stored[f"web:{site.url('/status/5')}"]
    assert tw["text"] == "Card text only" and tw["handle"] == "@eve"
    assert tw["media"] == [("image", site.url("/card.png"))]
    assert tw["raw"]["markup"] == "opengraph"


def test_scraping_twice_updates_nothing(site: Site, scrape, tmp_path):
    site.page("/og", html(OPENGRAPH))
    scrape([site.url("/og")])
    again = scrape([site.url("/og")])
    assert (again.imported, again.unchanged) == (0, 1)


def test_broken_and_hostile_jsonld_is_quarantined_and_the_page_goes_on(site: Site, scrape, tmp_path):
    deep = "[" * 5000 + "]" * 5000
    nested = '{"a":' * 200 + '{"@type": "SocialMediaPosting", "text": "buried"}' + "}" * 200
    page = (
        f'<script type="application/ld+json">{{"@type": "SocialMediaPosting", "text": "good one", '
        f'"url": "/ok"}}</script><script type="application/ld+json">{{not json</script>'
        f'<script type="application/ld+json">{deep}</script>'
        f'<script type="application/ld+json">{nested}</script>'
    )
    site.page("/hostile", html(page))
    summary = scrape([site.url("/hostile")])
    assert summary.pages[0].posts == 1 and summary.imported == 1
    codes = [code for code, _, _ in quarantine(tmp_path)]
    assert codes == ["scrape_bad_jsonld"] * 3


def test_deeply_nested_and_unclosed_html_does_not_crash(site: Site, scrape):
    body = (
        "<div>" * 20000 + '<span itemscope itemtype="https://schema.org/SocialMediaPosting">'
        '<p itemprop="text">deep</p></span>' + "<b><i><table><tr>" * 100
    )
    head = '<meta property="og:description" content="outer card">'
    site.page("/deep", html(head + body))
    summary = scrape([site.url("/deep")])
    assert summary.pages[0].refused is None and summary.pages[0].posts == 1


def test_a_wrong_charset_is_read_with_a_note(site: Site, scrape, tmp_path):
    body = '<meta property="og:description" content="caf\xe9 cr\xe8me">'.encode("latin-1")
    site.page("/bogus", raw(body, "text/html; charset=bogus-8"))
    site.page("/latin", raw(body, "text/html; charset=iso-8859-1"))
    site.page("/lying", raw(body, "text/html; charset=utf-8"))
    summary = scrape([site.url("/bogus"), site.url("/latin"), site.url("/lying")], allow_domains=[HOST])
    assert [p.posts for p in summary.pages] == [1, 1, 1]
    texts = sorted(p["text"] for p in posts(tmp_path).values())
    assert "café crème" in texts and "caf\ufffd cr\ufffdme" in texts
    notes = [(code, kept) for code, reason, kept in quarantine(tmp_path)]
    assert notes.count(("scrape_page_note", True)) == 2  # unknown charset, invalid bytes


def test_a_page_without_post_markup_is_quarantined_not_dropped(site: Site, scrape, tmp_path):
    site.page("/plain", html("<html><body><p>just text</p></body></html>"))
    site.page("/binary", raw(bytes(range(256)) * 40, "text/html"))
    summary = scrape([site.url("/plain"), site.url("/binary")])
    assert [p.posts for p in summary.pages] == [0, 0]
    assert [code for code, _, _ in quarantine(tmp_path)] == ["scrape_no_posts", "scrape_no_posts"]


def test_a_huge_jsonld_script_and_many_postings_are_bounded(site: Site, scrape, tmp_path):
    from postlens.sources.scrape.markup import MAX_SCRIPT_CHARS
    from postlens.sources.scrape.posts import MAX_POSTS

    huge = '{"@type": "SocialMediaPosting", "text": "' + "x" * (MAX_SCRIPT_CHARS + 10) + '"}'
    many = json.dumps([{"@type": "SocialMediaPosting", "text": f"post {n}"} for n in range(MAX_POSTS + 20)])
    site.page(
        "/huge",
        html(f'<script type="application/ld+json">{huge}</script><script type="application/ld+json">{many}</script>'),
    )
    summary = scrape([site.url("/huge")])
    assert summary.pages[0].posts == MAX_POSTS
    rows = quarantine(tmp_path)
    assert [code for code, _, _ in rows].count("scrape_too_many_posts") == 1
    assert any("longer than" in reason for code, reason, kept in rows if code == "scrape_page_note" and kept)
    assert [code for code, _, _ in rows].count("scrape_page_note") == 1  # once per page, not per post


def test_the_notebook_facade_scrapes_too(site: Site, clock, tmp_path):
    from _site import ALLOWED

    import postlens

    site.page("/og", html(OPENGRAPH))
    handle = postlens.open(tmp_path / "ws", create=True)
    summary = handle.scrape(
        [site.url("/og")], allow_private=ALLOWED, resolver=site.resolve, sleep=clock.sleep, clock=clock
    )
    assert summary.imported == 1
    assert handle.posts()["text"].tolist() == ["Sunset at the pier #sunset"]
