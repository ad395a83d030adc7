"""Re-export: ``settings_tag`` now lives in :mod:`postlens.encoders.base`, shared by every encoder."""

from __future__ import annotations

from postlens.encoders.base import settings_tag, settings_version

__all__ = ["settings_tag", "settings_version"]
