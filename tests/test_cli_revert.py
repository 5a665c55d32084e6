"""`onboard revert`: a committed batch undone in one transaction, and what builds on it."""

import pytest

from helpers import AS_OF, counts, customer, query, reference_with
from pipeline import store


@pytest.fixture
def imported(onboard, batch, reference_path):
    """Batch 1 stores Ann and Bob (Bob's row wants GBP: rejected); batch 2 updates Ann (another
    business model) and adds Cid."""

    def run(path, *extra):
        result = onboard(
            "import", str(path), "--reference", str(reference_path), "--as-of", AS_OF, *extra
        )
        assert result.exit_code == 0, result.output

    run(batch(customer("Ann Co"), customer("Bob Co", currency="GBP"), name="one.csv"))
    run(
        batch(customer("Ann Co", model="Hosted IP PBX"), customer("Cid Co"), name="two.csv"),
        "--on-existing",
        "update",
    )


def customers(db) -> list[tuple]:
    return query(db, "SELECT name, business_model, batch_id FROM customers ORDER BY name")


def test_reverting_an_update_restores_the_customers_as_they_were(onboard, db, imported):
    result = onboard("revert", "2")

    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "batch 2 reverted: 1 customer(s) it added removed, 1 it changed restored as they were "
        "before it, 0 rejection(s) of the batch it retried open again\n"
    )
    assert customers(db) == [("Ann Co", "Internet access", 1)]
    assert query(db, "SELECT count(*) FROM customer_history") == [(0,)]
    [(status, at, by)] = query(
        db, "SELECT status, reverted_at IS NOT NULL, reverted_by FROM batches WHERE batch_id = 2"
    )
    assert (status, at) == ("reverted", True) and by


def test_a_batch_a_later_one_changed_is_refused_unless_cascade(onboard, db, imported):
    refused = onboard("revert", "1")
    assert refused.exit_code == 1
    assert refused.stderr == (
        "onboard: error: batch 1: later batches changed or retried its customers (2); revert "
        "them first, or pass --cascade to revert them too, newest first\n"
    )
    assert counts(db) == (2, 2, 1)

    cascaded = onboard("revert", "1", "--cascade")
    assert cascaded.exit_code == 0, cascaded.output
    assert [line.split(":")[0] for line in cascaded.stdout.splitlines()] == [
        "batch 2 reverted",
        "batch 1 reverted",
    ]
    assert customers(db) == []
    assert query(db, "SELECT count(*) FROM rejections") == [(1,)]  # kept for the audit
    statuses = query(db, "SELECT status FROM batches ORDER BY batch_id")
    assert statuses == [("reverted",), ("reverted",)]


def test_a_dry_run_says_what_would_change_and_changes_nothing(onboard, db, imported):
    before = db.read_bytes()
    result = onboard("revert", "1", "--cascade", "--dry-run")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(
        "batch 2 would be reverted: 1 customer(s) it added removed, 1 it changed restored"
    )
    assert "batch 1 would be reverted: 1 customer(s) it added removed, 0 it" in result.stdout
    assert customers(db) == [("Ann Co", "Hosted IP PBX", 2), ("Cid Co", "Internet access", 2)]
    assert query(db, "SELECT DISTINCT status FROM batches") == [("committed",)]
    assert len(db.read_bytes()) == len(before)


def test_a_reverted_retry_reopens_the_rejections_it_resolved(onboard, db, tmp_path, imported):
    onboard("reference", "load", str(reference_with(tmp_path, currencies=["GBP"])))
    assert onboard("retry", "1", "--as-of", AS_OF).exit_code == 0
    assert query(db, "SELECT resolved_by_batch FROM rejections") == [(3,)]

    refused = onboard("revert", "1")  # batch 2 updated it, batch 3 retried it
    assert "later batches changed or retried its customers (2, 3)" in refused.stderr
    assert onboard("revert", "3").exit_code == 0
    assert query(db, "SELECT resolved_by_batch FROM rejections") == [(None,)]
    assert query(db, "SELECT name FROM customers WHERE name = 'Bob Co'") == []
    assert "was reverted: there is nothing of it to retry" in onboard("retry", "3").stderr


def test_a_reverted_file_can_be_imported_again(onboard, db, batch, reference_path, imported):
    assert onboard("revert", "2").exit_code == 0
    again = batch(customer("Ann Co", model="Hosted IP PBX"), customer("Cid Co"), name="two.csv")
    result = onboard("import", str(again), "--as-of", AS_OF, "--on-existing", "update", "--json")
    assert '"status": "committed"' in result.stdout, result.output
    assert customers(db) == [("Ann Co", "Hosted IP PBX", 3), ("Cid Co", "Internet access", 3)]


def test_only_a_committed_batch_can_be_reverted(onboard, db, batch, imported):
    twice = batch(customer("Dan Co"), name="three.csv")
    for _ in range(2):
        assert onboard("import", str(twice), "--as-of", AS_OF).exit_code == 0
    assert query(db, "SELECT status FROM batches WHERE batch_id = 4") == [("skipped",)]

    skipped = onboard("revert", "4")
    assert skipped.exit_code == 2
    assert skipped.stderr == (
        "onboard: error: batch 4 is skipped: only a committed batch can be reverted\n"
    )
    unknown = onboard("revert", "99")
    assert unknown.exit_code == 2 and "no batch 99" in unknown.stderr


def test_an_error_midway_leaves_every_batch_as_it_was(onboard, db, imported, monkeypatch):
    real = store.revert_batch

    def breaks_on_the_second(con, batch_id, by):
        if batch_id == 1:
            raise RuntimeError("disk full")
        return real(con, batch_id, by)

    monkeypatch.setattr(store, "revert_batch", breaks_on_the_second)
    result = onboard("revert", "1", "--cascade")
    assert result.exit_code == 1 and "disk full" in result.stderr
    assert customers(db) == [("Ann Co", "Hosted IP PBX", 2), ("Cid Co", "Internet access", 2)]
    assert query(db, "SELECT DISTINCT status FROM batches") == [("committed",)]
