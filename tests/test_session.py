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


def named_reference(tmp_path, reseller: str, currencies=()):
    from helpers import reference_with

    text = reference_with(tmp_path, currencies=currencies).read_text(encoding="utf-8")
    path = tmp_path / f"{reseller}.toml"
    path.write_text(f'reseller = "{reseller}"\n{text}', encoding="utf-8")
    return path


def test_a_session_is_for_one_reseller_chosen_as_the_command_line_chooses(db, batch, tmp_path):
    acme = named_reference(tmp_path, "acme")
    for reference in (SAMPLE / "reference.toml", acme):
        with Session.open(db, reference_file=reference) as session:
            assert (session.reseller, session.reference_version) == (
                "acme" if reference == acme else "default",
                1,
            )

    with pytest.raises(UsageError, match=r"references of 2 resellers \(acme, default\)"):
        Session.open(db)
    with pytest.raises(UsageError, match=r"reseller 'nobody' \(stored: acme, default\)"):
        Session.open(db, reseller="nobody")
    changed = named_reference(tmp_path, "acme", currencies=("GBP",))
    with pytest.raises(UsageError, match="--reseller default but .* of reseller 'acme'"):
        Session.open(db, reference_file=changed, reseller="default")
    assert query(db, "SELECT reseller, version FROM reference ORDER BY 1") == [
        ("acme", 1),
        ("default", 1),
    ]

    with Session.open(db, reseller="acme") as session:
        [result] = session.import_files([batch(customer("Acme"))], RunOptions(as_of=AS_OF))
    assert (result.status, result.reseller, result.reference_version) == (
        Status.COMMITTED,
        "acme",
        1,
    )
    assert query(db, "SELECT name, reseller FROM customers") == [("Acme", "acme")]
    assert query(db, "SELECT reseller, reference_version FROM batches") == [("acme", 1)]


def test_a_retry_session_checks_each_batch_against_its_resellers_reference(db, batch, tmp_path):
    acme = named_reference(tmp_path, "acme")
    with Session.open(db, reference_file=acme) as session:
        list(
            session.import_files([batch(customer("Acme", currency="GBP"))], RunOptions(as_of=AS_OF))
        )
    Session.open(db, reference_file=named_reference(tmp_path, "acme", ("GBP",))).close()
    Session.open(db, reference_file=SAMPLE / "reference.toml").close()  # loaded last

    with Session.open_existing(db) as session:
        result = session.retry(1, AS_OF)
        with pytest.raises(UsageError, match="a session for retries imports no file"):
            list(session.import_files([batch(customer("B"))], RunOptions(as_of=AS_OF)))
    assert (result.status, result.reseller, result.reference_version) == (
        Status.COMMITTED,
        "acme",
        2,
    )
    assert query(db, "SELECT name, reseller, batch_id FROM customers") == [("Acme", "acme", 2)]


def test_messages_name_ten_resellers_and_count_the_rest():
    from pipeline.session import listed

    assert listed([f"r{n:02}" for n in range(12)]) == (
        "r00, r01, r02, r03, r04, r05, r06, r07, r08, r09 and 2 more; see onboard resellers"
    )
    assert listed(["acme", "default"]) == "acme, default"
