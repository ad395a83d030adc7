"""Names defined once: where a second spelling still exists (a config ``Literal``, a copy in a module that
cannot import the first yet), it must equal the one definition, so the two cannot drift apart."""

from __future__ import annotations

from typing import Any, get_args

from postlens.encoders.identity import TEXT_FIELD_SOURCES, TEXT_FIELDS
from postlens.encoders.registry import SPECS
from postlens.evaluation.splits import STRATEGIES, TIME_BOUNDARIES
from postlens.pipeline import labels
from postlens.sources.base import importers_taking, known_importers
from postlens.sources.generic import TABLE_FORMATS
from postlens.types import ENGAGEMENT_COUNTS, MEDIA_KINDS, MEDIA_KINDS_OF, Engagement, Modality


def literal_values(model: Any, field: str) -> tuple[str, ...]:
    """The values a pydantic field's ``Literal`` (or ``list[Literal]``) allows."""
    annotation = model.model_fields[field].annotation
    args = get_args(annotation)
    if args and not isinstance(args[0], str):  # list[Literal[...]]
        args = get_args(args[0])
    return tuple(args)


def test_text_fields_are_the_post_text_and_the_encoders_that_read_text() -> None:
    from postlens.models.config import FeaturesConfig
    from postlens.tasks.segments.parts import TEXT_FIELDS as SEGMENT_FIELDS

    assert TEXT_FIELDS == ("text", *TEXT_FIELD_SOURCES)
    assert set(TEXT_FIELD_SOURCES.values()) <= set(SPECS)
    assert SEGMENT_FIELDS is TEXT_FIELDS
    assert literal_values(FeaturesConfig, "text_fields") == TEXT_FIELDS  # models/config.py spells them again


def test_split_strategies_and_time_boundaries() -> None:
    from postlens.models.config import SplitConfig
    from postlens.tasks.popularity.config import SplitConfig as PopularitySplit

    assert literal_values(SplitConfig, "strategy") == STRATEGIES  # models/config.py spells them again
    assert literal_values(SplitConfig, "time_boundary") == TIME_BOUNDARIES
    assert literal_values(PopularitySplit, "time_boundary") == TIME_BOUNDARIES


def test_media_kinds_per_modality() -> None:
    from postlens.models.data import MODALITY_MEDIA

    assert {k for kinds in MEDIA_KINDS_OF.values() for k in kinds} == set(MEDIA_KINDS)
    assert set(MEDIA_KINDS_OF) == {Modality.IMAGE, Modality.VIDEO, Modality.AUDIO}
    assert MODALITY_MEDIA == MEDIA_KINDS_OF  # models/data.py spells them again


def test_engagement_counts_are_the_snapshot_fields() -> None:
    from postlens.models.config import PopularityConfig
    from postlens.tasks.popularity.config import TargetConfig

    assert set(ENGAGEMENT_COUNTS) == set(Engagement.__slots__) - {"observed_at", "observed_inferred"}
    assert set(literal_values(PopularityConfig, "metric")) == set(ENGAGEMENT_COUNTS)  # models/config.py
    assert literal_values(TargetConfig, "metric") == ENGAGEMENT_COUNTS


def test_importer_names_come_from_the_registry() -> None:
    assert labels.FORMATS is TABLE_FORMATS
    assert set(TABLE_FORMATS) == set(importers_taking("mapping")) and set(TABLE_FORMATS) <= set(known_importers())
    assert "postlens" in importers_taking("media_root") and "twitter" not in importers_taking("media_root")
