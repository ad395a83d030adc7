"""Placeholder: filled in by its recipe."""
