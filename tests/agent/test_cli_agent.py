"""``postlens analyze`` and ``postlens search``: thin shells over the agent, readable or JSON."""

from __future__ import annotations

import json

import pytest
from _agent_fixtures import AgentWorkspace
from typer.testing import CliRunner

from postlens.agent import Insight, SearchResult
from postlens.serve.cli import app

pytestmark = pytest.mark.slow
runner = CliRunner()


def test_analyze_media_plus_text_as_json_and_as_a_summary(agent_workspace: AgentWorkspace) -> None:
    image = str(agent_workspace.media(".png")[0])
    args = ["analyze", image, "--text", "Dinner at the night market #streetfood", "-w", str(agent_workspace.root),
            "--similar", "3"]
    result = runner.invoke(app, [*args, "-o", "json"])
    assert result.exit_code == 0, result.output
    insight = Insight.model_validate(json.loads(result.stdout))
    assert insight.modalities == ["text", "image"] and len(insight.similar) == 3 and insight.topic is not None
    summary = runner.invoke(app, args)
    assert summary.exit_code == 0, summary.output
    for expected in ("modalities: text, image", "segment (topics): topic", "topic (demo-topic):", "sentiment:",
                     "popularity:", "similar posts", "OCR:"):
        assert expected in summary.stdout


def test_analyze_a_post_file_with_several_posts_keeps_going_past_a_bad_one(agent_workspace: AgentWorkspace, tmp_path) -> None:
    lines = list(agent_workspace.lines().values())[:2]
    posts = tmp_path / "posts.jsonl"
    posts.write_text("\n".join([lines[0], '{"text": "x", "created_at": "sometime soon"}', lines[1]]) + "\n")
    result = runner.invoke(app, ["analyze", str(posts), "-w", str(agent_workspace.root), "-o", "json",
                                 "--media-root", str(agent_workspace.corpus)])
    assert result.exit_code == 0, result.output
    answers = json.loads(result.stdout)
    assert [a.get("kind", "insight") for a in answers] == ["insight", "failure", "insight"]
    assert answers[1]["code"] == "bad_date" and answers[0]["post_id"] == json.loads(lines[0])["id"]
    readable = runner.invoke(app, ["analyze", str(posts), "-w", str(agent_workspace.root), "--media-root",
                                   str(agent_workspace.corpus)])
    assert readable.exit_code == 1 and "input 2" in readable.stdout and "bad_date" in readable.stdout


def test_analyze_refuses_a_hostile_file_with_a_clear_error(agent_workspace: AgentWorkspace, tmp_path) -> None:
    from postlens.serve.cli import main

    fake = tmp_path / "cat.gif"
    fake.write_text("#!/bin/sh\nrm -rf /\n")
    result = runner.invoke(app, ["analyze", str(fake), "-w", str(agent_workspace.root)])
    assert result.exit_code != 0 and result.exception is not None
    assert getattr(result.exception, "code", None) == "media_unknown_type" and "cat.gif" in str(result.exception)
    assert callable(main)  # main() turns this PostlensError into one 'error:' line and exit code 2


def test_search_text_and_image_queries(agent_workspace: AgentWorkspace) -> None:
    result = runner.invoke(app, ["search", "live concert with the band", "-k", "5", "-o", "json", "-w",
                                 str(agent_workspace.root)])
    assert result.exit_code == 0, result.output
    found = SearchResult.model_validate(json.loads(result.stdout))
    topics = agent_workspace.topic_of()
    assert len(found.hits) == 5 and sum(topics[h.post_id] == "music" for h in found.hits) >= 4
    table = runner.invoke(app, ["search", "--image", str(agent_workspace.media(".png")[0]), "-w", str(agent_workspace.root)])
    assert table.exit_code == 0 and "image img_" in table.stdout and "similarity" in table.stdout
    nothing = runner.invoke(app, ["search", "-w", str(agent_workspace.root)])
    assert nothing.exit_code != 0 and "a text, an image, or both" in str(nothing.exception)
