"""Column splits: the sides a benchmark ships with, any common spelling, the rest left out and counted."""

from __future__ import annotations

import numpy as np
import pytest

from postlens.errors import ConfigError
from postlens.evaluation.splits import NO_VALUE, column_split, make_split, side_of


@pytest.mark.parametrize(
    "value, side",
    [
        ("train", "train"),
        (" Training ", "train"),
        ("TRN", "train"),
        ("val", "val"),
        ("Validation", "val"),
        ("dev", "val"),
        ("valid", "val"),
        ("development", "val"),
        ("test", "test"),
        ("Testing", "test"),
        ("holdout", None),
        ("", None),
        (None, None),
        (3, None),
    ],
)
def test_side_spellings(value, side):
    assert side_of(value) == side


def _values(counts: dict, seed: int = 0) -> np.ndarray:
    values = np.array([v for v, n in counts.items() for _ in range(n)], dtype=object)
    return values[np.random.default_rng(seed).permutation(len(values))]


def test_three_sides_are_taken_as_given_and_others_left_out_and_counted():
    values = _values({"train": 50, "Dev": 20, "TEST": 25, "unlabelled": 3, None: 2})
    split = make_split("column", len(values), values=values, val_size=0.1)
    assert set(values[split.train]) == {"train"} and len(split.train) == 50
    assert set(values[split.val]) == {"Dev"} and set(values[split.test]) == {"TEST"}
    assert split.info["left_out"] == {"unlabelled": 3, NO_VALUE: 2}
    assert split.info["held_out"] == "test" and split.info["val_from"] == "column"
    assert len(split.train) + len(split.val) + len(split.test) + 5 == len(values)


def test_train_and_val_only_reports_on_val_and_tunes_on_a_carve_of_train():
    values = _values({"train": 200, "validation": 40})
    y = np.random.default_rng(1).integers(0, 3, len(values))
    split = column_split(values, val_size=0.1, y=y, seed=0)
    assert set(values[split.test]) == {"validation"} and len(split.test) == 40
    assert set(values[split.val]) == {"train"} and set(values[split.train]) == {"train"}
    assert len(split.val) + len(split.train) == 200 and 15 <= len(split.val) <= 25
    assert not set(split.val) & set(split.train)
    assert split.info["held_out"] == "val" and "carved from train" in split.info["note"]


def test_train_and_test_only_carves_validation_from_train():
    values = _values({"train": 100, "test": 30})
    split = column_split(values, val_size=0.2)
    assert set(values[split.test]) == {"test"} and set(values[split.val]) == {"train"}
    assert len(split.val) == 20 and split.info["held_out"] == "test"
    assert len(column_split(values, val_size=0.0).val) == 0


@pytest.mark.parametrize(
    "counts, message",
    [
        ({"val": 10, "test": 10}, "no train rows"),
        ({"train": 10, "other": 5}, "no val or test rows"),
        ({"TRAINING-SET": 10, "test": 3}, "no train rows.*'TRAINING-SET': 10.*accepted spellings"),
    ],
)
def test_an_empty_side_is_a_clear_error(counts, message):
    with pytest.raises(ConfigError, match=message):
        column_split(_values(counts))
