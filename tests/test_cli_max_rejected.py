"""--max-rejected: a batch with too many rejected rows is refused, its rejections kept."""

import pytest

from helpers import (
    customer,
    query,
    read_csv,
)


def test_a_batch_over_max_rejected_is_refused_but_its_rejections_are_kept(
    onboard, db, tmp_path, with_reference, three_of_five_bad
):
    result = onboard("import", str(three_of_five_bad), "--max-rejected", "2")

    assert result.exit_code == 1
    reason = "3 of 5 rows rejected, more than --max-rejected 2; no customer was written"
    assert result.stderr.splitlines() == [
        f"onboard: error: {three_of_five_bad}: batch 1 refused: {reason}"
    ]
    assert f"{three_of_five_bad}: batch 1 refused, no customer written" in result.stdout
    assert query(db, "SELECT count(*) FROM customers") == [(0,)]
    assert query(
        db,
        "SELECT status, rows_read, rows_accepted, rows_rejected, rows_skipped, reason FROM batches",
    ) == [("refused", 5, 2, 3, 0, reason)]
    assert query(db, "SELECT DISTINCT source_row FROM rejections ORDER BY 1") == [(3,), (5,), (6,)]

    fix = tmp_path / "refused-fix.csv"
    exported = onboard("rejections", "1", "--export", str(fix))
    assert exported.exit_code == 0
    assert [r[0] for r in read_csv(fix)] == ["name", "Bob Co", "Dan Co", "Eve Co"]

    # a refused file was not committed: the same file runs again, here under a higher limit
    again = onboard("import", str(three_of_five_bad), "--max-rejected", "3")
    assert again.exit_code == 0
    assert "batch 2 committed" in again.stdout
    assert query(db, "SELECT name, batch_id FROM customers ORDER BY name") == [
        ("Ann Co", 2),
        ("Cid Co", 2),
    ]


@pytest.mark.parametrize(
    ("limit", "exit_code", "status"),
    [
        ("3", 0, "committed"),  # 3 rejected rows are not more than 3
        ("2", 1, "refused"),
        ("0", 1, "refused"),
        ("60%", 0, "committed"),  # 3 of 5 is 60%
        ("59.9%", 1, "refused"),
        ("0%", 1, "refused"),
        ("100%", 0, "committed"),
    ],
)
def test_max_rejected_counts_rows_or_a_percentage(
    onboard, db, with_reference, three_of_five_bad, limit, exit_code, status
):
    result = onboard("import", str(three_of_five_bad), "--max-rejected", limit)
    assert result.exit_code == exit_code
    assert query(db, "SELECT status FROM batches") == [(status,)]
    assert query(db, "SELECT count(*) FROM customers") == [(2 if status == "committed" else 0,)]


@pytest.mark.parametrize(
    "limit", ["many", "-1", "5.5", "x%", "inf%", "1e400%", "nan%", "101%", "-0.5%", "١٢"]
)
def test_a_bad_max_rejected_is_a_usage_error(onboard, db, three_of_five_bad, limit):
    result = onboard("import", str(three_of_five_bad), "--max-rejected", limit)
    assert result.exit_code == 2
    assert "give a number of rows (10) or a percentage from 0% to 100% (5%)" in result.stderr
    assert not db.exists()
    assert not db.exists()


def test_with_several_files_a_refused_one_does_not_stop_the_others(
    onboard, db, batch, with_reference, three_of_five_bad
):
    good = batch(customer("Zed Co"), name="zz-good.csv")
    result = onboard("import", str(three_of_five_bad), str(good), "--max-rejected", "1")
    assert result.exit_code == 1
    assert query(db, "SELECT source, status FROM batches ORDER BY batch_id") == [
        (str(three_of_five_bad), "refused"),
        (str(good), "committed"),
    ]
    assert query(db, "SELECT name FROM customers") == [("Zed Co",)]


# --- fix files -------------------------------------------------------------------------------

SAMPLE_REJECTED_ROWS = [2, 9, 10, 11, 12, 13, 14, 15]
