"""``postlens search`` on MediaEval 2016: precision@10 against the event labels, for 20 image queries
(an image in, posts out) and 20 text queries written for the events.

    .venv/bin/python bench/search.py [--workspace /tmp/h-agent-me]

The workspace must be a featurized MediaEval workspace with a fitted segmentation (``postlens
featurize`` then ``postlens segments fit``; the lead's /work/ws/mediaeval is read-only: copy it
first). A hit counts when its post's ``labels['event']`` is the query's event.

Image queries: one picture per event (the one carried by the most posts of that event), then a
second picture of the largest events, 20 in all. MediaEval pictures are shared by many tweets, so
the picture itself finds its own carriers: the second figure leaves out every post that carries
the query picture (what the search adds beyond exact duplicates). "chance" is the precision a
random pick of posts would have (the event's share of all posts; Sandy alone is 65%).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from postlens.agent import Agent  # noqa: E402
from postlens.store.workspace import Workspace  # noqa: E402

K = 10
TEXT_QUERIES: list[tuple[str, str]] = [
    ("sandy", "hurricane storm flooding the streets of New York City"),
    ("sandy", "a shark swimming in a flooded street after the hurricane"),
    ("sandy", "soldiers keep guarding the tomb of the unknown soldier in the storm"),
    ("syrianboy", "a syrian boy runs through gunfire to rescue a girl"),
    ("nepal", "earthquake brings down the historic tower in Kathmandu"),
    ("nepal", "rescue teams dig through the rubble after the quake"),
    ("boston", "FBI releases photos of the marathon bombing suspects"),
    ("malaysia", "the missing Malaysia Airlines plane MH370"),
    ("eclipse", "the space station crossing the sun during the solar eclipse"),
    ("sochi", "unfinished hotels and broken toilets at the winter olympics"),
    ("samurai", "the ghost of a samurai appears behind a girl in a beach photo"),
    ("columbianChemicals", "explosion at a chemical plant in Louisiana"),
    ("bringback", "campaign to free the kidnapped nigerian schoolgirls"),
    ("underwater", "a hotel bedroom under the sea in the Maldives"),
    ("garissa", "terrorist attack on a university in Kenya"),
    ("varoufakis", "the greek finance minister showing the middle finger on video"),
    ("passport", "toddler scribbled on his father's passport, stranded abroad"),
    ("pigFish", "a strange fish with the face of a pig discovered"),
    ("elephant", "a rock formation that looks like an elephant"),
    ("livr", "a social network app that only works when you are drunk"),
]
IMAGE_QUERIES = 20


def image_queries(workspace: Path) -> list[tuple[str, str, Path, set[str]]]:
    """(event, sha256, file, posts carrying that picture): the most-carried pictures of one event only."""
    with Workspace(workspace, read_only=True) as ws:
        rows = ws.db.execute("""
            SELECT m.sha256, any_value(m.path), list(DISTINCT p.id), list(DISTINCT p.labels['event']) AS events
            FROM media m JOIN posts p ON p.id = m.post_id WHERE m.status = 'stored' AND m.kind = 'image'
            GROUP BY m.sha256 HAVING count(DISTINCT p.labels['event']) = 1 ORDER BY len(list(DISTINCT p.id)) DESC, m.sha256
        """).fetchall()
    by_event: dict[str, list[tuple[str, Path, set[str]]]] = {}
    for sha, path, carriers, events in rows:
        by_event.setdefault(events[0], []).append((sha, workspace / path, set(carriers)))
    order = sorted(by_event, key=lambda e: -sum(len(c) for _, _, c in by_event[e]))
    picked: list[tuple[str, str, Path, set[str]]] = []
    for round_ in range(IMAGE_QUERIES):
        for event in order:
            if len(picked) < IMAGE_QUERIES and round_ < len(by_event[event]):
                sha, path, carriers = by_event[event][round_]
                picked.append((event, sha, path, carriers))
    return picked


def event_shares(workspace: Path) -> tuple[dict[str, str], dict[str, float]]:
    with Workspace(workspace, read_only=True) as ws:
        rows = ws.db.execute("SELECT id, labels['event'] FROM posts").fetchall()
    event_of = {post: event for post, event in rows}
    counts: dict[str, int] = {}
    for event in event_of.values():
        counts[event] = counts.get(event, 0) + 1
    return event_of, {e: n / len(event_of) for e, n in counts.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workspace", type=Path, default=Path("/tmp/h-agent-me"))
    args = parser.parse_args()
    event_of, share = event_shares(args.workspace)
    started = time.perf_counter()
    agent = Agent(args.workspace, models=[], popularity=False)
    loaded = time.perf_counter() - started
    index = agent._loaded.index
    print(f"workspace {args.workspace}: {len(event_of):,} posts, {index.live:,} indexed ({index.mode}); agent "
          f"loaded in {loaded:.1f} s; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (shared machine)")

    def precision(hits: list, event: str) -> float:
        return sum(event_of.get(h.post_id) == event for h in hits[:K]) / K

    print(f"\nimage queries (an image in, posts out): precision@{K}")
    print(f"{'event':<20}{'picture':<14}{'carriers':>9}{'all':>7}{'others':>8}{'(max)':>7}{'chance':>8}")
    totals = [0.0, 0.0, 0.0, 0.0]
    size = {e: round(s * len(event_of)) for e, s in share.items()}
    for event, sha, path, carriers in image_queries(args.workspace):
        every = agent.search(image=path, k=K).hits
        others = agent.search(image=path, k=K, exclude=carriers).hits
        best = min(1.0, (size[event] - len(carriers)) / K)  # other posts of the event there are to find
        row = (precision(every, event), precision(others, event), best, share[event])
        totals = [t + v for t, v in zip(totals, row)]
        print(f"{event:<20}{sha[:12]:<14}{len(carriers):>9,}{row[0]:>7.2f}{row[1]:>8.2f}{row[2]:>7.2f}{row[3]:>8.2f}")
    n = IMAGE_QUERIES
    print(f"{'mean':<43}{totals[0] / n:>7.3f}{totals[1] / n:>8.3f}{totals[2] / n:>7.3f}{totals[3] / n:>8.3f}")
    print("  all: every post counts; others: posts carrying the query picture left out ((max): the best\n"
          "  precision possible then, when the event has fewer than 10 other posts)")

    print(f"\ntext queries: precision@{K}")
    print(f"{'event':<20}{'query':<70}{'p@10':>6}{'chance':>8}")
    text_total, chance_total, seconds = 0.0, 0.0, []
    for event, query in TEXT_QUERIES:
        clock = time.perf_counter()
        hits = agent.search(query, k=K).hits
        seconds.append(time.perf_counter() - clock)
        value = precision(hits, event)
        text_total += value
        chance_total += share[event]
        print(f"{event:<20}{query[:68]:<70}{value:>6.2f}{share[event]:>8.2f}")
    print(f"{'mean':<90}{text_total / len(TEXT_QUERIES):>6.3f}{chance_total / len(TEXT_QUERIES):>8.3f}")
    ordered = sorted(seconds)
    print(f"\ntext search latency: p50 {1000 * ordered[len(ordered) // 2]:.1f} ms, max {1000 * ordered[-1]:.1f} ms "
          f"(embed the query + exact search over {index.live:,} posts)")
    agent.close()


if __name__ == "__main__":
    main()
