"""The DuckDB database: customers, rejections, batches and the reseller's reference.

A batch is written in one transaction: its customers, its rejections and its `batches` row
commit together or not at all.
"""

import json
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import duckdb
import polars as pl

from pipeline.errors import OnboardError, UsageError

SCHEMA = """
CREATE SEQUENCE IF NOT EXISTS batch_ids START 1;
CREATE TABLE IF NOT EXISTS batches (
    batch_id BIGINT PRIMARY KEY,
    source VARCHAR NOT NULL,
    sha256 VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    as_of DATE NOT NULL,
    started_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ NOT NULL,
    rows_read BIGINT NOT NULL,
    rows_accepted BIGINT NOT NULL,
    rows_rejected BIGINT NOT NULL,
    rows_skipped BIGINT NOT NULL DEFAULT 0,
    blank_rows BIGINT NOT NULL DEFAULT 0,
    options JSON,
    CHECK (rows_read = rows_accepted + rows_rejected + rows_skipped)
);
CREATE TABLE IF NOT EXISTS customers (
    name VARCHAR NOT NULL,
    name_key VARCHAR NOT NULL,
    business_model VARCHAR NOT NULL,
    customer_class VARCHAR NOT NULL,
    billing_period VARCHAR NOT NULL,
    billing_period_timezone VARCHAR NOT NULL,
    balance_control VARCHAR NOT NULL,
    currency VARCHAR NOT NULL,
    credit_limit DECIMAL(38, 4),
    available_funds DECIMAL(38, 4),
    created_on DATE NOT NULL,
    first_period_start DATE NOT NULL,
    first_period_end DATE NOT NULL,
    current_period_start DATE NOT NULL,
    current_period_end DATE NOT NULL,
    current_period_closes_at TIMESTAMPTZ NOT NULL,
    custom_data MAP(VARCHAR, VARCHAR),
    batch_id BIGINT NOT NULL,
    source_row BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS rejections (
    batch_id BIGINT NOT NULL,
    source_row BIGINT NOT NULL,
    name VARCHAR,
    "column" VARCHAR,
    rule VARCHAR NOT NULL,
    message VARCHAR NOT NULL,
    value VARCHAR,
    original JSON
);
CREATE TABLE IF NOT EXISTS reference (
    loaded_at TIMESTAMPTZ NOT NULL,
    source VARCHAR NOT NULL,
    content VARCHAR NOT NULL
);
"""

CUSTOMER_COLUMNS = (
    "name",
    "name_key",
    "business_model",
    "customer_class",
    "billing_period",
    "billing_period_timezone",
    "balance_control",
    "currency",
    "credit_limit",
    "available_funds",
    "created_on",
    "first_period_start",
    "first_period_end",
    "current_period_start",
    "current_period_end",
    "current_period_closes_at",
    "custom_data",
    "batch_id",
    "source_row",
)
REJECTION_COLUMNS = (
    "batch_id",
    "source_row",
    "name",
    "column",
    "rule",
    "message",
    "value",
    "original",
)


@dataclass(frozen=True)
class BatchRow:
    """What `batches` records of one batch."""

    source: str
    sha256: str
    status: str
    as_of: date
    started_at: datetime
    finished_at: datetime
    rows_read: int
    rows_accepted: int
    rows_rejected: int
    rows_skipped: int
    blank_rows: int
    options: dict


def connect(path: str | Path | None, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open (creating when missing) the database with all its tables; None opens one in memory."""
    target = ":memory:" if path is None else str(path)
    try:
        con = duckdb.connect(target, read_only=read_only)
    except duckdb.Error as e:
        raise OnboardError(f"{target}: cannot open the database: {_first_line(e)}") from e
    con.execute("SET TimeZone = 'UTC'")
    if not read_only:
        con.execute(SCHEMA)
    return con


def open_existing(path: str | Path) -> duckdb.DuckDBPyConnection:
    """Open a database that must already exist (for the commands that only read)."""
    if not Path(path).exists():
        raise UsageError(f"{path}: no such database; run `onboard import` first or pass --db")
    return connect(path, read_only=True)


def existing_names(con: duckdb.DuckDBPyConnection, keys: pl.Series) -> pl.Series:
    """Which of the name keys `keys` belong to customers already stored."""
    batch_keys = pl.DataFrame({"name_key": keys.drop_nulls().unique()})  # noqa: F841 (scanned)
    found = con.sql(
        "SELECT DISTINCT c.name_key FROM customers c JOIN batch_keys b USING (name_key)"
    ).pl()
    return found["name_key"]


def write_batch(
    con: duckdb.DuckDBPyConnection,
    batch: BatchRow,
    customers: pl.DataFrame,
    rejections: pl.DataFrame,
) -> int:
    """Write one batch in one transaction; returns its batch_id."""
    con.begin()
    try:
        [(batch_id,)] = con.execute("SELECT nextval('batch_ids')").fetchall()
        con.execute(
            "INSERT INTO batches (batch_id, source, sha256, status, as_of, started_at, "
            "finished_at, rows_read, rows_accepted, rows_rejected, rows_skipped, blank_rows, "
            "options) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                batch_id,
                batch.source,
                batch.sha256,
                batch.status,
                batch.as_of,
                batch.started_at,
                batch.finished_at,
                batch.rows_read,
                batch.rows_accepted,
                batch.rows_rejected,
                batch.rows_skipped,
                batch.blank_rows,
                json.dumps(batch.options),
            ],
        )
        new_customers = customers.with_columns(batch_id=pl.lit(batch_id, pl.Int64))  # noqa: F841
        con.execute(
            f"INSERT INTO customers ({_names(CUSTOMER_COLUMNS)}) SELECT "
            + ", ".join(
                "map_from_entries(custom_data)" if c == "custom_data" else f'"{c}"'
                for c in CUSTOMER_COLUMNS
            )
            + " "
            "FROM new_customers"
        )
        new_rejections = rejections.with_columns(batch_id=pl.lit(batch_id, pl.Int64))  # noqa: F841
        con.execute(
            f"INSERT INTO rejections ({_names(REJECTION_COLUMNS)}) "
            f"SELECT {_names(REJECTION_COLUMNS)} FROM new_rejections"
        )
        con.commit()
    except BaseException:
        con.rollback()
        raise
    return batch_id


def save_reference(con: duckdb.DuckDBPyConnection, source: str, content: str) -> None:
    """Store the reference, replacing the one stored before."""
    con.begin()
    con.execute("DELETE FROM reference")
    con.execute("INSERT INTO reference VALUES (current_timestamp, ?, ?)", [source, content])
    con.commit()


def stored_reference(con: duckdb.DuckDBPyConnection) -> tuple[str, str] | None:
    """(source, content) of the stored reference, or None."""
    if not _has_table(con, "reference"):
        return None
    rows = con.execute("SELECT source, content FROM reference").fetchall()
    return rows[0] if rows else None


def batches(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    return con.sql(
        "SELECT batch_id, source, status, as_of, rows_read, rows_accepted, rows_rejected, "
        "rows_skipped, blank_rows, started_at, finished_at, sha256 FROM batches ORDER BY batch_id"
    ).pl()


def rejections(con: duckdb.DuckDBPyConnection, batch_id: int) -> pl.DataFrame:
    if not con.execute("SELECT 1 FROM batches WHERE batch_id = ?", [batch_id]).fetchall():
        raise UsageError(f"no batch {batch_id}; `onboard batches` lists them")
    return con.sql(
        f"SELECT {_names(REJECTION_COLUMNS)} FROM rejections WHERE batch_id = ? "
        'ORDER BY source_row, "column", rule',
        params=[batch_id],
    ).pl()


def _names(columns) -> str:
    return ", ".join(f'"{c}"' for c in columns)


def _has_table(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    found = con.execute(
        "SELECT 1 FROM information_schema.tables WHERE table_name = ?", [table]
    ).fetchall()
    return bool(found)


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
