"""Importers: generic tables, platform JSON formats and named recipes for public datasets.

Importing this package registers every importer with ``base.register``.
"""

from postlens.sources import generic, mastodon, native, reddit, twitter  # noqa: F401
from postlens.sources.base import get_importer, known_importers
from postlens.sources.recipes import mediaeval2016, pheme, youtube_trending  # noqa: F401

__all__ = ["get_importer", "known_importers"]
