"""Columns: how a file's headers are matched to the form's columns and custom fields, and
which files are refused for their headers (map_columns, then parse and validate)."""

import re
from datetime import date
from decimal import Decimal

import polars as pl
import pytest

from helpers import (
    AS_OF_DATE as AS_OF,
)
from helpers import (
    HEADERS_WITH_TAX_ID as HEADERS,
)
from helpers import (
    PREPAID,
    check,
    failures,
)
from pipeline.columns import map_columns
from pipeline.errors import FileRefused
from pipeline.parse import parse
from pipeline.validate import validate
from schemas.rules import Context
from schemas.vocabulary import REQUIRED, STANDARD, header_key


@pytest.mark.parametrize(
    ("header", "key"),
    [
        ("Name", "name"),
        ("Business model", "businessmodel"),
        ("business-model", "businessmodel"),
        ("BUSINESS_MODEL", "businessmodel"),
        ("Billing period (timezone)", "billingperiodtimezone"),
        (" Created  On ", "createdon"),
        ("Tax ID", "taxid"),
    ],
)
def test_header_key_ignores_case_spaces_underscores_hyphens_parentheses(header, key):
    assert header_key(header) == key


SENDER_HEADERS = [
    "Notes",
    "Currency",
    "Name",
    "Business Model",
    "customer-class",
    "BILLING_PERIOD",
    "Billing period (timezone)",
    "balance control",
    "",
    "Credit Limit",
    "available-funds",
    "Created On",
    "Tax ID",
]


def test_headers_are_matched_in_any_spelling_and_order(reference):
    columns = map_columns("batch.csv", SENDER_HEADERS, reference.custom_field_names)
    assert columns.columns == {
        "name": 2,
        "business_model": 3,
        "customer_class": 4,
        "billing_period": 5,
        "billing_period_timezone": 6,
        "balance_control": 7,
        "currency": 1,
        "credit_limit": 9,
        "available_funds": 10,
        "created_on": 11,
    }
    assert columns.custom == {"tax_id": 12}
    assert columns.ignored == ("Notes", "(unnamed column 9)")


def test_values_come_from_their_matched_headers(reference):
    cells = {
        "Notes": "call first",
        "Currency": "jpy",
        "Name": "Sakura Dental",
        "Business Model": "internet access",
        "customer-class": "business",
        "BILLING_PERIOD": "30 days",
        "Billing period (timezone)": "asia/tokyo",
        "balance control": "Postpaid",
        "": "ignored",
        "Credit Limit": "500000",
        "available-funds": "",
        "Created On": "2026-11-20",
        "Tax ID": "JP12345678",
    }
    frame = pl.DataFrame(
        [list(cells.values())], schema=[f"c{n}" for n in range(len(cells))], orient="row"
    ).with_columns(source_row=pl.lit(2, pl.Int64))
    columns = map_columns("batch.csv", list(cells), reference.custom_field_names)
    typed = parse(frame, columns, reference, AS_OF)
    result = validate(typed, Context(reference, AS_OF))
    assert failures(result) == []
    stored = result.accepted.select(*STANDARD, "tax_id").to_dicts()
    assert stored == [
        {
            "name": "Sakura Dental",
            "business_model": "Internet access",
            "customer_class": "Business",
            "billing_period": "30_days",
            "billing_period_timezone": "Asia/Tokyo",
            "balance_control": "postpaid",
            "currency": "JPY",
            "credit_limit": Decimal(500000),
            "available_funds": None,
            "created_on": date(2026, 11, 20),
            "tax_id": "JP12345678",
        }
    ]


def test_optional_columns_may_be_missing(reference):
    columns = map_columns("batch.csv", list(REQUIRED), reference.custom_field_names)
    assert set(columns.columns) == set(REQUIRED)
    assert columns.custom == {}
    result = check([PREPAID], reference, headers=REQUIRED)
    assert failures(result) == []
    row = result.accepted.row(0, named=True)
    assert (row["credit_limit"], row["available_funds"], row["created_on"]) == (
        None,
        Decimal(0),
        AS_OF,
    )


@pytest.mark.parametrize("missing", REQUIRED)
def test_a_missing_required_column_refuses_the_file(reference, missing):
    headers = [h for h in HEADERS if h != missing]
    with pytest.raises(FileRefused, match=rf"^batch\.csv: missing required column\(s\) {missing};"):
        map_columns("batch.csv", headers, reference.custom_field_names)


def test_missing_columns_are_all_named_with_hints(reference):
    headers = [
        "Nmae",
        "Business model",
        "Customer class",
        "Billing periods",
        "Billing period timezone",
        "Balance kontrol",
        "Notes",
    ]
    with pytest.raises(FileRefused) as refused:
        map_columns("batch.csv", headers, reference.custom_field_names)
    assert refused.value.source == "batch.csv"
    assert refused.value.reason == (
        "missing required column(s) name, billing_period, balance_control, currency; "
        "did you mean 'Nmae' for 'name', 'Billing periods' for 'billing_period', "
        "'Balance kontrol' for 'balance_control'? (rename it or use --map)"
    )


def test_missing_columns_without_a_close_header(reference):
    headers = [h for h in HEADERS if h != "currency"] + ["Remarks"]
    with pytest.raises(FileRefused, match=r"currency; the header row must name them"):
        map_columns("batch.csv", headers, reference.custom_field_names)


@pytest.mark.parametrize(
    ("extra", "column", "first"),
    [
        ("NAME", "name", "name"),
        ("Credit-Limit", "credit_limit", "credit_limit"),
        ("Tax ID", "tax_id", "tax_id"),
    ],
)
def test_a_column_given_twice_refuses_the_file(reference, extra, column, first):
    with pytest.raises(
        FileRefused,
        match=re.escape(f"column '{column}' is given twice (headers '{first}' and '{extra}')"),
    ):
        map_columns("batch.csv", [*HEADERS, extra], reference.custom_field_names)


def test_a_renamed_header_feeds_its_column(reference):
    headers = ["Kunde", *HEADERS[1:]]
    columns = map_columns("batch.csv", headers, reference.custom_field_names, {"kunde": "Name"})
    assert columns.columns["name"] == 0
    assert columns.ignored == ()
    with pytest.raises(FileRefused, match="--map names an unknown column 'customer'"):
        map_columns("batch.csv", headers, reference.custom_field_names, {"Kunde": "customer"})
