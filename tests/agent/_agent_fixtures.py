"""The agent tests' workspace description (a module of its own: test files import it)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson


@dataclass
class AgentWorkspace:
    root: Path
    corpus: Path
    truth: dict[str, Any]

    def lines(self) -> dict[str, str]:
        """post id -> its JSON line in the corpus."""
        return {orjson.loads(line)["id"]: line for line in (self.corpus / "posts.jsonl").read_text().splitlines() if line}

    def kind_of(self) -> dict[str, str]:
        return {p["id"]: p["kind"] for p in self.truth["posts"]}

    def topic_of(self) -> dict[str, str]:
        return {p["id"]: p["topic"] for p in self.truth["posts"]}

    def media(self, suffix: str) -> list[Path]:
        return sorted((self.corpus / "media").glob(f"*{suffix}"))
