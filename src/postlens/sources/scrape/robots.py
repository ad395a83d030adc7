"""robots.txt as RFC 9309 reads it: which paths one crawler may fetch from one host.

- Groups start with one or more ``user-agent`` lines; the group whose product token equals ours
  (case-insensitive; several such groups are merged) applies, else the merged ``*`` groups, else nothing
  (everything allowed). A user-agent value is compared by its leading token (``postlens/0.1`` -> ``postlens``).
- ``allow``/``disallow`` patterns match a URL's path (and query) from its start; ``*`` is any run of
  characters, a final ``$`` anchors the end. The longest matching pattern wins; on a tie, ``allow`` wins.
  An empty ``disallow`` is no rule. ``/robots.txt`` itself is always allowed.
- ``crawl-delay`` (not in the RFC, widely used) is kept for the rate limiter.
- Only the first ``MAX_ROBOTS_BYTES`` are parsed (the RFC's 500 KiB floor); unreadable lines are skipped.
- Availability (decided by the fetcher): a 4xx answer means no rules (allow all); a 5xx or an
  unreachable host means disallow all, until the cache entry expires.

Matching is a linear-space wildcard scan, never a regex built from the file: a hostile robots.txt
cannot make matching exponential.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import quote, unquote, urlsplit

MAX_ROBOTS_BYTES = 500 * 1024
MAX_PATTERN_CHARS = 2048
_TOKEN = re.compile(r"[A-Za-z_-]+")


@dataclass(frozen=True, slots=True)
class Rule:
    allow: bool
    pattern: str


@dataclass
class RobotsRules:
    """The rules of one host for one crawler. ``disallow_all`` stands for an unreachable robots.txt."""

    rules: list[Rule] = field(default_factory=list)
    crawl_delay: float | None = None
    disallow_all: bool = False
    why: str = ""
    """How the rules were obtained, for refusal messages (``robots.txt answered 503``)."""

    def verdict(self, url: str) -> tuple[bool, str]:
        """(allowed, reason): the reason names the deciding rule."""
        target = _path_of(url)
        if target == "/robots.txt":
            return True, "robots.txt itself"
        if self.disallow_all:
            return False, f"robots.txt could not be read ({self.why}): the RFC says to assume everything disallowed"
        best: Rule | None = None
        for rule in self.rules:
            if _matches(rule.pattern, target) and (
                best is None
                or len(rule.pattern) > len(best.pattern)
                or (len(rule.pattern) == len(best.pattern) and rule.allow and not best.allow)
            ):
                best = rule
        if best is None or best.allow:
            return True, f"allowed by {'Allow: ' + best.pattern if best else 'no matching rule'}"
        return False, f"robots.txt disallows it (Disallow: {best.pattern})"


def allow_all(why: str) -> RobotsRules:
    return RobotsRules(why=why)


def disallow_all(why: str) -> RobotsRules:
    return RobotsRules(disallow_all=True, why=why)


def parse_robots(text: str, product_token: str) -> RobotsRules:
    """The rules ``text`` sets for the crawler named ``product_token`` (e.g. ``postlens``)."""
    token = product_token.lower()
    mine: list[tuple[list[Rule], list[float]]] = []
    star: list[tuple[list[Rule], list[float]]] = []
    agents: list[str] = []
    rules: list[Rule] = []
    delays: list[float] = []
    in_rules = False

    def close_group() -> None:
        if not agents:
            return
        if token in agents:
            mine.append((rules, delays))
        if "*" in agents:
            star.append((rules, delays))

    for raw_line in text[:MAX_ROBOTS_BYTES].splitlines():
        line = raw_line.split("#", 1)[0].strip()
        key, sep, value = line.partition(":")
        if not sep:
            continue
        key, value = key.strip().lower(), value.strip()
        if key in ("user-agent", "useragent"):
            if in_rules:
                close_group()
                agents, rules, delays, in_rules = [], [], [], False
            agents.append(_agent_token(value))
        elif key in ("allow", "disallow"):
            in_rules = True
            if value and len(value) <= MAX_PATTERN_CHARS:
                rules.append(Rule(key == "allow", _normalise(value)))
        elif key == "crawl-delay":
            in_rules = True
            try:
                delay = float(value)
            except ValueError:
                continue
            if delay == delay and 0 <= delay < 86400:
                delays.append(delay)
    close_group()
    chosen = mine or star
    merged = [rule for group_rules, _ in chosen for rule in group_rules]
    all_delays = [d for _, group_delays in chosen for d in group_delays]
    return RobotsRules(rules=merged, crawl_delay=max(all_delays) if all_delays else None, why="robots.txt read")


def _agent_token(value: str) -> str:
    if value.strip() == "*":
        return "*"
    match = _TOKEN.match(value.strip())
    return match.group(0).lower() if match else value.strip().lower()


def _normalise(value: str) -> str:
    """Percent-encoding made canonical (non-ASCII encoded, escapes decoded where safe), so both sides compare alike."""
    return quote(unquote(value), safe="/?=&;:@!$'()*+,~-._%")


def _path_of(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:
        return "/"
    path = parts.path or "/"
    return _normalise(path + ("?" + parts.query if parts.query else ""))


def _matches(pattern: str, target: str) -> bool:
    """Does ``pattern`` (``*`` wildcards, optional final ``$``) match a prefix of ``target`` (all of it with ``$``)?"""
    anchored = pattern.endswith("$")
    if anchored:
        pattern = pattern[:-1]
    if "*" not in pattern:
        return target == pattern if anchored else target.startswith(pattern)
    pieces = pattern.split("*")
    if not target.startswith(pieces[0]):
        return False
    position = len(pieces[0])
    middle, last = pieces[1:-1], pieces[-1]
    for piece in middle:  # each piece at its earliest place: greedy-leftmost is optimal for '*' globs
        found = target.find(piece, position)
        if found < 0:
            return False
        position = found + len(piece)
    if not anchored:
        return target.find(last, position) >= 0
    return len(target) - len(last) >= position and target.endswith(last)
