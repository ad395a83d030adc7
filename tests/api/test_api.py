"""The HTTP API against a real uvicorn on 127.0.0.1: answers (analyze JSON and uploads, search, segments,
trends, posts) and refusals (no key, wrong key, oversized bodies and files, wrong and lying types, malformed
JSON, server paths in a post). Every refusal is a 4xx ``application/problem+json`` with a stable code, and
the server answers ``/healthz`` afterwards."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from _server import MAX_IMAGE, MAX_UPLOAD, ApiServer

from _agent_fixtures import AgentWorkspace
from postlens.agent import Insight, SearchResult

pytestmark = pytest.mark.slow
PNG_HEAD = b"\x89PNG\r\n\x1a\n"


def assert_problem(response: httpx.Response, status: int, code: str, *words: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body = response.json()
    assert body["status"] == status and body["code"] == code and body["type"].endswith(code), body
    assert body["title"] and body["detail"]
    for word in words:
        assert word in body["detail"], body["detail"]
    return body


@pytest.fixture(autouse=True)
def server_stays_up(api_server: ApiServer):
    yield
    assert api_server.alive(), api_server.output()[-3000:]


def test_health_and_openapi_need_no_key(api_server: ApiServer) -> None:
    health = httpx.get(f"{api_server.url}/healthz")
    assert health.status_code == 200 and health.json()["status"] == "ok" and health.json()["auth"] is True
    spec = httpx.get(f"{api_server.url}/openapi.json").json()
    assert {"/v1/analyze", "/v1/search", "/v1/segments", "/v1/trends", "/v1/posts/{post_id}"} <= set(spec["paths"])
    assert "multipart/form-data" in spec["paths"]["/v1/analyze"]["post"]["requestBody"]["content"]
    assert httpx.get(f"{api_server.url}/docs").status_code == 200


def test_a_missing_or_wrong_key_is_refused_before_the_body_is_read(api_server: ApiServer, api_key: str) -> None:
    missing = httpx.get(f"{api_server.url}/v1/segments")
    assert_problem(missing, 401, "unauthorized", "no API key")
    assert missing.headers["www-authenticate"] == "Bearer"
    wrong = httpx.get(f"{api_server.url}/v1/segments", headers={"Authorization": f"Bearer {api_key[:-1]}x"})
    assert_problem(wrong, 401, "unauthorized", "not valid")
    assert_problem(httpx.get(f"{api_server.url}/v1/segments", headers={"X-API-Key": ""}), 401, "unauthorized")
    big = httpx.post(
        f"{api_server.url}/v1/analyze", content=b"x" * (MAX_UPLOAD * 2), headers={"Content-Type": "application/json"}
    )
    assert_problem(big, 401, "unauthorized")  # the key first: an anonymous client learns nothing about limits
    assert httpx.get(f"{api_server.url}/v1/segments", headers={"X-API-Key": api_key}).status_code == 200


def test_analyze_a_json_post(client: httpx.Client, agent_workspace: AgentWorkspace) -> None:
    post_id, line = next((i, line) for i, line in agent_workspace.lines().items() if '"media":[]' in line)
    answer = client.post(
        "/v1/analyze", content=line, headers={"Content-Type": "application/json"}, params={"similar": 3}
    )
    assert answer.status_code == 200, answer.text
    insight = Insight.model_validate(answer.json())
    assert insight.post_id == post_id and insight.topic is not None and len(insight.similar) == 3
    assert insight.sentiment is not None and insight.modalities == ["text"]


def test_analyze_uploaded_media_plus_text(client: httpx.Client, agent_workspace: AgentWorkspace) -> None:
    image = agent_workspace.media(".png")[0]
    answer = client.post(
        "/v1/analyze",
        data={"text": "Dinner at the night market #streetfood"},
        files=[("files", ("../../../etc/dinner.png", image.read_bytes(), "image/png"))],
    )
    assert answer.status_code == 200, answer.text
    insight = Insight.model_validate(answer.json())
    assert insight.modalities == ["text", "image"] and insight.hashtags == ["streetfood"]
    assert insight.media[0].name == "dinner.png" and insight.media[0].mime == "image/png"
    assert insight.visual_labels and insight.topic is not None


def test_malformed_json_is_a_clear_400(client: httpx.Client) -> None:
    headers = {"Content-Type": "application/json"}
    assert_problem(
        client.post("/v1/analyze", content=b'{"text": "unclosed', headers=headers),
        400,
        "bad_json",
        "not valid JSON",
        "line 1",
    )
    assert_problem(client.post("/v1/analyze", content=b"\xff\xfe{}", headers=headers), 400, "bad_json")
    assert_problem(client.post("/v1/analyze", content=b"[1, 2]", headers=headers), 422, "bad_json", "JSON object")
    assert_problem(client.post("/v1/analyze", content=b"[" * 100_000, headers=headers), 400, "bad_json")
    assert_problem(client.post("/v1/analyze", json={"text": "x", "created_at": "sometime soon"}), 422, "bad_date")
    assert_problem(client.post("/v1/analyze", json={"text": "   "}), 422, "empty_post")
    form = client.post("/v1/analyze", data={"text": "hello", "post": "{oops"})
    assert_problem(form, 400, "bad_json", "'post' field")
    assert_problem(
        client.post("/v1/analyze", content=b"text=hi", headers={"Content-Type": "text/plain"}),
        415,
        "unsupported_content_type",
    )


def test_oversized_bodies_and_files_are_refused(api_server: ApiServer, client: httpx.Client) -> None:
    body = PNG_HEAD + b"\0" * (MAX_UPLOAD + 10)
    announced = client.post("/v1/analyze", files=[("files", ("big.png", body, "image/png"))])
    assert_problem(announced, 413, "body_too_large", f"{MAX_UPLOAD:,}")

    def chunks():  # no Content-Length: refused when the streamed bytes pass the limit
        yield b'{"text": "'
        for _ in range(40):
            yield b"a" * 100_000
        yield b'"}'

    streamed = client.post("/v1/analyze", content=chunks(), headers={"Content-Type": "application/json"})
    assert_problem(streamed, 413, "body_too_large")
    image = client.post(
        "/v1/analyze", files=[("files", ("photo.png", PNG_HEAD + b"\0" * (MAX_IMAGE + 1), "image/png"))]
    )
    body = assert_problem(image, 413, "media_too_large", "photo.png", f"{MAX_IMAGE:,}")
    assert body["file"] == "photo.png"
    many = client.post("/v1/analyze", files=[("files", (f"{i}.png", PNG_HEAD, "image/png")) for i in range(20)])
    assert many.status_code in (400, 413) and many.headers["content-type"].startswith("application/problem+json")


def test_files_of_the_wrong_type_are_refused_by_their_bytes(client: httpx.Client) -> None:
    text = client.post("/v1/analyze", files=[("files", ("notes.txt", b"just some notes", "text/plain"))])
    assert_problem(text, 415, "media_unknown_type", "notes.txt", "not a known image")
    script = client.post("/v1/analyze", files=[("files", ("cat.gif", b"#!/bin/sh\nrm -rf /\n", "image/gif"))])
    assert_problem(script, 415, "media_unknown_type", "cat.gif")
    svg = client.post(
        "/v1/analyze", files=[("files", ("logo.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/svg+xml"))]
    )
    assert_problem(svg, 415, "unsupported", "logo.svg", "SVG")
    empty = client.post("/v1/analyze", files=[("files", ("nothing.png", b"", "image/png"))])
    assert empty.status_code == 415 and empty.json()["code"] == "media_unknown_type"


def test_a_file_that_lies_about_its_type_is_refused(client: httpx.Client, agent_workspace: AgentWorkspace) -> None:
    png = agent_workspace.media(".png")[0].read_bytes()
    for name in ("clip.mp4", "song.mp3", "../../voice.wav"):  # the name alone says so (no Content-Type)
        by_name = client.post("/v1/analyze", files=[("files", (name, png, "application/octet-stream"))])
        assert_problem(
            by_name, 415, "media_mismatch", Path(name).name, f"the name says {Path(name).suffix}", "image/png"
        )
    by_header = client.post("/v1/analyze", files=[("files", ("upload", png, "audio/mpeg"))])
    assert_problem(by_header, 415, "media_mismatch", "audio/mpeg", "image/png")
    truncated = client.post("/v1/analyze", files=[("files", ("photo.png", png[:200], "image/png"))])
    assert 400 <= truncated.status_code < 500 or truncated.json()["problems"], truncated.text
    header_only = client.post(
        "/v1/analyze", files=[("files", ("fake.jpg", b"\xff\xd8\xff" + b"GIF89a" * 100, "image/jpeg"))]
    )
    assert_problem(header_only, 422, "media_corrupt", "fake.jpg", "image/jpeg")
    fake_video = client.post(
        "/v1/analyze", files=[("files", ("clip.mp4", b"\0\0\0\x18ftypmp42" + b"\0" * 5000, "video/mp4"))]
    )
    assert_problem(fake_video, 422, "media_corrupt", "clip.mp4")


def test_a_post_never_reads_files_of_the_server(
    client: httpx.Client, agent_workspace: AgentWorkspace, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.png"
    secret.write_bytes(agent_workspace.media(".png")[0].read_bytes())
    for name in (str(secret), "../../../../../../" + str(secret), f"file://{secret}"):
        post = {"text": "look", "media": [{"kind": "image", "source_path": name}]}
        refused = client.post("/v1/analyze", json=post)
        assert 400 <= refused.status_code < 500, refused.text
        assert refused.json()["code"].startswith("media_"), refused.json()


def test_search_segments_trends_and_posts(client: httpx.Client, agent_workspace: AgentWorkspace) -> None:
    found = SearchResult.model_validate(
        client.get("/v1/search", params={"q": "live concert with the band", "k": 5}).json()
    )
    topics = agent_workspace.topic_of()
    assert len(found.hits) == 5 and sum(topics[h.post_id] == "music" for h in found.hits) >= 4
    assert_problem(client.get("/v1/search"), 422, "invalid_request", "q")
    image = agent_workspace.media(".png")[0]
    by_image = client.post(
        "/v1/search", data={"k": "3"}, files=[("image", ("../" + image.name, image.read_bytes(), "image/png"))]
    )
    assert by_image.status_code == 200, by_image.text
    pictured = SearchResult.model_validate(by_image.json())
    assert pictured.query_image == image.name and len(pictured.hits) == 3 and pictured.hits[0].similarity > 0.5
    assert_problem(
        client.post("/v1/search", files=[("image", ("a.txt", b"hello", "text/plain"))]), 415, "media_unknown_type"
    )
    segments = client.get("/v1/segments", params={"examples": 2}).json()
    assert segments["segmentation"] == "topics" and segments["topics"]
    assert sum(t["size"] for t in segments["topics"]) + segments["outliers"] == len(topics)
    assert all(len(t["examples"]) <= 2 and t["words"] for t in segments["topics"] if t["status"] == "active")
    assert_problem(client.get("/v1/segments", params={"name": "nope"}), 400, "config", "topics")
    trends = client.get("/v1/trends", params={"top": 5}).json()
    assert {s["source"] for s in trends["sources"]} >= {"hashtags"}
    assert all(len(s["terms"]) <= 5 for s in trends["sources"])
    assert_problem(client.get("/v1/trends", params={"state": "booming"}), 400, "config", "emerging")
    post_id, line = next(iter(agent_workspace.lines().items()))
    post = client.get(f"/v1/posts/{post_id}").json()
    assert post["id"] == post_id and post["text"] == json.loads(line)["text"] and "topics" in post["topics"]
    assert_problem(client.get("/v1/posts/demo:no-such-post"), 404, "post_not_found", "demo:no-such-post")
    assert_problem(client.get("/v1/nothing-here"), 404, "not_found")
