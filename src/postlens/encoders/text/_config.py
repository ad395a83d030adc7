"""Helpers shared by text encoders: a short, stable tag of the settings that change the output."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def settings_tag(settings: dict[str, Any]) -> str:
    """8 hex digits of the JSON of ``settings``; goes into ``version`` so the feature cache never
    mixes outputs made with different preprocessing."""
    payload = json.dumps(settings, sort_keys=True, default=repr).encode()
    return hashlib.sha256(payload).hexdigest()[:8]
