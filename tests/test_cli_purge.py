"""`onboard purge --before DATE`: the cells of rejected rows and the personal values older than
a day are removed, in one transaction; rules, counts and batches stay."""

from datetime import UTC, datetime, timedelta

import duckdb
import pytest

from helpers import AS_OF, SAMPLE, customer, query

ACME = SAMPLE / "acme-telecom"
TODAY = datetime.now(UTC).date()
CUTOFF = TODAY - timedelta(days=10)  # what the tests purge before
PURGED = (  # stdout of the purge of `aged`'s batch 1 and customer version
    f"purge of every reseller's data from before {CUTOFF} removed:\n"
    "  original cells of 3 rejected row(s), in 1 batch(es)\n"
    "  personal values: 1 in rejections, 0 in warnings, 1 in earlier customer versions\n"
    "kept: every rejection's and warning's rule, column and message (a personal value "
    "masked), the counts and the batches\n"
)


def age(db, sql: str) -> None:
    """Make stored data older than it is (a purge looks at when it was stored)."""
    con = duckdb.connect(str(db))
    con.execute(sql)
    con.close()


@pytest.fixture
def aged(onboard, db, tmp_path):
    """Acme's sample batch (1: four customers, three rejected rows, one quoting a personal
    date of birth) imported 60 days ago; batch 2, 30 days ago, updated Jana Novakova (her
    earlier version, with its date of birth, in customer_history); batch 3 today rejects a row
    quoting a date of birth."""
    header = (ACME / "customers.csv").read_text(encoding="utf-8").splitlines()[0]
    jana = "Jana Novakova,,Residential,Monthly,Europe/Prague,prepaid,,,300,,1984-05-17,Senior,,,"
    update, late = tmp_path / "update.csv", tmp_path / "late.csv"
    update.write_text(f"{header}\n{jana}\n", encoding="utf-8")
    late.write_text(f"{header}\n{jana.replace('Jana', 'Eva').replace('-17', '-99')}\n")
    imports = [
        ["--reference", str(ACME / "reference.toml"), str(ACME / "customers.csv")],
        [str(update), "--on-existing", "update"],
        [str(late)],
    ]
    for args in imports:
        assert onboard("import", *args, "--as-of", AS_OF).exit_code == 0
    age(db, "UPDATE batches SET started_at = started_at - INTERVAL 60 DAY WHERE batch_id = 1")
    age(db, "UPDATE batches SET started_at = started_at - INTERVAL 30 DAY WHERE batch_id = 2")
    age(db, "UPDATE customer_history SET replaced_at = replaced_at - INTERVAL 30 DAY")


def originals(db) -> list[tuple]:
    """(batch, rejected rows with their cells kept, rows without)."""
    return query(
        db,
        "SELECT batch_id, count(DISTINCT source_row) FILTER (original IS NOT NULL), "
        "count(DISTINCT source_row) FILTER (original IS NULL) FROM rejections GROUP BY 1 "
        "ORDER BY 1",
    )


def test_a_purge_removes_cells_and_personal_values_older_than_the_day(onboard, db, aged):
    assert originals(db) == [(1, 3, 0), (3, 1, 0)]
    result = onboard("purge", "--before", str(CUTOFF))

    assert result.exit_code == 0, result.output
    assert result.stdout == PURGED
    assert originals(db) == [(1, 0, 3), (3, 1, 0)]  # today's batch keeps its cells
    assert query(
        db, "SELECT value, message FROM rejections WHERE \"column\" = 'date_of_birth' ORDER BY 1"
    ) == [
        ("1984-05-99", "date_of_birth '1984-05-99' is not a real date; write it as YYYY-MM-DD "
         "(e.g. 2026-11-26), or import with --date-format giving the file's layout, e.g. "
         "--date-format %d/%m/%Y"),
        (None, "date_of_birth '***' is not a real date; write it as YYYY-MM-DD (e.g. "
         "2026-11-26), or import with --date-format giving the file's layout, e.g. "
         "--date-format %d/%m/%Y"),
    ]  # fmt: skip
    kept = query(db, "SELECT rule, value FROM rejections WHERE batch_id = 1 ORDER BY 1, 2")
    assert kept == [
        ("currency_class_mismatch", "EUR"),
        ("custom_field_required", None),
        ("custom_field_type", "Gold"),
        ("custom_field_type", "forty"),
        ("custom_field_type", None),
    ]  # every finding, its value kept unless personal
    # Jana's earlier version lost her date of birth, not her contract; she keeps both today
    assert query(db, "SELECT custom_data, purged_at IS NOT NULL FROM customer_history") == [
        ({"contract": "Student"}, True)
    ]
    assert query(db, "SELECT custom_data FROM customers WHERE name = 'Jana Novakova'") == [
        ({"date_of_birth": "1984-05-17", "contract": "Senior"},)
    ]
    assert query(db, "SELECT rows_read, rows_rejected FROM batches WHERE batch_id = 1") == [(7, 3)]
    assert query(
        db,
        "SELECT before, reseller, rows_purged, rejection_values, warning_values, history_values, "
        "purged_by <> '' FROM purges",
    ) == [(CUTOFF, None, 3, 1, 0, 1, True)]

    again = onboard("purge", "--before", str(CUTOFF))
    assert "original cells of 0 rejected row(s), in 0 batch(es)" in again.stdout
    assert "personal values: 0 in rejections, 0 in warnings, 0 in" in again.stdout
    assert query(db, "SELECT count(*) FROM purges") == [(2,)]  # each purge recorded


def test_purged_rows_are_not_retried_or_exported_and_say_why(onboard, db, tmp_path, aged):
    onboard("purge", "--before", str(CUTOFF))
    note = (
        f"onboard: note: batch 1: 3 rejected row(s) lost their cells to a purge on {TODAY} and "
        "are not {}; ask the sender for them again\n"
    )

    retried = onboard("retry", "1")
    assert retried.exit_code == 0, retried.output
    assert retried.stderr == note.format("retried")
    assert retried.stdout == "batch 1: no open rejections to retry\n"
    fix = tmp_path / "fix.csv"
    exported = onboard("rejections", "1", "--export", str(fix))
    assert exported.stderr.startswith(note.format("exported"))
    assert fix.read_text(encoding="utf-8").count("\n") == 1  # the header row alone
    assert onboard("rejections", "3", "--export", str(fix)).stderr == (
        f"onboard: note: {fix}: 1 rejected row(s) of batch 3 written\n"
    )


def test_a_batch_whose_replaced_versions_were_purged_is_not_reverted(onboard, db, aged):
    onboard("purge", "--before", str(CUTOFF))
    refused = onboard("revert", "2")

    assert refused.exit_code == 1
    assert refused.stderr == (
        "onboard: error: batch 2: 1 customer version(s) it replaced lost their personal values "
        "to a purge; reverting it would restore them without those values. Correct those "
        "customers with an import (--on-existing update) instead\n"
    )
    assert query(db, "SELECT status FROM batches WHERE batch_id = 2") == [("committed",)]
    assert query(db, "SELECT count(*) FROM customer_history") == [(1,)]


def test_a_dry_run_counts_and_removes_nothing(onboard, db, aged):
    result = onboard("purge", "--before", str(CUTOFF), "--dry-run")

    assert result.stdout == PURGED.replace(" removed:", " would remove:")
    assert originals(db) == [(1, 3, 0), (3, 1, 0)]
    assert query(db, "SELECT count(*) FROM customer_history WHERE purged_at IS NULL") == [(1,)]
    assert query(db, "SELECT count(*) FROM purges") == [(0,)]


def test_a_purge_of_one_reseller_leaves_the_others(onboard, db, batch, aged, reference_path):
    sent = batch(customer("Bob Co", currency="GBP"))
    onboard("import", str(sent), "--reference", str(reference_path), "--as-of", AS_OF)
    age(db, "UPDATE batches SET started_at = started_at - INTERVAL 60 DAY WHERE batch_id = 4")

    result = onboard("purge", "--before", str(CUTOFF), "--reseller", "default")
    assert result.stdout.startswith(
        f"purge of reseller default's data from before {CUTOFF} removed:\n"
        "  original cells of 1 rejected row(s), in 1 batch(es)\n"
        "  personal values: 0 in rejections, 0 in warnings, 0 in earlier customer versions\n"
    )
    assert originals(db) == [(1, 3, 0), (3, 1, 0), (4, 0, 1)]
    assert query(db, "SELECT reseller FROM purges") == [("default",)]


def test_personal_values_of_old_warnings_are_removed(onboard, db, aged):
    age(
        db,
        "INSERT INTO warnings VALUES (1, 2, 'Jana Novakova', 'date_of_birth', 'odd', "
        "'date_of_birth ''1984-05-17'' is early', '1984-05-17'), "
        "(3, 2, 'Eva Novakova', 'date_of_birth', 'odd', 'date_of_birth ''1984-05-19''', "
        "'1984-05-19')",
    )  # as a rule warning of a personal field would store them
    result = onboard("purge", "--before", str(CUTOFF))

    assert "personal values: 1 in rejections, 1 in warnings" in result.stdout
    assert query(db, "SELECT batch_id, message, value FROM warnings WHERE rule = 'odd'") == [
        (1, "date_of_birth '***' is early", None),
        (3, "date_of_birth '1984-05-19'", "1984-05-19"),
    ]


def test_a_purge_is_refused_for_a_day_to_come_or_an_unknown_reseller(onboard, db, tmp_path, aged):
    tomorrow, later = TODAY + timedelta(days=1), TODAY + timedelta(days=2)
    future = onboard("purge", "--before", str(later))
    assert future.exit_code == 2
    assert future.stderr == (
        f"onboard: error: --before {later}: a day still to come; pass a day up to {tomorrow} "
        "(tomorrow: everything stored so far)\n"
    )
    unknown = onboard("purge", "--before", str(CUTOFF), "--reseller", "nobody")
    assert unknown.stderr == (
        "onboard: error: no reseller 'nobody' is stored; `onboard resellers` lists them\n"
    )
    elsewhere = ["--db", str(tmp_path / "none.duckdb")]
    missing = onboard("purge", "--before", str(CUTOFF), *elsewhere, with_db=False)
    assert missing.exit_code == 2 and "none.duckdb: no such database" in missing.stderr
    assert query(db, "SELECT count(*) FROM purges") == [(0,)]

    everything = onboard("purge", "--before", str(tomorrow))
    assert "original cells of 4 rejected row(s), in 2 batch(es)" in everything.stdout
