"""How one DuckDB value (as the Python client returns it) is written: table cell, CSV field, JSON.

Every type prints, nothing is rounded or dropped:

- integers of any size (HUGEINT, UHUGEINT) and DECIMALs are written digit for digit, as JSON numbers too;
- floats use the shortest text that reads back the same; NaN and infinities are the strings ``"NaN"``,
  ``"Infinity"``, ``"-Infinity"`` (JSON has no such numbers);
- BLOBs are text with ``\\xHH`` for every byte outside printable ASCII (and for ``\\``), as DuckDB
  writes them, so ``'...'::BLOB`` reads them back;
- dates, times and timestamps are ISO 8601 (with the offset when the value has a zone); UUIDs and
  intervals are their text;
- LIST, STRUCT, MAP, ARRAY and UNION values are JSON (map keys become strings); in a table or a CSV
  field they are that JSON text;
- NULL is JSON ``null``, an empty CSV field (an empty string is written ``""``), and ``NULL`` in a table.

Known limit of DuckDB's Python client: ``infinity`` DATE/TIMESTAMP values reach Python as the
largest/smallest date it has (9999-12-31 / 0001-01-01); cast them to VARCHAR in the query to see them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import orjson

_CONTROL = {c: f"\\x{c:02x}" for c in [*range(0x00, 0x20), *range(0x7F, 0xA0)] if chr(c) not in "\n\t"}
_CONTROL.update({c: f"\\u{c:04x}" for c in [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]})  # bidi overrides


def terminal_safe(text: str) -> str:
    """Control characters and bidi overrides made visible (``\\x1b``), so data cannot drive the terminal."""
    return text.translate(_CONTROL)


def cell_text(value: Any) -> str | None:
    """The text of one value; None for NULL."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, list, tuple)):
        return json_value(value)
    return _scalar_text(value)


def csv_line(values: Sequence[Any]) -> str:
    """One CSV record ending in a newline: NULL is an empty field, an empty string is ``""``."""
    fields = []
    for value in values:
        text = cell_text(value)
        if text is None:
            fields.append("")
        elif text == "" or any(c in text for c in ',"\r\n') or text != text.strip():
            fields.append('"' + text.replace('"', '""') + '"')
        else:
            fields.append(text)
    return ",".join(fields) + "\n"


def json_line(columns: Sequence[str], values: Sequence[Any]) -> str:
    """One JSON object (no newline); ``columns`` must be unique."""
    return "{" + ",".join(f"{_json_string(c)}:{json_value(v)}" for c, v in zip(columns, values)) + "}"


def json_value(value: Any) -> str:
    """Strict JSON text of one value (see the module docstring)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return orjson.dumps(value).decode() if math.isfinite(value) else _json_string(_scalar_text(value))
    if isinstance(value, Decimal):
        return format(value, "f") if value.is_finite() else _json_string(str(value))
    if isinstance(value, str):
        return _json_string(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{_json_string(_key_text(k))}:{json_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(json_value(v) for v in value) + "]"
    return _json_string(_scalar_text(value))


def _key_text(key: Any) -> str:
    text = cell_text(key)
    return "NULL" if text is None else text


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return repr(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "".join(chr(b) if 0x20 <= b < 0x7F and b != 0x5C else f"\\x{b:02X}" for b in bytes(value))
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    return str(value)  # UUID, timedelta (INTERVAL), BIT and anything newer


def _json_string(text: str) -> str:
    return orjson.dumps(text).decode()
