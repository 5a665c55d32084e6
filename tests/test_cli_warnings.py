"""Warnings, end to end: rows stored with findings worth a look, kept in table `warnings`."""

import json

import duckdb
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pipeline.read
from helpers import AS_OF, HEADER, customer, query
from pipeline import store
from pipeline.database import SCHEMA_VERSION
from pipeline.names import clean_names, name_keys, similarity_keys
from schemas.vocabulary import LEGAL_FORMS

NO_CREDIT = (
    "a postpaid customer without a credit limit: nothing stops its usage; the billing "
    "system strongly recommends one against fraud"
)


def postpaid(name: str, credit: str = "100", **cells) -> str:
    return customer(name, balance="postpaid", credit=credit, **cells)


def test_warned_rows_are_stored_with_their_warnings(onboard, db, batch, reference_path):
    first = batch(postpaid("Acme Telecom Ltd"), name="first.csv")
    assert onboard("import", str(first), "--reference", str(reference_path)).exit_code == 0
    sent = batch(
        postpaid("ACME Telecom, Ltd."),  # like a stored name
        postpaid("Blue Harbor", credit=""),  # no credit limit
        postpaid("Cobalt GmbH"),  # like row 5
        postpaid("cobalt"),
        postpaid("Acme Telecom Ltd"),  # the stored name itself: name_exists, not similar
        customer("Delta", credit=""),  # prepaid: no credit limit wanted
    )
    result = onboard("import", str(sent), "--as-of", AS_OF)

    assert result.exit_code == 0, result.output
    assert "rows read 6: accepted 5 (4 with warnings), rejected 1" in result.stdout
    assert (
        "warnings (stored, worth a look): credit_limit_missing (1), name_similar (3); "
        "onboard warnings 2" in result.stdout
    )
    assert query(db, "SELECT name FROM customers WHERE batch_id = 2 ORDER BY source_row") == [
        ("ACME Telecom, Ltd.",),
        ("Blue Harbor",),
        ("Cobalt GmbH",),
        ("cobalt",),
        ("Delta",),
    ]
    assert query(
        db, 'SELECT source_row, name, "column", rule, value, message FROM warnings ORDER BY 1'
    ) == [
        (
            2,
            "ACME Telecom, Ltd.",
            "name",
            "name_similar",
            "ACME Telecom, Ltd.",
            "the name 'ACME Telecom, Ltd.' differs from a stored customer's name and the name "
            "on row(s) 6 of this file only by punctuation or a legal form; check it is not the "
            "same customer",
        ),
        (3, "Blue Harbor", "credit_limit", "credit_limit_missing", None, NO_CREDIT),
        (
            4,
            "Cobalt GmbH",
            "name",
            "name_similar",
            "Cobalt GmbH",
            "the name 'Cobalt GmbH' differs from the name on row(s) 5 of this file only by "
            "punctuation or a legal form; check it is not the same customer",
        ),
        (
            5,
            "cobalt",
            "name",
            "name_similar",
            "cobalt",
            "the name 'cobalt' differs from the name on row(s) 4 of this file only by "
            "punctuation or a legal form; check it is not the same customer",
        ),
    ]
    assert query(db, "SELECT source_row, rule FROM rejections") == [(6, "name_exists")]


def test_the_summary_json_counts_warned_rows_and_warnings_by_rule(onboard, batch, reference_path):
    sent = batch(postpaid("Ann", credit=""), postpaid("Ann Ltd", credit=""), postpaid("Bob"))
    result = onboard("import", str(sent), "--reference", str(reference_path), "--json")
    summary = json.loads(result.stdout)
    assert (summary["rows_accepted"], summary["rows_rejected"], summary["rows_warned"]) == (3, 0, 2)
    assert summary["warnings"] == {"credit_limit_missing": 2, "name_similar": 2}
    assert summary["rules"] == {}


def test_onboard_warnings_lists_them_in_every_format(onboard, batch, reference_path):
    sent = batch(postpaid("Ann", credit=""), postpaid("Bob"))
    onboard("import", str(sent), "--reference", str(reference_path))

    table = onboard("warnings", "1")
    assert table.exit_code == 0
    assert table.stdout.splitlines()[0].split() == [
        "batch_id",
        "source_row",
        "name",
        "column",
        "rule",
        "message",
        "value",
    ]
    assert "credit_limit_missing" in table.stdout and "Bob" not in table.stdout
    as_json = json.loads(onboard("warnings", "1", "--format", "json").stdout)
    assert [(w["source_row"], w["rule"]) for w in as_json] == [(2, "credit_limit_missing")]
    as_csv = onboard("warnings", "1", "--format", "csv").stdout.splitlines()
    assert as_csv[0] == "batch_id,source_row,name,column,rule,message,value"
    assert len(as_csv) == 2

    assert "warnings by rule:\n  credit_limit_missing: 1" in onboard("show", "1").stdout
    unknown = onboard("warnings", "9")
    assert unknown.exit_code == 2 and "no batch 9" in unknown.stderr


def test_warnings_as_errors_rejects_them_under_the_same_codes_and_a_retry_admits_them(
    onboard, db, batch, reference_path
):
    sent = batch(postpaid("Ann", credit=""), postpaid("Bob"), postpaid("Bob Ltd"))
    result = onboard(
        "import", str(sent), "--reference", str(reference_path), "--warnings-as-errors", "--json"
    )
    summary = json.loads(result.stdout)
    assert (summary["rows_accepted"], summary["rows_rejected"], summary["rows_warned"]) == (0, 3, 0)
    assert summary["rules"] == {"credit_limit_missing": 1, "name_similar": 2}
    assert query(db, "SELECT source_row, rule FROM rejections ORDER BY 1") == [
        (2, "credit_limit_missing"),
        (3, "name_similar"),
        (4, "name_similar"),
    ]
    assert query(db, "SELECT count(*) FROM warnings") == [(0,)]
    assert query(db, "SELECT options->>'warnings_as_errors' FROM batches") == [("true",)]

    strict = onboard("retry", "1", "--warnings-as-errors", "--json")
    assert json.loads(strict.stdout)["status"] == "nothing_passes"

    retried = json.loads(onboard("retry", "1", "--json").stdout)
    assert (retried["batch_id"], retried["rows_accepted"], retried["rows_warned"]) == (2, 3, 3)
    assert query(db, "SELECT batch_id, source_row, rule FROM warnings ORDER BY 2") == [
        (2, 2, "credit_limit_missing"),
        (2, 3, "name_similar"),
        (2, 4, "name_similar"),
    ]
    assert query(db, "SELECT count(*) FROM rejections WHERE resolved_by_batch = 2") == [(3,)]


def test_a_refused_batch_keeps_no_warnings(onboard, db, batch, reference_path):
    sent = batch(postpaid("Ann", credit=""), postpaid("Bob", currency="GBP"))
    result = onboard("import", str(sent), "--reference", str(reference_path), "--max-rejected", "0")
    assert result.exit_code == 1
    assert query(db, "SELECT status FROM batches") == [("refused",)]
    assert query(db, "SELECT count(*) FROM customers") == [(0,)]
    assert query(db, "SELECT count(*) FROM warnings") == [(0,)]
    assert query(db, "SELECT rule FROM rejections") == [("currency_not_enabled",)]


def test_a_dry_run_counts_warnings_and_writes_none(onboard, db, batch, reference_path):
    onboard("reference", "load", str(reference_path))
    sent = batch(postpaid("Ann", credit=""))
    result = onboard("import", str(sent), "--dry-run")
    assert "accepted 1 (1 with warnings)" in result.stdout
    assert "warnings (stored, worth a look): credit_limit_missing (1)\n" in result.stdout
    assert query(db, "SELECT count(*) FROM warnings") == [(0,)]


def test_a_version_4_database_gets_the_warnings_table(onboard, db, batch, reference_path):
    sent = batch(customer("Ann"))
    onboard("import", str(sent), "--reference", str(reference_path))
    con = duckdb.connect(str(db))  # as onboard's version 4 left it
    con.execute("DROP TABLE warnings")
    con.execute("DROP TABLE purges")
    for table in ("customers", "customer_history"):
        con.execute(f"ALTER TABLE {table} DROP COLUMN billing_change_on")
        con.execute(f"ALTER TABLE {table} DROP COLUMN similar_to")
    for table in ("rejections", "customer_history"):
        con.execute(f"ALTER TABLE {table} DROP COLUMN purged_at")
    con.execute("DELETE FROM schema_version WHERE version > 4")
    con.close()

    assert onboard("warnings", "1").exit_code == 2  # read-only: upgrade first
    again = batch(postpaid("Bob", credit=""), name="again.csv")
    result = onboard("import", str(again))
    assert result.exit_code == 0, result.output
    assert f"upgraded in place from schema version 4 to {SCHEMA_VERSION}" in result.stderr
    assert query(db, "SELECT batch_id, rule FROM warnings") == [(2, "credit_limit_missing")]
    assert query(db, "SELECT name FROM customers ORDER BY 1") == [("Ann",), ("Bob",)]


def test_a_version_7_database_gets_each_stored_names_similarity_key(
    onboard, db, batch, reference_path
):
    onboard(
        "import",
        str(batch(customer("Acme Telecom Ltd"), customer("Old Name"))),
        "--reference",
        str(reference_path),
    )
    update = batch(customer("Old Name", funds="5"), name="update.csv")
    assert onboard("import", str(update), "--on-existing", "update").exit_code == 0
    con = duckdb.connect(str(db))  # as onboard's version 7 left it
    for table in ("customers", "customer_history"):
        con.execute(f"ALTER TABLE {table} DROP COLUMN similar_to")
    con.execute("DELETE FROM schema_version WHERE version > 7")
    con.close()

    result = onboard("import", str(batch(customer("ACME Telecom, Ltd."), name="alike.csv")))
    assert result.exit_code == 0, result.output
    assert f"upgraded in place from schema version 7 to {SCHEMA_VERSION}" in result.stderr
    assert query(db, "SELECT name, similar_to FROM customers ORDER BY name") == [
        ("ACME Telecom, Ltd.", "acme telecom"),
        ("Acme Telecom Ltd", "acme telecom"),
        ("Old Name", "old name"),
    ]
    assert query(db, "SELECT name, similar_to FROM customer_history") == [("Old Name", "old name")]
    # the stored key finds the stored name alike
    assert query(db, "SELECT rule FROM warnings WHERE batch_id = 3") == [("name_similar",)]


# ---------------------------------------------------------------------------------------------
# The similarity key: worked out by polars, stored with each customer (`similar_to`)

WORDS = ["Acme", "acme", "Telecom", "Café", "STRASSE", "Straße", "Ａｃｍｅ", "Blue", "Ltd", "o"]
MARKS = [".", ",", "&", "-", "'", "(", ")", "/", "!", "¿", "€", "+", "«", "»", "·", "\u200b"]


@pytest.mark.parametrize(
    ("one", "other", "alike"),
    [
        ("Acme Telecom Ltd", "ACME Telecom Ltd.", True),
        ("Acme Telecom", "Acme Telecom, s.r.o.", True),
        ("Acme Telecom", "Acme Telecom spol. s r.o.", True),
        ("Gulf Freight W.L.L.", "Gulf Freight", True),
        ("A.B.C. Trading", "ABC Trading", True),
        ("Acme & Co. KG", "ACME", True),
        ("Acme Telecom", "Acme Telecoms", False),
        ("Acme Telecom", "Acme Tele Com", False),
        ("Ltd", "Inc", False),  # nothing but a legal form: compared as written
        ("Coco", "Co", False),
    ],
)
def test_names_alike_are_those_that_differ_by_punctuation_or_a_legal_form(one, other, alike):
    keys = similarity_keys(name_keys(clean_names(pl.Series([one, other]))))
    assert (keys[0] == keys[1]) is alike


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(
            st.sampled_from(WORDS) | st.sampled_from(LEGAL_FORMS) | st.sampled_from(MARKS),
            min_size=1,
            max_size=6,
        ).map(" ".join),
        min_size=1,
        max_size=20,
    )
)
def test_the_stored_names_alike_are_found_by_their_stored_similarity_key(names):
    keys = name_keys(clean_names(pl.Series(names, dtype=pl.String))).drop_nulls()
    con = duckdb.connect()
    try:
        con.execute("CREATE TABLE customers (name_key VARCHAR, similar_to VARCHAR)")
        stored = pl.DataFrame({"name_key": keys, "similar_to": similarity_keys(keys)})  # noqa: F841
        con.execute("INSERT INTO customers SELECT name_key, similar_to FROM stored")
        found = store.similar_customers(con, similarity_keys(keys))
    finally:
        con.close()
    expected = pl.DataFrame({"similar_to": similarity_keys(keys), "name_key": keys})
    expected = expected.drop_nulls().unique().sort("name_key")
    assert found.sort("name_key").rows() == expected.rows()


@pytest.mark.parametrize("streamed", [False, True])
def test_an_import_stores_each_names_similarity_key(
    onboard, db, reference_path, tmp_path, monkeypatch, streamed
):
    """`similar_to` is the name's similarity key as polars works it out (null for a name of
    punctuation only), for a file read whole and for one streamed in chunks alike."""
    if streamed:
        monkeypatch.setattr(pipeline.read, "STREAM_BYTES", 0)
    names = ["ACME Telecom, Ltd.", "Café  Müller GmbH", "!!!", "Straße & Co"]
    sent = tmp_path / "names.csv"
    sent.write_text("\n".join([HEADER, *(customer(n) for n in names)]) + "\n")
    imported = onboard("import", str(sent), "--reference", str(reference_path), "--as-of", AS_OF)
    assert imported.exit_code == 0, imported.output
    stored = query(db, "SELECT name_key, similar_to FROM customers ORDER BY source_row")
    keys = name_keys(clean_names(pl.Series(names)))
    assert stored == list(zip(keys, similarity_keys(keys), strict=True))
    assert stored[2][1] is None and stored[0][1] == "acme telecom"
