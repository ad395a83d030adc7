"""VADER's lexicon is English: posts in other languages get no lexicon score (not a false "neutral")."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _sentiment_posts import write_posts

from postlens.encoders.text.lexicon import lexicon_reads

POSTS = [
    ("en-1", "en", "I love this, what a wonderful day!"),
    ("en-2", None, "This is terrible and I hate it."),
    ("es-stored", "es", "¡Qué golazo en la final! Me encanta este equipo, increíble partido."),
    ("es-detected", None, "El árbitro anuló el gol en el último minuto y todos estaban furiosos con la decisión."),
    ("ja-stored", "ja", "東京で強い地震がありました。皆さん大丈夫ですか"),
    ("emoji", None, ":) :)"),
]


@pytest.mark.parametrize(
    ("language", "reads"),
    [
        ("en", True),
        ("en-GB", True),
        ("EN_us", True),
        (None, True),
        ("", True),
        ("und", True),
        ("es", False),
        ("ja", False),
        ("pt-BR", False),
    ],
)
def test_lexicon_reads_english_and_undetermined_only(language: str | None, reads: bool) -> None:
    assert lexicon_reads(language) is reads


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from postlens.pipeline.ingest import run_ingest

    root = tmp_path_factory.mktemp("sentiment-languages")
    posts = [
        {"id": f"syn:{pid}", "source": "syn", "native_id": pid, "platform": "syn", "text": text}
        | ({"language": language} if language else {})
        | {"created_at": "2024-03-04T09:00:00+00:00"}
        for pid, language, text in POSTS
    ]
    run_ingest([write_posts(posts, root / "posts.jsonl")], importer_name="postlens", workspace=root / "ws")
    return root / "ws"


def test_posts_vader_cannot_read_are_unscored_and_named(workspace: Path) -> None:
    from postlens.store.workspace import Workspace
    from postlens.tasks.sentiment import aggregate_sentiment, load_post_sentiment

    with Workspace(workspace, read_only=True) as ws:
        posts = load_post_sentiment(ws, store=False)
    row = {r["post_id"].removeprefix("syn:"): r for r in posts.frame.to_dict("records")}
    assert row["es-stored"]["language"] == "es" and row["es-detected"]["language"] == "es"
    assert row["ja-stored"]["language"] == "ja"
    for pid in ("es-stored", "es-detected", "ja-stored"):
        assert np.isnan(row[pid]["vader_compound"]) and pd.isna(row[pid]["vader_label"]), pid
    assert row["en-1"]["vader_label"] == "positive" and row["en-2"]["vader_label"] == "negative"
    assert row["emoji"]["vader_label"] == "positive"  # undetermined language: emoticons still read
    (note,) = [n for n in posts.notes if "VADER's English lexicon" in n]
    assert "3 posts" in note and "es 2" in note and "ja 1" in note
    overall = aggregate_sentiment(posts, by="none").overall
    assert overall.posts == len(POSTS) and overall.scored == 3  # counted, not scored
    assert any("VADER's English lexicon" in n for n in aggregate_sentiment(posts, by="none").notes)
