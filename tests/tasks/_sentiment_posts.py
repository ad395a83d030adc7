"""A small text workspace with planted sentiment per topic and per day (real DuckDB, real encoders)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

START = datetime(2024, 3, 4, 9, tzinfo=UTC)
DAYS = 4
TOPICS = {
    "football": [
        "the striker scored twice in the derby",
        "our keeper saved a penalty in the final minute",
        "the league table after the weekend matches",
        "the coach changed the formation at half time",
        "the midfielder signed a new contract with the club",
    ],
    "baking": [
        "my sourdough loaf rose overnight",
        "a lemon drizzle cake with a crunchy top",
        "the croissant dough needs three folds",
        "banana bread with walnuts and cinnamon",
        "proofing the brioche in a warm kitchen",
    ],
}
POSITIVE = ["I love it, absolutely wonderful!", "so happy, this is great :)", "brilliant, best day ever!"]
NEGATIVE = ["I hate this, terrible and awful.", "so sad and angry, worst day ever :(", "disgusting, a horrible mess."]


def planted(day: int, topic: str, i: int) -> str:
    """Baking is mostly positive, football mostly negative; the last two days turn sour for both."""
    positive_rate = (0.8 if topic == "baking" else 0.3) - (0.3 if day >= DAYS // 2 else 0.0)
    return "positive" if (i * 7919 % 10) / 10 < positive_rate else "negative"


def sentiment_posts(per_topic_per_day: int = 10) -> list[dict[str, Any]]:
    posts = []
    for day in range(DAYS):
        for topic, sentences in TOPICS.items():
            for i in range(per_topic_per_day):
                sentiment = planted(day, topic, i)
                phrase = (POSITIVE if sentiment == "positive" else NEGATIVE)[i % 3]
                native = f"{topic}-{day}-{i}"
                at = START + timedelta(days=day, minutes=37 * i)
                posts.append(
                    {
                        "id": f"syn:{native}",
                        "source": "syn",
                        "native_id": native,
                        "platform": "syn",
                        "created_at": at.isoformat(),
                        "text": f"{sentences[i % len(sentences)]}. {phrase}",
                        "labels": {"sentiment": sentiment, "topic": topic, "split": "val" if i % 4 == 3 else "train"},
                    }
                )
    return posts


def write_posts(posts: list[dict[str, Any]], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\n".join(orjson.dumps(p) for p in posts) + b"\n")
    return path
