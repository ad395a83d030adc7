"""Placeholder: filled in by its importer."""
