"""Segments (topics) of posts over their fused multimodal representation."""
