"""Synthetic multimodal demo corpus with planted structure (``postlens demo-data``).

Import cost is kept low: PyAV and Pillow load only when :func:`generate_corpus` runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from postlens.demo.generator import CorpusSummary, generate_corpus
    from postlens.demo.plan import CorpusParams

__all__ = ["CorpusParams", "CorpusSummary", "generate_corpus"]


def __getattr__(name: str) -> Any:
    if name in ("CorpusSummary", "generate_corpus"):
        from postlens.demo import generator

        return getattr(generator, name)
    if name == "CorpusParams":
        from postlens.demo.plan import CorpusParams

        return CorpusParams
    raise AttributeError(f"module 'postlens.demo' has no attribute {name!r}")
