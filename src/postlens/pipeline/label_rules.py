"""Weak labels from keyword, hashtag and regex rules (``postlens label rules rules.yaml``).

The rules file::

    label: topic              # written as label "weak_topic": weak labels never overwrite human ones
    on_conflict: first        # a post matching several classes: first (file order) | all (joined "|") | skip
    classes:
      flood:
        keywords: [flood, flooding, "high water"]    # whole words/phrases, case-insensitive
        hashtags: [flood, floods]                    # the post's hashtags, with or without '#', case-insensitive
        regex: ['\\bwater\\s+levels?\\b']            # Python regexes, case-insensitive, searched in the text
      fire:
        keywords: [wildfire]

Every class needs at least one rule. A post matching no class gets no label (nothing is deleted:
a weak label written by an earlier run stays until a later run replaces it). ``skip`` leaves a
conflicting post without the label. Labels are merged through ``store/labels.py`` (one run in
``import_runs``, importer ``labels``), so ``postlens label rules`` twice changes nothing the second time.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from postlens.errors import ConfigError
from postlens.store.labels import LabelRow, LabelSummary, merge_labels
from postlens.store.post_filter import select_post_ids
from postlens.store.workspace import Workspace

WEAK_PREFIX = "weak_"
CONFLICT_POLICIES = ("first", "all", "skip")
_KEYS = {"keywords", "hashtags", "regex"}
_LABEL_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_BATCH = 10_000


@dataclass
class ClassRule:
    name: str
    patterns: list[re.Pattern[str]]
    hashtags: frozenset[str]

    def matches(self, text: str, hashtags: list[str]) -> bool:
        if self.hashtags and (
            self.hashtags & {h.lower().lstrip("#") for h in hashtags}
            or self.hashtags & {t.lower() for t in re.findall(r"#(\w+)", text)}
        ):
            return True
        return any(p.search(text) for p in self.patterns)


@dataclass
class Rules:
    label: str
    on_conflict: str
    classes: list[ClassRule]

    @property
    def stored_name(self) -> str:
        return WEAK_PREFIX + self.label

    def classify(self, text: str, hashtags: list[str]) -> tuple[str | None, bool]:
        """(value to write or None, whether several classes matched)."""
        hits = [c.name for c in self.classes if c.matches(text, hashtags)]
        if len(hits) <= 1:
            return (hits[0] if hits else None), False
        if self.on_conflict == "first":
            return hits[0], True
        if self.on_conflict == "all":
            return "|".join(sorted(hits)), True
        return None, True


@dataclass
class RulesSummary:
    label: str
    posts: int = 0
    matched: dict[str, int] = field(default_factory=dict)
    conflicts: int = 0
    unmatched: int = 0
    merge: LabelSummary | None = None


def load_rules(path: str | Path) -> Rules:
    """Read and check a rules file; ``ConfigError`` names the class and key that is wrong."""
    path = Path(path)
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not readable YAML ({exc})") from None
    if not isinstance(spec, dict):
        raise ConfigError(f"{path}: expected a mapping with label, classes (and on_conflict)")
    label = str(spec.get("label", "")).strip()
    if not _LABEL_NAME.match(label):
        raise ConfigError(f"{path}: 'label' must be a name of letters, digits, _ . : - (got {label!r})")
    on_conflict = str(spec.get("on_conflict", "first"))
    if on_conflict not in CONFLICT_POLICIES:
        raise ConfigError(f"{path}: on_conflict {on_conflict!r} is not one of {', '.join(CONFLICT_POLICIES)}")
    classes = spec.get("classes")
    if not isinstance(classes, dict) or not classes:
        raise ConfigError(f"{path}: 'classes' must map each class name to its keywords/hashtags/regex")
    return Rules(label, on_conflict, [_class_rule(path, str(name), rule) for name, rule in classes.items()])


def _class_rule(path: Path, name: str, rule: Any) -> ClassRule:
    if not isinstance(rule, dict) or not rule:
        raise ConfigError(f"{path}: class {name!r} needs at least one of {', '.join(sorted(_KEYS))}")
    unknown = set(rule) - _KEYS
    if unknown:
        raise ConfigError(
            f"{path}: class {name!r} has unknown key(s) {', '.join(sorted(map(str, unknown)))}; "
            f"known: {', '.join(sorted(_KEYS))}"
        )
    lists = {}
    for key in _KEYS:
        value = rule.get(key) or []
        value = [value] if isinstance(value, str) else value
        if not isinstance(value, list) or not all(isinstance(v, (str, int)) for v in value):
            raise ConfigError(f"{path}: class {name!r}: {key} must be a list of strings")
        lists[key] = [str(v).strip() for v in value if str(v).strip()]
    patterns = [re.compile(r"(?<!\w)" + re.escape(k) + r"(?!\w)", re.IGNORECASE) for k in lists["keywords"]]
    for expression in lists["regex"]:
        try:
            patterns.append(re.compile(expression, re.IGNORECASE))
        except re.error as exc:
            raise ConfigError(f"{path}: class {name!r}: regex {expression!r} does not compile ({exc})") from None
    tags = frozenset(t.lower().lstrip("#") for t in lists["hashtags"])
    if not patterns and not tags:
        raise ConfigError(f"{path}: class {name!r} has no keyword, hashtag or regex")
    return ClassRule(name, patterns, tags)


def apply_rules(rules_path: str | Path, *, where: str | None = None, workspace: Any = None) -> RulesSummary:
    """Label the posts picked by ``where`` (all without it) with ``weak_<label>`` by the rules file."""
    rules = load_rules(rules_path)
    summary = RulesSummary(label=rules.stored_name, matched={c.name: 0 for c in rules.classes})
    with Workspace(workspace, create=False) as ws:
        ids = set(select_post_ids(ws.db, where)) if where else None
        rows = _rows(ws, rules, ids, summary, str(rules_path))
        summary.merge = merge_labels(
            ws,
            rows,
            inputs=[str(rules_path)],
            options={
                "rules": str(rules_path),
                "label": rules.stored_name,
                "where": where,
                "on_conflict": rules.on_conflict,
            },
        )
    return summary


def _rows(ws: Workspace, rules: Rules, ids: set[str] | None, summary: RulesSummary, file: str) -> Iterator[LabelRow]:
    last = ""
    while True:  # keyset pages, each read whole before merge_labels writes between them
        batch = ws.db.execute(
            "SELECT id, text, hashtags FROM posts WHERE id > ? ORDER BY id LIMIT ?", [last, _BATCH]
        ).fetchall()
        if not batch:
            return
        last = batch[-1][0]
        for post_id, text, hashtags in batch:
            if ids is not None and post_id not in ids:
                continue
            summary.posts += 1
            value, conflict = rules.classify(text or "", list(hashtags or []))
            summary.conflicts += conflict
            if value is None:
                summary.unmatched += 1
                continue
            for name in value.split("|"):
                summary.matched[name] = summary.matched.get(name, 0) + 1
            yield LabelRow(post_id, {rules.stored_name: value}, file)
