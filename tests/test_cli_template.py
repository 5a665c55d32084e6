"""`onboard template`: the file a reseller's clerk fills, made from its stored reference; it
imports as it is, and filled with valid rows, with no rejection."""

import re
import zipfile
from pathlib import Path

import pytest

from helpers import AS_OF, SAMPLE, query, read_csv
from pipeline import template
from pipeline.excel import read_workbook
from pipeline.reference import load_reference

ACME = SAMPLE / "acme-telecom" / "reference.toml"
HEADERS = [
    "Name", "Business model", "Customer class", "Billing period", "Billing period time zone",
    "Balance control", "Currency", "Credit limit", "Available funds", "Created on",
    "date_of_birth", "contract", "vat_number", "employees", "contract_signed",
]  # fmt: skip
ROWS = [  # what a clerk types: drop-down values, text dates and amounts, a leading zero
    ["Jana Novakova", "", "Residential", "Monthly", "Europe/Prague", "prepaid", "", "", "200",
     "2026-11-02", "1984-05-17", "Student", "", "", ""],
    ["Brno Logistics s.r.o.", "Hosted IP PBX", "Company", "Semimonthly", "Europe/Prague",
     "postpaid", "", "1500.50", "", "", "", "", "CZ00789123", "0042", "2026-11-19 14:30"],
]  # fmt: skip


@pytest.fixture
def acme(onboard, db):
    assert onboard("reference", "load", str(ACME)).exit_code == 0


def test_an_xlsx_template_has_lists_text_cells_and_instructions(onboard, db, tmp_path, acme):
    out = tmp_path / "acme.xlsx"
    result = onboard("template", "--output", str(out))

    assert result.exit_code == 0, result.output
    assert result.stderr == (
        f"onboard: note: {out}: template of reseller acme-telecom, reference version 1\n"
    )
    read = read_workbook(out, None, lambda cells: "Name" in cells)
    assert read.headers == HEADERS and read.frame.height == 0
    with zipfile.ZipFile(out) as book:
        workbook = book.read("xl/workbook.xml").decode()
        sheet = book.read("xl/worksheets/sheet1.xml").decode()
        styles = book.read("xl/styles.xml").decode()
        guide = book.read("xl/sharedStrings.xml").decode()
    sheets = [
        (m[1], 'state="hidden"' in m[0])
        for m in re.finditer(r'<sheet name="([^"]+)"[^>]*>', workbook)
    ]
    assert sheets == [("Customers", False), ("Instructions", False), ("Lists", True)]
    lists = dict(re.findall(r'sqref="([A-Z]+)2:\1\d+".*?<formula1>(.*?)</formula1>', sheet))
    # business model, class, period, zone, balance control, currency and the list field
    assert sorted(lists) == ["B", "C", "D", "E", "F", "G", "L"]
    assert lists["C"] == "Lists!$C$2:$C$3"  # Residential, Company
    assert lists["L"] == "Lists!$L$2:$L$4"  # Standard, Student, Senior
    assert 'numFmtId="49"' in styles  # the columns' cells are text
    assert "(personal data)" in guide and "yes, unless the class fixes it" in guide


def test_a_filled_template_imports_with_no_rejection(onboard, db, tmp_path, acme):
    for suffix in ("xlsx", "csv"):
        filled = tmp_path / f"filled.{suffix}"
        rows = [[f"{row[0]} {suffix}", *row[1:]] for row in ROWS]
        template.write(load_reference(ACME), filled, rows)
        result = onboard("import", str(filled), "--as-of", AS_OF, "--json")
        assert '"rows_accepted": 2' in result.stdout and '"rows_rejected": 0' in result.stdout

    stored = query(
        db,
        "SELECT name, currency, business_model, credit_limit::VARCHAR, custom_data "
        "FROM customers ORDER BY name",
    )
    assert stored[0] == (
        "Brno Logistics s.r.o. csv", "EUR", "Hosted IP PBX", "1500.5000",
        {"vat_number": "CZ00789123", "employees": "42",
         "contract_signed": "2026-11-19T13:30:00+00:00"},
    )  # fmt: skip
    assert stored[1][4] == stored[0][4]  # the workbook's cells read as typed, as the CSV's
    assert stored[2][1:3] == ("CZK", "SIP trunk")  # the class fixes them
    assert stored[2][4] == {"date_of_birth": "1984-05-17", "contract": "Student"}


def test_a_csv_template_is_the_header_row(onboard, db, tmp_path, acme):
    out = tmp_path / "acme.csv"
    assert onboard("template", "--output", str(out)).exit_code == 0
    assert read_csv(out) == [HEADERS]
    result = onboard("import", str(out), "--as-of", AS_OF)
    assert "rows read 0: accepted 0, rejected 0" in result.stdout
    assert result.stderr == ""  # every column is one onboard knows


def test_an_xlsx_template_imports_unchanged_with_no_row(onboard, db, tmp_path, acme):
    out = tmp_path / "acme.xlsx"
    assert onboard("template", "--output", str(out)).exit_code == 0
    result = onboard("import", str(out), "--as-of", AS_OF)
    assert result.exit_code == 0, result.output
    assert "rows read 0: accepted 0, rejected 0" in result.stdout
    assert "sheet 'Customers' (1 of 3)" in result.stdout  # the Instructions are passed over
    assert result.stderr == ""


def test_a_template_needs_to_know_whose(onboard, db, tmp_path, acme, reference_path):
    assert onboard("reference", "load", str(reference_path)).exit_code == 0
    several = onboard("template", "--output", str(tmp_path / "t.xlsx"))
    assert several.exit_code == 2
    assert "references of 2 resellers (acme-telecom, default); pass --reseller ID" in several.stderr
    unknown = onboard("template", "--reseller", "nobody", "--output", str(tmp_path / "t.xlsx"))
    assert unknown.exit_code == 2 and "no reference stored for reseller 'nobody'" in unknown.stderr
    wrong = onboard("template", "--reseller", "default", "--output", str(tmp_path / "t.ods"))
    assert wrong.exit_code == 2 and "a template is a .xlsx or a .csv file" in wrong.stderr
    assert not Path(tmp_path / "t.xlsx").exists()
