"""The ``predictions`` table: each model's latest prediction per post, probabilities included.

Re-predicting replaces that model's rows for the posts predicted again and leaves every other row.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

_TS = pa.timestamp("us", tz="UTC")
PREDICTIONS_SCHEMA = pa.schema(
    [
        ("model", pa.string()),
        ("model_fingerprint", pa.string()),
        ("trained_at", _TS),
        ("post_id", pa.string()),
        ("task", pa.string()),
        ("label", pa.string()),
        ("value", pa.float64()),
        ("probabilities", pa.map_(pa.string(), pa.float64())),
        ("missing_modalities", pa.list_(pa.string())),
        ("predicted_at", _TS),
    ]
)
"""Column order of the table (store/schema.py ``PREDICTIONS_DDL``)."""


def write_predictions(db: duckdb.DuckDBPyConnection, rows: pa.Table) -> int:
    """Upsert ``rows`` (``PREDICTIONS_SCHEMA``) in one transaction; returns the number written."""
    table = rows.select(PREDICTIONS_SCHEMA.names).cast(PREDICTIONS_SCHEMA)
    db.execute("BEGIN TRANSACTION")
    try:
        db.register("_predictions", table)
        db.execute("INSERT OR REPLACE INTO predictions SELECT * FROM _predictions")
        db.unregister("_predictions")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return table.num_rows
