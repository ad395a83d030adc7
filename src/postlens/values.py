"""What a stored value may be: one set of rules for counts, text and dates, shared by every importer and the store.

Importers parse with these (``FieldNotes``) so that a bad value costs that one field, not the record:
the field is dropped and the problem travels with the post in ``Post.notes`` (a ``Rejected`` with
``post_kept=True``), which the store writes to the quarantine. ``repair_post`` applies the same rules
to a whole post at the store's door, so a post built by any code (a recipe, a notebook) cannot make
the writer fail.

Counts (likes, shares, comments, views, followers) are whole numbers in ``0..2**63-1``. Accepted
spellings: ints, integral floats, and strings such as ``1234``, ``+12``, ``1,234``, ``1 234`` (also
with a no-break or thin space; groups of three digits), ``12.0``, ``1e3``, and the display
abbreviations ``1.2K`` = 1,200, ``3M`` = 3,000,000, ``2B`` = 2,000,000,000 (rounded to the nearest
whole number). Empty strings and ``null``, ``none``, ``nan``, ``nat``, ``n/a``, ``na``, ``-`` (any case)
are "no value", as in CSV exports.
Everything else is a problem (code ``bad_count``): booleans, lists, objects, NaN and infinite
floats, negative or fractional numbers, ``abc``, values above 2**63-1.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import orjson

from postlens.types import ENGAGEMENT_COUNTS, MEDIA_KINDS, Engagement, MediaPart, Modality, Post, Rejected

INT64_MAX = 2**63 - 1
INT32_MAX = 2**31 - 1
EARLIEST_POST = datetime(1990, 1, 1, tzinfo=timezone.utc)
"""A created_at before this is a sentinel (Unix 0, year 1) or a parsing accident, not a social post."""
FUTURE_SKEW = timedelta(days=1)
"""How far past the import time a date may be (clock skew, a local time mislabelled as UTC)."""
RAW_VALUE_CHARS = 300
JSON_DEPTH = 100
"""Deeper parts of a raw record are replaced by a marker when it is stored as JSON text."""

_NULL_TEXT = frozenset({"", "null", "none", "nan", "nat", "n/a", "na", "-"})
_COUNT = re.compile(
    r"(?P<sign>[+-]?)"
    r"(?P<num>[0-9]{1,3}(?:(?P<sep>[, \u00a0\u2009\u202f])[0-9]{3})(?:(?P=sep)[0-9]{3})*(?:\.[0-9]+)?"
    r"|[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?|\.[0-9]+(?:[eE][+-]?[0-9]+)?)"
    r" ?(?P<suffix>[kKmMbB]?)"
)
_SCALE = {"": 1, "k": 1_000, "m": 1_000_000, "b": 1_000_000_000}
_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SURROGATE = re.compile("[\ud800-\udfff]")


class BadValue(ValueError):
    """A value a field cannot hold; ``code`` becomes the quarantine code."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def show(value: Any, limit: int = 60) -> str:
    """A short printable form of a value for a reason text (never raises, whatever the value)."""
    if isinstance(value, str):
        text = repr(value if len(value) <= limit else value[:limit])
        return text + (f"... ({len(value):,} characters)" if len(value) > limit else "")
    if isinstance(value, (dict, list, tuple)):
        return f"a {type(value).__name__} of {len(value)} items"
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - a hostile __repr__ must not break the message
        text = f"a {type(value).__name__}"
    return text if len(text) <= limit else text[:limit] + "..."


# ---------------------------------------------------------------- counts


def parse_count(value: Any, *, maximum: int = INT64_MAX) -> int | None:
    """A count as an int in ``0..maximum``, None for no value; raises ``BadValue`` (see the module doc)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise BadValue("bad_count", f"{value!r} is a true/false value, not a count")
    if isinstance(value, int):
        return _in_range(value, value, maximum)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise BadValue("bad_count", f"{value!r} is not a finite number")
        if not value.is_integer():
            raise BadValue("bad_count", f"{value!r} is not a whole number")
        return _in_range(int(value), value, maximum)
    if isinstance(value, Decimal):
        return _from_decimal(value, value, 1, maximum)
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if isinstance(value, str):
        return _count_from_text(value, maximum)
    described = show(value) if isinstance(value, (dict, list, tuple)) else f"{show(value)} ({type(value).__name__})"
    raise BadValue("bad_count", f"{described} is not a count")


def _count_from_text(value: str, maximum: int) -> int | None:
    if value.isdigit() and value.isascii() and len(value) < 19:  # the common case, fast
        return _in_range(int(value), value, maximum)
    text = value.strip()
    if text.lower() in _NULL_TEXT:
        return None
    match = _COUNT.fullmatch(text) if len(text) <= 40 else None
    if match is None:
        raise BadValue("bad_count", f"{show(value)} is not a count (expected e.g. 1234, 1,234 or 1.2K)")
    number = match["num"]
    if match["sep"]:
        number = number.replace(match["sep"], "")
    decimal = Decimal(number)
    if match["sign"] == "-" and decimal != 0:
        raise BadValue("bad_count", f"{show(value)} is negative")
    return _from_decimal(decimal, value, _SCALE[match["suffix"].lower()], maximum)


def _from_decimal(decimal: Decimal, original: Any, scale: int, maximum: int) -> int:
    if not decimal.is_finite():
        raise BadValue("bad_count", f"{show(original)} is not a finite number")
    if decimal < 0:
        raise BadValue("bad_count", f"{show(original)} is negative")
    if decimal.adjusted() > 20:  # far above any maximum: do not build a huge int
        raise BadValue("bad_count", f"{show(original)} is out of range (at most {maximum:,})")
    scaled = decimal * scale
    if scale == 1:
        if scaled != scaled.to_integral_value():
            raise BadValue("bad_count", f"{show(original)} is not a whole number")
        whole = int(scaled)
    else:  # "1.2345K" is a display rounding already: the nearest whole number
        whole = int(scaled.quantize(Decimal(1), rounding="ROUND_HALF_UP"))
    return _in_range(whole, original, maximum)


def _in_range(number: int, original: Any, maximum: int) -> int:
    if number < 0:
        raise BadValue("bad_count", f"{show(original)} is negative")
    if number > maximum:
        raise BadValue("bad_count", f"{show(original)} is out of range (at most {maximum:,})")
    return number


# ---------------------------------------------------------------- text


def clean_text(value: str) -> tuple[str, str | None]:
    """``value`` without control characters (tab, newline and CR stay) and with lone surrogates
    replaced by U+FFFD (a valid surrogate pair becomes its character); and what was done, or None."""
    if _BAD_CHARS.search(value) is None:
        return value, None
    done = []
    if _SURROGATE.search(value):
        before = value.count("\ufffd")
        value = value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
        lone = value.count("\ufffd") - before
        if lone:
            done.append(f"replaced {lone} lone surrogate(s) with U+FFFD")
    controls = _CONTROL.findall(value)
    if controls:
        value = _CONTROL.sub("", value)
        names = sorted({f"U+{ord(c):04X}" for c in controls})
        done.append(f"removed {len(controls)} control character(s) ({', '.join(names[:5])})")
    return value, "; ".join(done) or None


def safe_text(value: str) -> str:
    """Any str made storable (no lone surrogates, no NUL): for messages, paths and reasons."""
    return clean_text(value)[0] if _BAD_CHARS.search(value) else value


def json_text(value: Any) -> str:
    """``value`` as JSON text, whatever it holds: lone surrogates replaced, keys made strings, parts
    nested deeper than ``JSON_DEPTH`` replaced by a marker, unknown types by their ``str``."""
    try:
        return orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
    except (TypeError, ValueError, RecursionError):
        return orjson.dumps(_json_safe(value, JSON_DEPTH)).decode()


def _json_safe(value: Any, depth: int) -> Any:
    if isinstance(value, str):
        return safe_text(value)
    if value is None or isinstance(value, (bool, int, float)):
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > INT64_MAX:
            return str(value) if value.bit_length() < 10_000 else f"<an int of {value.bit_length()} bits>"
        return value
    if isinstance(value, (dict, list, tuple)):
        if depth <= 0:
            return f"<nested deeper than {JSON_DEPTH} levels: not kept>"
        if isinstance(value, dict):
            return {safe_text(str(k)): _json_safe(v, depth - 1) for k, v in value.items()}
        return [_json_safe(v, depth - 1) for v in value]
    try:
        return safe_text(str(value))
    except Exception:  # noqa: BLE001
        return f"<a {type(value).__name__}>"


# ---------------------------------------------------------------- per-record notes


class FieldNotes:
    """Collects the field problems of one record while its post is built; ``notes`` go to ``Post.notes``.

    Each method returns the usable value (or None / empty) and records why a value was dropped.
    """

    __slots__ = ("notes",)

    def __init__(self) -> None:
        self.notes: list[Rejected] = []

    def add(self, code: str, field: str, reason: str, value: Any = None) -> None:
        raw = None if value is None else show(value, RAW_VALUE_CHARS)
        self.notes.append(Rejected("", None, code, f"{field}: {reason}", raw=raw, post_kept=True))

    def count(self, field: str, value: Any, *, maximum: int = INT64_MAX) -> int | None:
        try:
            return parse_count(value, maximum=maximum)
        except BadValue as exc:
            self.add(exc.code if maximum == INT64_MAX else "bad_value", field, exc.reason + "; dropped", value)
            return None

    def text(self, field: str, value: Any) -> str:
        """Free text: numbers become their digits; lists, objects and booleans are dropped."""
        if value is None:
            return ""
        if isinstance(value, str):
            text = value
        elif isinstance(value, bytes):
            text = value.decode("utf-8", errors="replace")
            if "\ufffd" in text and b"\xef\xbf\xbd" not in value:
                self.add("bad_text", field, "bytes that are not UTF-8; undecodable bytes replaced", value)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            if isinstance(value, float) and not math.isfinite(value):
                return ""  # NaN: pandas' "no value"
            text = str(value)
        else:
            self.add("bad_value", field, f"expected text, got {type(value).__name__}; dropped", value)
            return ""
        cleaned, done = clean_text(text)
        if done:
            self.add("bad_text", field, done, text)
        return cleaned

    def optional_text(self, field: str, value: Any) -> str | None:
        """A short text field (handle, language, id of an author): None when absent or empty."""
        text = self.text(field, value).strip()
        return text or None

    def obj(self, field: str, value: Any) -> dict[str, Any]:
        """A nested object; anything else (but null) is noted and read as empty."""
        if isinstance(value, dict):
            return value
        if value is not None and value != "" and value != []:
            self.add("bad_value", field, f"expected an object, got {type(value).__name__}; ignored", value)
        return {}

    def objs(self, field: str, value: Any) -> list[dict[str, Any]]:
        """A list of objects; items that are not objects are noted and skipped."""
        if value is None or value == "":
            return []
        if not isinstance(value, list):
            self.add("bad_value", field, f"expected a list, got {type(value).__name__}; ignored", value)
            return []
        good = [item for item in value if isinstance(item, dict)]
        if len(good) != len(value):
            self.add("bad_value", field, f"{len(value) - len(good)} item(s) are not objects; skipped", value)
        return good

    def flag(self, field: str, value: Any) -> bool | None:
        if value is None or isinstance(value, bool):
            return value
        text = str(value).strip().lower() if isinstance(value, (str, int, float)) else None
        if text in ("true", "1", "yes", "y", "t"):
            return True
        if text in ("false", "0", "no", "n", "f"):
            return False
        if text in _NULL_TEXT:
            return None
        self.add("bad_value", field, "expected true/false; dropped", value)
        return None

    def seconds(self, field: str, value: Any) -> float | None:
        """A duration in seconds: a finite non-negative number."""
        if value is None or value == "":
            return None
        try:
            number = float(value) if not isinstance(value, bool) else math.nan
        except (TypeError, ValueError, OverflowError):
            number = math.nan
        if not math.isfinite(number) or number < 0:
            self.add("bad_value", field, "expected a duration in seconds; dropped", value)
            return None
        return number


# ---------------------------------------------------------------- the store's door


def plausible_date(moment: datetime, now: datetime) -> str | None:
    """Why ``moment`` cannot be a post's time (before 1990, or after ``now`` + a day), or None."""
    if moment < EARLIEST_POST:
        return f"{moment.isoformat()} is before {EARLIEST_POST.year} (a sentinel such as Unix 0?)"
    if moment > now + FUTURE_SKEW:
        return f"{moment.isoformat()} is in the future (the import ran at {now.isoformat(timespec='seconds')})"
    return None


def repair_post(post: Post, now: datetime | None = None) -> Post:
    """Make every field of ``post`` storable, in place: bad values are dropped into ``post.notes``.

    Idempotent (a second call finds nothing). Ids are not repaired: an id that cannot be stored is
    ``validate_post``'s ``bad_id``, since changing an id would merge it with another post.
    """
    now = now or datetime.now(timezone.utc)
    return post if _looks_clean(post, now) else _repair_fields(post, now)


def _repair_fields(post: Post, now: datetime) -> Post:
    notes = FieldNotes()
    post.text = notes.text("text", post.text)
    post.language = notes.optional_text("language", post.language)
    author = post.author
    author.id = notes.optional_text("author.id", author.id)
    author.handle = notes.optional_text("author.handle", author.handle)
    if author.followers is not None and not _good_int(author.followers, INT64_MAX):
        author.followers = notes.count("author.followers", author.followers)
    if author.verified is not None and not isinstance(author.verified, bool):
        author.verified = notes.flag("author.verified", author.verified)
    post.hashtags = _strings(notes, "hashtags", post.hashtags)
    post.mentions = _strings(notes, "mentions", post.mentions)
    post.urls = _strings(notes, "urls", post.urls)
    post.labels = _labels(notes, post.labels)
    post.created_at = _created_at(notes, post.created_at, now)
    post.media = [_media_part(notes, f"media[{i}]", part) for i, part in enumerate(post.media)
                  if _is_part(notes, f"media[{i}]", part)]
    post.engagement = [snap for i, snap in enumerate(post.engagement)
                       if _snapshot(notes, f"engagement[{i}]", snap, now)]
    post.notes.extend(notes.notes)
    return post


def _looks_clean(post: Post, now: datetime) -> bool:
    """True when no field needs repair (the common case, checked quickly); False means "look closer"."""
    author = post.author
    strings = [post.text, post.language or "", author.id or "", author.handle or "", *post.hashtags,
               *post.mentions, *post.urls]
    labels = post.labels
    if type(labels) is not dict:
        return False
    strings += labels.keys()
    strings += labels.values()
    try:
        if _BAD_CHARS.search("\t".join(strings)):
            return False
    except TypeError:  # something that is not a string
        return False
    if not all(type(s) is str for s in strings[4:]) or type(post.text) is not str:
        return False
    if not (author.followers is None or _good_int(author.followers, INT64_MAX)):
        return False
    if not (author.verified is None or type(author.verified) is bool):
        return False
    for value in (post.language, author.id, author.handle):
        if value is not None and (type(value) is not str or not value.strip() or value != value.strip()):
            return False
    if type(post.hashtags) is not list or type(post.mentions) is not list or type(post.urls) is not list:
        return False
    if not all(strings[4:4 + len(post.hashtags) + len(post.mentions) + len(post.urls)]):
        return False
    moment = post.created_at
    if moment is not None and (not isinstance(moment, datetime) or moment.tzinfo is None
                               or plausible_date(moment, now) is not None):
        return False
    if post.media:
        return False  # parts are few and varied: the full check
    for snap in post.engagement:
        if not isinstance(snap, Engagement) or not isinstance(snap.observed_at, datetime):
            return False
        if snap.observed_at.tzinfo is None or not snap.observed_inferred:
            return False
        counts = (snap.likes, snap.shares, snap.comments, snap.views)
        if all(count is None for count in counts):
            return False
        for count in counts:
            if count is not None and not _good_int(count, INT64_MAX):
                return False
    return True


def _good_int(value: Any, maximum: int) -> bool:
    return type(value) is int and 0 <= value <= maximum


def _strings(notes: FieldNotes, field: str, values: Any) -> list[str]:
    if not isinstance(values, (list, tuple)):
        if values:
            notes.add("bad_value", field, f"expected a list, got {type(values).__name__}; dropped", values)
        return []
    if all(type(v) is str and not _BAD_CHARS.search(v) and v for v in values):
        return list(values)
    out = []
    for index, value in enumerate(values):
        text = notes.optional_text(f"{field}[{index}]", value)
        if text:
            out.append(text)
    return out


def _labels(notes: FieldNotes, labels: Any) -> dict[str, str]:
    if not isinstance(labels, dict):
        if labels:
            notes.add("bad_value", "labels", f"expected an object, got {type(labels).__name__}; dropped", labels)
        return {}
    if all(type(k) is str and type(v) is str and not _BAD_CHARS.search(k + v) for k, v in labels.items()):
        return labels
    out: dict[str, str] = {}
    for key, value in labels.items():
        name = notes.optional_text("label name", key)
        if not name:
            continue
        text = notes.optional_text(f"labels[{name}]", value)
        if text is not None:
            out[name] = text
    return out


def _created_at(notes: FieldNotes, moment: Any, now: datetime) -> datetime | None:
    if moment is None:
        return None
    if not isinstance(moment, datetime):
        notes.add("bad_value", "created_at", f"expected a date, got {type(moment).__name__}; dropped", moment)
        return None
    if moment.tzinfo is None:
        return moment  # validate_post reports this importer bug as naive_datetime
    why = plausible_date(moment, now)
    if why:
        notes.add("implausible_date", "created_at", why + "; dropped so it cannot distort time splits")
        return None
    return moment


def _is_part(notes: FieldNotes, field: str, part: Any) -> bool:
    if isinstance(part, MediaPart) and part.kind in MEDIA_KINDS:
        return True
    notes.add("bad_value", field, f"not a media part ({type(part).__name__}); dropped", part)
    return False


def _media_part(notes: FieldNotes, field: str, part: MediaPart) -> MediaPart:
    if not isinstance(part.kind, Modality):
        part.kind = Modality(part.kind)
    if part.url is not None:  # a remote address; local names (source_path) are the media store's to judge
        part.url = notes.optional_text(f"{field}.url", part.url)
    for name, maximum in (("width", INT32_MAX), ("height", INT32_MAX), ("bytes", INT64_MAX)):
        value = getattr(part, name)
        if value is not None and not _good_int(value, maximum):
            setattr(part, name, notes.count(f"{field}.{name}", value, maximum=maximum))
    duration = part.duration_s
    if duration is not None and not (type(duration) is float and math.isfinite(duration) and duration >= 0):
        part.duration_s = notes.seconds(f"{field}.duration_s", duration)
    return part


def _snapshot(notes: FieldNotes, field: str, snap: Any, now: datetime) -> bool:
    """Repair one engagement snapshot in place; False when it must be dropped."""
    if not isinstance(snap, Engagement) or not isinstance(snap.observed_at, datetime):
        notes.add("bad_value", field, "not an engagement snapshot with a date; dropped", snap)
        return False
    for name in ENGAGEMENT_COUNTS:
        value = getattr(snap, name)
        if value is not None and not _good_int(value, INT64_MAX):
            setattr(snap, name, notes.count(f"{field}.{name}", value))
    if snap.observed_at.tzinfo is None:
        snap.observed_at = snap.observed_at.replace(tzinfo=timezone.utc)
    if not snap.observed_inferred:
        why = plausible_date(snap.observed_at, now)
        if why:
            notes.add("implausible_date", f"{field}.observed_at",
                      f"{why}; the snapshot (likes={snap.likes}, shares={snap.shares}, comments={snap.comments}, "
                      f"views={snap.views}) was dropped")
            return False
    return any(getattr(snap, n) is not None for n in ENGAGEMENT_COUNTS)
