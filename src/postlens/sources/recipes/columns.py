"""Reading a recipe file's header by the names in it, never by position.

Real releases of one dataset disagree on column order and spelling (the MediaEval 2016 test file puts
``username`` where the dev file has ``image_id(s)``; the 2015 files say ``tweetId``). A recipe states
the columns it knows in a ``HeaderSpec``; ``HeaderSpec.locate`` finds each one in the header, in any
order and in any of its known spellings, and raises a ``SourceError`` naming the file, the columns
found and the columns expected when the header is not one it knows: a missing required column, an
unknown column, a column given twice, or a first line that is data rather than a header. Guessing a
layout is how usernames became events; refusing with a clear message is the only safe answer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from postlens.errors import SourceError

_IGNORED = re.compile(r"[\s_\-()]+")
_DATA_LIKE = re.compile(r"^\s*-?\d[\d.,:]*\s*$")


def header_key(name: str) -> str:
    """The comparison key of a column name: case, spaces, ``_``, ``-`` and ``(s)`` brackets ignored.

    ``image_id(s)``, ``imageId(s)`` and ``imageIds`` all become ``imageids``; ``tweetId`` -> ``tweetid``.
    """
    return _IGNORED.sub("", name.lstrip("\ufeff").lower())


@dataclass(frozen=True)
class HeaderSpec:
    """The columns a recipe file may have: ``field -> accepted spellings`` (first = the documented one).

    ``required`` fields must be present; the others may be absent. With ``allow_unknown`` False, a
    column matching no field is refused (a misspelt optional column would otherwise be lost silently).
    """

    what: str
    fields: Mapping[str, tuple[str, ...]]
    required: tuple[str, ...]
    allow_unknown: bool = False
    hint: str = ""
    _keys: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        keys: dict[str, str] = {}
        for name, spellings in self.fields.items():
            for spelling in (name, *spellings):
                keys[header_key(spelling)] = name
        object.__setattr__(self, "_keys", keys)

    def field_of(self, column: str) -> str | None:
        """The field a column name stands for, or None when it is not a known spelling."""
        return self._keys.get(header_key(column))

    def locate(self, header: Sequence[str], file: Path | str) -> dict[str, int]:
        """``field -> column index`` for every field present; raises ``SourceError`` otherwise."""
        cells = [cell.strip() for cell in header]
        found: dict[str, int] = {}
        unknown: list[str] = []
        twice: list[str] = []
        for index, column in enumerate(cells):
            name = self.field_of(column)
            if name is None:
                unknown.append(column)
            elif name in found:
                twice.append(f"{cells[found[name]]!r} and {column!r} both name {name}")
            else:
                found[name] = index
        missing = [name for name in self.required if name not in found]
        if not missing and not twice and (self.allow_unknown or not unknown):
            return found
        # no known name, and a number where a name should be: a file without its header line
        if not found and any(_DATA_LIKE.match(cell) for cell in cells):
            lead = "the first line is data, not a header line"
        else:
            problems = ["missing " + ", ".join(missing)] if missing else []
            if unknown and not self.allow_unknown:
                problems.append("unknown column(s) " + ", ".join(map(repr, unknown)))
            problems.extend(twice)
            lead = f"the {self.what} header is not one postlens knows ({'; '.join(problems)})"
        shown = ", ".join(repr(cell if len(cell) <= 40 else cell[:37] + "...") for cell in cells[:40]) or "none"
        raise SourceError(
            f"{file}: {lead}. Columns found: {shown}. "
            f"Expected columns, in any order: {self.describe()}.{(' ' + self.hint) if self.hint else ''}"
        )

    def describe(self) -> str:
        """``post_id (or tweetId), ...; optional: label`` for error messages and docs."""

        def one(name: str) -> str:
            spellings = [s for s in self.fields[name] if s != name]
            return f"{name} (or {'/'.join(spellings)})" if spellings else name

        required = [one(name) for name in self.fields if name in self.required]
        optional = [one(name) for name in self.fields if name not in self.required]
        text = ", ".join(required)
        if optional:
            text += "; optional: " + ", ".join(optional)
        if self.allow_unknown:
            text += "; other columns are kept"
        return text
