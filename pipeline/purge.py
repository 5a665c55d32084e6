"""Keeping personal data only as long as needed: `onboard purge --before DATE`.

Beyond a rejection's findings, onboard keeps the rejected row's cells as the sender wrote them
(`rejections.original`, for retries and fix files), and the values of personal custom fields:
quoted by rejections and warnings, and in the earlier versions of updated customers
(`customer_history`). A purge removes them from what is older than a date: the rejections and
warnings of batches started before it (00:00 UTC), the customer versions replaced before it.
Rules, columns, messages (a personal value's quote masked), counts and batches stay, so the
audit is whole. Purged rows cannot be retried or exported again, and a batch whose replaced
customer versions lost personal values cannot be reverted. A field counts as personal when any
stored version of its reseller's reference marks it so. One transaction, recorded in `purges`.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time

import duckdb
import polars as pl

from pipeline import database
from pipeline.personal import masked_findings
from pipeline.reference import parse_reference


@dataclass(frozen=True)
class Purged:
    """What a purge removed (on a dry run: would remove)."""

    before: date
    reseller: str | None  # None: every reseller's
    rows: int  # rejected rows whose original cells were removed
    batches: int  # the batches of those rows
    rejection_values: int  # personal values quoted by rejections
    warning_values: int  # personal values quoted by warnings
    history_values: int  # personal values of earlier customer versions


def purge(
    con: duckdb.DuckDBPyConnection, before: date, reseller: str | None = None, dry_run: bool = False
) -> Purged:
    """Remove the original cells and personal values older than `before` (of `reseller`, or
    of every reseller) in one transaction, and record the purge; a dry run rolls it back."""
    cutoff = datetime.combine(before, time(), tzinfo=UTC)
    fields = personal_fields(con, reseller)
    old = {"cutoff": cutoff, "reseller": reseller}
    with database.transaction(con, dry_run):
        rows, batches = _originals(con, old)
        done = Purged(
            before,
            reseller,
            rows,
            batches,
            _findings(con, "rejections", fields, old),
            _findings(con, "warnings", fields, old),
            _history(con, fields, old),
        )
        con.execute(
            "INSERT INTO purges VALUES (current_timestamp, ?, ?, ?, ?, ?, ?, ?)",
            [
                database.user(),
                before,
                reseller,
                rows,
                done.rejection_values,
                done.warning_values,
                done.history_values,
            ],
        )
    return done


def personal_fields(con: duckdb.DuckDBPyConnection, reseller: str | None) -> pl.DataFrame:
    """(reseller, field): the fields any stored version of the reseller's reference marks
    personal (of every reseller, with None)."""
    stored = con.execute(
        "SELECT reseller, version, source, content FROM reference "
        "WHERE reseller = coalesce(?, reseller)",
        [reseller],
    ).fetchall()
    found = {
        (who, field)
        for who, version, source, content in stored
        for field in parse_reference(
            content, f"stored reference of {who}, version {version} (from {source})"
        ).personal_fields
    }
    return pl.DataFrame(
        sorted(found), schema={"reseller": pl.String, "field": pl.String}, orient="row"
    )


_OLD_BATCHES = (
    "SELECT batch_id, reseller FROM batches WHERE started_at < $cutoff "
    "AND reseller = coalesce($reseller, reseller)"
)


def _originals(con: duckdb.DuckDBPyConnection, old: dict) -> tuple[int, int]:
    """Remove the original cells of the old batches' rejected rows: (rows, batches)."""
    [(rows, batches)] = con.execute(
        "SELECT count(DISTINCT (batch_id, source_row)), count(DISTINCT batch_id) FROM rejections "
        f"WHERE original IS NOT NULL AND batch_id IN (SELECT batch_id FROM ({_OLD_BATCHES}))",
        old,
    ).fetchall()
    con.execute(
        "UPDATE rejections SET original = NULL, purged_at = coalesce(purged_at, current_timestamp) "
        f"WHERE original IS NOT NULL AND batch_id IN (SELECT batch_id FROM ({_OLD_BATCHES}))",
        old,
    )
    return rows, batches


def _findings(con: duckdb.DuckDBPyConnection, table: str, fields: pl.DataFrame, old: dict) -> int:
    """Remove the personal values the old batches' rejections or warnings quote: the value
    goes, the message keeps its words with the value masked. How many values went."""
    personal = fields  # noqa: F841 (scanned)
    found = con.sql(
        f'SELECT f.rowid AS row_id, f."column", f.message, f.value FROM {table} f '
        f"JOIN ({_OLD_BATCHES}) b USING (batch_id) "
        'JOIN personal p ON p.reseller = b.reseller AND p.field = f."column" '
        "WHERE trim(f.value) <> ''",
        params=old,
    ).pl()
    if not found.height:
        return 0
    masked = masked_findings(found, found["column"].unique().to_list())  # noqa: F841 (scanned)
    purged_at = ", purged_at = coalesce(purged_at, current_timestamp)"
    con.execute(
        f"UPDATE {table} SET value = NULL, message = m.message"
        f"{purged_at if table == 'rejections' else ''} "
        f"FROM masked m WHERE {table}.rowid = m.row_id"
    )
    return found.height


def _history(con: duckdb.DuckDBPyConnection, fields: pl.DataFrame, old: dict) -> int:
    """Remove the personal values of customer versions replaced before the cutoff. How many.
    `fields` are the purged resellers' only: the join on them keeps to those resellers."""
    personal = fields.group_by("reseller").agg(pl.col("field").alias("fields"))  # noqa: F841
    old_version = "customer_history.reseller = p.reseller AND replaced_at < $cutoff"
    cutoff = {"cutoff": old["cutoff"]}
    [(removed,)] = con.execute(
        "SELECT coalesce(sum(len(list_filter(map_keys(custom_data), "
        "lambda k: list_contains(p.fields, k)))), 0) "
        f"FROM customer_history JOIN personal p ON {old_version}",
        cutoff,
    ).fetchall()
    con.execute(
        "UPDATE customer_history SET custom_data = map_from_entries(list_filter("
        "map_entries(custom_data), lambda e: NOT list_contains(p.fields, e.key))), "
        "purged_at = coalesce(purged_at, current_timestamp) FROM personal p "
        f"WHERE {old_version} AND list_has_any(map_keys(custom_data), p.fields)",
        cutoff,
    )
    return removed
