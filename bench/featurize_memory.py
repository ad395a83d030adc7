"""Peak memory of ``postlens featurize`` on a workspace holding one huge text post.

    .venv/bin/python bench/featurize_memory.py [--mb 50] [--encoders minilm,vader] [--keep DIR]

Builds a real DuckDB workspace by importing a JSONL file (one post of ``--mb`` megabytes of text plus
a few normal posts) with ``postlens ingest``, then runs ``postlens featurize`` in a child process and
prints that process's peak RSS (``wait4`` rusage: the largest of it and any worker it waited for) and
the peak of the whole process tree's summed RSS (sampled every 50 ms). Goal: <= 1.5 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

WORDS = [
    "the",
    "storm",
    "hit",
    "the",
    "coast",
    "last",
    "night",
    "and",
    "people",
    "shared",
    "photos",
    "of",
    "flooded",
    "streets",
    "breaking",
    "news",
    "#flood",
    "@mayor",
    "says",
    "stay",
    "home",
    "https://example.com/report",
    "😱",
    "ok",
]
SHAPES = {
    "words": WORDS,  # social text: hashtags, mentions, a URL, an emoji (Python holds it 4 bytes a character)
    "ascii": [w for w in WORDS if w.isascii()],  # plain English words only
    "nospace": None,  # one 50 MB "word": nothing to cut at
}
NORMAL = [
    "Flooded streets downtown, stay safe everyone",
    "Great match tonight! #football",
    "New phone, who dis",
    "The council meets on Tuesday about the bridge",
]


def write_corpus(path: Path, megabytes: int, shape: str = "words", seed: int = 0) -> int:
    """A JSONL file: one post of ``megabytes`` MB of text of this shape, then a few ordinary posts."""
    rng = random.Random(seed)
    words = SHAPES[shape]
    target = megabytes * 1_000_000
    pieces: list[str] = []
    size = 0
    while size < target:
        if words is None:
            sentence = "".join(rng.choice("abcdefghij") for _ in range(1000))
        else:
            sentence = " ".join(rng.choice(words) for _ in range(rng.randint(5, 25))) + ". "
        pieces.append(sentence)
        size += len(sentence.encode("utf-8"))
    huge = "".join(pieces)
    with path.open("w", encoding="utf-8") as out:
        out.write(json.dumps({"id": "huge", "text": huge}, ensure_ascii=False) + "\n")
        for i, text in enumerate(NORMAL):
            out.write(json.dumps({"id": f"p{i}", "text": text}) + "\n")
    return len(huge)


def postlens(*args: str) -> list[str]:
    return [sys.executable, "-c", "from postlens.serve.cli import main; main()", *args]


def run_measured(command: list[str]) -> tuple[int, int, int, float]:
    """(exit code, wait4 peak RSS bytes, peak summed tree RSS bytes, seconds) of one child process."""
    started = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    tree_peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal tree_peak
        try:
            root = psutil.Process(proc.pid)
        except psutil.NoSuchProcess:
            return
        while not done.is_set():
            try:
                procs = [root, *root.children(recursive=True)]
                tree_peak = max(tree_peak, sum(p.memory_info().rss for p in procs if p.is_running()))
            except psutil.Error:
                pass
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    done.set()
    sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0 and proc.stderr is not None:
        sys.stderr.write(proc.stderr.read().decode(errors="replace")[-3000:])
    return proc.returncode, usage.ru_maxrss * 1024, tree_peak, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=int, default=50, help="size of the huge post's text in MB")
    parser.add_argument("--shape", choices=sorted(SHAPES), default="words", help="what the huge text looks like")
    parser.add_argument("--encoders", default=None, help="comma-separated encoders (default: the default set)")
    parser.add_argument("--keep", type=Path, default=None, help="build the workspace here and keep it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="postlens-featmem-") as tmp:
        root = args.keep or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        data, ws = root / "posts.jsonl", root / "ws"
        chars = write_corpus(data, args.mb, args.shape)
        code, ingest_rss, _, ingest_s = run_measured(
            postlens("ingest", str(data), "--map", "id=id", "--map", "text=text", "--workspace", str(ws))
        )
        if code != 0:
            raise SystemExit(f"ingest failed with exit code {code}")
        print(
            f"workspace: {ws} (one post of {chars:,} characters ({args.shape}) + {len(NORMAL)} normal posts; "
            f"ingest peak RSS {ingest_rss / 2**20:,.0f} MB, {ingest_s:.1f} s)"
        )
        command = postlens("featurize", "--workspace", str(ws))
        if args.encoders:
            command += ["--encoders", args.encoders]
        code, peak, tree_peak, seconds = run_measured(command)
        verdict = "OK" if peak <= 1.5 * 2**30 else "OVER the 1.5 GB goal"
        print(f"featurize: exit {code}, {seconds:.1f} s")
        print(
            f"featurize peak RSS: {peak / 2**20:,.0f} MB (largest process); "
            f"{tree_peak / 2**20:,.0f} MB (whole process tree, sampled)  -> {verdict}"
        )


if __name__ == "__main__":
    main()
