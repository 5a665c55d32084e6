"""The DuckDB tables: the names and types other systems rely on."""

import pytest

from helpers import query
from pipeline import database

CONTRACT = {
    "customers": {
        "name": "VARCHAR",
        "business_model": "VARCHAR",
        "customer_class": "VARCHAR",
        "billing_period": "VARCHAR",
        "billing_period_timezone": "VARCHAR",
        "balance_control": "VARCHAR",
        "currency": "VARCHAR",
        "credit_limit": "DECIMAL(38,4)",
        "available_funds": "DECIMAL(38,4)",
        "created_on": "DATE",
        "first_period_start": "DATE",
        "first_period_end": "DATE",
        "current_period_start": "DATE",
        "current_period_end": "DATE",
        "current_period_closes_at": "TIMESTAMP WITH TIME ZONE",
        "custom_data": "MAP(VARCHAR, VARCHAR)",
        "batch_id": "BIGINT",
        "source_row": "BIGINT",
    },
    "rejections": {
        "batch_id": "BIGINT",
        "source_row": "BIGINT",
        "name": "VARCHAR",
        "column": "VARCHAR",
        "rule": "VARCHAR",
        "message": "VARCHAR",
        "value": "VARCHAR",
        "original": "JSON",
    },
    "warnings": {
        "batch_id": "BIGINT",
        "source_row": "BIGINT",
        "name": "VARCHAR",
        "column": "VARCHAR",
        "rule": "VARCHAR",
        "message": "VARCHAR",
        "value": "VARCHAR",
    },
    "batches": {
        "batch_id": "BIGINT",
        "source": "VARCHAR",
        "sha256": "VARCHAR",
        "status": "VARCHAR",
        "as_of": "DATE",
        "started_at": "TIMESTAMP WITH TIME ZONE",
        "finished_at": "TIMESTAMP WITH TIME ZONE",
        "rows_read": "BIGINT",
        "rows_accepted": "BIGINT",
        "rows_rejected": "BIGINT",
    },
}


@pytest.mark.parametrize("table", sorted(CONTRACT))
def test_a_new_database_has_the_contract_columns(db, table):
    database.connect(db).close()
    columns = dict(
        query(
            db,
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ?",
            table,
        )
    )
    assert {name: columns.get(name) for name in CONTRACT[table]} == CONTRACT[table]


def test_the_batch_counts_must_add_up(db):
    import duckdb

    con = database.connect(db)
    try:
        with pytest.raises(duckdb.ConstraintException):
            con.execute(
                "INSERT INTO batches (batch_id, source, sha256, status, as_of, started_at, "
                "finished_at, rows_read, rows_accepted, rows_rejected) VALUES "
                "(1, 'x', '', 'committed', DATE '2026-11-26', now(), now(), 3, 1, 1)"
            )
    finally:
        con.close()
