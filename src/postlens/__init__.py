"""postlens: understand social-media posts in every modality through one agent."""

from postlens.types import Author, Engagement, MediaPart, Modality, Post, Rejected

__all__ = ["Author", "Engagement", "MediaPart", "Modality", "Post", "Rejected"]
__version__ = "0.1.0"
