"""What the app keeps between requests: the workspace's agent (models loaded once), the lanes, the limits."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from postlens.agent import Agent, Insight, SearchResult
from postlens.errors import PostlensError
from postlens.serve.api.lanes import Lane
from postlens.serve.api.problems import RETRY_AFTER_SECONDS, ApiProblem, status_of
from postlens.serve.api.uploads import UploadChecker, private_folder


@dataclass
class ApiState:
    agent: Agent
    root: Path
    checker: UploadChecker
    models: Lane
    reads: Lane
    lock_wait: float | None

    def analyze(
        self,
        post: dict[str, Any] | None,
        files: Sequence[Path],
        text: str | None,
        similar: int | None,
        ocr: bool | None,
        names: Sequence[str] = (),
    ) -> Insight:
        """A post's media names resolve in an empty private folder: a client never reads the server's files.
        ``names``: the clients' names of ``files``, shown in the answer and in errors instead of the private paths."""
        empty = private_folder()
        shown = {str(path): name for path, name in zip(files, names)} | {
            path.name: name for path, name in zip(files, names)
        }
        try:
            insight = self.agent.understand(
                post, files=list(files), text=text, media_root=empty, similar=similar, ocr=ocr
            )
        except PostlensError as exc:
            raise _problem(exc, shown) from None
        finally:
            shutil.rmtree(empty, ignore_errors=True)
        for media in insight.media:
            media.name = shown.get(media.name, media.name)
        for problem in insight.problems:
            problem.message, problem.part = (
                _renamed(problem.message, shown),
                _renamed(problem.part or "", shown) or None,
            )
        return insight

    def search(self, text: str | None, image: Path | None, k: int, names: Sequence[str] = ()) -> SearchResult:
        shown = {str(image): names[0], image.name: names[0]} if image is not None and names else {}
        try:
            found = self.agent.search(text, image=image, k=k)
        except PostlensError as exc:
            raise _problem(exc, shown) from None
        found.query_image = shown.get(found.query_image or "", found.query_image)
        return found


def _problem(exc: PostlensError, shown: dict[str, str]) -> ApiProblem:
    """The library error as a problem, with the clients' file names in place of the private paths."""
    status = status_of(exc)
    retry = {"Retry-After": str(RETRY_AFTER_SECONDS)} if status == 503 else None
    return ApiProblem(status, exc.code, _renamed(str(exc), shown), headers=retry)


def _renamed(text: str, shown: dict[str, str]) -> str:
    for private in sorted(shown, key=len, reverse=True):  # whole paths before bare names
        text = text.replace(private, shown[private])
    return text
