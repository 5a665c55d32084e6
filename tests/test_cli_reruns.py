"""Reruns: the same file twice, and rows naming customers stored before (reject, skip,
update); what is stored and what is printed.

The subprocess tests (kill -9, two writers, the lock timeout) are in test_crash_safety.py.
"""

import json
import shutil
from datetime import date
from decimal import Decimal

import pytest

from helpers import (
    AS_OF,
    counts,
    customer,
    query,
)


def test_same_content_is_skipped_naming_the_earlier_batch(onboard, db, batch, reference_path):
    first = batch(customer("Ann Co"), customer("Bad Co", currency="GBP"), name="monday.csv")
    assert onboard("import", str(first), "--reference", str(reference_path)).exit_code == 0
    before = counts(db)
    renamed = first.with_name("monday-rerun.csv")
    shutil.copy(first, renamed)

    result = onboard("import", str(first), str(renamed))

    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        f"{first}: skipped, the same content was committed as batch 1 "
        "(use --force to import it again)",
        f"{renamed}: skipped, the same content was committed as batch 1 "
        "(use --force to import it again)",
    ]
    assert result.stderr == ""
    assert counts(db) == (before[0], 3, before[2])
    assert query(db, "SELECT DISTINCT batch_id FROM customers") == [(1,)]
    skipped = query(
        db,
        "SELECT batch_id, source, status, rows_read, rows_accepted, rows_rejected, "
        "rows_skipped, reason, sha256 = (SELECT sha256 FROM batches WHERE batch_id = 1) "
        "FROM batches WHERE batch_id > 1 ORDER BY batch_id",
    )
    reason = "same content as batch 1, already committed (use --force to import)"
    assert skipped == [
        (2, str(first), "skipped", 0, 0, 0, 0, reason, True),
        (3, str(renamed), "skipped", 0, 0, 0, 0, reason, True),
    ]


def test_skipped_file_in_json_names_the_earlier_batch(onboard, batch, reference_path):
    path = batch(customer("Ann Co"))
    onboard("import", str(path), "--reference", str(reference_path))
    summary = json.loads(onboard("import", str(path), "--json").stdout)
    assert (summary["status"], summary["earlier_batch"], summary["batch_id"]) == ("skipped", 1, 2)
    assert summary["rows_read"] == summary["rows_accepted"] == 0


def test_dry_run_of_a_committed_file_says_skipped_and_writes_nothing(
    onboard, db, batch, reference_path
):
    path = batch(customer("Ann Co"))
    onboard("import", str(path), "--reference", str(reference_path))
    result = onboard("import", str(path), "--dry-run")
    assert result.exit_code == 0
    assert "skipped, the same content was committed as batch 1" in result.stdout
    assert counts(db) == (1, 1, 0)


def test_changed_content_is_a_new_batch(onboard, db, batch, reference_path):
    onboard("import", str(batch(customer("Ann Co"))), "--reference", str(reference_path))
    changed = batch(customer("Ann Co"), customer("Bob Co"), name="changed.csv")
    result = onboard("import", str(changed))
    assert result.exit_code == 0
    assert "batch 2 committed" in result.stdout
    assert query(db, "SELECT name, batch_id FROM customers ORDER BY name") == [
        ("Ann Co", 1),
        ("Bob Co", 2),
    ]
    assert query(db, "SELECT batch_id, source_row, rule FROM rejections") == [(2, 2, "name_exists")]


def test_force_imports_the_same_file_again_meeting_the_stored_names(
    onboard, db, batch, reference_path
):
    path = batch(customer("Ann Co"), customer("Bob Co"), customer("Bad Co", currency="GBP"))
    onboard("import", str(path), "--reference", str(reference_path), "--as-of", AS_OF)

    forced = onboard("import", str(path), "--force", "--as-of", AS_OF)

    assert forced.exit_code == 0
    assert "batch 2 committed" in forced.stdout
    assert "rows read 3: accepted 0, rejected 3" in forced.stdout
    assert query(
        db, "SELECT status, rows_read, rows_accepted, rows_rejected FROM batches ORDER BY batch_id"
    ) == [("committed", 3, 2, 1), ("committed", 3, 0, 3)]
    assert query(db, "SELECT name, batch_id FROM customers ORDER BY name") == [
        ("Ann Co", 1),
        ("Bob Co", 1),
    ]
    assert query(
        db, "SELECT source_row, rule FROM rejections WHERE batch_id = 2 ORDER BY 1, 2"
    ) == [(2, "name_exists"), (3, "name_exists"), (4, "currency_not_enabled")]
    # without --force the file is still skipped, naming the first batch that committed it
    again = onboard("import", str(path))
    assert "the same content was committed as batch 1" in again.stdout
    assert counts(db)[0] == 2


def test_force_with_update_replaces_the_stored_customers(onboard, db, batch, reference_path):
    path = batch(customer("Ann Co", funds="10"))
    onboard("import", str(path), "--reference", str(reference_path))
    result = onboard("import", str(path), "--force", "--on-existing", "update")
    assert result.exit_code == 0
    assert query(db, "SELECT name, batch_id FROM customers") == [("Ann Co", 2)]
    assert query(db, "SELECT name, batch_id, replaced_by_batch FROM customer_history") == [
        ("Ann Co", 1, 2)
    ]


# --- customers already stored ----------------------------------------------------------------


@pytest.fixture
def stored(onboard, db, batch, reference_path):
    """Ann Co and Bob Co stored by batch 1 (as of AS_OF)."""
    path = batch(
        customer("Ann Co", funds="10", created="2026-11-01"),
        customer("Bob Co", period="Weekly", funds="20", created="2026-11-02"),
        name="stored.csv",
    )
    result = onboard("import", str(path), "--reference", str(reference_path), "--as-of", AS_OF)
    assert result.exit_code == 0
    return path


PERIODS = (  # created_on, first period, current period, when it closes (UTC), as text
    "concat_ws(' ', created_on, first_period_start || '..' || first_period_end, "
    "current_period_start || '..' || current_period_end, "
    "strftime(current_period_closes_at, '%Y-%m-%d %H:%M'))"
)
STORED_ANN = ("Ann Co", "daily", "USD", Decimal("10.0000"), date(2026, 11, 1), 1)


def stored_customers(db, where: str) -> list[tuple]:
    """The stored customers matching `where`, in the columns of STORED_ANN."""
    return query(
        db,
        "SELECT name, billing_period, currency, available_funds, created_on, batch_id "
        f"FROM customers WHERE {where}",
    )


def test_existing_names_are_rejected_by_default(onboard, db, batch, stored):
    path = batch(customer("ann  co "), customer("Cid Co"), name="next.csv")
    result = onboard("import", str(path), "--as-of", AS_OF, "--json")
    assert result.exit_code == 0
    summary = json.loads(result.stdout)
    assert (summary["rows_accepted"], summary["rows_rejected"], summary["rows_skipped"]) == (
        1,
        1,
        0,
    )
    assert summary["rules"] == {"name_exists": 1}
    assert query(
        db, "SELECT source_row, name, rule, value, message FROM rejections WHERE batch_id = 2"
    ) == [
        (
            2,
            "ann  co",
            "name_exists",
            "ann  co ",
            "a customer named 'ann  co' already exists; use another name",
        )
    ]
    assert stored_customers(db, "name_key = 'ann co'") == [STORED_ANN]
    assert query(db, "SELECT count(*) FROM customer_history") == [(0,)]


def test_on_existing_skip_counts_the_rows_as_skipped(onboard, db, batch, stored):
    path = batch(
        customer("ANN CO", currency="EUR"),
        customer("Bob Co"),
        customer("Cid Co"),
        customer("Dan Co", currency="GBP"),
        name="next.csv",
    )
    result = onboard("import", str(path), "--as-of", AS_OF, "--on-existing", "skip")

    assert result.exit_code == 0
    assert "rows read 4: accepted 1, rejected 1, skipped 2" in result.stdout
    [row] = query(
        db,
        "SELECT status, rows_read, rows_accepted, rows_rejected, rows_skipped FROM batches "
        "WHERE batch_id = 2",
    )
    assert row == ("committed", 4, 1, 1, 2)
    assert row[1] == row[2] + row[3] + row[4]
    assert query(db, "SELECT name, batch_id FROM customers ORDER BY name") == [
        ("Ann Co", 1),
        ("Bob Co", 1),
        ("Cid Co", 2),
    ]
    assert stored_customers(db, "name = 'Ann Co'") == [STORED_ANN]
    assert query(db, "SELECT source_row, rule FROM rejections WHERE batch_id = 2") == [
        (5, "currency_not_enabled")
    ]
    assert query(db, "SELECT count(*) FROM customer_history") == [(0,)]


def test_on_existing_update_replaces_values_recomputes_periods_and_keeps_history(
    onboard, db, batch, stored
):
    path = batch(
        # no created_on: Ann keeps her creation date; Bob's row gives a new one
        customer(
            "ANN CO",
            model="Hosted IP PBX",
            period="Monthly",
            zone="Europe/Prague",
            balance="postpaid",
            credit="250",
        ),
        customer("Bob Co", period="Monthly", funds="5", created="2026-11-20"),
        customer("Eve Co"),
        name="update.csv",
    )
    result = onboard(
        "import", str(path), "--as-of", "2026-12-10", "--on-existing", "update", "--json"
    )

    assert result.exit_code == 0
    summary = json.loads(result.stdout)
    assert (summary["rows_read"], summary["rows_accepted"], summary["rows_updated"]) == (3, 3, 2)
    values = (
        "name, business_model, billing_period, billing_period_timezone, balance_control, "
        "currency, credit_limit, available_funds, batch_id, source_row"
    )
    assert query(db, f"SELECT {values} FROM customers ORDER BY name_key") == [
        ("ANN CO", "Hosted IP PBX", "monthly", "Europe/Prague", "postpaid", "USD", 250, None, 2, 2),
        ("Bob Co", "Internet access", "monthly", "UTC", "prepaid", "USD", None, 5, 2, 3),
        ("Eve Co", "Internet access", "daily", "UTC", "prepaid", "USD", None, 0, 2, 4),
    ]
    got = query(db, f"SELECT name_key, {PERIODS}, billing_change_on FROM customers ORDER BY 1")
    assert got == [
        # Ann keeps her creation date and first period; her change from daily in UTC to
        # monthly in Prague is not retroactive: today's daily period closes as it was, the
        # monthly ones run from tomorrow
        (
            "ann co",
            "2026-11-01 2026-11-01..2026-11-01 2026-12-10..2026-12-10 2026-12-11 00:00",
            date(2026, 12, 11),
        ),
        # Bob gives a new creation date (his first period is then the new kind's), and a change
        # from weekly to monthly: this week stays, monthly periods from next Monday
        (
            "bob co",
            "2026-11-20 2026-11-20..2026-11-30 2026-12-07..2026-12-13 2026-12-14 00:00",
            date(2026, 12, 14),
        ),
        (
            "eve co",
            "2026-12-10 2026-12-10..2026-12-10 2026-12-10..2026-12-10 2026-12-11 00:00",
            None,
        ),
    ]
    history = query(
        db,
        f"SELECT {values}, {PERIODS}, replaced_by_batch, "
        "replaced_at > (SELECT finished_at FROM batches WHERE batch_id = 1) "
        "FROM customer_history ORDER BY name",
    )
    assert history == [
        ("Ann Co", "Internet access", "daily", "UTC", "prepaid", "USD", None, 10, 1, 2,
         "2026-11-01 2026-11-01..2026-11-01 2026-11-26..2026-11-26 2026-11-27 00:00", 2, True),
        ("Bob Co", "Internet access", "weekly", "UTC", "prepaid", "USD", None, 20, 1, 3,
         "2026-11-02 2026-11-02..2026-11-08 2026-11-23..2026-11-29 2026-11-30 00:00", 2, True),
    ]  # fmt: skip
    [(keys, distinct)] = query(db, "SELECT count(*), count(DISTINCT name_key) FROM customers")
    assert keys == distinct == 3


def test_each_update_keeps_the_version_it_replaced(onboard, db, batch, stored):
    for funds, name in (("11", "first.csv"), ("12", "second.csv")):
        path = batch(customer("Ann Co", funds=funds), name=name)
        assert onboard("import", str(path), "--on-existing", "update").exit_code == 0
    assert query(db, "SELECT available_funds, batch_id FROM customers WHERE name = 'Ann Co'") == [
        (Decimal("12.0000"), 3)
    ]
    assert query(
        db,
        "SELECT available_funds, batch_id, replaced_by_batch FROM customer_history "
        "ORDER BY replaced_by_batch",
    ) == [(Decimal("10.0000"), 1, 2), (Decimal("11.0000"), 2, 3)]


def test_an_update_row_that_fails_a_rule_leaves_the_customer_as_stored(onboard, db, batch, stored):
    path = batch(customer("Ann Co", currency="GBP", funds="99"), name="bad-update.csv")
    result = onboard("import", str(path), "--as-of", AS_OF, "--on-existing", "update")
    assert result.exit_code == 0
    assert "rows read 1: accepted 0, rejected 1" in result.stdout
    assert stored_customers(db, "name = 'Ann Co'") == [STORED_ANN]
    assert query(db, "SELECT count(*) FROM customer_history") == [(0,)]
    assert query(db, "SELECT rule FROM rejections WHERE batch_id = 2 ORDER BY 1") == [
        ("currency_immutable",),  # USD when stored
        ("currency_not_enabled",),
    ]


# --- too many rejections ---------------------------------------------------------------------
