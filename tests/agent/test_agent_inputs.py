"""What the agent refuses, before any model runs: hostile media (a wrong type, a lie about the type, a
huge file, a path or symlink leading outside what was given, a URL), unreadable posts; and the bound
on concurrent model work. Each refusal is an exception with a stable code that names the file."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from _agent_fixtures import AgentWorkspace

from postlens.agent import Agent, MediaInput
from postlens.errors import BusyError, InputError, MediaError

pytestmark = pytest.mark.slow


def refused(agent: Agent, code: str, **call) -> MediaError | InputError:
    with pytest.raises((MediaError, InputError)) as caught:
        agent.understand(**call)
    assert caught.value.code == code, f"{caught.value.code}: {caught.value}"
    return caught.value


def test_a_file_that_is_not_media_is_refused_by_its_bytes(agent: Agent, tmp_path: Path) -> None:
    page = tmp_path / "photo.jpg"
    page.write_text("<html><body>404 not found</body></html>")
    error = refused(agent, "media_unknown_type", files=[page], text="look")
    assert "photo.jpg" in str(error) and "not a known image, video or audio format" in str(error)


def test_a_file_that_lies_about_its_type_is_refused(agent: Agent, agent_workspace: AgentWorkspace, tmp_path: Path) -> None:
    liar = tmp_path / "clip.mp4"
    liar.write_bytes(agent_workspace.media(".png")[0].read_bytes())  # a PNG named .mp4
    error = refused(agent, "media_mismatch", files=[liar])
    assert "clip.mp4" in str(error) and "image/png" in str(error)
    upload = MediaInput(agent_workspace.media(".png")[0].read_bytes(), filename="../../song.mp3")
    error = refused(agent, "media_mismatch", files=[upload])
    assert "song.mp3" in str(error) and ".." not in str(error)


def test_a_huge_file_is_refused_before_it_is_read(agent: Agent, tmp_path: Path) -> None:
    huge = tmp_path / "huge.png"
    with open(huge, "wb") as handle:  # sparse: 300 MB on paper, nothing on disk
        handle.write(b"\x89PNG\r\n\x1a\n")
        handle.truncate(300 * 1024 * 1024)
    error = refused(agent, "media_too_large", files=[huge])
    assert "huge.png" in str(error) and "209,715,200" in str(error)  # the image limit, 200 MiB
    with Agent(agent.root, models=[], popularity=False, max_media_bytes={"image": 1000}) as strict:
        small = tmp_path / "small.png"
        small.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 5000)
        refused(strict, "media_too_large", files=[small])


def test_paths_outside_what_was_given_are_never_opened(agent: Agent, agent_workspace: AgentWorkspace, tmp_path: Path) -> None:
    outside = tmp_path / "secret.png"
    outside.write_bytes(agent_workspace.media(".png")[0].read_bytes())
    given = tmp_path / "given"
    given.mkdir()
    (given / "innocent.png").symlink_to(outside)  # a symlink in the folder passed, pointing out of it
    error = refused(agent, "media_outside_root", files=[given / "innocent.png"])
    assert "outside" in str(error)
    post = {"text": "see attached", "media": [{"kind": "image", "source_path": "../secret.png"}]}
    refused(agent, "media_outside_root", post=post, media_root=given)
    refused(agent, "media_outside_root", post={**post, "media": [{"kind": "image", "source_path": str(outside)}]},
            media_root=given)
    refused(agent, "media_no_root", post=post)  # a post's local file needs a media root
    os.mkfifo(given / "pipe.png")
    refused(agent, "media_not_a_file", files=[given / "pipe.png"])  # would block forever if opened
    refused(agent, "media_missing", files=[given / "nothing.png"])


def test_a_url_is_never_fetched_and_an_empty_post_is_refused(agent: Agent) -> None:
    insight = agent.understand({"text": "photo below", "media": [{"kind": "image", "url": "http://127.0.0.1:9/x.jpg"}]})
    assert [p.code for p in insight.problems] == ["media_remote"] and "image" in insight.missing_modalities
    refused(agent, "empty_post", text="   ")
    refused(agent, "empty_post", post={"media": [{"kind": "image", "url": "https://example.com/a.jpg"}]})
    refused(agent, "bad_json", post="{not json")
    refused(agent, "bad_date", post={"text": "x", "created_at": "the day after tomorrow"})


def test_a_corrupt_image_that_passes_the_sniff_is_a_problem_not_a_crash(agent: Agent, tmp_path: Path) -> None:
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + os.urandom(200))
    insight = agent.understand(files=[broken], text="what is this")
    assert insight.problems and insight.problems[0].part.startswith("media[0] broken.png")
    assert "image" not in [c.part for c in insight.contributions] and insight.topic is not None


def test_model_work_is_bounded_and_a_waiting_call_can_give_up(agent_workspace: AgentWorkspace) -> None:
    agent = Agent(agent_workspace.root, models=[], popularity=False, max_concurrency=1, queue_timeout=0.2)
    entered, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=lambda: _hold(agent, entered, release))
    holder.start()
    try:
        assert entered.wait(30)
        with pytest.raises(BusyError) as caught:
            agent.understand(text="waiting in line")
        assert caught.value.code == "busy"
    finally:
        release.set()
        holder.join(30)
    assert agent.understand(text="served once the slot is free").topic is not None


def _hold(agent: Agent, entered: threading.Event, release: threading.Event) -> None:
    with agent._slot():  # what a long call does: hold the only model slot
        entered.set()
        release.wait(30)
