"""The HTTP API under a burst: N requests sent at once to a real ``postlens serve`` (uvicorn, 127.0.0.1),
mixed across the endpoints, then analyze alone; requests/s, latency p50/p95/max and status counts.

    .venv/bin/python bench/api.py [--workspace DIR] [--requests 200] [--model-slots 1] [--max-waiting 256]

The workspace is bench/agent.py's (``demo-data --posts 300`` -> ... -> trends), built under
``--workspace`` when it has no database yet. Goal (issue 6/9): a burst of 200 concurrent requests
completes with no 5xx (a full line answers 429 with Retry-After, by design). Latency is measured from
the moment the whole burst is sent, so it includes the wait in line. The machine is shared: the load
average is printed with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "api"))
from _server import ApiServer

from agent import build_workspace, load_average

Request = tuple[str, str, dict]


def mixed(lines: list[tuple[str, str]], n: int) -> list[Request]:
    out: list[Request] = []
    for i in range(n):
        post_id, line = lines[i % len(lines)]
        out.append(
            [
                ("POST", "/v1/analyze", {"content": line, "headers": {"Content-Type": "application/json"}}),
                ("GET", "/v1/search", {"params": {"q": f"post {i} about the weather and the match", "k": 5}}),
                ("GET", "/v1/segments", {}),
                ("GET", "/v1/trends", {}),
                ("GET", f"/v1/posts/{post_id}", {}),
                ("GET", "/healthz", {}),
            ][i % 6]
        )
    return out


def analyze_only(lines: list[tuple[str, str]], n: int) -> list[Request]:
    return [
        ("POST", "/v1/analyze", {"content": lines[i % len(lines)][1], "headers": {"Content-Type": "application/json"}})
        for i in range(n)
    ]


async def burst(url: str, key: str, requests: list[Request]) -> tuple[float, list[tuple[int, float]]]:
    limits = httpx.Limits(max_connections=len(requests), max_keepalive_connections=len(requests))
    async with httpx.AsyncClient(
        base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=1800, limits=limits
    ) as client:

        async def one(method: str, path: str, options: dict) -> tuple[int, float]:
            response = await client.request(method, path, **options)
            return response.status_code, time.perf_counter() - started

        started = time.perf_counter()
        results = await asyncio.gather(*(one(m, p, o) for m, p, o in requests))
        return time.perf_counter() - started, list(results)


def report(name: str, wall: float, results: list[tuple[int, float]]) -> bool:
    latencies = sorted(seconds for _, seconds in results)
    statuses = Counter(status for status, _ in results)
    p95 = latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))]
    server_errors = sum(n for s, n in statuses.items() if s >= 500)
    print(
        f"{name}: {len(results)} requests at once in {wall:.2f} s = {len(results) / wall:.1f} requests/s; "
        f"latency p50 {statistics.median(latencies) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, max "
        f"{latencies[-1] * 1000:.0f} ms; statuses {dict(sorted(statuses.items()))}; 5xx: {server_errors}"
    )
    return server_errors == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workspace", type=Path, default=Path(tempfile.gettempdir()) / "postlens-bench-agent")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--model-slots", type=int, default=1)
    parser.add_argument("--max-waiting", type=int, default=256)
    args = parser.parse_args()
    ws = build_workspace(args.workspace)
    lines = [
        (json.loads(line)["id"], line)
        for line in (args.workspace / "corpus" / "posts.jsonl").read_text().splitlines()
        if '"media":[]' in line
    ]  # a post's own media names are refused over HTTP: upload files instead
    key = secrets.token_urlsafe(24)
    with tempfile.TemporaryDirectory(prefix="postlens-bench-api-") as scratch:
        started = time.perf_counter()
        server = ApiServer(
            ws,
            "--model-slots",
            str(args.model_slots),
            "--max-waiting",
            str(args.max_waiting),
            "--wait-seconds",
            "600",
            key=key,
            log=Path(scratch) / "serve.log",
        )
        try:
            print(f"server up (models warmed) in {time.perf_counter() - started:.1f} s; {load_average()}")
            asyncio.run(burst(server.url, key, mixed(lines, 12)))  # every endpoint once warm
            ok = report(
                "mixed burst (analyze, search, segments, trends, posts, healthz)",
                *asyncio.run(burst(server.url, key, mixed(lines, args.requests))),
            )
            ok &= report("analyze-only burst", *asyncio.run(burst(server.url, key, analyze_only(lines, args.requests))))
            print(f"server alive after the bursts: {server.alive()}; {load_average()}")
        finally:
            server.stop()
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
