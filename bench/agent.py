"""The agent's warm latency per kind of post, ``understand_many`` throughput against ``featurize`` with
the same encoders, and nearest-neighbour search at scale.

    .venv/bin/python bench/agent.py [--workspace DIR] [--index-rows 1000000] [--repeat 30]

Goals (issue 6/9): text-only p50 <= 50 ms; text + image without OCR <= 300 ms; a 30 s video <= 5 s;
understand_many >= 0.8x featurize's posts/s. The workspace (``demo-data --posts 300`` -> ingest ->
featurize -> segments fit -> a topic and a sentiment classifier -> popularity -> trends) is built
under ``--workspace`` when it has no database yet. Media are generated here: photos with a caption
(Pillow) and a 30 s H.264 + AAC mp4 with spoken words (espeak-ng) over a tone and three scenes.

Latency is wall time per ``understand`` call after a warm-up call of the same kind, with every
section on (topic, labels from two models, sentiment, popularity, trends, 10 similar posts). The
machine is shared: the load average is printed with the figures.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from PIL import Image, ImageDraw, ImageFont

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from postlens.agent import Agent, AgentRequest

TOPICS = [
    ("STORM WARNING", (40, 60, 90)),
    ("MATCH DAY", (20, 110, 40)),
    ("NEW RECIPE", (150, 80, 30)),
    ("LIVE TONIGHT", (90, 30, 120)),
    ("ELECTION NIGHT", (120, 20, 20)),
    ("LAUNCH EVENT", (30, 30, 30)),
]
TEXTS = [
    "Heavy rain and wind tonight, stay safe everyone #storm",
    "What a goal in the second half! #matchday",
    "Homemade ramen with a slow broth, recipe below #recipe",
    "The band plays the new album live tonight #concert",
    "Polls close at eight, go vote #election",
    "The new phone launches today with a week of battery #tech",
]
SPEECH = (
    "Breaking news from the coast. A strong storm is moving inland tonight. Officials ask residents "
    "to stay indoors, charge their phones and keep away from the flooded roads near the harbour."
)


def load_average() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (5 min {five:.1f}) on {os.cpu_count()} cores, shared with other work"


def build_workspace(root: Path) -> Path:
    """The tests' agent workspace (tests/_agent_fixtures.py), built once under ``root``."""
    from _agent_fixtures import build_agent_workspace

    ws = root / "ws"
    if (ws / "postlens.duckdb").exists():
        return ws
    started = time.perf_counter()
    build_agent_workspace(root, parallel_ocr=True)
    print(f"built the workspace {ws} in {time.perf_counter() - started:.0f} s")
    return ws


def font(size: int) -> ImageFont.ImageFont:
    from postlens.demo.scenes import caption_font

    return caption_font(size)


def photo(path: Path, caption: str, colour: tuple[int, int, int], seed: int) -> Path:
    """A 800x600 picture: shapes over a gradient and a caption band (text OCR can read)."""
    rng = np.random.default_rng(seed)
    base = np.linspace(0, 1, 600)[:, None, None] * np.array(colour)[None, None, :] + 60
    pixels = np.clip(base + rng.normal(0, 12, (600, 800, 3)), 0, 255).astype(np.uint8)
    image = Image.fromarray(pixels)
    draw = ImageDraw.Draw(image)
    for _ in range(8):
        x, y, r = (int(v) for v in rng.integers([0, 0, 20], [800, 450, 90]))
        draw.ellipse((x - r, y - r, x + r, y + r), fill=tuple(int(c) for c in rng.integers(0, 255, 3)))
    draw.rectangle((0, 470, 800, 600), fill=(250, 250, 250))
    draw.text((40, 495), caption, fill=(10, 10, 10), font=font(64))
    image.save(path, quality=90)
    return path


def video_30s(path: Path) -> Path:
    """30 s, 640x360, 25 fps H.264 with AAC sound: three captioned scenes, speech over a quiet tone."""
    from postlens.demo.clips import write_mp4
    from postlens.encoders.audio.synth import espeak_available, speak

    rate = 22050
    audio = 0.05 * np.sin(2 * np.pi * 220 * np.arange(30 * rate) / rate)
    if espeak_available():
        with tempfile.TemporaryDirectory() as tmp:
            spoken = speak(Path(tmp) / "speech.wav", SPEECH)
            with wave.open(str(spoken)) as handle:
                voice = np.frombuffer(handle.readframes(handle.getnframes()), "<i2").astype(np.float32) / 32768
                voice = np.interp(np.arange(0, len(voice), handle.getframerate() / rate), np.arange(len(voice)), voice)
        audio[rate : rate + len(voice[: 28 * rate])] += 0.8 * voice[: 28 * rate]
    scenes = [TOPICS[0], ("FLOODED ROADS", (20, 40, 110)), ("STAY INDOORS", (60, 60, 60))]

    def frames():
        for index in range(30 * 25):
            caption, colour = scenes[min(index // 250, 2)]
            image = Image.new("RGB", (640, 360), colour)
            draw = ImageDraw.Draw(image)
            x = (index * 4) % 640
            draw.ellipse((x - 40, 120, x + 40, 200), fill=(230, 200, 40))
            draw.rectangle((0, 290, 640, 360), fill=(245, 245, 245))
            draw.text((20, 300), caption, fill=(0, 0, 0), font=font(44))
            yield image

    write_mp4(path, frames(), audio.astype(np.float32), fps=25, size=(640, 360), sample_rate=rate)
    return path


def timed(call, repeat: int) -> tuple[list[float], list[float]]:
    """Wall seconds and this process's CPU seconds (all threads) per call, after one warm-up call."""
    call()  # warm: models of this path loaded, caches filled
    wall, cpu = [], []
    for _ in range(repeat):
        started, used = time.perf_counter(), time.process_time()
        call()
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - used)
    return wall, cpu


def quantiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def latency(agent: Agent, media: Path, repeat: int) -> list[tuple[str, int, float, float, float | None]]:
    """Per kind of post: (name, calls, p50 s, p95 s, goal s or None); prints the table as it goes."""
    image, clip = media / "photo-0.jpg", media / "news-30s.mp4"
    counter = iter(range(10**9))
    rows = [
        ("text only", lambda: agent.understand(text=f"{TEXTS[0]} (update {next(counter)})"), repeat, 0.050),
        ("text + image, no OCR", lambda: agent.understand(text=TEXTS[0], files=[image], ocr=False), repeat, 0.300),
        (
            "text + image, OCR",
            lambda: agent.understand(text=TEXTS[0], files=[image], ocr=True),
            max(5, repeat // 3),
            None,
        ),
        ("30 s video (sound, speech)", lambda: agent.understand(files=[clip], text="storm news"), 5, 5.0),
    ]
    print(f"\nwarm latency per understand() call ({load_average()})")
    print(f"{'post':<30}{'n':>4}{'p50 ms':>10}{'p95 ms':>10}{'CPU p50':>10}   goal (p50 wall)")
    figures = []
    for name, call, n, goal in rows:
        wall, cpu = timed(call, n)
        p50, p95 = quantiles(wall)
        figures.append((name, n, p50, p95, goal))
        verdict = "" if goal is None else f"<= {goal * 1000:,.0f} ms " + ("met" if p50 <= goal else "MISSED")
        print(f"{name:<30}{n:>4}{p50 * 1000:>10,.1f}{p95 * 1000:>10,.1f}{quantiles(cpu)[0] * 1000:>10,.1f}   {verdict}")
    print("  CPU: this process's CPU time per call, all threads (what the call costs when the cores are free)")
    insight = agent.understand(files=[clip], text="storm news")
    stages = ", ".join(f"{k} {v:,.0f}" for k, v in insight.timings_ms.items() if v >= 1)
    print(f"  video stages (ms): {stages}")
    print(f"  on screen: {insight.video_text!r}; heard: {(insight.transcript or '')[:100]!r}")
    print(f"  looks like: {', '.join(f'{v.name} {v.probability:.2f}' for v in insight.visual_labels)}")
    return figures


def throughput(agent: Agent, media: Path, posts: int, ocr: bool) -> tuple[float, float]:
    """(understand_many posts/s, featurize posts/s) on the same posts with the same encoders."""
    import orjson

    from postlens.pipeline.featurize import featurize
    from postlens.pipeline.ingest import run_ingest

    folder = media / f"many-{posts}"
    folder.mkdir(exist_ok=True)
    lines, requests = [], []
    for i in range(posts):
        name = f"p{i:04d}.jpg"
        caption, colour = TOPICS[i % len(TOPICS)]
        photo(folder / name, f"{caption} {i}", colour, 100 + i)
        text = f"{TEXTS[i % len(TEXTS)]} #{i}"
        lines.append(
            orjson.dumps(
                {
                    "source": "bench",
                    "native_id": str(i),
                    "platform": "bench",
                    "text": text,
                    "media": [{"kind": "image", "source_path": name}],
                }
            )
        )
        requests.append(AgentRequest(text=text, files=[folder / name]))
    (folder / "posts.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    ws = media / f"featurize-ws-{posts}-{int(ocr)}"
    shutil.rmtree(ws, ignore_errors=True)
    run_ingest([folder / "posts.jsonl"], importer_name="postlens", workspace=ws)
    encoders = ["minilm", "vader", "efficientnet"] + (["ocr"] if ocr else [])
    started = time.perf_counter()
    featurize(ws, encoders=encoders)
    featurize_rate = posts / (time.perf_counter() - started)
    started = time.perf_counter()
    results = agent.understand_many(requests, ocr=ocr)
    agent_rate = posts / (time.perf_counter() - started)
    assert all(r.kind != "failure" for r in results if hasattr(r, "kind"))
    return agent_rate, featurize_rate


def index_scale(rows: int, dim: int = 384, queries: int = 50) -> None:
    """Exact numpy search against faiss HNSW on ``rows`` random unit vectors (clustered, like posts)."""
    from postlens.agent.index import NeighbourIndex

    print(f"\nnearest-neighbour search over {rows:,} posts ({dim}-d float32; {load_average()})")
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(2000, dim)).astype(np.float32)
    vectors = np.empty((rows, dim), np.float32)
    for start in range(0, rows, 100_000):
        n = min(100_000, rows - start)
        block = centres[rng.integers(0, len(centres), n)] + 0.8 * rng.normal(size=(n, dim)).astype(np.float32)
        vectors[start : start + n] = block / np.linalg.norm(block, axis=1, keepdims=True)
    probes = vectors[rng.integers(0, rows, queries)] + 0.05 * rng.normal(size=(queries, dim)).astype(np.float32)
    probes /= np.linalg.norm(probes, axis=1, keepdims=True)
    exact = [np.argsort(-(vectors @ q))[:10] for q in probes[:10]]
    started = time.perf_counter()
    for q in probes:
        np.argpartition(-(vectors @ q), 10)[:10]
    exact_ms = 1000 * (time.perf_counter() - started) / queries
    print(f"  exact (numpy matrix product): {exact_ms:.1f} ms per query, recall 1.0")
    try:
        import faiss
    except ImportError:
        print("  HNSW: faiss-cpu is not installed (the 'index' extra)")
        return
    started = time.perf_counter()
    hnsw = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
    hnsw.hnsw.efConstruction = 80
    hnsw.add(vectors)
    build = time.perf_counter() - started
    hnsw.hnsw.efSearch = 96
    started = time.perf_counter()
    for q in probes:
        hnsw.search(q[None, :], 10)
    hnsw_ms = 1000 * (time.perf_counter() - started) / queries
    recall = np.mean([len(set(hnsw.search(q[None, :], 10)[1][0]) & set(e)) / 10 for q, e in zip(probes[:10], exact)])
    print(
        f"  HNSW (faiss, M=32, efSearch=96): built in {build:.0f} s, {hnsw_ms:.2f} ms per query, recall@10 {recall:.2f}"
    )
    del NeighbourIndex


def prepare(root: Path) -> tuple[Path, Path]:
    """The workspace (built once under ``root``) and the query media: two photos and a 30 s video."""
    ws = build_workspace(root)
    media = root / "bench-media"
    media.mkdir(exist_ok=True)
    for i in range(2):
        photo(media / f"photo-{i}.jpg", TOPICS[i][0], TOPICS[i][1], i)
    if not (media / "news-30s.mp4").exists():
        video_30s(media / "news-30s.mp4")
    return ws, media


def suite_rows(quick: bool = False) -> list[dict]:
    """The suite's rows: warm p50 latency per kind of post against the issue's goals; in full mode also
    understand_many's posts/s against featurize's (no OCR)."""
    from _rows import row

    ws, media = prepare(Path(tempfile.gettempdir()) / "postlens-bench-suite" / "agent")
    rows = []
    with Agent(ws) as agent:
        agent.warm_up()
        for name, n, p50, _, goal in latency(agent, media, 5 if quick else 30):
            rows.append(
                row(
                    "agent",
                    f"understand {name}: p50 of {n} warm calls",
                    1000 * p50,
                    "ms",
                    "" if goal is None else f"<= {1000 * goal:,.0f}",
                    None if goal is None else p50 <= goal,
                )
            )
        if not quick:
            mine, theirs = throughput(agent, media, 48, False)
            rows.append(
                row(
                    "agent",
                    "understand_many / featurize posts/s (48 text + image, no OCR)",
                    mine / theirs,
                    "x",
                    ">= 0.8",
                    mine / theirs >= 0.8,
                )
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workspace", type=Path, default=Path(tempfile.gettempdir()) / "postlens-bench-agent")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--posts", type=int, default=48, help="posts for the throughput comparison")
    parser.add_argument("--index-rows", type=int, default=0, help="also time search over this many synthetic posts")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="threads per model (default: the agent's: $POSTLENS_NUM_THREADS or every core)",
    )
    parser.add_argument("--skip-throughput", action="store_true")
    args = parser.parse_args()
    ws, media = prepare(args.workspace)
    started = time.perf_counter()
    agent = Agent(ws, num_threads=args.threads)
    agent.warm_up()
    print(
        f"agent over {ws}: loaded and warmed in {time.perf_counter() - started:.1f} s; models "
        f"{[m.name for m in agent.models]}, popularity {agent.popularity_name}, {agent.threads} thread(s) per model"
    )
    latency(agent, media, args.repeat)
    print(f"\nunderstand_many vs featurize, the same {args.posts} text + image posts ({load_average()})")
    for ocr in () if args.skip_throughput else (False, True):
        mine, theirs = throughput(agent, media, args.posts, ocr)
        encoders = "minilm, vader, efficientnet" + (", ocr" if ocr else "")
        print(
            f"  {encoders:<34} understand_many {mine:6.2f} posts/s, featurize {theirs:6.2f} posts/s: "
            f"{mine / theirs:.2f}x (goal >= 0.8x)"
        )
    agent.close()
    if args.index_rows:
        index_scale(args.index_rows)


if __name__ == "__main__":
    main()
