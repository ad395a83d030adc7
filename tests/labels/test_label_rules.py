"""Weak labels from keyword, hashtag and regex rules, stored under weak_<label>."""

from __future__ import annotations

from pathlib import Path

import pytest
from _posts import labels_of, make_workspace
from typer.testing import CliRunner

from postlens.errors import ConfigError
from postlens.pipeline.label_rules import apply_rules, load_rules
from postlens.serve.cli import app

RULES = """
label: hazard
on_conflict: {policy}
classes:
  flood:
    keywords: [flooding, "high water"]
    hashtags: ["#flood"]
    regex: ['\\bwater\\s+levels?\\b']
  fire:
    keywords: [wildfire]
"""


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    return make_workspace(tmp_path)


def rules_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(("policy", "expected_two"), [("first", "flood"), ("all", "fire|flood"), ("skip", None)])
def test_rules_label_posts_and_conflicts_follow_the_policy(ws: Path, tmp_path: Path, policy, expected_two):
    summary = apply_rules(rules_file(tmp_path, RULES.format(policy=policy)), workspace=ws)
    labels = {k: v.get("weak_hazard") for k, v in labels_of(ws).items()}
    assert labels == {"s:1": "flood", "s:2": expected_two, "s:3": None, "s:4": "flood"}
    assert (summary.posts, summary.conflicts, summary.unmatched) == (4, 1, 1 + (policy == "skip"))
    assert labels_of(ws)["s:1"]["split"] == "train"  # other labels untouched


def test_keywords_are_whole_words_and_where_limits_the_posts(ws: Path, tmp_path: Path):
    text = "label: t\nclasses:\n  calm:\n    keywords: [cal]\n  day:\n    keywords: [DAY]\n"
    summary = apply_rules(rules_file(tmp_path, text), where="labels['split'] = 'test'", workspace=ws)
    labels = {k: v.get("weak_t") for k, v in labels_of(ws).items()}
    assert labels == {"s:1": None, "s:2": None, "s:3": "day", "s:4": None}
    assert summary.posts == 2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("label: x\nclasses:\n  a:\n    regex: ['(']\n", "class 'a': regex"),
        ("label: x\nclasses:\n  a:\n    words: [b]\n", "unknown key"),
        ("label: x\nclasses:\n  a: {}\n", "needs at least one"),
        ("label: 'bad name!'\nclasses:\n  a:\n    keywords: [b]\n", "'label' must be"),
        ("label: x\non_conflict: vote\nclasses:\n  a:\n    keywords: [b]\n", "first, all, skip"),
        ("- just a list\n", "expected a mapping"),
    ],
)
def test_bad_rules_files_say_what_is_wrong(tmp_path: Path, text, message):
    with pytest.raises(ConfigError, match=message):
        load_rules(rules_file(tmp_path, text))


def test_cli_rules_twice_changes_nothing_the_second_time(ws: Path, tmp_path: Path):
    path = rules_file(tmp_path, RULES.format(policy="first"))
    runner = CliRunner()
    first = runner.invoke(app, ["label", "rules", str(path), "-w", str(ws)])
    assert first.exit_code == 0, first.output
    assert "weak_hazard: 4 post(s) checked; matched: flood 3, fire 0" in " ".join(first.output.split())
    second = runner.invoke(app, ["label", "rules", str(path), "-w", str(ws)])
    assert "(0 changed, 3 unchanged)" in " ".join(second.output.split())
