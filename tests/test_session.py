"""A Python caller (a scheduler's task) imports through a Session as `onboard import` does."""

from datetime import date

import pytest

from helpers import SAMPLE, customer, query
from pipeline.errors import ReferenceFileError, UsageError
from pipeline.options import RunOptions
from pipeline.run import Status
from pipeline.session import Session

AS_OF = date(2026, 11, 26)


def test_a_session_imports_a_folder_batch_by_batch(db, tmp_path):
    folder = tmp_path / "incoming"
    folder.mkdir()
    (folder / "a.csv").write_text((SAMPLE / "customers.csv").read_text(encoding="utf-8"))
    (folder / "b.csv").write_text("name\nAnn\n")
    with Session.open(db, reference_file=SAMPLE / "reference.toml") as session:
        results = list(session.import_files([folder], RunOptions(as_of=AS_OF)))

    assert [(r.status, r.exit_code) for r in results] == [
        (Status.COMMITTED, 0),
        (Status.FILE_REFUSED, 2),
    ]
    assert results[0].rows_accepted == 6 and results[0].batch_id == 1
    assert query(db, "SELECT count(*) FROM customers") == [(6,)]
    assert query(db, "SELECT source FROM reference") == [(str(SAMPLE / "reference.toml"),)]


def test_a_session_on_a_missing_database_needs_a_reference(db):
    with pytest.raises(UsageError, match="no such database, so no stored reference"):
        Session.open(db)
    assert not db.exists()


def test_a_wrong_reference_creates_no_database(db, tmp_path):
    wrong = tmp_path / "wrong.toml"
    wrong.write_text('currencies = ["USX"]\nbusiness_models = ["Internet"]\n', encoding="utf-8")
    with pytest.raises(ReferenceFileError, match="'USX' is not an ISO 4217 code"):
        Session.open(db, reference_file=wrong)
    assert not db.exists()


def test_a_dry_run_session_writes_nothing_not_even_the_reference(db, batch):
    with Session.open(db, reference_file=SAMPLE / "reference.toml") as session:
        list(session.import_files([batch(customer("Acme"))], RunOptions(as_of=AS_OF)))
    changed = SAMPLE / "reference.toml"
    with Session.open(db, reference_file=changed, dry_run=True) as session:
        [result] = session.import_files(
            [batch(customer("Bravo"), name="b.csv")], RunOptions(as_of=AS_OF, dry_run=True)
        )
    assert result.status == Status.DRY_RUN and result.rows_accepted == 1
    assert query(db, "SELECT count(*) FROM reference") == [(1,)]
    assert query(db, "SELECT name FROM customers") == [("Acme",)]


def test_an_unknown_map_target_is_a_usage_error_before_any_file(db, batch):
    with (
        Session.open(db, reference_file=SAMPLE / "reference.toml") as session,
        pytest.raises(UsageError, match="--map Client=nmae: unknown column 'nmae'"),
    ):
        list(
            session.import_files(
                [batch(customer("Acme"))], RunOptions(as_of=AS_OF, renames={"Client": "nmae"})
            )
        )
    assert query(db, "SELECT count(*) FROM batches") == [(0,)]


def test_a_session_retries_a_batch_against_the_stored_reference(db, batch, tmp_path):
    from helpers import reference_with

    with Session.open(db, reference_file=SAMPLE / "reference.toml") as session:
        list(
            session.import_files([batch(customer("Acme", currency="GBP"))], RunOptions(as_of=AS_OF))
        )
    Session.open(db, reference_file=reference_with(tmp_path, currencies=("GBP",))).close()
    with Session.open_existing(db) as session:
        result = session.retry(1, AS_OF)
    assert (result.status, result.retry_of, result.rows_accepted) == (Status.COMMITTED, 1, 1)
    assert query(db, "SELECT name, currency, batch_id FROM customers") == [("Acme", "GBP", 2)]
