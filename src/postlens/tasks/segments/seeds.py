"""Zero-shot segments from names or short descriptions a user gives (``--seed-topics topics.yaml``).

Each seed's text ("name: description. keywords") is embedded by the text model into the space
posts live in. Posts go to the nearest seed; then, a few times, each seed's centre moves halfway
to the mean of its posts (the seed stays an anchor, so a segment cannot drift to another
subject), which adapts the user's words to how the corpus talks. Posts below ``min_similarity``
to every centre are left without a segment.

topics.yaml may be a list of names, a mapping ``name: description``, or::

    topics:
      - name: sports
        description: football matches, goals and league tables
        keywords: [match, goal, coach]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from postlens.encoders.bridge import normalise_rows
from postlens.errors import ConfigError

MAX_FILE_BYTES = 1_000_000
MAX_SEEDS = 500
MAX_TEXT_CHARS = 2_000


@dataclass(frozen=True)
class SeedTopic:
    name: str
    description: str = ""
    keywords: tuple[str, ...] = field(default_factory=tuple)

    def prompt(self) -> str:
        parts = [self.name + (f": {self.description}" if self.description else "")]
        if self.keywords:
            parts.append(", ".join(self.keywords))
        return ". ".join(parts)


def read_seed_topics(path: str | Path) -> list[SeedTopic]:
    """Seeds from a YAML file; every problem names the file and the entry."""
    import yaml

    source = Path(path)
    try:
        if source.stat().st_size > MAX_FILE_BYTES:
            raise ConfigError(
                f"{source}: {source.stat().st_size:,} bytes; a seed-topics file may have at most {MAX_FILE_BYTES:,}"
            )
        data = yaml.safe_load(source.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read seed topics {source}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{source} is not UTF-8 text: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source} is not valid YAML: {exc}") from exc
    return parse_seed_topics(data, str(source))


def parse_seed_topics(data: Any, where: str = "seed topics") -> list[SeedTopic]:
    if isinstance(data, dict) and set(data) == {"topics"}:
        data = data["topics"]
    if isinstance(data, dict):
        data = [{"name": k, "description": v} for k, v in data.items()]
    if not isinstance(data, list) or not data:
        raise ConfigError(
            f"{where}: expected a non-empty list of topics (names, or name/description/keywords), "
            f"or a mapping name: description; got {type(data).__name__}"
        )
    if len(data) > MAX_SEEDS:
        raise ConfigError(f"{where}: {len(data)} topics; at most {MAX_SEEDS}")
    seeds: list[SeedTopic] = []
    for number, entry in enumerate(data, start=1):
        seeds.append(_seed(entry, f"{where}, topic {number}"))
    names = [s.name.casefold() for s in seeds]
    repeated = sorted({s.name for s in seeds if names.count(s.name.casefold()) > 1})
    if repeated:
        raise ConfigError(f"{where}: topic names must be unique; repeated: {', '.join(repeated)}")
    return seeds


def _seed(entry: Any, where: str) -> SeedTopic:
    if isinstance(entry, str):
        entry = {"name": entry}
    if not isinstance(entry, dict):
        raise ConfigError(
            f"{where}: expected a name or a mapping with name, description, keywords; got {type(entry).__name__}"
        )
    unknown = sorted(set(entry) - {"name", "description", "keywords"})
    if unknown:
        raise ConfigError(f"{where}: unknown keys {unknown}; valid keys: description, keywords, name")
    raw_name = entry.get("name")
    name = "" if raw_name is None else _text(raw_name, f"{where}: name")
    if not name:
        raise ConfigError(f"{where}: a topic needs a non-empty name")
    description = _text(entry.get("description") or "", f"{where} ({name}): description")
    keywords = entry.get("keywords") or []
    if isinstance(keywords, str):
        keywords = [k.strip() for k in keywords.split(",")]
    if not isinstance(keywords, list):
        raise ConfigError(f"{where} ({name}): keywords must be a list of words")
    return SeedTopic(
        name, description, tuple(_text(k, f"{where} ({name}): keyword") for k in keywords if str(k).strip())
    )


def _text(value: Any, where: str) -> str:
    if value is None or isinstance(value, (dict, list)):
        raise ConfigError(f"{where} must be text")
    text = " ".join(str(value).split())
    if len(text) > MAX_TEXT_CHARS:
        raise ConfigError(f"{where} has {len(text):,} characters; at most {MAX_TEXT_CHARS:,}")
    return text


class SeedSegmenter:
    """fit(x, seed_vectors) -> self with ``labels_`` (seed index, -1 = none) and ``scores_``."""

    def __init__(self, *, min_similarity: float | None = None, refine: int = 3) -> None:
        self.min_similarity = min_similarity
        self.refine = refine

    def fit(self, x: np.ndarray, seed_vectors: np.ndarray) -> SeedSegmenter:
        x = normalise_rows(np.asarray(x, np.float64)).astype(np.float64)
        seeds = normalise_rows(np.asarray(seed_vectors, np.float64)).astype(np.float64)
        if seeds.shape[1] != x.shape[1]:
            raise ValueError(
                f"seed vectors are {seeds.shape[1]}-d, posts {x.shape[1]}-d: embed both with one text model"
            )
        usable = np.linalg.norm(x, axis=1) > 1e-12
        centres = seeds.copy()
        for _ in range(max(0, self.refine)):
            labels = np.argmax(x @ centres.T, axis=1)
            for s in range(len(seeds)):
                members = usable & (labels == s)
                if members.any():
                    mean = normalise_rows(x[members].sum(0, keepdims=True))[0]
                    centres[s] = normalise_rows((seeds[s] + mean)[None, :])[0]
        self.centres_ = centres
        self.labels_, self.scores_ = self.predict(x)
        return self

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = normalise_rows(np.asarray(x, np.float64)).astype(np.float64)
        usable = np.linalg.norm(x, axis=1) > 1e-12
        sims = x @ self.centres_.T
        labels = np.where(usable, np.argmax(sims, axis=1), -1)
        scores = np.where(usable, sims.max(axis=1), np.nan)
        if self.min_similarity is not None:
            labels = np.where(scores >= self.min_similarity, labels, -1)
        return labels, scores


def seed_prompts(seeds: Sequence[SeedTopic]) -> list[str]:
    return [s.prompt() for s in seeds]
