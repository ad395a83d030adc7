"""postlens: understand social-media posts in every modality through one agent.

From Python or a notebook: ``ws = postlens.open(path)`` (see ``postlens.library``), and the
scikit-learn estimators ``BaselineModel``, ``FusionModel``, ``StudentModel``, ``FineTunedTextModel``.
They load on first use, so ``import postlens`` stays light.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from postlens.types import Author, Engagement, MediaPart, Modality, Post, Rejected

if TYPE_CHECKING:
    from postlens.agent import Agent, AgentRequest, Insight, MediaInput
    from postlens.library import WorkspaceHandle, open, present
    from postlens.models.baselines import BaselineModel
    from postlens.models.distill import StudentModel
    from postlens.models.finetune import FineTunedTextModel
    from postlens.models.fusion import FusionModel
    from postlens.models.inputs import PostData, as_post_data

_LAZY = {
    "Agent": "postlens.agent", "AgentRequest": "postlens.agent", "Insight": "postlens.agent", "MediaInput": "postlens.agent",
    "open": "postlens.library", "present": "postlens.library", "WorkspaceHandle": "postlens.library",
    "BaselineModel": "postlens.models.baselines", "FusionModel": "postlens.models.fusion",
    "StudentModel": "postlens.models.distill", "FineTunedTextModel": "postlens.models.finetune",
    "PostData": "postlens.models.inputs", "as_post_data": "postlens.models.inputs",
}

__all__ = [
    "Agent",
    "AgentRequest",
    "Author",
    "BaselineModel",
    "Engagement",
    "FineTunedTextModel",
    "FusionModel",
    "Insight",
    "MediaInput",
    "MediaPart",
    "Modality",
    "Post",
    "PostData",
    "Rejected",
    "StudentModel",
    "WorkspaceHandle",
    "as_post_data",
    "open",
    "present",
]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'postlens' has no attribute {name!r}")
