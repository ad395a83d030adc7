"""DuckDB tables of a workspace. Analysts query these directly with ``postlens sql``.

posts        one row per post id ("<source>:<native id>"), upserted on re-import
media        one row per (post, position): stored in the media folder, missing, rejected or remote-only
engagement   snapshots of counts; (post_id, observed_at) is unique, so re-imports add only new moments
import_runs  one row per ``postlens ingest``: what, when, outcome, counts
quarantine   what could not be imported and why; (file, line, code, post_id) is unique (when one line
             yields several rows with the same code, e.g. elements of a JSON list, the post id of the
             second is suffixed ``#2``, and so on). ``post_kept`` rows are problems with one field or media
             part of a post that was imported anyway (the value was dropped); a post has one such row per
             code, its reason naming every field
features_errors  per-item failures of encoders (filled by featurize)
predictions  one row per (model, post): the latest prediction of that model for that post, with its
             per-class probabilities (filled by ``postlens predict``)
collect_cursors  where each ``postlens collect`` source/query stopped (resumed by the next run)
trend_*, alerts, entity_cache  the incremental state of ``postlens trends`` (see ``TRENDS_DDL``)
duplicate_clusters  posts that are copies of one another (filled by ``postlens dedupe``): one row per post in a
             cluster of two or more, with the post it was linked to and why (id, url, text, image); posts
             are never deleted, a post without a row is in no cluster
topics, post_topics, topic_history  segments (filled by ``postlens segments``): each named segmentation's
             topics with stable ids, each post's topic (with the post's time, for counts over time), and
             what happened to topics run by run (created, kept, merged, split, retired)
meta         key/value: schema_version; duckdb_created (the DuckDB version that made the workspace) and
             duckdb_written (the last that opened it for writing; a newer major than installed is refused)
"""

from __future__ import annotations

SCHEMA_VERSION = 9
"""2: quarantine.post_kept, import_runs.flagged, engagement.observed_inferred (added by ``MIGRATIONS``).
3: the predictions table.
4: posts.media_kinds lists attached (stored) media only, not URLs (data fix, no new column).
5: import_runs.notes (per-run facts such as dates taken as UTC).
6: the trends tables (``TRENDS_DDL``): trend_streams, trend_state, trend_bins, trend_series, alerts, entity_cache.
7: the segments tables (``SEGMENTS_DDL``): topics, post_topics, topic_history.
8: collect_cursors (``CURSORS_DDL``): where ``postlens collect`` stopped, per source, endpoint and query.
9: duplicate_clusters (``DUPLICATES_DDL``): near-duplicate clusters found by ``postlens dedupe``."""

DUPLICATES_DDL = """
CREATE TABLE IF NOT EXISTS duplicate_clusters (
    post_id VARCHAR PRIMARY KEY,      -- a post in a cluster of two or more (a post without a row is alone)
    cluster_id VARCHAR NOT NULL,      -- the id of the cluster's first post (earliest created_at, then id)
    reason VARCHAR,                   -- why it joined: id | url | text | image; NULL for the first post
    linked_to VARCHAR,                -- the post it was linked to (the path to the first post); NULL for the first
    similarity DOUBLE,                -- text: estimated Jaccard of shingles; image: 1 - hamming bits / 64; else 1
    run_id VARCHAR NOT NULL,          -- the postlens dedupe run that wrote it (meta 'dedupe_run' says which is last)
    updated_at TIMESTAMPTZ NOT NULL
);
"""

CURSORS_DDL = """
CREATE TABLE IF NOT EXISTS collect_cursors (
    source VARCHAR NOT NULL,          -- connector: mastodon | bluesky | reddit | x
    endpoint VARCHAR NOT NULL,        -- the API base URL (never credentials)
    query VARCHAR NOT NULL,           -- as given to postlens collect (e.g. '#tag', 'r/python')
    state JSON NOT NULL,              -- high_water (newest time fully collected) and the walk in progress
    pages BIGINT NOT NULL,            -- pages committed under this cursor, all runs
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, endpoint, query)
);
"""

PREDICTIONS_DDL = """
CREATE TABLE IF NOT EXISTS predictions (
    model VARCHAR NOT NULL,           -- model folder name
    model_fingerprint VARCHAR NOT NULL,
    trained_at TIMESTAMPTZ,           -- when the model was saved (model.json saved_at)
    post_id VARCHAR NOT NULL,
    task VARCHAR NOT NULL,            -- classification | multilabel | regression
    label VARCHAR,                    -- predicted class (multilabel: the classes joined by the label separator)
    value DOUBLE,                     -- predicted value (regression)
    probabilities MAP(VARCHAR, DOUBLE),  -- class -> probability (classification, multilabel)
    missing_modalities VARCHAR[],     -- modalities the post lacked (predicted without them)
    predicted_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (model, post_id)
);
"""

SEGMENTS_DDL = """
CREATE TABLE IF NOT EXISTS topics (
    segmentation VARCHAR NOT NULL,    -- a named set of segments: 'topics', a seed file's name, 'model:<model>'
    topic_id INTEGER NOT NULL,        -- stable within its segmentation, never reused
    kind VARCHAR NOT NULL,            -- cluster (unsupervised) | seed (zero-shot) | class (a trained model)
    name VARCHAR,                     -- the seed's or class's name; NULL for clusters
    label VARCHAR,                    -- a short label: its top words
    words VARCHAR[],                  -- top class-TF-IDF words over text, OCR, transcripts and image labels
    word_scores DOUBLE[],
    size BIGINT NOT NULL,             -- posts assigned to it now
    representatives VARCHAR[],        -- post ids, most typical first
    status VARCHAR NOT NULL,          -- active | merged | retired
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (segmentation, topic_id)
);
CREATE TABLE IF NOT EXISTS post_topics (
    segmentation VARCHAR NOT NULL,
    post_id VARCHAR NOT NULL,
    topic_id INTEGER,                 -- NULL: an outlier, no topic fits it (yet)
    score DOUBLE,                     -- cosine to the topic (cluster, seed) or the class probability
    novel BOOLEAN NOT NULL,           -- far from every topic known when it was assigned
    created_at TIMESTAMPTZ,           -- the post's own time (posts.created_at): counts per topic over time
    assigned_at TIMESTAMPTZ NOT NULL,
    run_id VARCHAR NOT NULL,
    PRIMARY KEY (segmentation, post_id)
);
CREATE TABLE IF NOT EXISTS topic_history (
    segmentation VARCHAR NOT NULL,
    run_id VARCHAR NOT NULL,
    happened_at TIMESTAMPTZ NOT NULL,
    event VARCHAR NOT NULL,           -- created | kept | merged | split | retired
    topic_id INTEGER NOT NULL,
    other_topic_ids INTEGER[],        -- merged: the topic it went into; split: the topic it came from
    posts BIGINT,
    detail VARCHAR
);
"""

TRENDS_DDL = """
CREATE TABLE IF NOT EXISTS trend_streams (
    stream VARCHAR PRIMARY KEY,       -- source|bin|detector|settings fingerprint: one saved detector run
    source VARCHAR NOT NULL,          -- hashtags | entities | topics | ...
    bin_seconds BIGINT NOT NULL,
    settings JSON NOT NULL,           -- the detector settings this state was computed with
    frontier TIMESTAMPTZ,             -- end of the last complete bin in the state (UTC)
    first_bin TIMESTAMPTZ,            -- first bin with posts (warm-up counts from here)
    last_bin TIMESTAMPTZ,             -- last bin with posts folded into the state
    volume DOUBLE[],                  -- decayed post volume per daily slot
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS trend_state (
    stream VARCHAR NOT NULL,
    term VARCHAR NOT NULL,
    slot_counts DOUBLE[] NOT NULL,    -- decayed count per daily slot (the term's own baseline)
    level DOUBLE NOT NULL,            -- short moving average of the count per bin
    prev_level DOUBLE NOT NULL,
    expected_level DOUBLE NOT NULL,   -- short moving average of the expected count
    kleinberg_d DOUBLE NOT NULL,      -- cost(burst) - cost(base) of the two-state automaton
    in_burst BOOLEAN NOT NULL,
    last_burst_bin TIMESTAMPTZ,       -- last bin the term was bursting (a new alert needs a quiet spell)
    PRIMARY KEY (stream, term)
);
CREATE TABLE IF NOT EXISTS trend_bins (
    stream VARCHAR NOT NULL,
    bin_start TIMESTAMPTZ NOT NULL,   -- complete bins folded into the state, with a fingerprint of what was counted
    posts BIGINT NOT NULL,
    pairs BIGINT NOT NULL,
    digest HUGEINT NOT NULL,
    PRIMARY KEY (stream, bin_start)
);
CREATE TABLE IF NOT EXISTS trend_series (
    stream VARCHAR NOT NULL,
    bin_start TIMESTAMPTZ NOT NULL,
    term VARCHAR NOT NULL,
    count BIGINT NOT NULL,
    expected DOUBLE NOT NULL,         -- the baseline's count for this bin (own history x this bin's volume)
    score DOUBLE NOT NULL,            -- signed Poisson deviance z, or -d of the two-state automaton
    growth DOUBLE,                    -- per-bin change of the short average / max(previous, 1 post) (NULL: new term)
    state VARCHAR NOT NULL,           -- emerging | peaking | declining | steady
    provisional BOOLEAN NOT NULL,     -- the newest bin, not complete yet: replaced on the next run
    PRIMARY KEY (stream, bin_start, term)
);
CREATE TABLE IF NOT EXISTS alerts (
    stream VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    term VARCHAR NOT NULL,
    bin_start TIMESTAMPTZ NOT NULL,
    fired_at TIMESTAMPTZ NOT NULL,    -- data time at which the detector knew: the end of the bin (UTC)
    count BIGINT NOT NULL,
    expected DOUBLE NOT NULL,
    score DOUBLE NOT NULL,
    provisional BOOLEAN NOT NULL,
    PRIMARY KEY (stream, term, bin_start)
);
CREATE TABLE IF NOT EXISTS entity_cache (
    text_md5 VARCHAR NOT NULL,        -- md5 of posts.text
    extractor VARCHAR NOT NULL,       -- name@version
    entities VARCHAR[] NOT NULL,
    PRIMARY KEY (text_md5, extractor)
);
"""

DDL = (
    """
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR);

CREATE TABLE IF NOT EXISTS posts (
    id VARCHAR PRIMARY KEY,
    source VARCHAR NOT NULL,
    native_id VARCHAR NOT NULL,
    platform VARCHAR NOT NULL,
    created_at TIMESTAMPTZ,
    text VARCHAR NOT NULL,
    language VARCHAR,
    author_id VARCHAR,
    author_handle VARCHAR,
    author_followers BIGINT,
    author_verified BOOLEAN,
    hashtags VARCHAR[],
    mentions VARCHAR[],
    urls VARCHAR[],
    labels MAP(VARCHAR, VARCHAR),
    media_kinds VARCHAR[],
    raw VARCHAR,                      -- the original record as JSON text (cast with raw::JSON)
    content_hash VARCHAR NOT NULL,
    run_id VARCHAR NOT NULL,
    origin_file VARCHAR,
    origin_line BIGINT,
    first_seen TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE IF NOT EXISTS media (
    post_id VARCHAR NOT NULL,
    position INTEGER NOT NULL,
    kind VARCHAR NOT NULL,
    status VARCHAR NOT NULL,          -- stored | missing | rejected | remote
    path VARCHAR,                     -- relative to the workspace, when stored
    url VARCHAR,
    sha256 VARCHAR,
    mime VARCHAR,
    bytes BIGINT,
    width INTEGER,
    height INTEGER,
    duration_s DOUBLE,
    source_path VARCHAR,
    PRIMARY KEY (post_id, position)
);

CREATE TABLE IF NOT EXISTS engagement (
    post_id VARCHAR NOT NULL,
    observed_at TIMESTAMPTZ NOT NULL,
    likes BIGINT,
    shares BIGINT,
    comments BIGINT,
    views BIGINT,
    run_id VARCHAR NOT NULL,
    observed_inferred BOOLEAN NOT NULL DEFAULT false,  -- time is the file's, not the data's: identity = counts
    PRIMARY KEY (post_id, observed_at)
);

CREATE TABLE IF NOT EXISTS import_runs (
    run_id VARCHAR PRIMARY KEY,
    started_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ,
    status VARCHAR NOT NULL,          -- running | done | interrupted | failed
    importer VARCHAR NOT NULL,
    inputs VARCHAR[] NOT NULL,
    options JSON,
    imported BIGINT DEFAULT 0,
    updated BIGINT DEFAULT 0,
    unchanged BIGINT DEFAULT 0,
    quarantined BIGINT DEFAULT 0,
    snapshots_added BIGINT DEFAULT 0,
    error VARCHAR,
    flagged BIGINT DEFAULT 0,         -- posts imported with a field or media problem (quarantine.post_kept)
    notes JSON                        -- what the run assumed or cleaned up, e.g. {"created_at_naive_as_utc": 120}
);

CREATE TABLE IF NOT EXISTS quarantine (
    file VARCHAR NOT NULL,
    line BIGINT NOT NULL,             -- 0 when the problem is the whole file
    code VARCHAR NOT NULL,
    post_id VARCHAR NOT NULL,         -- '' when no id could be read
    reason VARCHAR NOT NULL,
    raw VARCHAR,
    run_id VARCHAR NOT NULL,
    quarantined_at TIMESTAMPTZ NOT NULL,
    post_kept BOOLEAN NOT NULL DEFAULT false,  -- true: one field or media part was dropped, the post was imported
    PRIMARY KEY (file, line, code, post_id)
);

CREATE TABLE IF NOT EXISTS feature_errors (
    key VARCHAR NOT NULL,             -- content sha256 of the item
    encoder VARCHAR NOT NULL,         -- name@version
    post_id VARCHAR,
    error VARCHAR NOT NULL,
    failed_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (key, encoder)
);
"""
    + PREDICTIONS_DDL
    + TRENDS_DDL
    + SEGMENTS_DDL
    + CURSORS_DDL
    + DUPLICATES_DDL
)

MIGRATIONS: dict[int, str] = {
    2: """
    ALTER TABLE quarantine ADD COLUMN IF NOT EXISTS post_kept BOOLEAN DEFAULT false;
    ALTER TABLE import_runs ADD COLUMN IF NOT EXISTS flagged BIGINT DEFAULT 0;
    ALTER TABLE engagement ADD COLUMN IF NOT EXISTS observed_inferred BOOLEAN DEFAULT false;
    """,
    3: PREDICTIONS_DDL,
    4: """
    UPDATE posts SET media_kinds = coalesce((
        SELECT list_sort(list_distinct(list(m.kind))) FROM media m WHERE m.post_id = posts.id AND m.status = 'stored'
    ), []::VARCHAR[])
    WHERE EXISTS (SELECT 1 FROM media m WHERE m.post_id = posts.id AND m.status <> 'stored');
    """,
    5: """
    ALTER TABLE import_runs ADD COLUMN IF NOT EXISTS notes JSON;
    """,
    6: TRENDS_DDL,
    7: SEGMENTS_DDL,
    8: CURSORS_DDL,
    9: DUPLICATES_DDL,
}
"""version -> DDL bringing a workspace of the previous version up to it; columns are appended, so
the Arrow schemas in ``tables.py`` list them last."""
