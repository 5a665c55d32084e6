"""The DuckDB database: customers, rejections, warnings, batches and the resellers'
references.

A batch is written in one transaction: its customers, its rejections, its warnings and its
`batches` row commit together or not at all.
"""

import contextlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING

import duckdb
import polars as pl

from pipeline.errors import UsageError
from schemas.reference import DEFAULT_RESELLER
from schemas.vocabulary import value_column

if TYPE_CHECKING:
    import pyarrow as pa

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
    "reseller",
    "billing_change_on",
    "similar_to",
)
_CUSTOM = "__custom_"  # the column of the n-th custom field of a chunk, as DuckDB scans it
_CUSTOMER_FRAME = tuple(c for c in CUSTOMER_COLUMNS if c not in ("custom_data", "reseller"))
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
WARNING_COLUMNS = REJECTION_COLUMNS[:-1]  # a warning's row is stored: no `original`
# an earlier version of a customer as customers holds it: customer_history less its own columns
HISTORY_AS_CUSTOMER = "SELECT * EXCLUDE (replaced_by_batch, replaced_at, purged_at)"


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
    headers: list[str] = field(default_factory=list)
    timings: dict = field(default_factory=dict)
    reason: str | None = None
    retry_of: int | None = None
    reseller: str = DEFAULT_RESELLER
    reference_version: int | None = None  # of the reseller's reference the rows were checked by


@dataclass(frozen=True)
class StoredReference:
    """One version of a reseller's reference, as `reference` holds it."""

    reseller: str
    version: int
    loaded_at: datetime
    source: str
    content: str
    current: bool  # the reseller's highest version: the one imports check against


STORED = (  # what an update of a stored customer needs of it (see pipeline/updates.py)
    "currency",
    "billing_period",
    "billing_period_timezone",
    "created_on",
    "billing_change_on",
    "first_period_start",
    "first_period_end",
    "current_period_start",
    "current_period_end",
    "current_period_closes_at",
)


def existing_customers(con: duckdb.DuckDBPyConnection, keys: pl.Series) -> pl.DataFrame:
    """The stored customers among the name keys `keys`, of every reseller: name_key, reseller,
    `customers`, how many of that reseller have the key (more than one only where an upgrade
    found names to collide), and the STORED columns of one of them."""
    stored = ", ".join(f"any_value(c.{c}) AS {c}" for c in STORED)
    among = "customers c WHERE false"  # none stored: the batch's keys need no look-up
    if con.execute("SELECT 1 FROM customers LIMIT 1").fetchall():
        batch_keys = _arrow(pl.DataFrame({"name_key": keys.drop_nulls().unique()}))  # noqa: F841
        among = "customers c JOIN batch_keys b USING (name_key)"
    return con.sql(
        f"SELECT c.name_key, c.reseller, count(*) AS customers, {stored} "
        f"FROM {among} GROUP BY c.name_key, c.reseller"
    ).pl()


def similar_customers(con: duckdb.DuckDBPyConnection, keys: pl.Series) -> pl.DataFrame:
    """The stored customers whose names compare alike (`names.similarity_keys`, stored as
    `similar_to`) with one of `keys` (similarity keys): similar_to, name_key."""
    if not con.execute("SELECT 1 FROM customers LIMIT 1").fetchall():  # none: nothing to join
        return pl.DataFrame(schema={"similar_to": pl.String, "name_key": pl.String})
    batch_keys = _arrow(pl.DataFrame({"similar_to": keys.drop_nulls().unique()}))  # noqa: F841
    return con.sql(
        "SELECT DISTINCT similar_to, name_key FROM customers JOIN batch_keys USING (similar_to)"
    ).pl()


def committed_batch(con: duckdb.DuckDBPyConnection, sha256: str, reseller: str) -> int | None:
    """The first batch of `reseller` that committed a file with this content, if any."""
    rows = con.execute(
        "SELECT min(batch_id) FROM batches WHERE sha256 = ? AND status = 'committed' "
        "AND retry_of IS NULL AND reseller = ?",
        [sha256, reseller],
    ).fetchall()
    return rows[0][0]


@dataclass(frozen=True)
class Chunk:
    """Part of a batch, ready for `BatchWriter.add` (see `BatchWriter.prepare`)."""

    customers: "pa.Table | None"  # Arrow tables: what DuckDB scans
    rejections: "pa.Table | None"
    replaces: pl.Series | None
    fields: tuple[str, ...] = ()  # the custom fields, columns CUSTOM_0, ... of `customers`
    warnings: "pa.Table | None" = None


class BatchWriter:
    """One batch's transaction: add its chunks, then `finish` (commit) or `abort` (roll back).

    A batch's customers, rejections and `batches` row commit together or not at all.
    """

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        retry_of: int | None = None,
        reseller: str = DEFAULT_RESELLER,
    ):
        self.con = con
        self.retry_of = retry_of
        self.reseller = reseller  # whose customers it adds, and may update
        con.begin()
        [(self.batch_id,)] = con.execute("SELECT nextval('batch_ids')").fetchall()

    def prepare(
        self,
        customers: pl.DataFrame | None = None,
        rejections: pl.DataFrame | None = None,
        replaces: pl.Series | None = None,
        fields: tuple[str, ...] = (),
        warnings: pl.DataFrame | None = None,
    ) -> Chunk:
        """A chunk as DuckDB scans it (Arrow, the stored columns, batch_id set). It touches no
        database, so it can be made on another thread than the one that `add`s it. `fields`:
        the custom fields `customers` has columns for (their `__value`s, null where not stored),
        which `add` makes the MAP `custom_data`."""
        values = [pl.col(value_column(f)).alias(f"{_CUSTOM}{n}") for n, f in enumerate(fields)]
        if customers is not None and "billing_change_on" not in customers.columns:
            # no update among them: no change of billing period or zone either
            customers = customers.with_columns(billing_change_on=pl.lit(None, pl.Date))
        return Chunk(
            _scannable(customers, _CUSTOMER_FRAME, self.batch_id, values),
            _scannable(rejections, REJECTION_COLUMNS, self.batch_id),
            replaces if replaces is not None and replaces.len() else None,
            fields,
            _scannable(warnings, WARNING_COLUMNS, self.batch_id),
        )

    def add(self, chunk: Chunk) -> None:
        """Store a prepared chunk. `replaces`: name keys of stored customers that its customers
        update (of the writer's reseller: no other's); their rows move to customer_history. A
        retry batch marks the rejections of the rows it admits as resolved."""
        con, batch_id, reseller = self.con, self.batch_id, self.reseller
        if chunk.replaces is not None:
            replaced = pl.DataFrame({"name_key": chunk.replaces})  # noqa: F841 (scanned)
            con.execute(
                "INSERT INTO customer_history BY NAME SELECT c.*, ? AS replaced_by_batch, "
                "current_timestamp AS replaced_at "
                "FROM customers c JOIN replaced USING (name_key) WHERE c.reseller = ?",
                [batch_id, reseller],
            )
            con.execute(
                "DELETE FROM customers WHERE reseller = ? "
                "AND name_key IN (SELECT name_key FROM replaced)",
                [reseller],
            )
        if chunk.customers is not None:
            new_customers = chunk.customers  # noqa: F841 (scanned)
            made = {"custom_data": _custom_data(chunk.fields), "reseller": "$reseller"}
            selected = ", ".join(made.get(c, f'"{c}"') for c in CUSTOMER_COLUMNS)
            con.execute(
                f"INSERT INTO customers ({_names(CUSTOMER_COLUMNS)}) "
                f"SELECT {selected} FROM new_customers",
                {"reseller": reseller},
            )
            if self.retry_of is not None:
                con.execute(
                    "UPDATE rejections SET resolved_by_batch = ? WHERE batch_id = ? "
                    "AND resolved_by_batch IS NULL "
                    "AND source_row IN (SELECT source_row FROM new_customers)",
                    [batch_id, self.retry_of],
                )
        if chunk.rejections is not None:
            new_rejections = chunk.rejections  # noqa: F841 (scanned)
            con.execute(
                f"INSERT INTO rejections ({_names(REJECTION_COLUMNS)}) "
                f"SELECT {_names(REJECTION_COLUMNS)} FROM new_rejections"
            )
        if chunk.warnings is not None:
            new_warnings = chunk.warnings  # noqa: F841 (scanned)
            con.execute(
                f"INSERT INTO warnings ({_names(WARNING_COLUMNS)}) "
                f"SELECT {_names(WARNING_COLUMNS)} FROM new_warnings"
            )

    def finish(self, batch: BatchRow) -> int:
        """Record the batch and commit. A refused batch keeps its rejections but no customer:
        the customers it added are removed and those it replaced restored."""
        con, batch_id = self.con, self.batch_id
        if batch.status == "refused":
            _undo_customers(con, batch_id)
            con.execute("DELETE FROM warnings WHERE batch_id = ?", [batch_id])  # of no customer
        con.execute(
            f"INSERT INTO batches ({_names(_BATCH_COLUMNS)}) "
            f"VALUES ({', '.join('?' for _ in _BATCH_COLUMNS)})",
            [batch_id, *(_batch_value(batch, c) for c in _BATCH_COLUMNS[1:])],
        )
        con.commit()
        return batch_id

    def abort(self) -> None:
        """Roll back, if DuckDB has not already (a failed commit rolls back by itself)."""
        with contextlib.suppress(duckdb.TransactionException):
            self.con.rollback()


def write_batch(con: duckdb.DuckDBPyConnection, batch: BatchRow) -> int:
    """Record a batch that stored no rows (skipped, failed); returns its batch_id."""
    writer = BatchWriter(con, batch.retry_of, batch.reseller)
    try:
        return writer.finish(batch)
    except BaseException:
        writer.abort()
        raise


_BATCH_COLUMNS = (
    "batch_id",
    "source",
    "sha256",
    "status",
    "as_of",
    "started_at",
    "finished_at",
    "rows_read",
    "rows_accepted",
    "rows_rejected",
    "rows_skipped",
    "blank_rows",
    "retry_of",
    "reason",
    "headers",
    "options",
    "timings",
    "reseller",
    "reference_version",
)


def _scannable(
    frame: pl.DataFrame | None,
    columns: tuple[str, ...],
    batch_id: int,
    more: list[pl.Expr] | None = None,
):
    """The `columns` a table stores of `frame` (and `more`), with batch_id set, as Arrow (None
    if empty); no other column is handed to DuckDB."""
    if frame is None or not frame.height:
        return None
    kept = (c for c in columns if c != "batch_id")
    return _arrow(frame.select(*kept, *(more or []), batch_id=pl.lit(batch_id, pl.Int64)))


def _custom_data(fields: tuple[str, ...]) -> str:
    """The SQL of `custom_data`: the fields with a value, from columns CUSTOM_0, ... Made by
    DuckDB as it inserts (polars took ten times as long to build the pairs)."""
    if not fields:
        return "MAP {}::MAP(VARCHAR, VARCHAR)"
    pairs = ", ".join(f"{{'key': '{f}', 'value': \"{_CUSTOM}{n}\"}}" for n, f in enumerate(fields))
    return f"map_from_entries(list_filter([{pairs}], lambda pair: pair.value IS NOT NULL))"


def _arrow(frame: pl.DataFrame):
    """The frame for DuckDB to scan: plain Arrow strings. DuckDB 2 inserts string views as fast,
    but whole imports handing it views were no faster (1.02x the time into a new database,
    1.09x into one holding 1M customers: whole-process pairs, 2026-11-29)."""
    return frame.to_arrow(compat_level=pl.CompatLevel.oldest())


def _batch_value(batch: BatchRow, column: str):
    value = getattr(batch, column)
    return json.dumps(value) if column in ("headers", "options", "timings") else value


def save_reference(
    con: duckdb.DuckDBPyConnection, reseller: str, source: str, content: str
) -> tuple[int, bool]:
    """Store `content` as the reseller's current reference: its next version, unless it is
    the content of its current one. Returns the version, and whether it was stored now."""
    con.begin()
    try:
        current = stored_reference(con, reseller)
        if current is not None and current.content == content:
            con.rollback()
            return current.version, False
        version = 1 if current is None else current.version + 1
        con.execute(
            "INSERT INTO reference (reseller, version, loaded_at, source, content) "
            "VALUES (?, ?, current_timestamp, ?, ?)",
            [reseller, version, source, content],
        )
        con.commit()
    except BaseException:
        with contextlib.suppress(duckdb.Error):
            con.rollback()
        raise
    return version, True


def stored_reference(
    con: duckdb.DuckDBPyConnection, reseller: str, version: int | None = None
) -> StoredReference | None:
    """A version of the reseller's reference (None: its current one, the highest), if stored."""
    rows = con.execute(
        "SELECT reseller, version, loaded_at, source, content, "
        "version = max(version) OVER () AS current FROM reference WHERE reseller = ? "
        "QUALIFY version = coalesce(?, max(version) OVER ())",
        [reseller, version],
    ).fetchall()
    return StoredReference(*rows[0]) if rows else None


def stored_resellers(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The resellers with a stored reference, by name."""
    found = con.execute("SELECT DISTINCT reseller FROM reference ORDER BY reseller").fetchall()
    return [reseller for (reseller,) in found]


def resellers(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Every reseller with its current reference version, customers and batches."""
    return con.sql(
        "WITH r AS (SELECT reseller, max(version) AS reference_version FROM reference "
        "GROUP BY ALL), c AS (SELECT reseller, count(*) AS customers FROM customers GROUP BY "
        "ALL), b AS (SELECT reseller, count(*) AS batches FROM batches GROUP BY ALL) "
        "SELECT reseller, reference_version, coalesce(customers, 0) AS customers, "
        "coalesce(batches, 0) AS batches "
        "FROM r FULL JOIN c USING (reseller) FULL JOIN b USING (reseller) ORDER BY reseller"
    ).pl()


def batches(con: duckdb.DuckDBPyConnection, reseller: str | None = None) -> pl.DataFrame:
    """Every batch (of `reseller`, if given) with its status, counts and how long it took."""
    return con.sql(
        "SELECT batch_id, source, status, as_of, reseller, reference_version, rows_read, "
        "rows_accepted, rows_rejected, rows_skipped, blank_rows, retry_of, "
        "round(epoch(finished_at) - epoch(started_at), 3) AS seconds, started_at, reason "
        "FROM batches WHERE reseller = coalesce(?, reseller) ORDER BY batch_id",
        params=[reseller],
    ).pl()


def batch(con: duckdb.DuckDBPyConnection, batch_id: int) -> dict:
    """One batch's row, with its options, headers and timings decoded."""
    found = con.sql("SELECT * FROM batches WHERE batch_id = ?", params=[batch_id]).pl()
    if not found.height:
        raise UsageError(f"no batch {batch_id}; `onboard batches` lists them")
    row = found.row(0, named=True)
    for column in ("headers", "options", "timings"):
        row[column] = json.loads(row[column]) if row[column] else None
    return row


def dependent_batches(con: duckdb.DuckDBPyConnection, batch_id: int) -> list[int]:
    """The committed batches that changed customers `batch_id` stored (an update moved its
    version to customer_history) or retried its rejections."""
    found = con.execute(
        "SELECT later FROM (SELECT replaced_by_batch AS later FROM customer_history "
        "WHERE batch_id = $1 UNION SELECT batch_id FROM batches WHERE retry_of = $1) "
        "WHERE later IN (SELECT batch_id FROM batches WHERE status = 'committed') ORDER BY 1",
        [batch_id],
    ).fetchall()
    return [b for (b,) in found]


def revert_batch(con: duckdb.DuckDBPyConnection, batch_id: int, by: str) -> dict[str, int]:
    """Undo a committed batch (in the caller's transaction): delete the customers it stored,
    restore those it replaced from customer_history, reopen the rejections it resolved (a
    retry), mark it `reverted`. Its rejections stay. The counts of what changed."""
    [(removed,)] = con.execute(
        "SELECT count(*) FROM customers WHERE batch_id = ?", [batch_id]
    ).fetchall()
    [(restored,)] = con.execute(
        "SELECT count(*) FROM customer_history WHERE replaced_by_batch = ?", [batch_id]
    ).fetchall()
    _undo_customers(con, batch_id)
    [(reopened,)] = con.execute(
        "SELECT count(*) FROM rejections WHERE resolved_by_batch = ?", [batch_id]
    ).fetchall()
    con.execute(
        "UPDATE rejections SET resolved_by_batch = NULL WHERE resolved_by_batch = ?", [batch_id]
    )
    con.execute(
        "UPDATE batches SET status = 'reverted', reverted_at = current_timestamp, "
        "reverted_by = ? WHERE batch_id = ?",
        [by, batch_id],
    )
    # a customer it changed is both deleted (its version) and restored: removed are those it added
    return {"removed": removed - restored, "restored": restored, "reopened": reopened}


def _undo_customers(con: duckdb.DuckDBPyConnection, batch_id: int) -> None:
    """Remove the customers `batch_id` stored and put back the versions it replaced."""
    con.execute("DELETE FROM customers WHERE batch_id = ?", [batch_id])
    con.execute(
        f"INSERT INTO customers BY NAME {HISTORY_AS_CUSTOMER} "
        "FROM customer_history WHERE replaced_by_batch = ?",
        [batch_id],
    )
    con.execute("DELETE FROM customer_history WHERE replaced_by_batch = ?", [batch_id])


def purged_rows(con: duckdb.DuckDBPyConnection, batch_id: int) -> tuple[int, datetime | None]:
    """A batch's open rejected rows whose original cells a purge removed, and when."""
    [found] = con.execute(
        "SELECT count(DISTINCT source_row), max(purged_at) FROM rejections WHERE batch_id = ? "
        "AND resolved_by_batch IS NULL AND original IS NULL",
        [batch_id],
    ).fetchall()
    return found


def purged_versions(con: duckdb.DuckDBPyConnection, batch_id: int) -> int:
    """How many of the customer versions `batch_id` replaced lost personal values to a purge."""
    [(found,)] = con.execute(
        "SELECT count(*) FROM customer_history WHERE replaced_by_batch = ? "
        "AND purged_at IS NOT NULL",
        [batch_id],
    ).fetchall()
    return found


def rule_counts(con: duckdb.DuckDBPyConnection, batch_id: int) -> list[tuple[str, int]]:
    """A batch's rejections by rule, the most frequent first."""
    return _by_rule(con, "rejections", batch_id)


def warning_counts(con: duckdb.DuckDBPyConnection, batch_id: int) -> list[tuple[str, int]]:
    """A batch's warnings by rule, the most frequent first."""
    return _by_rule(con, "warnings", batch_id)


def _by_rule(con: duckdb.DuckDBPyConnection, table: str, batch_id: int) -> list[tuple[str, int]]:
    return con.execute(
        f"SELECT rule, count(*) FROM {table} WHERE batch_id = ? GROUP BY rule ORDER BY 2 DESC, 1",
        [batch_id],
    ).fetchall()


def warnings(con: duckdb.DuckDBPyConnection, batch_id: int) -> pl.DataFrame:
    """A batch's warnings, one row per warning of a stored row."""
    found = con.sql(
        f"SELECT {_names(WARNING_COLUMNS)} FROM warnings "
        'WHERE batch_id = ? ORDER BY source_row, "column", rule',
        params=[batch_id],
    ).pl()
    if not found.height:
        batch(con, batch_id)  # none: refuses an unknown batch
    return found


def batch_report_data(con: duckdb.DuckDBPyConnection, batch_id: int, cells: int) -> dict:
    """What a batch's report shows (`pipeline/report.py`): its row, rejections by rule and by
    column, its rows in at most `cells` runs (first, last, rejected, accepted), its accepted
    customers by period, currency and zone, and how many current periods close on each day."""
    batch_row = batch(con, batch_id)

    def counted(sql: str) -> list[tuple]:
        return con.execute(sql, [batch_id]).fetchall()

    customers = (
        f"({HISTORY_AS_CUSTOMER} FROM customer_history "
        "WHERE batch_id = $1 UNION ALL SELECT * FROM customers WHERE batch_id = $1)"
    )
    by = "SELECT {0}, count(*) FROM " + customers + " GROUP BY 1 ORDER BY 2 DESC, 1"
    rows = con.sql(
        "WITH r AS (SELECT source_row, max(rejected) AS rejected FROM ("
        "SELECT source_row, 1 AS rejected FROM rejections WHERE batch_id = $1 "
        f"UNION ALL SELECT source_row, 0 FROM {customers}) GROUP BY 1), "
        "span AS (SELECT min(source_row) AS lo, max(source_row) - min(source_row) + 1 AS n FROM r) "
        "SELECT floor((source_row - lo) * least($2, n) / n)::BIGINT AS bin, min(source_row), "
        "max(source_row), sum(rejected)::BIGINT, (count(*) - sum(rejected))::BIGINT "
        "FROM r, span GROUP BY 1 ORDER BY 1",
        params=[batch_id, cells],
    ).pl()
    return {
        "batch": batch_row,
        "rules": rule_counts(con, batch_id),
        "columns": counted(
            "SELECT coalesce(\"column\", '(the row)'), count(*) FROM rejections "
            "WHERE batch_id = $1 GROUP BY 1 ORDER BY 2 DESC, 1"
        ),
        "rows": rows,
        "periods": counted(by.format("billing_period")),
        "currencies": counted(by.format("currency")),
        "zones": counted(by.format("billing_period_timezone")),
        "closing": counted(by.format("current_period_closes_at::DATE")),
    }


def backlog_data(con: duckdb.DuckDBPyConnection, today: date, reseller: str | None = None) -> dict:
    """The rejections still open (not resolved by a retry) across batches (of `reseller`, or
    of all): by rule, by age (days since their batch started) and by batch."""
    open_ = (
        "SELECT r.*, b.started_at FROM rejections r JOIN batches b USING (batch_id) "
        "WHERE r.resolved_by_batch IS NULL AND b.status IN ('committed', 'refused') "
        "AND b.reseller = coalesce($reseller, b.reseller)"
    )
    age = (
        "CASE WHEN days <= 1 THEN '0-1 days' WHEN days <= 7 THEN '2-7 days' "
        "WHEN days <= 30 THEN '8-30 days' ELSE 'over 30 days' END"
    )

    def rows(sql: str, **more) -> list[tuple]:
        return con.execute(sql.format(open=open_), {"reseller": reseller, **more}).fetchall()

    [(total, rejected_rows)] = rows(
        "SELECT count(*), count(DISTINCT (batch_id, source_row)) FROM ({open})"
    )
    return {
        "open": total,
        "rows": rejected_rows,
        "rules": rows("SELECT rule, count(*) FROM ({open}) GROUP BY 1 ORDER BY 2 DESC, 1"),
        "ages": rows(
            f"SELECT {age}, count(*) FROM (SELECT $today - started_at::DATE AS days "
            "FROM ({open})) GROUP BY 1 ORDER BY min(days)",
            today=today,
        ),
        "batches": rows(
            "SELECT 'batch ' || batch_id, count(*) FROM ({open}) GROUP BY batch_id "
            "ORDER BY batch_id"
        ),
    }


def rejections(
    con: duckdb.DuckDBPyConnection, batch_id: int, open_only: bool = False, cells: bool = False
) -> pl.DataFrame:
    """A batch's rejections, one row per failed rule (`open_only`: not resolved by a retry;
    `cells`: of the rows whose original cells a purge has not removed)."""
    where = " AND resolved_by_batch IS NULL" if open_only else ""
    where += " AND original IS NOT NULL" if cells else ""
    found = con.sql(
        f"SELECT {_names(REJECTION_COLUMNS)}, resolved_by_batch FROM rejections "
        f'WHERE batch_id = ?{where} ORDER BY source_row, "column", rule',
        params=[batch_id],
    ).pl()
    if not found.height:
        batch(con, batch_id)  # none: refuses an unknown batch
    return found


def _names(columns) -> str:
    return ", ".join(f'"{c}"' for c in columns)
