"""Hostile and careless input, as a sender or an operator would give it: never a wrong row
stored, never a lost batch, never "unexpected ...". Every input is made here, small.

Readers' own hostile files (gzip bombs, NUL bytes, workbooks) are in test_read*.py.
"""

import csv
import datetime as dt
import io
import json
import subprocess
import sys
import time
import unicodedata
from pathlib import Path

import duckdb
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import (
    AS_OF,
    HEADER,
    ROOT,
    SAMPLE,
    customer,
    line,
    query,
    read_csv,
    reference_with,
    write_csv,
)
from pipeline import database
from pipeline.columns import map_columns
from pipeline.errors import OnboardError
from pipeline.excel import read_workbook
from pipeline.names import clean_names, name_keys
from pipeline.options import RunOptions
from pipeline.parse import parse
from pipeline.periods import add_periods
from pipeline.read import read_batch
from pipeline.validate import validate
from schemas.rules import Context
from schemas.vocabulary import STANDARD, is_reserved

LATEST = database.SCHEMA_VERSION


def run_import(onboard, path, *extra, reference=SAMPLE / "reference.toml"):
    return onboard("import", str(path), "--reference", str(reference), "--as-of", AS_OF, *extra)


def one_line_error(result, exit_code: int = 2) -> str:
    """The single stderr line of a refused command (no traceback, no "unexpected")."""
    assert result.exit_code == exit_code, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("onboard: error: ") and "unexpected" not in lines[0]
    return lines[0]


# ---------------------------------------------------------------------------------------------
# --db: only a DuckDB file of onboard's


NOT_DUCKDB = {
    "csv": b"name,currency\nAcme,USD\n",
    "json": b'{"customers": []}\n',
    "parquet": b"PAR1\x15\x04\x15\x00PAR1",
    "empty": b"",
}


@pytest.mark.parametrize("kind", sorted(NOT_DUCKDB))
@pytest.mark.parametrize(
    "command",
    [("import", "--dry-run"), ("import",), ("reference", "load"), ("batches",), ("upgrade",)],
)
def test_a_db_that_is_not_a_duckdb_file_is_refused_before_any_work(
    onboard, tmp_path, batch, kind, command
):
    target = tmp_path / f"customers.{kind}"
    target.write_bytes(NOT_DUCKDB[kind])
    sent = batch(customer("Acme"))
    args = {
        "import": [str(sent), "--reference", str(SAMPLE / "reference.toml")],
        "reference": [str(SAMPLE / "reference.toml")],
    }.get(command[0], [])
    result = onboard(*command, *args, "--db", str(target), with_db=False)

    message = one_line_error(result)
    assert f"{target}: not a DuckDB database file" in message
    assert target.read_bytes() == NOT_DUCKDB[kind]  # untouched
    assert result.stdout == ""


def test_a_duckdb_file_with_a_foreign_customers_table_is_refused_and_left_as_it_was(
    onboard, db, batch
):
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE customers (id INTEGER, email VARCHAR)")
    con.close()
    result = run_import(onboard, batch(customer("Acme")))

    assert "table 'customers' is not onboard's" in one_line_error(result)
    tables = query(db, "SELECT table_name FROM information_schema.tables ORDER BY 1")
    assert tables == [("customers",)]  # nothing created beside it


def test_a_duckdb_file_with_other_tables_gets_onboards_beside_them(onboard, db, batch):
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE invoices (id INTEGER)")
    con.close()
    assert run_import(onboard, batch(customer("Acme"))).exit_code == 0
    assert query(db, "SELECT name FROM customers") == [("Acme",)]
    assert query(db, "SELECT count(*) FROM invoices") == [(0,)]


def test_a_database_of_a_newer_onboard_is_refused(onboard, db, batch):
    assert run_import(onboard, batch(customer("Acme"))).exit_code == 0
    con = duckdb.connect(str(db))
    con.execute("INSERT INTO schema_version VALUES (99, current_timestamp)")
    con.close()
    result = onboard("batches")
    assert "written by a newer onboard (schema version 99" in one_line_error(result)


def test_a_dry_run_opens_the_database_read_only_and_changes_no_byte(
    onboard, db, batch, monkeypatch
):
    assert run_import(onboard, batch(customer("Acme"))).exit_code == 0
    before = db.read_bytes()
    opened = []
    real_connect = duckdb.connect

    def connect(target=":memory:", read_only=False, **kwargs):
        if target != ":memory:":
            opened.append((str(target), read_only))
        return real_connect(target, read_only=read_only, **kwargs)

    monkeypatch.setattr(duckdb, "connect", connect)
    result = run_import(
        onboard, batch(customer("Acme"), customer("Bravo"), name="two.csv"), "--dry-run"
    )

    assert result.exit_code == 0, result.output
    assert "rows read 2: accepted 1, rejected 1" in result.stdout  # Acme is stored
    assert opened == [(str(db), True)]
    assert db.read_bytes() == before


def version_1_database(path: Path, names: list[str]) -> None:
    """A database as onboard wrote it before schema versions: its tables, customers named
    `names`, keyed the old way (trimmed, spaces collapsed, lower case)."""
    con = duckdb.connect(str(path))
    con.execute(database.SCHEMA_V1)
    con.execute(
        "INSERT INTO batches VALUES (nextval('batch_ids'), 'old.csv', 'abc', 'committed', "
        "DATE '2026-01-01', now(), now(), ?, ?, 0, 0, 0, NULL, NULL, '[]', '{}', '{}')",
        [len(names), len(names)],
    )
    for row, name in enumerate(names, 2):
        con.execute(
            "INSERT INTO customers VALUES (?, ?, 'Internet access', 'Retail', 'daily', 'UTC', "
            "'prepaid', 'USD', NULL, 0, DATE '2026-01-01', DATE '2026-01-01', "
            "DATE '2026-01-01', DATE '2026-01-01', DATE '2026-01-01', "
            "TIMESTAMPTZ '2026-01-02 00:00:00+00', MAP {}, 1, ?)",
            [name, " ".join(name.split()).lower(), row],
        )
    con.close()


CAFE_NFC, CAFE_NFD = "Caf\u00e9 Noir", "Cafe\u0301 Noir"


def test_an_earlier_database_is_upgraded_in_place_and_collisions_are_listed(onboard, db, batch):
    version_1_database(db, [CAFE_NFC, CAFE_NFD, "Stra\u00dfe Ltd", "Acme"])
    result = run_import(onboard, batch(customer("STRASSE LTD"), customer("Zulu")))

    assert result.exit_code == 0, result.output
    notes = [ln for ln in result.stderr.splitlines() if "upgraded" in ln]
    assert len(notes) == 1
    assert f"upgraded in place from schema version 1 to {database.SCHEMA_VERSION}" in notes[0]
    assert "2 stored customers have names that now compare equal" in notes[0]
    assert "table name_collisions" in notes[0]
    assert query(db, "SELECT max(version) FROM schema_version") == [(database.SCHEMA_VERSION,)]
    keys = dict(query(db, "SELECT name, name_key FROM customers"))
    assert keys[CAFE_NFC] == keys[CAFE_NFD] == "caf\u00e9 noir"
    assert keys["Stra\u00dfe Ltd"] == "strasse ltd"
    collisions = query(db, "SELECT name, source_row FROM name_collisions ORDER BY source_row")
    assert collisions == [(CAFE_NFC, 2), (CAFE_NFD, 3)]
    # both kept; the new STRASSE LTD meets the stored Straße Ltd
    assert query(db, "SELECT count(*) FROM customers WHERE batch_id = 1") == [(4,)]
    assert query(db, "SELECT rule FROM rejections") == [("name_exists",)]
    assert query(db, "SELECT name FROM customers WHERE batch_id = 2") == [("Zulu",)]
    # a second command finds nothing to upgrade
    again = onboard("upgrade")
    assert again.stdout.strip() == f"{db}: schema version {LATEST} (current: {LATEST})"
    assert "upgraded" not in again.stderr


def test_an_update_of_a_name_two_stored_customers_share_is_refused(onboard, db, batch):
    version_1_database(db, [CAFE_NFC, CAFE_NFD])
    sent = batch(customer("CAF\u00c9 NOIR", model="Hosted IP PBX"))
    result = run_import(onboard, sent, "--on-existing", "update")

    assert result.exit_code == 0, result.output
    assert query(db, "SELECT rule, message FROM rejections") == [
        (
            "name_ambiguous",
            "more than one stored customer has a name equal to 'CAFÉ NOIR' (see table "
            "name_collisions); rename or remove all but one before updating it",
        )
    ]
    assert query(db, "SELECT DISTINCT business_model FROM customers") == [("Internet access",)]
    assert query(db, "SELECT count(*) FROM customer_history") == [(0,)]


def test_read_commands_on_an_earlier_database_say_how_to_upgrade(onboard, db):
    version_1_database(db, ["Acme"])
    message = one_line_error(onboard("batches"))
    assert f"run `onboard upgrade --db {db}`" in message
    assert "upgraded in place" in onboard("upgrade").stderr
    assert onboard("batches").exit_code == 0


def version_2_database(path: Path, names: list[str]) -> None:
    """A database as onboard wrote it at schema version 2, before resellers: customers named
    `names` from batch 1 (started before the stored reference was loaded, 2026-02-01), the
    first of them updated by batch 2 (started after), its old values in customer_history."""
    con = duckdb.connect(str(path))
    con.execute(database.SCHEMA_V1)
    database.UPGRADES[2](con)
    con.execute(
        "CREATE TABLE schema_version (version INTEGER NOT NULL, applied_at TIMESTAMPTZ NOT NULL)"
    )
    con.execute("INSERT INTO schema_version VALUES (1, now()), (2, now())")
    content = (SAMPLE / "reference.toml").read_text(encoding="utf-8")
    con.execute(
        "INSERT INTO reference VALUES (TIMESTAMPTZ '2026-02-01 00:00:00+00', 'ref.toml', ?)",
        [content],
    )
    for started, source, rows in (
        ("2026-01-01", "old.csv", len(names)),
        ("2026-03-01", "fix.csv", 1),
    ):
        con.execute(
            "INSERT INTO batches VALUES (nextval('batch_ids'), ?, 'abc', 'committed', "
            "DATE '2026-01-01', ?::TIMESTAMPTZ, ?::TIMESTAMPTZ, ?, ?, 0, 0, 0, NULL, NULL, "
            "'[]', '{}', '{}')",
            [source, f"{started} 00:00:00+00", f"{started} 00:00:01+00", rows, rows],
        )
    keys = name_keys(clean_names(pl.Series(names))).to_list()
    for row, (name, key) in enumerate(zip(names, keys, strict=True), 2):
        con.execute(
            "INSERT INTO customers VALUES (?, ?, 'Internet access', 'Retail', 'daily', 'UTC', "
            "'prepaid', 'USD', NULL, 0, DATE '2026-01-01', DATE '2026-01-01', "
            "DATE '2026-01-01', DATE '2026-01-01', DATE '2026-01-01', "
            "TIMESTAMPTZ '2026-01-02 00:00:00+00', MAP {}, ?, ?)",
            [name, key, 2 if row == 2 else 1, row],
        )
    con.execute(
        "INSERT INTO customer_history SELECT * REPLACE (1 AS batch_id), 2, now() "
        "FROM customers WHERE batch_id = 2"
    )
    con.close()


def table_shapes(db) -> list[tuple]:
    return query(
        db,
        "SELECT table_name, ordinal_position, column_name, data_type, is_nullable, "
        "column_default FROM information_schema.columns ORDER BY ALL",
    )


def test_a_version_2_database_is_upgraded_in_place_to_resellers(onboard, db, batch):
    version_2_database(db, ["Acme", "Bravo"])
    sent = batch(customer("ACME"), customer("Zulu"))
    result = onboard("import", str(sent), "--as-of", AS_OF)  # the one reseller stored

    assert result.exit_code == 0, result.output
    [note] = [ln for ln in result.stderr.splitlines() if "upgraded" in ln]
    assert note.endswith(
        f"upgraded in place from schema version 2 to {LATEST}; references, batches and "
        "customers now belong to a reseller: those stored to reseller 'default'; its stored "
        "reference is version 1"
    )
    versions = query(db, "SELECT version FROM schema_version ORDER BY 1")
    assert versions == [(v,) for v in range(1, LATEST + 1)]
    assert query(db, "SELECT reseller, version, source FROM reference") == [
        ("default", 1, "ref.toml")
    ]
    # batch 1 started before the stored reference was loaded: which one it met is not known
    assert query(db, "SELECT batch_id, reseller, reference_version FROM batches ORDER BY 1") == [
        (1, "default", None),
        (2, "default", 1),
        (3, "default", 1),
    ]
    assert query(db, "SELECT name, reseller, batch_id FROM customers ORDER BY 1") == [
        ("Acme", "default", 2),
        ("Bravo", "default", 1),
        ("Zulu", "default", 3),
    ]
    assert query(db, "SELECT name, reseller, replaced_by_batch FROM customer_history") == [
        ("Acme", "default", 2)
    ]
    assert query(db, "SELECT rule FROM rejections") == [("name_exists",)]
    assert onboard("upgrade").stdout.strip() == f"{db}: schema version {LATEST} (current: {LATEST})"


def test_a_version_1_database_is_upgraded_to_resellers_without_a_reference(
    onboard, db, batch, tmp_path
):
    version_1_database(db, ["Acme"])
    result = onboard("upgrade")

    assert result.exit_code == 0, result.output
    assert result.stderr.strip().endswith(
        f"upgraded in place from schema version 1 to {LATEST}; references, batches and "
        "customers now belong to a reseller: those stored to reseller 'default'"
    )
    assert query(db, "SELECT reseller, reference_version FROM batches") == [("default", None)]
    assert query(db, "SELECT name, reseller FROM customers") == [("Acme", "default")]
    assert query(db, "SELECT count(*) FROM reference") == [(0,)]
    listed = json.loads(onboard("resellers", "--format", "json").stdout)
    assert listed == [
        {"reseller": "default", "reference_version": None, "customers": 1, "batches": 1}
    ]
    acme = tmp_path / "acme.toml"
    acme.write_text('reseller = "acme"\n' + (SAMPLE / "reference.toml").read_text())
    sent = batch(customer("acme"), customer("Zulu"))
    assert run_import(onboard, sent, "--on-existing", "update", reference=acme).exit_code == 0
    assert query(db, "SELECT name, reseller FROM customers ORDER BY 1") == [
        ("Acme", "default"),
        ("Zulu", "acme"),
    ]
    assert query(db, "SELECT rule FROM rejections") == [("name_exists",)]


@pytest.mark.parametrize("version", [1, 2])
def test_an_upgraded_database_has_the_shape_of_a_new_one(onboard, db, tmp_path, version):
    (version_1_database if version == 1 else version_2_database)(db, ["Acme"])
    assert onboard("upgrade").exit_code == 0
    fresh = tmp_path / "fresh.duckdb"
    database.connect(fresh).close()
    assert table_shapes(db) == table_shapes(fresh)
    assert ("customers", 20, "reseller", "VARCHAR", "NO", None) in table_shapes(fresh)


def test_a_failed_upgrade_leaves_the_database_as_it_was(onboard, db, monkeypatch):
    version_2_database(db, ["Acme"])
    before = table_shapes(db)
    step = database.UPGRADES[3]

    def fails_at_its_end(con):
        step(con)
        raise OnboardError("the upgrade broke")

    monkeypatch.setitem(database.UPGRADES, 3, fails_at_its_end)
    result = onboard("upgrade")

    assert one_line_error(result, 1) == "onboard: error: the upgrade broke"
    assert table_shapes(db) == before
    assert query(db, "SELECT max(version) FROM schema_version") == [(2,)]
    assert query(db, "SELECT count(*) FROM customers") == [(1,)]


# ---------------------------------------------------------------------------------------------
# Names that are the same customer, and names in disguise


@pytest.mark.parametrize(
    ("stored", "sent"),
    [
        (CAFE_NFC, CAFE_NFD),
        ("Acme", "\uff21\uff43\uff4d\uff45"),  # full-width
        ("\ufb01ne Foods", "Fine Foods"),  # ligature
        ("Stra\u00dfe", "STRASSE"),
        ("\u0130stanbul Tel", "Istanbul Tel"),
        ("Acme", "Ac\u200bme"),
        ("Acme", "A\u200ccme\u200d"),
        ("Acme", "\ufeffAc\u2060me\u00ad"),
        ("Acme", "\u061cAcme"),
        ("Acme Corp", "Acme\u3000Corp"),
    ],
)
def test_names_that_are_the_same_customer_meet_across_batches(onboard, db, batch, stored, sent):
    assert run_import(onboard, batch(customer(stored), name="first.csv")).exit_code == 0
    result = run_import(onboard, batch(customer(sent), name="second.csv"))

    assert result.exit_code == 0, result.output
    assert query(db, "SELECT rule FROM rejections WHERE batch_id = 2") == [("name_exists",)]
    assert query(db, "SELECT count(*) FROM customers") == [(1,)]


def test_the_stored_name_is_nfc_and_trimmed_without_invisible_characters(onboard, db, batch):
    sent = "\u200b " + CAFE_NFD + "\u00ad Bar\ufeff "
    assert run_import(onboard, batch(customer(sent))).exit_code == 0
    [(name, key)] = query(db, "SELECT name, name_key FROM customers")
    assert name == "Caf\u00e9 Noir Bar" and unicodedata.is_normalized("NFC", name)
    assert key == "caf\u00e9 noir bar"


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("\u200b", "name_required"),
        ("\u2800\u2800", "name_required"),
        ("\u3164", "name_required"),
        ("\ufeff\u200d", "name_required"),
        ("Acme \u202eproC", "name_control_characters"),
        ("Acme \u2066Corp\u2069", "name_control_characters"),
        ("Acme\u2028Corp", "name_control_characters"),
        ("Acme\u2029Corp", "name_control_characters"),
        ("Acme\x1b[2J", "name_control_characters"),
        ("\u0410cme Telecom", "name_mixed_scripts"),  # Cyrillic А
        ("Telec\u03bfm", "name_mixed_scripts"),  # Greek ο
    ],
)
def test_invisible_and_disguised_names_are_rejected(onboard, db, batch, name, rule):
    result = run_import(onboard, batch(customer(name)))
    assert result.exit_code == 0, result.output
    assert query(db, "SELECT rule FROM rejections") == [(rule,)]
    assert query(db, "SELECT count(*) FROM customers") == [(0,)]


def test_a_look_alike_spelling_does_not_pass_as_a_new_customer(onboard, db, batch):
    assert run_import(onboard, batch(customer("Acme Telecom"), name="first.csv")).exit_code == 0
    assert run_import(onboard, batch(customer("\u0410cme Telecom"), name="second.csv"))
    assert query(db, "SELECT name FROM customers") == [("Acme Telecom",)]
    assert query(db, "SELECT rule FROM rejections") == [("name_mixed_scripts",)]


def test_a_name_wholly_in_one_other_alphabet_is_a_name(onboard, db, batch):
    assert run_import(onboard, batch(customer("\u0410\u043a\u043c\u0435"))).exit_code == 0
    assert query(db, "SELECT name FROM customers") == [("\u0410\u043a\u043c\u0435",)]


NAME_PARTS = st.sampled_from(
    ["a", "B", "\u00e9", "e\u0301", "\u00df", "SS", "\u0130", "I", "\ufb01", "\uff21", " ",
     "\u00a0", "\u3000", "\u200b", "\u200d", "\u00ad", "\ufeff", "\u03c2", "\u03a3", "\u2126",
     "K", "\u212a", "\u0131", "\u0307", "1", "-"]
)  # fmt: skip


def keys_of(*names: str) -> list[str | None]:
    return name_keys(clean_names(pl.Series(names, dtype=pl.String))).to_list()


@settings(max_examples=200, deadline=None)
@given(st.lists(NAME_PARTS, min_size=1, max_size=8).map("".join))
def test_name_key_is_idempotent_and_blind_to_form_case_and_invisible_characters(name):
    [key] = keys_of(name)
    if key is None:  # nothing visible: no name
        return
    assert keys_of(key) == [key]
    variants = [
        unicodedata.normalize("NFC", name),
        unicodedata.normalize("NFD", name),
        name.casefold(),
        unicodedata.normalize("NFKD", name.casefold()),
        "\u200b".join(name) + "\ufeff",
        f"  {name}\u00ad ",
    ]
    assert keys_of(*variants) == [key] * len(variants)


def test_name_keys_match_python_on_the_unicode_rules():
    """NFKC and full case folding as Python's own str methods do them."""
    names = ["\u1e9e", "\u0149", "\u01f0", "\u1f88", "\u00b5", "\u017f", "\u2160", "\u33a1"]
    assert keys_of(*names) == [unicodedata.normalize("NFKC", n.casefold()) for n in names]


# ---------------------------------------------------------------------------------------------
# Dates written year first are year-month-day, whatever --date-format says


@pytest.mark.parametrize(
    ("order", "written", "stored"),
    [
        *(
            ("dmy", written, stored)
            for written, stored in [
                ("2026-01-05", "2026-01-05"),
                ("2026-01-05T10:00:00", "2026-01-05"),
                ("2026-01-05 10:00:00+01:00", "2026-01-05"),
                ("2026-01-05T23:59:59.5Z", "2026-01-05"),
                ("2026/01/05", "2026-01-05"),
                ("2026.01.05", "2026-01-05"),
                ("2026.1.5", "2026-01-05"),
                ("05/01/2026", "2026-01-05"),
                ("5.1.26", "2026-01-05"),
                ("1/2/3", None),
                ("2026-01-05 25:00:00", None),
                ("2026-01-05T10:61", None),
                ("2026/13/05", None),
                ("2026-02-30", None),
                ("2026 11 05", None),  # year first with spaces: never day and month swapped
                ("20261105", None),  # digits alone
                ("11/26/2026", None),  # only month first: the order given does not hold
                ("26 Nov 2026", "2026-11-26"),
            ]
        ),
        ("mdy", "11/26/2026", "2026-11-26"),
        ("mdy", "01/05/2026", "2026-01-05"),
        ("mdy", "13/11/2026", None),  # dateutil would read it day first: never swapped
    ],
)
def test_dates_are_read_in_the_order_given_and_year_first_is_year_month_day(
    onboard, db, batch, order, written, stored
):
    result = run_import(onboard, batch(customer("Acme", created=written)), "--date-format", order)
    assert result.exit_code == 0, result.output
    if stored is None:
        assert query(db, "SELECT rule, value FROM rejections") == [("created_on_invalid", written)]
    else:
        assert query(db, "SELECT created_on::VARCHAR FROM customers") == [(stored,)]


def test_an_iso_date_with_a_time_needs_no_date_format(onboard, db, batch):
    sent = batch(
        customer("Acme", created="2026-01-05T10:00:00"),
        customer("Bravo", created="2026-01-05T24:00"),
    )
    assert run_import(onboard, sent).exit_code == 0
    assert query(db, "SELECT name, created_on::VARCHAR FROM customers") == [("Acme", "2026-01-05")]
    assert query(db, "SELECT rule FROM rejections") == [("created_on_invalid",)]


# ---------------------------------------------------------------------------------------------
# The reference: what would break every import is refused on load


def reference_text(fields: str) -> str:
    return (
        'currencies = ["USD"]\nbusiness_models = ["Internet access"]\n\n'
        '[[customer_classes]]\nname = "Retail"\n' + fields
    )


@pytest.mark.parametrize(
    "field",
    ["source_row", "name_key", "custom_data", "name__text", "Tax__TEXT", "seats__Value",
     "credit_limit_given", "available_funds_decimals", "errors", "extra_fields", "batch_id",
     "rule", "message", "value", "column", "original", "Source_Row", "current_period_closes_at"],
)  # fmt: skip
def test_a_custom_field_named_like_an_internal_column_is_refused(onboard, db, tmp_path, field):
    path = tmp_path / "reference.toml"
    path.write_text(
        reference_text(f'[[customer_classes.custom_fields]]\nname = "{field}"\n'), encoding="utf-8"
    )
    message = one_line_error(onboard("reference", "load", str(path)))
    assert f"{path}:7: custom field {field!r}: the name is one onboard uses for itself" in message
    assert not db.exists()


def test_every_column_onboard_makes_is_reserved(onboard, db, batch, reference):
    """The reserved list holds every column of the frames a batch goes through, and of the
    tables they are stored in, that is not a standard or custom column: a custom field can
    never overwrite one."""
    day = dt.date(2026, 11, 26)
    rows = [customer("Acme"), customer("Acme"), customer("Bravo", klass="Business", tax="X")]
    sent = batch(*rows)
    read = read_batch(sent, RunOptions(as_of=day))
    columns = map_columns(str(sent), read.headers, reference.custom_field_names)
    typed = parse(read.frame, columns, reference, day)
    checked = validate(typed, Context(reference, day))
    made = {*typed.columns, *checked.rejections.columns, *add_periods(typed, day).columns}
    assert run_import(onboard, sent).exit_code == 0
    made |= {
        c
        for (c,) in query(
            db,
            "SELECT column_name FROM information_schema.columns WHERE table_name IN "
            "('customers', 'customer_history', 'rejections')",
        )
    }
    mine = made - set(STANDARD) - set(reference.custom_field_names) - {"name"}
    assert "name_key" in mine and "credit_limit__text" in mine
    assert sorted(c for c in mine if not is_reserved(c)) == []


def test_a_pattern_that_fails_as_applied_to_the_whole_value_is_refused(onboard, tmp_path):
    path = tmp_path / "reference.toml"
    field = (
        '[[customer_classes.custom_fields]]\nname = "tax_id"\npattern = "(?x)[A-Z]+ # letters"\n'
    )
    path.write_text(reference_text(field), encoding="utf-8")
    message = one_line_error(onboard("reference", "load", str(path)))
    assert f"{path}:8: custom field 'tax_id': bad pattern" in message


def test_toml_nested_thousands_of_levels_deep_is_refused_in_one_line(onboard, db, tmp_path):
    path = tmp_path / "deep.toml"
    path.write_text("x = " + "[" * 5000 + "]" * 5000 + "\n", encoding="utf-8")
    message = one_line_error(onboard("reference", "load", str(path)))
    assert f"{path}: arrays or tables nested too deeply" in message
    assert not db.exists()


def test_a_reference_of_ten_thousand_classes_costs_what_the_batch_uses(
    onboard, db, tmp_path, batch
):
    classes = "".join(
        f'[[customer_classes]]\nname = "Class {n}"\n'
        f'[[customer_classes.custom_fields]]\nname = "field_{n}"\nmandatory = true\n'
        f'pattern = "[A-Z]{{2}}[0-9]{{{n % 5 + 1}}}"\n'
        for n in range(10_000)
    )
    path = tmp_path / "big.toml"
    path.write_text(
        'currencies = ["USD"]\nbusiness_models = ["Internet access"]\n' + classes, encoding="utf-8"
    )
    sent = batch(
        "Acme,Internet access,Class 7,Daily,UTC,prepaid,USD,AB123",
        "Bravo,Internet access,Class 8,Daily,UTC,prepaid,USD,",
        "Charlie,Internet access,Gold,Daily,UTC,prepaid,USD,",
        header=",".join([*HEADER.split(",")[:7], "field_7"]),
    )
    start = time.monotonic()
    result = run_import(onboard, sent, reference=path)
    seconds = time.monotonic() - start

    assert result.exit_code == 0, result.output
    assert seconds < 30, seconds  # 1,000 classes took 5 s, 10,000 over 300 s, before
    assert query(db, "SELECT name, custom_data FROM customers") == [("Acme", {"field_7": "AB123"})]
    rejected = dict(query(db, "SELECT rule, message FROM rejections"))
    assert (
        rejected["custom_field_required"]
        == "field_8 is mandatory for customer class 'Class 8'; fill it in"
    )
    assert rejected["customer_class_unknown"] == (
        "customer class 'Gold' is not known; use one of: "
        + ", ".join(f"Class {n}" for n in range(10))
        + " and 9,990 more; see onboard reference show"
    )


# ---------------------------------------------------------------------------------------------
# Cells: control characters, NUL, a formula guard that is not ours, one huge cell


def test_control_characters_in_custom_data_are_a_rejection_of_that_cell(onboard, db, batch):
    sent = batch(
        customer("Acme", klass="Business", tax="CZ1234\x1b]0;owned\x075678"),
        customer("Bravo", klass="Business", tax="CZ1234\x9b5678"),
        customer("Charlie", klass="Business", tax="CZ12345678"),
    )
    assert run_import(onboard, sent).exit_code == 0
    assert query(db, "SELECT name FROM customers") == [("Charlie",)]
    rules = query(
        db, "SELECT source_row, rule, \"column\" FROM rejections WHERE rule LIKE '%control%'"
    )
    assert rules == [
        (2, "custom_field_control_characters", "tax_id"),
        (3, "custom_field_control_characters", "tax_id"),
    ]


def test_a_leading_quote_in_an_ordinary_csv_is_kept(onboard, db, batch):
    assert run_import(onboard, batch(customer("'+Plus Ltd"), customer("'Quoted"))).exit_code == 0
    assert sorted(query(db, "SELECT name FROM customers")) == [("'+Plus Ltd",), ("'Quoted",)]


def test_one_huge_cell_is_its_own_rejection_and_its_stored_copy_is_bounded(onboard, db, batch):
    huge = "x" * 5_000_000
    sent = batch(customer("Acme", klass="Business", tax=huge), customer("Bravo"))
    result = run_import(onboard, sent)

    assert result.exit_code == 0, result.output
    assert query(db, "SELECT name FROM customers") == [("Bravo",)]
    rules = query(
        db,
        "SELECT rule, length(value), length(original), length(message) FROM rejections "
        "ORDER BY rule",
    )
    assert [r[0] for r in rules] == ["cell_too_long", "custom_field_pattern"]
    assert all(r[1] < 33_000 and r[2] < 34_000 and r[3] < 400 for r in rules)
    [(message,)] = query(db, "SELECT message FROM rejections WHERE rule = 'cell_too_long'")
    assert message == "the cell holds 5000000 characters, more than the 32,767 allowed; shorten it"


def test_a_huge_name_is_kept_with_its_rejections_cut_as_their_values_are(onboard, db, batch):
    sent = batch(customer("A" * 5_000_000), customer("Bravo"))
    assert run_import(onboard, sent).exit_code == 0
    kept = query(db, "SELECT rule, length(name), length(value) FROM rejections ORDER BY rule")
    assert [rule for rule, _, _ in kept] == ["cell_too_long", "name_too_long"]
    assert all(name < 33_000 and value < 33_000 for _, name, value in kept)


def test_a_cut_cell_stays_rejected_on_retry_and_a_workbook_export_says_why_it_cannot(
    onboard, db, batch, tmp_path
):
    sent = batch(customer("Acme", klass="Business", tax="x" * 40_000))
    assert run_import(onboard, sent).exit_code == 0
    retried = onboard("retry", "1", "--as-of", AS_OF)
    assert "nothing passes yet" in retried.stdout
    assert query(db, "SELECT count(*) FROM customers") == [(0,)]

    refused = onboard("rejections", "1", "--export", str(tmp_path / "fix.xlsx"))
    message = one_line_error(refused)
    assert "a cell holds 32,792 characters, more than a workbook cell holds (32,767)" in message
    assert "export to a .csv file instead" in message
    assert not (tmp_path / "fix.xlsx").exists()
    assert onboard("rejections", "1", "--export", str(tmp_path / "fix.csv")).exit_code == 0


# ---------------------------------------------------------------------------------------------
# Fix files always round-trip


def test_a_second_round_fix_file_has_one_reasons_column(onboard, db, batch, tmp_path):
    sent = batch(customer("=Acme", currency="GBP"), customer("+Bravo", currency="XXX"))
    assert run_import(onboard, sent).exit_code == 0
    first = tmp_path / "fix-1.csv"
    assert onboard("rejections", "1", "--export", str(first)).exit_code == 0
    assert read_csv(first)[0][-1] == "errors (fix file of batch 1)"
    assert [r[0] for r in read_csv(first)[1:]] == ["'=Acme", "'+Bravo"]

    assert run_import(onboard, first).exit_code == 0  # still GBP and XXX: rejected again
    assert query(db, "SELECT DISTINCT name FROM rejections WHERE batch_id = 2 ORDER BY 1") == [
        ("+Bravo",),
        ("=Acme",),
    ]
    for suffix in ("csv", "xlsx"):
        second = tmp_path / f"fix-2.{suffix}"
        assert onboard("rejections", "2", "--export", str(second)).exit_code == 0
        headers = read_csv(second)[0] if suffix == "csv" else xlsx_rows(second)[0]
        assert headers == [*HEADER.split(","), "errors (fix file of batch 2)"]


def test_a_csv_fix_file_guards_header_cells_and_full_width_formulas_and_reads_back(
    onboard, db, batch, tmp_path
):
    header = HEADER.replace("tax_id", "=Notes")
    sent = batch(customer("\uff1dAcme", currency="GBP"), customer("\uff0bBravo"), header=header)
    assert run_import(onboard, sent).exit_code == 0
    fix = tmp_path / "fix.csv"
    assert onboard("rejections", "1", "--export", str(fix)).exit_code == 0
    written = read_csv(fix)
    assert written[0][-2:] == ["'=Notes", "errors (fix file of batch 1)"]
    assert written[1][0] == "'\uff1dAcme"

    result = run_import(onboard, fix, reference=reference_with(tmp_path, currencies=("GBP",)))
    assert result.exit_code == 0, result.output
    assert "'=Notes' is not a known column" in result.stderr  # its own name, guard taken off
    assert query(db, "SELECT name FROM customers ORDER BY name") == [
        ("\uff0bBravo",),
        ("\uff1dAcme",),
    ]


@pytest.mark.parametrize("start", ["\uff1d", "\uff0b", "\uff0d", "\uff20", "\ufe6b"])
def test_every_full_width_formula_start_is_guarded_in_csv(onboard, db, batch, tmp_path, start):
    assert run_import(onboard, batch(customer(f"{start}Acme", currency="GBP"))).exit_code == 0
    fix = tmp_path / "fix.csv"
    assert onboard("rejections", "1", "--export", str(fix)).exit_code == 0
    assert read_csv(fix)[1][0] == f"'{start}Acme"
    [row] = csv_rows(onboard("rejections", "1", "--format", "csv").stdout)
    assert row["name"] == f"'{start}Acme"


def xlsx_rows(path: Path) -> list[list[str]]:
    read = read_workbook(path, None, lambda cells: True)
    return [read.headers, *read.frame.drop("source_row", "__extra__").rows()]


def test_a_workbook_fix_file_of_a_decimal_comma_batch_imports_back_as_it_was(onboard, db, tmp_path):
    sent = tmp_path / "semi.csv"
    rows = [
        HEADER.split(","),
        [
            *[
                "Acme",
                "Internet access",
                "Retail",
                "Daily",
                "UTC",
                "postpaid",
                "EUR",
                "1500,50",
                "",
                "",
                "",
            ]
        ],
        [
            *[
                "Bravo",
                "Internet access",
                "Retail",
                "Daily",
                "UTC",
                "postpaid",
                "GBP",
                "20,25",
                "",
                "",
                "",
            ]
        ],
    ]
    write_csv(sent, rows, delimiter=";")
    assert run_import(onboard, sent).exit_code == 0
    fix = tmp_path / "fix.xlsx"
    assert onboard("rejections", "1", "--export", str(fix)).exit_code == 0

    # the operator enables GBP; the clerk sends the file back as it is
    result = run_import(onboard, fix, reference=reference_with(tmp_path, currencies=("GBP",)))
    assert result.exit_code == 0, result.output
    assert "fix file of batch 1, read as that batch was" in result.stdout
    assert query(db, "SELECT name, credit_limit::VARCHAR FROM customers ORDER BY name") == [
        ("Acme", "1500.5000"),
        ("Bravo", "20.2500"),
    ]


# ---------------------------------------------------------------------------------------------
# Options a careless operator gives


@pytest.mark.parametrize(
    "encoding",
    [
        *("rot13", "base64", "zlib", "hex", "uu", "bz2", "quopri"),  # bytes, not text
        *("punycode", "idna", "unicode_escape", "raw_unicode_escape", "undefined"),  # no file's
    ],
)
def test_only_encodings_of_text_files_are_accepted(onboard, db, batch, encoding):
    message = one_line_error(run_import(onboard, batch(customer("Acme")), "--encoding", encoding))
    assert f"--encoding: {encoding!r} is not an encoding of text files" in message
    assert not db.exists()


def test_a_utf16_file_without_its_byte_order_mark_is_refused_in_one_line(onboard, db, batch):
    message = one_line_error(run_import(onboard, batch(customer("Acme")), "--encoding", "utf-16"))
    assert "cannot decode the file as utf-16: UTF-16 stream does not start with BOM" in message
    assert query(db, "SELECT count(*) FROM customers") == [(0,)]


def test_ten_thousand_unknown_columns_make_one_warning_line(onboard, db, batch):
    extra = [f"note {n}" for n in range(10_000)]
    sent = batch(
        line([*customer("Acme").split(","), *("x" for _ in extra)]),
        header=",".join([*HEADER.split(","), *extra]),
    )
    result = run_import(onboard, sent)

    assert result.exit_code == 0, result.output
    assert query(db, "SELECT name FROM customers") == [("Acme",)]  # the whole header was read
    [warning] = result.stderr.splitlines()
    assert warning == (
        f"onboard: warning: {sent}: columns 'note 0', 'note 1', 'note 2', 'note 3', 'note 4' "
        "and 9,995 more are not known columns and were ignored"
    )


# ---------------------------------------------------------------------------------------------
# Outputs that could hurt their reader


HOSTILE = '=HYPERLINK("http://x")\x1b[2J\x1b]0;owned\x07'


def test_a_senders_escape_sequences_reach_no_terminal(onboard, db, batch):
    sent = batch(customer("Acme", currency=HOSTILE), name="bad\x1b[31m.csv")
    result = run_import(onboard, sent)
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert "\\x1b[2J\\x1b]0;owned\\x07" in result.stdout
    as_csv = ["--format", "csv"]
    for args in (
        ["rejections", "1"],
        ["rejections", "1", *as_csv],
        ["show", "1"],
        ["batches"],
        ["batches", *as_csv],
    ):
        shown = onboard(*args)
        assert shown.exit_code == 0
        assert not {"\x1b", "\x07"} & set(shown.stdout + shown.stderr), args
    # escaped, not dropped (click drops some sequences from what it prints to a pipe)
    assert "\\x1b[2J" in onboard("rejections", "1").stdout
    [row] = csv_rows(onboard("rejections", "1", *as_csv).stdout)
    assert row["value"] == "'" + HOSTILE.replace("\x1b", "\\x1b").replace("\x07", "\\x07")
    [batch_row] = csv_rows(onboard("batches", *as_csv).stdout)
    assert batch_row["source"].endswith("bad\\x1b[31m.csv")


def test_rejections_as_csv_guard_formulas_as_fix_files_do(onboard, db, batch):
    sent = batch(
        customer("+1+cmd|' /C calc'!A0", currency="GBP"), customer("\uff1dSUM(A1)", currency="GBP")
    )
    assert run_import(onboard, sent).exit_code == 0
    rows = list(csv_rows(onboard("rejections", "1", "--format", "csv").stdout))
    names = [row["name"] for row in rows]
    assert names == ["'+1+cmd|' /C calc'!A0", "'\uff1dSUM(A1)"]
    assert all(row["value"] == "GBP" for row in rows)


def csv_rows(text: str):
    return csv.DictReader(io.StringIO(text))


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("GMT", "Etc/GMT"),
        ("EST5EDT", "EST5EDT"),
        ("US/Eastern", "America/New_York"),
        ("europe/kiev", "Europe/Kyiv"),
        ("Asia/Calcutta", "Asia/Kolkata"),
        ("Europe/Amsterdam", "Europe/Amsterdam"),
        ("Etc/UTC", "UTC"),
        ("Zulu", "UTC"),
    ],
)
def test_every_zone_name_and_link_is_accepted_under_its_canonical_name(
    onboard, db, batch, written, stored
):
    assert run_import(onboard, batch(customer("Acme", zone=written))).exit_code == 0
    assert query(db, "SELECT billing_period_timezone FROM customers") == [(stored,)]


@pytest.mark.parametrize("name", ["bad[1].csv", "any*.csv", "one?.csv"])
def test_a_file_name_like_a_pattern_is_that_file(onboard, db, batch, name):
    batch(customer("Bravo"), name="any-other.csv")
    assert run_import(onboard, batch(customer("Acme"), name=name)).exit_code == 0
    assert query(db, "SELECT name FROM customers") == [("Acme",)]


def test_a_reader_that_stops_early_ends_the_command_quietly(onboard, db, batch):
    for n in range(3):
        assert run_import(onboard, batch(customer(f"Acme {n}"), name=f"b{n}.csv")).exit_code == 0
    pipeline = subprocess.run(
        f"{sys.executable} -m pipeline rejections 1 --db {db} --format json | head -c 1; "
        f"{sys.executable} -m pipeline show 1 --db {db} | head -n 1",
        shell=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert pipeline.stderr == ""
