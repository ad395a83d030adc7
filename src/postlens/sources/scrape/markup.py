"""Read the post markup of an HTML page with the stdlib parser: meta tags, JSON-LD scripts, microdata items.

``html.parser`` never raises on broken HTML, so neither does this: unclosed tags are closed at the
end, a stray end tag closes the nearest open element of that name or nothing. Hostile pages are
bounded: at most ``MAX_SCRIPTS`` JSON-LD scripts of ``MAX_SCRIPT_CHARS`` each, ``MAX_ITEMS``
microdata items, ``MAX_DEPTH`` nested elements tracked (deeper ones still give text), ``MAX_TEXT``
characters of text per property. What was cut is listed in ``Markup.notes``.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

MAX_SCRIPTS = 50
MAX_SCRIPT_CHARS = 1_000_000
MAX_ITEMS = 500
MAX_DEPTH = 256
MAX_TEXT = 100_000
MAX_META = 2000
_VOID = frozenset(
    ["area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr"]
)
_URL_ATTR = {
    "a": "href",
    "area": "href",
    "link": "href",
    "img": "src",
    "audio": "src",
    "video": "src",
    "source": "src",
    "embed": "src",
    "iframe": "src",
    "track": "src",
    "object": "data",
}
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]{1,40})""", re.IGNORECASE)


@dataclass
class Markup:
    meta: dict[str, list[str]] = field(default_factory=dict)
    """``og:*``, ``twitter:*``, ``article:*`` and other named meta tags -> their contents, in page order."""
    jsonld: list[str] = field(default_factory=list)
    """The text of each ``<script type="application/ld+json">``."""
    items: list[dict[str, Any]] = field(default_factory=list)
    """Top-level microdata items as JSON-LD-like dicts: ``{"@type": ..., prop: value or [values]}``."""
    canonical: str | None = None
    notes: list[str] = field(default_factory=list)


def decode_page(body: bytes, header_charset: str | None) -> tuple[str, list[str]]:
    """The page's text: charset from the header, else a BOM, else ``<meta charset>``, else UTF-8.

    An unknown charset name or bytes invalid in it do not fail the page: it is read as UTF-8 (or with
    replacement characters) and a note says so."""
    notes: list[str] = []
    charset = header_charset
    if body.startswith(codecs.BOM_UTF8):
        charset, body = "utf-8", body[3:]
    elif charset is None:
        found = _META_CHARSET.search(body[:4096])
        charset = found.group(1).decode("ascii") if found else "utf-8"
    try:
        codecs.lookup(charset)
    except LookupError:
        notes.append(f"unknown charset {charset!r}; read as UTF-8")
        charset = "utf-8"
    try:
        return body.decode(charset), notes
    except UnicodeDecodeError:
        notes.append(f"bytes not valid in {charset}; undecodable ones replaced")
        return body.decode(charset, "replace"), notes


def read_markup(html: str) -> Markup:
    parser = _Parser()
    parser.feed(html)
    parser.close()
    return parser.finish()


@dataclass
class _Open:
    tag: str
    item: dict[str, Any] | None = None
    """The microdata item this element opened (``itemscope``)."""
    prop: list[str] | None = None
    """The property names this element's text is the value of."""
    owner: dict[str, Any] | None = None
    text: list[str] | None = None


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out = Markup()
        self.stack: list[_Open] = []
        self.items: list[dict[str, Any]] = []  # open itemscope items, innermost last
        self.script: list[str] | None = None
        self.script_size = 0
        self.item_count = 0
        self.too_deep = 0

    # ------------------------------------------------------------ events

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name.lower(): value or "" for name, value in attrs}
        if tag == "script" and values.get("type", "").strip().lower() in ("application/ld+json", "application/json+ld"):
            if len(self.out.jsonld) < MAX_SCRIPTS:
                self.script, self.script_size = [], 0
            else:
                self._note(f"more than {MAX_SCRIPTS} JSON-LD scripts; the rest ignored")
        elif tag == "meta":
            self._meta(values)
        elif tag == "link" and "canonical" in values.get("rel", "").lower().split() and values.get("href"):
            self.out.canonical = self.out.canonical or values["href"].strip()
        if len(self.stack) >= MAX_DEPTH:
            self.too_deep += 1
            self._note(f"elements nested deeper than {MAX_DEPTH}; their microdata ignored")
            return
        self._microdata(tag, values)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self.script is not None:
            self.out.jsonld.append("".join(self.script))
            self.script = None
        for depth in range(len(self.stack) - 1, -1, -1):
            if self.stack[depth].tag == tag:
                while len(self.stack) > depth:
                    self._close(self.stack.pop())
                return

    def handle_data(self, data: str) -> None:
        if self.script is not None:
            self.script_size += len(data)
            if self.script_size > MAX_SCRIPT_CHARS:
                self._note(f"a JSON-LD script longer than {MAX_SCRIPT_CHARS:,} characters was ignored")
                self.script = None
            else:
                self.script.append(data)
            return
        for element in self.stack:
            if element.text is not None and sum(map(len, element.text)) < MAX_TEXT:
                element.text.append(data)

    def finish(self) -> Markup:
        while self.stack:
            self._close(self.stack.pop())
        return self.out

    # ------------------------------------------------------------ pieces

    def _meta(self, values: dict[str, str]) -> None:
        name = (values.get("property") or values.get("name") or "").strip().lower()
        content = values.get("content")
        if name and content is not None and sum(map(len, self.out.meta.values())) < MAX_META:
            self.out.meta.setdefault(name, []).append(content.strip())

    def _microdata(self, tag: str, values: dict[str, str]) -> None:
        props = values.get("itemprop", "").split() or None
        owner = self.items[-1] if self.items else None
        element = _Open(tag)
        if "itemscope" in values:
            if self.item_count >= MAX_ITEMS:
                self._note(f"more than {MAX_ITEMS} microdata items; the rest ignored")
            else:
                self.item_count += 1
                item: dict[str, Any] = {"@type": values.get("itemtype", "").strip()}
                if values.get("itemid"):
                    item["@id"] = values["itemid"].strip()
                if props and owner is not None:
                    for name in props:
                        _add(owner, name, item)
                else:  # an item that is no property of an enclosing one stands on its own
                    self.out.items.append(item)
                element.item = item
                self.items.append(item)
        elif props and owner is not None:
            attr = "content" if "content" in values else _URL_ATTR.get(tag)
            if tag == "time" and "datetime" in values:
                attr = "datetime"
            if tag in ("data", "meter") and "value" in values:
                attr = "value"
            if attr is not None and attr in values:
                for name in props:
                    _add(owner, name, values[attr].strip())
            elif tag not in _VOID:
                element.prop, element.owner, element.text = props, owner, []
        if tag not in _VOID:
            self.stack.append(element)

    def _close(self, element: _Open) -> None:
        if element.item is not None and self.items and self.items[-1] is element.item:
            self.items.pop()
        if element.prop and element.owner is not None and element.text is not None:
            text = " ".join("".join(element.text).split())[:MAX_TEXT]
            for name in element.prop:
                _add(element.owner, name, text)

    def _note(self, text: str) -> None:
        if text not in self.out.notes:
            self.out.notes.append(text)


def _add(item: dict[str, Any], name: str, value: Any) -> None:
    if name not in item:
        item[name] = value
    elif isinstance(item[name], list):
        item[name].append(value)
    else:
        item[name] = [item[name], value]
