"""`onboard retry`: a batch's open rejections re-checked against the current reference."""

import json
from datetime import date
from decimal import Decimal

import pytest

from helpers import (
    AS_OF,
    HEADERS,
    cells,
    counts,
    customer,
    query,
    read_csv,
    reference_with,
    write_csv,
)

NEXT_DAY = "2026-11-27"


def open_rejections(db, batch_id: int = 1) -> list[tuple]:
    return query(
        db,
        "SELECT source_row, rule, resolved_by_batch FROM rejections WHERE batch_id = ? "
        "ORDER BY ALL",
        batch_id,
    )


def test_retry_imports_rows_that_pass_now_as_a_linked_batch(onboard, db, tmp_path, retry_batch):
    onboard("reference", "load", str(reference_with(tmp_path, currencies=["GBP"])))

    result = onboard("retry", "1", "--as-of", NEXT_DAY)

    assert result.exit_code == 0
    assert f"{retry_batch}: batch 2 committed (retry of batch 1)" in result.stdout
    assert "rows re-checked 3: accepted 1, still rejected 2" in result.stdout
    assert "still failing:" in result.stdout
    assert query(
        db,
        "SELECT b.status, b.retry_of, b.as_of, b.rows_read, b.rows_accepted, b.rows_rejected, "
        "b.sha256 = o.sha256 FROM batches b, batches o WHERE b.batch_id = 2 AND o.batch_id = 1",
    ) == [("committed", 1, date(2026, 11, 27), 1, 1, 0, True)]
    assert query(
        db,
        "SELECT name, currency, credit_limit, created_on, batch_id, source_row FROM customers "
        "ORDER BY batch_id, name",
    ) == [
        ("Ann Co", "USD", None, date(2026, 11, 26), 1, 2),
        ("Bob Co", "GBP", Decimal("100.0000"), date(2026, 11, 27), 2, 3),
    ]
    assert open_rejections(db) == [
        (3, "currency_not_enabled", 2),
        (4, "business_model_unknown", None),
        (5, "billing_period_unknown", None),
        (5, "currency_not_enabled", None),  # Dan's other reason still holds him back
    ]
    assert query(db, "SELECT count(*) FROM rejections WHERE batch_id = 2") == [(0,)]
    fix = tmp_path / "still-open.csv"
    onboard("rejections", "1", "--export", str(fix))
    assert [r[0] for r in read_csv(fix)[1:]] == ["Cid Co", "Dan Co"]

    # a second retry admits nothing twice
    second = onboard("retry", "1", "--as-of", NEXT_DAY)
    assert second.exit_code == 0
    assert "nothing passes yet, nothing written (retry of batch 1)" in second.stdout
    assert "rows re-checked 2: accepted 0, still rejected 2" in second.stdout
    assert counts(db) == (2, 2, 4)

    # the reference changes again: Cid passes now, Bob is not admitted again
    models = reference_with(tmp_path, currencies=["GBP"], business_models=["Satellite TV"])
    onboard("reference", "load", str(models))
    third = onboard("retry", "1", "--as-of", NEXT_DAY)
    assert "batch 3 committed (retry of batch 1)" in third.stdout
    assert "rows re-checked 2: accepted 1, still rejected 1" in third.stdout
    assert query(db, "SELECT name, batch_id FROM customers ORDER BY name") == [
        ("Ann Co", 1),
        ("Bob Co", 2),
        ("Cid Co", 3),
    ]
    assert [r[2] for r in open_rejections(db)] == [2, 3, None, None]


def test_retry_with_nothing_open_says_so(onboard, db, batch, tmp_path, reference_path):
    path = batch(customer("Bob Co", currency="GBP"))
    onboard("import", str(path), "--reference", str(reference_path))
    onboard("reference", "load", str(reference_with(tmp_path, currencies=["GBP"])))
    assert "batch 2 committed" in onboard("retry", "1").stdout
    result = onboard("retry", "1")
    assert result.exit_code == 0
    assert result.stdout.strip() == "batch 1: no open rejections to retry"
    assert counts(db) == (1, 2, 1)


def test_retry_of_a_skipped_batch_says_there_is_nothing_to_retry(
    onboard, db, batch, reference_path
):
    path = batch(customer("Bob Co", currency="GBP"), customer("Ann Co"))
    onboard("import", str(path), "--reference", str(reference_path))
    assert "skipped" in onboard("import", str(path)).stdout  # batch 2: the same content

    result = onboard("retry", "2", "--json")

    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["status"], summary["retry_of"]) == ("nothing_to_retry", 2)
    assert counts(db) == (1, 2, 1)


def test_retry_does_not_admit_a_name_stored_meanwhile(onboard, db, batch, tmp_path, retry_batch):
    # the clerk's corrected Bob arrives first, in a fix file
    onboard("import", str(batch(customer("Bob Co", currency="EUR"), name="bob-fixed.csv")))
    onboard("reference", "load", str(reference_with(tmp_path, currencies=["GBP"])))

    result = onboard("retry", "1", "--as-of", NEXT_DAY)

    assert result.exit_code == 0
    assert "nothing passes yet" in result.stdout
    assert "name_exists (1): rows 3" in result.stdout
    assert query(db, "SELECT name, currency, batch_id FROM customers WHERE name = 'Bob Co'") == [
        ("Bob Co", "EUR", 2)
    ]
    assert (3, "currency_not_enabled", None) in open_rejections(db)


def test_retry_reads_amounts_as_the_batch_did(onboard, db, tmp_path, reference_path):
    ann = cells("Ann Co", balance="postpaid", currency="GBP", credit="1500,50")
    sent = write_csv(tmp_path / "semicolons.csv", [HEADERS, ann], delimiter=";")
    onboard("import", str(sent), "--reference", str(reference_path), "--as-of", AS_OF)
    onboard("reference", "load", str(reference_with(tmp_path, currencies=["GBP"])))

    result = onboard("retry", "1", "--as-of", AS_OF)

    assert "batch 2 committed (retry of batch 1)" in result.stdout
    assert query(db, "SELECT name, credit_limit, batch_id FROM customers") == [
        ("Ann Co", Decimal("1500.5000"), 2)
    ]


@pytest.mark.parametrize(
    ("batch_id", "message"),
    [("2", "batch 2 is a retry; retry batch 1"), ("9", "no batch 9")],
)
def test_retry_of_a_retry_or_an_unknown_batch_is_a_usage_error(
    onboard, tmp_path, retry_batch, batch_id, message
):
    onboard("reference", "load", str(reference_with(tmp_path, currencies=["GBP"])))
    assert onboard("retry", "1").exit_code == 0
    result = onboard("retry", batch_id)
    assert result.exit_code == 2
    assert message in result.stderr


def test_retry_needs_a_database(onboard, db):
    result = onboard("retry", "1")
    assert result.exit_code == 2
    assert "no such database" in result.stderr
    assert not db.exists()


# --- audit -----------------------------------------------------------------------------------
