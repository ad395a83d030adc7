"""Whatever the caller hands the agent becomes one ``Post`` and its media files, through ingest's own gate.

Accepted: a ``Post``; a dict or JSON text in postlens' native shape (``Post.to_dict()``, id fields
optional); media files (paths, or ``MediaInput`` bytes from an upload) plus text. Every local file
goes through ``MediaStore.add_file`` exactly as ``postlens ingest`` does: confined to a root (a part
of a post: ``media_root`` or the part's own root; a file passed by path: its own folder, so a
symlink leading elsewhere is refused), sniffed from its bytes (the name's claim must agree), size
limits per kind checked before a byte is copied, then copied into a private scratch folder that
the decoders read. Nothing is written to the workspace.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from postlens.agent.insight import Problem
from postlens.errors import InputError, MediaError
from postlens.store.media_gate import MediaProblem, shown
from postlens.store.media_store import MediaStore, StoredMedia
from postlens.types import (
    INVALID_POST_REASONS,
    MediaPart,
    Modality,
    Post,
    extract_entities,
    validate_post,
)

AGENT_SOURCE = "agent"
MAX_JSON_CHARS = 10_000_000
"""A post given as JSON text larger than this is refused before parsing (a post is not 10 MB of JSON)."""


@dataclass(frozen=True)
class MediaInput:
    """A media file given as bytes (an HTTP upload): ``filename`` is only a name (its folder is ignored)."""

    data: bytes
    filename: str = "upload"


@dataclass
class GatedMedia:
    """One media file that passed the gate: ``path`` is the private copy the decoders read."""

    index: int
    name: str
    path: Path
    stored: StoredMedia

    @property
    def kind(self) -> Modality:
        return self.stored.kind


@dataclass
class AgentPost:
    post: Post
    media: list[GatedMedia] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


PostInput = Post | Mapping[str, Any] | str | None
FileInput = str | os.PathLike[str] | MediaInput


def read_input(post: PostInput = None, *, files: Sequence[FileInput] = (), text: str | None = None,
               media_root: str | os.PathLike[str] | None = None, store: MediaStore) -> AgentPost:
    """One ``AgentPost``; raises InputError (the post cannot be read) or MediaError (a file refused, with its code)."""
    base, named = _as_post(post, text, media_root)
    if text is not None and post is not None:
        base.text = text if not base.text.strip() else f"{base.text}\n{text}"
    if not base.hashtags and not base.mentions and base.text:
        base.hashtags, base.mentions, base.urls = extract_entities(base.text)
    out = AgentPost(post=base)
    for position, part in enumerate(base.media):
        gated = _gate_part(part, position, store, media_root, out.problems)
        if gated is not None:
            out.media.append(gated)
    for extra in files:
        out.media.append(_gate_file(extra, len(base.media) + len(out.media), store))
    base.media = [MediaPart(kind=m.kind, path=m.stored.path, sha256=m.stored.sha256, mime=m.stored.mime,
                            bytes=m.stored.bytes, width=m.stored.width, height=m.stored.height,
                            duration_s=m.stored.duration_s, source_path=m.name) for m in out.media]
    for i, gated in enumerate(out.media):
        gated.index = i
    if not named:  # an id from the content: text and every file's bytes
        base.native_id = _content_id("\n".join([base.text, *(m.stored.sha256 for m in out.media)]))
    if not base.text.strip() and not out.media:
        raise InputError("the post has neither text nor a readable media file: give text, a post, or media files"
                         + (f" ({'; '.join(p.message for p in out.problems)})" if out.problems else ""),
                         code="empty_post")
    return out


def _as_post(post: PostInput, text: str | None, media_root: Any) -> tuple[Post, bool]:
    """The post (a copy: the caller's object is never changed) and whether it came with its own id."""
    if post is None:
        return Post(source=AGENT_SOURCE, native_id="", platform="unknown", created_at=None, text=text or ""), False
    if isinstance(post, Post):
        copy = replace(post, media=list(post.media), hashtags=list(post.hashtags), mentions=list(post.mentions),
                       urls=list(post.urls), labels=dict(post.labels))
        return _checked(copy), True
    if isinstance(post, str):
        if len(post) > MAX_JSON_CHARS:
            raise InputError(f"the post JSON is {len(post):,} characters, over {MAX_JSON_CHARS:,}", code="too_large")
        try:
            post = json.loads(post)
        except json.JSONDecodeError as exc:
            raise InputError(f"the post is not valid JSON: {exc}", code="bad_json") from None
        except RecursionError:
            raise InputError("the post JSON is nested too deeply to be a post", code="bad_json") from None
    if not isinstance(post, Mapping):
        raise InputError(f"a post is a Post, a JSON object or its text; got {type(post).__name__}", code="bad_json")
    named = post.get("native_id") not in (None, "")
    return _from_dict(dict(post), media_root), named


def _from_dict(record: dict[str, Any], media_root: Any) -> Post:
    from postlens.sources.native import BadRecord, post_from_dict
    from postlens.values import repair_post

    record.setdefault("source", AGENT_SOURCE)
    record.setdefault("platform", "unknown")
    if record.get("native_id") in (None, ""):
        record["native_id"] = "pending"  # replaced by an id from the content once the media are read
    if record.get("id") is not None and record["id"] != f"{record['source']}:{record['native_id']}":
        record.pop("id")  # a given id that disagrees with source:native_id names nothing we can check
    try:
        post = post_from_dict(record, Path(media_root) if media_root is not None else None)
    except BadRecord as exc:
        raise InputError(f"the post cannot be read: {exc}", code=exc.code) from None
    repair_post(post)
    return _checked(post)


def _checked(post: Post) -> Post:
    code = validate_post(post)
    if code is not None and code != "empty_post":  # media files may come separately
        raise InputError(f"the post cannot be used: {INVALID_POST_REASONS.get(code, code)}", code=code)
    return post


def _content_id(content: str) -> str:
    return hashlib.sha256(content.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _gate_part(part: MediaPart, position: int, store: MediaStore, media_root: Any,
               problems: list[Problem]) -> GatedMedia | None:
    """A part of a given post: its local file confined to the part's root (or ``media_root``); a URL is not fetched."""
    if part.source_path is None and not (part.url or "").startswith("file:"):
        if part.url:
            problems.append(Problem(code="media_remote", message=f"media part {position + 1} is a URL "
                                    f"({shown(part.url)}): the agent never fetches URLs; pass the file", part=f"post media[{position}]"))
            return None
    root = part.root if part.root is not None else (os.fspath(media_root) if media_root is not None else None)
    copy = MediaPart(kind=part.kind, url=part.url, source_path=part.source_path, root=root)
    try:
        stored = store.add_part(copy)
    except MediaProblem as problem:
        raise MediaError(f"post media part {position + 1}: {problem.reason}", code=problem.code) from None
    if stored is None:
        return None
    return GatedMedia(position, Path(part.source_path or part.url or "media").name, store.root / stored.path, stored)


def _gate_file(item: FileInput, position: int, store: MediaStore) -> GatedMedia:
    """A file passed by the caller: confined to its own folder (bytes: written to the scratch folder first)."""
    if isinstance(item, MediaInput):
        return _gate_bytes(item, position, store)
    name = os.fspath(item)
    if not isinstance(name, str) or not name:
        raise MediaError(f"media file {shown(name)}: give a file path", code="media_bad_name")
    absolute = os.path.abspath(name)
    try:
        stored = store.add_file(absolute, os.path.dirname(absolute))
    except MediaProblem as problem:
        raise MediaError(problem.reason, code=problem.code) from None
    return GatedMedia(position, os.path.basename(absolute), store.root / stored.path, stored)


def _gate_bytes(item: MediaInput, position: int, store: MediaStore) -> GatedMedia:
    largest = max(store.limits.values())
    safe_name = Path(item.filename.replace("\\", "/")).name or "upload"
    if len(item.data) > largest:
        raise MediaError(f"upload {shown(safe_name)} is {len(item.data):,} bytes, over the largest media limit "
                         f"of {largest:,} bytes", code="media_too_large")
    inbox = store.root / "uploads"
    inbox.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(item.data).hexdigest()
    target = inbox / f"{digest[:32]}{Path(safe_name).suffix[:12]}"
    target.write_bytes(item.data)
    try:
        stored = store.add_file(str(target), str(inbox))
    except MediaProblem as problem:
        raise MediaError(problem.reason.replace(str(target), safe_name), code=problem.code) from None
    finally:
        target.unlink(missing_ok=True)
    return GatedMedia(position, safe_name, store.root / stored.path, stored)
