"""Tests for the rules a row must pass: map_columns -> parse -> validate, one rule code at a time.

Each rule code of `schemas.rules.RULES` has good values (the row is accepted and the value stored
normalized) and bad values (the exact rule, column, value and a message quoting the value).
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_DOWN, Decimal
from decimal import Context as DecimalContext

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import (
    AS_OF_DATE as AS_OF,
)
from helpers import (
    BUSINESS,
    PREPAID,
    check,
    failures,
)
from helpers import (
    HEADERS_WITH_TAX_ID as HEADERS,
)
from helpers import (
    text_batch as batch,
)
from pipeline.columns import map_columns
from pipeline.grid import EXTRA
from pipeline.parse import _amount, _decimals, _plain, parse
from pipeline.reference import parse_reference
from pipeline.validate import validate
from schemas.rules import RULES, WARNINGS, Context
from schemas.vocabulary import AMOUNT_SCALE, REQUIRED, STANDARD

HOSTED_EU = {"customer_class": "hosted eu", "currency": ""}  # fixes EUR and Hosted IP PBX

# ---------------------------------------------------------------------------------------------
# Good values: the row is accepted and the value stored normalized.

GOOD = [
    # (id, overrides, column, stored value)
    ("name as written", {"name": "Acme Telecom s.r.o."}, "name", "Acme Telecom s.r.o."),
    ("name trimmed", {"name": "  Acme Telecom \t"}, "name", "Acme Telecom"),
    ("name of 100 characters", {"name": "x" * 100}, "name", "x" * 100),
    ("name of 100 after trim", {"name": " " + "y" * 100 + " "}, "name", "y" * 100),
    ("name not ascii", {"name": "Pekařství Žluťoučký"}, "name", "Pekařství Žluťoučký"),
    ("model any case", {"business_model": "hosted ip pbx"}, "business_model", "Hosted IP PBX"),
    ("model trimmed", {"business_model": " INTERNET ACCESS "}, "business_model", "Internet access"),
    ("class any case", {"customer_class": "retail"}, "customer_class", "Retail"),
    (
        "class with fields",
        {"customer_class": "BUSINESS", "tax_id": "CZ12345678"},
        "customer_class",
        "Business",
    ),
    ("currency of the class", HOSTED_EU, "currency", "EUR"),
    ("currency of the class, any case", {**HOSTED_EU, "currency": "eur"}, "currency", "EUR"),
    (
        "business model of the class",
        {**HOSTED_EU, "business_model": " "},
        "business_model",
        "Hosted IP PBX",
    ),
    ("number field", {**HOSTED_EU, "seats": " +0012.50 "}, "seats__value", "12.5"),
    ("number field, default", {**HOSTED_EU, "seats": ""}, "seats__value", "1"),
    ("list field any case", {**HOSTED_EU, "plan": "PREMIUM"}, "plan__value", "Premium"),
    ("list field, mandatory default", {**HOSTED_EU, "plan": " "}, "plan__value", "Basic"),
    ("text field", {**HOSTED_EU, "contact_email": " a@b.cz "}, "contact_email__value", "a@b.cz"),
    ("field of another class", {"seats": "many"}, "seats__value", None),
    ("period Daily", {"billing_period": "Daily"}, "billing_period", "daily"),
    ("period WEEKLY", {"billing_period": "WEEKLY"}, "billing_period", "weekly"),
    ("period Semimonthly", {"billing_period": "Semimonthly"}, "billing_period", "semimonthly"),
    ("period Semi-monthly", {"billing_period": "Semi-monthly"}, "billing_period", "semimonthly"),
    ("period monthly", {"billing_period": "monthly"}, "billing_period", "monthly"),
    (
        "period Monthly (anniversary)",
        {"billing_period": "Monthly (anniversary)"},
        "billing_period",
        "monthly_anniversary",
    ),
    (
        "period code monthly_anniversary",
        {"billing_period": "monthly_anniversary"},
        "billing_period",
        "monthly_anniversary",
    ),
    ("period 30 days", {"billing_period": "30 days"}, "billing_period", "30_days"),
    ("period code 30_days", {"billing_period": "30_days"}, "billing_period", "30_days"),
    ("period API 1", {"billing_period": "1"}, "billing_period", "daily"),
    ("period API 2", {"billing_period": "2"}, "billing_period", "weekly"),
    ("period API 3", {"billing_period": "3"}, "billing_period", "semimonthly"),
    ("period API 4", {"billing_period": "4"}, "billing_period", "monthly"),
    ("period API 5", {"billing_period": "5"}, "billing_period", "monthly_anniversary"),
    ("period API 6", {"billing_period": " 6 "}, "billing_period", "30_days"),
    (
        "zone canonical",
        {"billing_period_timezone": "Europe/Prague"},
        "billing_period_timezone",
        "Europe/Prague",
    ),
    (
        "zone lower case",
        {"billing_period_timezone": "europe/prague"},
        "billing_period_timezone",
        "Europe/Prague",
    ),
    (
        "zone upper case, three parts",
        {"billing_period_timezone": "AMERICA/ARGENTINA/BUENOS_AIRES"},
        "billing_period_timezone",
        "America/Argentina/Buenos_Aires",
    ),
    ("zone utc", {"billing_period_timezone": "utc"}, "billing_period_timezone", "UTC"),
    ("balance Prepaid", {"balance_control": "Prepaid"}, "balance_control", "prepaid"),
    ("balance POSTPAID", {"balance_control": " POSTPAID "}, "balance_control", "postpaid"),
    ("currency upper cased", {"currency": "usd"}, "currency", "USD"),
    ("currency JPY", {"currency": "Jpy"}, "currency", "JPY"),
    ("currency BHD", {"currency": " bhd "}, "currency", "BHD"),
    ("credit limit USD", {"credit_limit": "1500.50"}, "credit_limit", Decimal("1500.50")),
    ("credit limit empty", {"credit_limit": ""}, "credit_limit", None),
    ("credit limit zero", {"credit_limit": "0"}, "credit_limit", Decimal(0)),
    ("credit limit plus sign", {"credit_limit": "+7.5"}, "credit_limit", Decimal("7.5")),
    ("credit limit no integer part", {"credit_limit": ".5"}, "credit_limit", Decimal("0.5")),
    (
        "credit limit JPY",
        {"currency": "JPY", "credit_limit": "500000"},
        "credit_limit",
        Decimal(500000),
    ),
    (
        "credit limit JPY, trailing zeros",
        {"currency": "JPY", "credit_limit": "100.00"},
        "credit_limit",
        Decimal(100),
    ),
    (
        "credit limit BHD 3 places",
        {"currency": "BHD", "credit_limit": "0.125"},
        "credit_limit",
        Decimal("0.125"),
    ),
    (
        "credit limit EUR, trailing zero",
        {"currency": "EUR", "credit_limit": "1.500"},
        "credit_limit",
        Decimal("1.5"),
    ),
    ("funds empty prepaid is 0", PREPAID, "available_funds", Decimal(0)),
    ("funds empty postpaid", {"available_funds": ""}, "available_funds", None),
    (
        "funds USD",
        {**PREPAID, "available_funds": "150.00"},
        "available_funds",
        Decimal(150),
    ),
    (
        "funds BHD",
        {**PREPAID, "currency": "BHD", "available_funds": "120.500"},
        "available_funds",
        Decimal("120.5"),
    ),
    (
        "funds JPY",
        {**PREPAID, "currency": "JPY", "available_funds": "1200"},
        "available_funds",
        Decimal(1200),
    ),
    ("created empty is as-of", {"created_on": ""}, "created_on", AS_OF),
    ("created on as-of", {"created_on": "2026-11-26"}, "created_on", AS_OF),
    ("created leap day", {"created_on": "2024-02-29"}, "created_on", date(2024, 2, 29)),
    ("created trimmed", {"created_on": " 2026-01-05 "}, "created_on", date(2026, 1, 5)),
    # a custom field's column holds what custom_data stores of it (test_store: the MAP)
    ("custom field stored", {**BUSINESS, "tax_id": "CZ12345678"}, "tax_id", "CZ12345678"),
    ("custom field trimmed", {**BUSINESS, "tax_id": " BH1234567890 "}, "tax_id", "BH1234567890"),
    (
        "custom field of another class ignored",
        {"customer_class": "Retail", "tax_id": "anything"},
        "tax_id",
        None,
    ),
    ("name NFD stored NFC", {"name": "Cafe\u0301 Noir"}, "name", "Caf\u00e9 Noir"),
    ("name without zero-width space", {"name": "Ac\u200bme\u00ad Ltd"}, "name", "Acme Ltd"),
    ("name NFD key", {"name": "Cafe\u0301 NOIR"}, "name_key", "caf\u00e9 noir"),
    ("name full-width key", {"name": "\uff21\uff43\uff4d\uff45"}, "name_key", "acme"),
    ("name sharp s key", {"name": "Stra\u00dfe"}, "name_key", "strasse"),
    ("name dotted I key", {"name": "\u0130stanbul"}, "name_key", "istanbul"),
    ("name ligature key", {"name": "\ufb01ne"}, "name_key", "fine"),
    ("name one script", {"name": "\u0410\u043a\u043c\u0435"}, "name", "\u0410\u043a\u043c\u0435"),
    (
        "credit limit 34 digits",
        {"credit_limit": "9" * 34},
        "credit_limit",
        Decimal("9" * 34),
    ),
    ("created ISO with T", {"created_on": "2026-01-05T10:00:00"}, "created_on", date(2026, 1, 5)),
    (
        "created ISO with offset",
        {"created_on": "2026-01-05 10:00:00+01:00"},
        "created_on",
        date(2026, 1, 5),
    ),
]


@pytest.mark.parametrize(
    ("row", "column", "stored"), [g[1:] for g in GOOD], ids=[g[0] for g in GOOD]
)
def test_good_value_is_accepted_and_normalized(reference, row, column, stored):
    result = check([row], reference)
    assert failures(result) == []
    assert result.accepted.height == 1
    assert result.accepted[column].to_list() == [stored]


# ---------------------------------------------------------------------------------------------
# Bad values: the exact rule, column and value, and a message a clerk can act on.


@dataclass(frozen=True)
class Bad:
    id: str
    row: dict
    rule: str
    value: str | None
    says: str | None = None  # a text the message holds; the value in quotes unless given
    column: str | None = None  # the rule's column unless given
    also: tuple[str, ...] = ()  # other rules the row fails as well
    existing: tuple[str, ...] = field(default=())

    @property
    def expected_column(self) -> str | None:
        return self.column or RULES[self.rule].column

    @property
    def expected_message(self) -> str:
        return self.says if self.says is not None else f"'{self.value}'"


LONG = "x" * 101
BAD = [
    Bad("name empty", {"name": ""}, "name_required", "", says="the name is empty"),
    Bad("name blank", {"name": "   "}, "name_required", "   ", says="the name is empty"),
    Bad(
        "name with tab",
        {"name": "Acme\tTelecom"},
        "name_control_characters",
        "Acme\tTelecom",
        says="control character",
    ),
    Bad(
        "name with bell",
        {"name": "Acme\x07"},
        "name_control_characters",
        "Acme\x07",
        says="control character",
    ),
    Bad(
        "name with line break",
        {"name": "Acme\nTelecom"},
        "name_control_characters",
        "Acme\nTelecom",
        says="control character",
    ),
    Bad("name too long", {"name": LONG}, "name_too_long", LONG, says="101 characters"),
    Bad(
        "name too long after trim",
        {"name": " " + "z" * 102 + " "},
        "name_too_long",
        " " + "z" * 102 + " ",
        says="102 characters",
    ),
    Bad(
        "name stored already",
        {"name": "  ACME   Telecom "},
        "name_exists",
        "  ACME   Telecom ",
        says="'ACME   Telecom' already exists",
        existing=("acme telecom",),
    ),
    Bad("model empty", {"business_model": ""}, "business_model_required", "", says="empty"),
    Bad(
        "model unknown",
        {"business_model": "Satellite TV"},
        "business_model_unknown",
        "Satellite TV",
    ),
    Bad("class empty", {"customer_class": " "}, "customer_class_required", " ", says="empty"),
    Bad("class unknown", {"customer_class": "Gold"}, "customer_class_unknown", "Gold"),
    Bad("period empty", {"billing_period": ""}, "billing_period_required", "", says="empty"),
    Bad("period yearly", {"billing_period": "Yearly"}, "billing_period_unknown", "Yearly"),
    Bad(
        "period fortnightly",
        {"billing_period": "fortnightly"},
        "billing_period_unknown",
        "fortnightly",
    ),
    Bad("period API 7", {"billing_period": "7"}, "billing_period_unknown", "7"),
    Bad("period API 0", {"billing_period": "0"}, "billing_period_unknown", "0"),
    Bad(
        "zone empty",
        {"billing_period_timezone": ""},
        "billing_period_timezone_required",
        "",
        says="empty",
    ),
    Bad(
        "zone unknown",
        {"billing_period_timezone": "Mars/Olympus_Mons"},
        "billing_period_timezone_unknown",
        "Mars/Olympus_Mons",
    ),
    Bad(
        "zone misspelled",
        {"billing_period_timezone": "Europe/Praha"},
        "billing_period_timezone_unknown",
        "Europe/Praha",
    ),
    Bad(
        "zone as an offset",
        {"billing_period_timezone": "+01:00"},
        "billing_period_timezone_unknown",
        "+01:00",
    ),
    Bad("balance empty", {"balance_control": ""}, "balance_control_required", "", says="empty"),
    Bad("balance unknown", {"balance_control": "credit"}, "balance_control_unknown", "credit"),
    Bad(
        "balance hyphenated", {"balance_control": "pre-paid"}, "balance_control_unknown", "pre-paid"
    ),
    Bad("currency empty", {"currency": ""}, "currency_required", "", says="empty"),
    Bad("currency not ISO", {"currency": "XYZ"}, "currency_not_iso4217", "XYZ"),
    Bad("currency a name", {"currency": "euro"}, "currency_not_iso4217", "euro"),
    Bad("currency a symbol", {"currency": "$"}, "currency_not_iso4217", "$"),
    Bad("currency not enabled", {"currency": "GBP"}, "currency_not_enabled", "GBP"),
    Bad("currency not enabled, lower", {"currency": "chf"}, "currency_not_enabled", "chf"),
    Bad(
        "currency not the class's",
        {**HOSTED_EU, "currency": "usd"},
        "currency_class_mismatch",
        "usd",
        says="customer class 'Hosted EU' charges every customer in EUR, not 'usd'; leave the "
        "cell empty or write EUR",
    ),
    Bad(
        "business model not the class's",
        {**HOSTED_EU, "business_model": "Internet access"},
        "business_model_class_mismatch",
        "Internet access",
        says="customer class 'Hosted EU' gives every customer the business model Hosted IP PBX, "
        "not 'Internet access'",
    ),
    Bad(
        "number field with a thousands separator",
        {**HOSTED_EU, "seats": "1,000"},
        "custom_field_type",
        "1,000",
        says="seats '1,000' is not a number; write digits with a point for decimals",
        column="seats",
    ),
    Bad(
        "list field value not listed",
        {**HOSTED_EU, "plan": "Gold"},
        "custom_field_type",
        "Gold",
        says="plan 'Gold' is not one of: Basic, Premium",
        column="plan",
    ),
    Bad(
        "credit limit thousands separator",
        {"credit_limit": "1,500.50"},
        "credit_limit_not_a_number",
        "1,500.50",
    ),
    Bad("credit limit words", {"credit_limit": "abc"}, "credit_limit_not_a_number", "abc"),
    Bad("credit limit exponent", {"credit_limit": "1e3"}, "credit_limit_not_a_number", "1e3"),
    Bad("credit limit space", {"credit_limit": "1 000"}, "credit_limit_not_a_number", "1 000"),
    Bad("credit limit two points", {"credit_limit": "1.2.3"}, "credit_limit_not_a_number", "1.2.3"),
    Bad(
        "credit limit full-width digits",
        {"currency": "JPY", "credit_limit": "１２３"},
        "credit_limit_not_a_number",
        "１２３",
    ),
    Bad("credit limit negative", {"credit_limit": "-1"}, "credit_limit_negative", "-1"),
    Bad("credit limit cent below 0", {"credit_limit": "-0.01"}, "credit_limit_negative", "-0.01"),
    Bad(
        "credit limit USD 3 places",
        {"credit_limit": "1.234"},
        "credit_limit_too_many_decimals",
        "1.234",
        says="'1.234' has more decimal places than USD allows (2)",
    ),
    Bad(
        "credit limit JPY 1 place",
        {"currency": "JPY", "credit_limit": "1.5"},
        "credit_limit_too_many_decimals",
        "1.5",
        says="'1.5' has more decimal places than JPY allows (0)",
    ),
    Bad(
        "credit limit BHD 4 places",
        {"currency": "BHD", "credit_limit": "0.1234"},
        "credit_limit_too_many_decimals",
        "0.1234",
        says="'0.1234' has more decimal places than BHD allows (3)",
    ),
    Bad(
        "credit limit USD 5 places",
        {"credit_limit": "0.00001"},
        "credit_limit_too_many_decimals",
        "0.00001",
    ),
    Bad(
        "credit limit for prepaid",
        {**PREPAID, "credit_limit": "100"},
        "credit_limit_prepaid",
        "100",
        says="only for postpaid customers",
    ),
    Bad(
        "funds not a number",
        {**PREPAID, "available_funds": "12,50"},
        "available_funds_not_a_number",
        "12,50",
    ),
    Bad(
        "funds currency sign",
        {**PREPAID, "available_funds": "$20"},
        "available_funds_not_a_number",
        "$20",
    ),
    Bad(
        "funds negative",
        {**PREPAID, "available_funds": "-20"},
        "available_funds_negative",
        "-20",
    ),
    Bad(
        "funds USD 3 places",
        {**PREPAID, "available_funds": "20.125"},
        "available_funds_too_many_decimals",
        "20.125",
        says="'20.125' has more decimal places than USD allows (2)",
    ),
    Bad(
        "funds JPY 2 places",
        {**PREPAID, "currency": "JPY", "available_funds": "1200.50"},
        "available_funds_too_many_decimals",
        "1200.50",
        says="'1200.50' has more decimal places than JPY allows (0)",
    ),
    Bad(
        "funds for postpaid",
        {"available_funds": "5"},
        "available_funds_postpaid",
        "5",
        says="only for prepaid customers",
    ),
    Bad(
        "funds 0 for postpaid",
        {"available_funds": "0"},
        "available_funds_postpaid",
        "0",
        says="only for prepaid customers",
    ),
    Bad("created February 30", {"created_on": "2026-02-30"}, "created_on_invalid", "2026-02-30"),
    Bad("created 2025-02-29", {"created_on": "2025-02-29"}, "created_on_invalid", "2025-02-29"),
    Bad("created month 13", {"created_on": "2026-13-01"}, "created_on_invalid", "2026-13-01"),
    Bad("created day first", {"created_on": "26/11/2026"}, "created_on_invalid", "26/11/2026"),
    Bad("created words", {"created_on": "yesterday"}, "created_on_invalid", "yesterday"),
    Bad(
        "created tomorrow",
        {"created_on": "2026-11-27"},
        "created_on_after_as_of",
        "2026-11-27",
        says="created on 2026-11-27 is after the import date 2026-11-26",
    ),
    Bad(
        "created years ahead",
        {"created_on": "2030-01-01"},
        "created_on_after_as_of",
        "2030-01-01",
        says="created on 2030-01-01 is after",
    ),
    Bad(
        "more cells than headers",
        {EXTRA: "oops | 42"},
        "malformed_row",
        None,
        says="extra values: oops | 42",
    ),
    Bad(
        "spreadsheet error in a cell",
        {"currency": "#N/A"},
        "cell_error",
        "#N/A",
        says="#N/A",
        column="currency",
        also=("currency_not_iso4217",),
    ),
    Bad(
        "mandatory custom field empty",
        {**BUSINESS, "tax_id": ""},
        "custom_field_required",
        "",
        says="tax_id is mandatory for customer class 'Business'",
        column="tax_id",
    ),
    Bad(
        "mandatory custom field blank",
        {"customer_class": "business", "tax_id": "  "},
        "custom_field_required",
        "  ",
        says="tax_id is mandatory for customer class 'Business'",
        column="tax_id",
    ),
    Bad(
        "custom field lower case",
        {**BUSINESS, "tax_id": "cz12345678"},
        "custom_field_pattern",
        "cz12345678",
        says="tax_id 'cz12345678' does not have the form customer class 'Business' requires",
        column="tax_id",
    ),
    Bad(
        "custom field too short",
        {**BUSINESS, "tax_id": "CZ123"},
        "custom_field_pattern",
        "CZ123",
        column="tax_id",
    ),
    Bad(
        "custom field too long",
        {**BUSINESS, "tax_id": "CZ12345678901"},
        "custom_field_pattern",
        "CZ12345678901",
        column="tax_id",
    ),
    Bad(
        "custom field with a prefix",
        {**BUSINESS, "tax_id": "XCZ12345678"},
        "custom_field_pattern",
        "XCZ12345678",
        column="tax_id",
    ),
    Bad(
        "custom field with an escape",
        {**BUSINESS, "tax_id": "CZ1234\x1b[2J5678"},
        "custom_field_control_characters",
        "CZ1234\x1b[2J5678",
        says="tax_id holds",
        column="tax_id",
        also=("custom_field_pattern",),
    ),
    Bad(
        "cell too long",
        {**BUSINESS, "tax_id": "C" * 40_000},
        "cell_too_long",
        "C" * 32_767 + "… [40000 characters, cut]",
        says="40000 characters, more than the 32,767 allowed",
        column="tax_id",
        also=("custom_field_pattern",),
    ),
    Bad(
        "name invisible only",
        {"name": "\u200b\u2800\ufeff"},
        "name_required",
        "\u200b\u2800\ufeff",
        says="invisible",
    ),
    Bad("name Hangul filler", {"name": "\u3164"}, "name_required", "\u3164", says="empty"),
    Bad(
        "name with bidi override",
        {"name": "Acme \u202eproC"},
        "name_control_characters",
        "Acme \u202eproC",
        says="bidi override",
    ),
    Bad(
        "name with line separator",
        {"name": "Acme\u2028Corp"},
        "name_control_characters",
        "Acme\u2028Corp",
        says="control character",
    ),
    Bad(
        "name Cyrillic a in a Latin word",
        {"name": "\u0410cme Telecom"},
        "name_mixed_scripts",
        "\u0410cme Telecom",
        says="mixes Latin, Greek or Cyrillic",
    ),
    Bad(
        "name stored composed, sent decomposed",
        {"name": "Cafe\u0301"},
        "name_exists",
        "Cafe\u0301",
        says="already exists",
        existing=("caf\u00e9",),
    ),
    Bad(
        "credit limit 35 digits",
        {"credit_limit": "1" * 35},
        "credit_limit_too_large",
        "1" * 35,
        says="more than 34 digits",
    ),
    Bad(
        "funds 40 digits",
        {**PREPAID, "available_funds": "9" * 40 + ".5"},
        "available_funds_too_large",
        "9" * 40 + ".5",
    ),
    Bad(
        "funds 34 nines and five decimals: too many decimals, not too large",
        {**PREPAID, "available_funds": "9" * 34 + ".99999"},
        "available_funds_too_many_decimals",
        "9" * 34 + ".99999",
        says="more decimal places than USD allows",
    ),
    Bad(
        "created at an impossible time",
        {"created_on": "2026-01-05 25:00:00"},
        "created_on_invalid",
        "2026-01-05 25:00:00",
    ),
]


@pytest.mark.parametrize("case", BAD, ids=[b.id for b in BAD])
def test_bad_value_is_rejected_by_its_rule(reference, case):
    result = check([case.row], reference, case.existing)
    assert result.accepted.height == 0
    rejection = result.rejections.filter(pl.col("rule") == case.rule).to_dicts()
    assert len(rejection) == 1, result.rejections
    assert rejection[0]["source_row"] == 2
    assert rejection[0]["column"] == case.expected_column
    assert rejection[0]["value"] == case.value
    assert case.expected_message in rejection[0]["message"]
    assert sorted(result.rejections["rule"]) == sorted([case.rule, *case.also])


# Warnings: the row is accepted, the warning kept beside it; --warnings-as-errors rejects it
# under the same rule code.

WARNED = [
    Bad(
        "postpaid without a credit limit",
        {"balance_control": "postpaid", "credit_limit": " "},
        "credit_limit_missing",
        " ",
        says="a postpaid customer without a credit limit: nothing stops its usage; the billing "
        "system strongly recommends one against fraud",
    ),
    Bad(
        "name like a stored one but for punctuation and a legal form",
        {"name": "ACME Telecom, s.r.o.", "credit_limit": "10"},
        "name_similar",
        "ACME Telecom, s.r.o.",
        says="the name 'ACME Telecom, s.r.o.' differs from a stored customer's name only by "
        "punctuation or a legal form; check it is not the same customer",
        existing=("Acme Telecom Ltd",),  # here: stored names it is alike
    ),
]


@pytest.mark.parametrize("case", WARNED, ids=[w.id for w in WARNED])
def test_a_warning_keeps_the_row_and_as_an_error_rejects_it(reference, case):
    result = check([case.row], reference, alike=case.existing)
    assert result.rejections.height == 0
    assert result.accepted.height == 1
    [warning] = result.warnings.to_dicts()
    assert (warning["source_row"], warning["rule"]) == (2, case.rule)
    assert (warning["column"], warning["value"]) == (case.expected_column, case.value)
    assert case.expected_message in warning["message"]

    strict = check([case.row], reference, alike=case.existing, warnings_as_errors=True)
    assert strict.accepted.height == 0 and strict.warnings.height == 0
    assert strict.rejections.to_dicts() == [warning]


def test_a_rejected_rows_warnings_are_not_kept(reference):
    result = check([{"currency": "GBP"}], reference)
    assert result.rejections["rule"].to_list() == ["currency_not_enabled"]
    assert result.warnings.height == 0


def test_every_rule_has_a_bad_case_in_this_file():
    elsewhere = {"name_duplicate_in_batch", "name_ambiguous", "currency_immutable"}  # below
    assert {case.rule for case in [*BAD, *WARNED]} | elsewhere == set(RULES)
    assert {case.rule for case in WARNED} == WARNINGS


def test_a_stored_customers_currency_cannot_change(reference):
    rows = [
        {"name": "Ann", "currency": "EUR"},
        {"name": "Bob", "currency": "usd"},
        {"name": "Cid", "currency": "EUR"},
    ]
    result = check(rows, reference, updated={"ann": "USD", "bob": "USD"})
    assert failures(result) == [(2, "currency_immutable", "currency", "EUR")]
    assert result.rejections["message"].to_list() == [
        "the customer's currency is USD and cannot change once saved; send USD (or leave the "
        "cell empty if the class fixes it)"
    ]
    assert sorted(result.accepted["name"]) == ["Bob", "Cid"]


def test_every_rule_is_produced_by_one_batch_of_the_bad_cases(reference):
    """All the bad rows as one batch (and one repeated name, two alike): every rule code comes
    out, the warnings too when they are errors."""
    rows = [
        {"name": f"Customer {n}", **case.row} for n, case in enumerate(BAD) if not case.existing
    ]
    rows += [{"name": "Acme Telecom"}, {"name": "Twice"}, {"name": "twice"}, {"name": "Shared"}]
    rows += [{"name": "Pair Ltd"}, {"name": "Pair, Inc."}, {"name": "Updated", "currency": "EUR"}]
    result = check(
        rows,
        reference,
        ("acme telecom",),
        ambiguous=("shared",),
        warnings_as_errors=True,
        updated={"updated": "USD"},
    )
    assert set(result.rejections["rule"]) == set(RULES)
    assert result.accepted.height == 0
    assert result.rejections["message"].str.starts_with("rule ").not_().all()


def test_failures_are_reported_without_python_rows(reference, monkeypatch):
    """Every rule reports failing cells, never whole rows: pandera turns the rows of a failing
    frame-wide check into Python objects one by one (35 s for a million failures)."""
    rows_of = pl.DataFrame.rows

    def few_rows(frame, *args, **kwargs):
        assert frame.height <= 5, f"{frame.height} rows turned into Python objects"
        return rows_of(frame, *args, **kwargs)

    monkeypatch.setattr(pl.DataFrame, "rows", few_rows)
    rows = [
        {"name": f"Customer {n}", **case.row} for n, case in enumerate(BAD * 3) if not case.existing
    ]
    rows += [{"name": "Acme Telecom"}, {"name": "Shared"}] + [{"name": "Twice"}] * 6
    rows += [{"name": "Pair Ltd"}, {"name": "Pair, Inc."}, {"name": "Updated", "currency": "EUR"}]
    result = check(
        rows, reference, ("acme telecom",), ambiguous=("shared",), updated={"updated": "USD"}
    )
    assert set(result.rejections["rule"]) | set(result.warnings["rule"]) == set(RULES)


@pytest.mark.parametrize("written", ["2026-1-5", "+2026-11-26"])
def test_created_on_must_be_written_yyyy_mm_dd(reference, written):
    result = check([{"created_on": written}], reference)
    assert failures(result) == [(2, "created_on_invalid", "created_on", written)]


# ---------------------------------------------------------------------------------------------
# Several rules, duplicates, stored names.


@pytest.mark.parametrize(
    ("row", "rules"),
    [
        pytest.param(
            {
                "name": "\x07" + "x" * 100,
                "business_model": "Satellite TV",
                "customer_class": "Gold",
                "billing_period": "Yearly",
                "billing_period_timezone": "Mars/Base",
                "balance_control": "credit",
                "currency": "XYZ",
                "credit_limit": "abc",
                "available_funds": "-1",
                "created_on": "2026-02-30",
            },
            {
                "name_control_characters",
                "name_too_long",
                "business_model_unknown",
                "customer_class_unknown",
                "billing_period_unknown",
                "billing_period_timezone_unknown",
                "balance_control_unknown",
                "currency_not_iso4217",
                "credit_limit_not_a_number",
                "available_funds_negative",
                "created_on_invalid",
            },
            id="every column wrong",
        ),
        pytest.param(
            dict.fromkeys(STANDARD, ""),
            {f"{c}_required" for c in REQUIRED},
            id="every required column empty",
        ),
        pytest.param(
            {
                **BUSINESS,
                **PREPAID,
                "credit_limit": "-1.234",
                "created_on": "2027-01-01",
                "tax_id": "bad",
            },
            {
                "credit_limit_prepaid",
                "credit_limit_negative",
                "credit_limit_too_many_decimals",
                "created_on_after_as_of",
                "custom_field_pattern",
            },
            id="several rules of one amount",
        ),
    ],
)
def test_a_row_gets_every_rule_it_fails(reference, row, rules):
    result = check([row], reference)
    assert result.accepted.height == 0
    assert sorted(result.rejections["rule"]) == sorted(rules)  # each rule once
    assert set(result.rejections["source_row"]) == {2}


def test_every_row_of_a_repeated_name_is_rejected_naming_the_others(reference):
    rows = [
        {"name": "Acme Telecom"},
        {"name": "Blue Harbor"},
        {"name": "  acme   TELECOM "},
        {"name": "ACME TELECOM"},
        {"name": "Acme Telecoms"},
    ]
    result = check(rows, reference)
    assert result.accepted["source_row"].to_list() == [3, 6]
    dups = result.rejections.sort("source_row")
    assert dups.select("source_row", "rule", "column", "value").rows() == [
        (2, "name_duplicate_in_batch", "name", "Acme Telecom"),
        (4, "name_duplicate_in_batch", "name", "  acme   TELECOM "),
        (5, "name_duplicate_in_batch", "name", "ACME TELECOM"),
    ]
    assert dups["message"].to_list() == [
        "the name 'Acme Telecom' is also on row(s) 4, 5 of this file; names must be unique",
        "the name 'acme   TELECOM' is also on row(s) 2, 5 of this file; names must be unique",
        "the name 'ACME TELECOM' is also on row(s) 2, 4 of this file; names must be unique",
    ]


def test_a_name_on_many_rows_lists_the_first_ten_others(reference):
    result = check([{"name": f"Same{' ' * (n % 3)} Name"} for n in range(13)], reference)
    assert result.accepted.height == 0
    first = result.rejections.filter(pl.col("source_row") == 2)["message"].item()
    others = ", ".join(str(n) for n in range(3, 13))
    assert f"also on row(s) {others} and 2 more of this file" in first


def test_empty_names_are_not_duplicates_of_each_other(reference):
    result = check([{"name": ""}, {"name": " "}], reference)
    assert sorted(result.rejections["rule"]) == ["name_required", "name_required"]


def test_a_stored_name_is_rejected_in_any_case_and_spacing(reference):
    rows = [{"name": "acme telecom"}, {"name": "Acme  Telecom"}, {"name": "Blue Harbor"}]
    result = check(rows, reference, existing=("acme telecom", "other"))
    assert result.accepted["name"].to_list() == ["Blue Harbor"]
    exists = result.rejections.filter(pl.col("rule") == "name_exists")
    assert exists["source_row"].to_list() == [2, 3]
    assert exists["message"].to_list() == [
        "a customer named 'acme telecom' already exists; use another name",
        "a customer named 'Acme  Telecom' already exists; use another name",
    ]


def test_without_stored_names_nothing_exists(reference):
    columns = map_columns("batch.csv", list(HEADERS), reference.custom_field_names)
    typed = parse(batch([{"name": "Acme Telecom"}]), columns, reference, AS_OF)
    assert validate(typed, Context(reference, AS_OF)).accepted.height == 1


# ---------------------------------------------------------------------------------------------
# Custom fields of a reference with several classes.

CLASSES = """
currencies = ["USD"]
business_models = ["Hosted IP PBX"]

[[customer_classes]]
name = "Retail"

[[customer_classes]]
name = "Wholesale"
[[customer_classes.custom_fields]]
name = "licence"
pattern = "[0-9]{4}|X"
[[customer_classes.custom_fields]]
name = "tax_id"
mandatory = true
"""


@pytest.mark.parametrize(
    ("licence", "rules"),
    [
        ("1234", []),
        ("X", []),
        ("", []),
        ("12345", ["custom_field_pattern"]),
        ("1234X", ["custom_field_pattern"]),
        ("X1234", ["custom_field_pattern"]),
        ("AX", ["custom_field_pattern"]),
    ],
)
def test_a_pattern_matches_the_whole_value(licence, rules):
    reference = parse_reference(CLASSES)
    row = {"customer_class": "Wholesale", "licence": licence, "tax_id": "T1"}
    result = check([row], reference, headers=(*STANDARD, "licence", "tax_id"))
    assert result.rejections["rule"].to_list() == rules
    if rules:
        message = result.rejections["message"].item()
        assert f"licence '{licence}'" in message
        assert "(pattern [0-9]{4}|X)" in message


def test_mandatory_fields_are_per_class():
    reference = parse_reference(CLASSES)
    rows = [{"customer_class": "Retail", "name": "R"}, {"customer_class": "Wholesale", "name": "W"}]
    result = check(rows, reference, headers=(*STANDARD, "licence", "tax_id"))
    assert failures(result) == [(3, "custom_field_required", "tax_id", "")]
    assert result.accepted["name"].to_list() == ["R"]


def test_a_mandatory_field_without_its_column_is_empty(reference):
    headers = REQUIRED  # no tax_id column at all
    rows = [{**BUSINESS, "name": "B"}, {"name": "R"}]
    result = check(rows, reference, headers=headers)
    assert failures(result) == [(2, "custom_field_required", "tax_id", None)]
    assert result.accepted["name"].to_list() == ["R"]


# ---------------------------------------------------------------------------------------------
# Property: every row is accepted or rejected, never both; the bad ones are rejected.

VARIANTS = [(True, row) for _, row, _, _ in GOOD] + [
    (False, case.row) for case in BAD if not case.existing
]
NAMES = ["Alpha", " alpha ", "ALPHA", "Beta", "Be  ta", "Gamma", "gamma"]
STORED = ("gamma",)


def name_key(name: str) -> str | None:
    return " ".join(name.split()).lower() or None


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(st.tuples(st.sampled_from(VARIANTS), st.sampled_from(NAMES) | st.none()), max_size=10)
)
def test_every_row_is_either_accepted_or_rejected(reference, drawn):
    rows = []
    for n, ((_, row), name) in enumerate(drawn):
        given_name = row.get("name", name if name is not None else f"Unique {n}")
        rows.append({**row, "name": given_name})
    result = check(rows, reference, existing=STORED)

    every = set(range(2, 2 + len(rows)))
    accepted = set(result.accepted["source_row"])
    rejected = set(result.rejections["source_row"])
    assert result.accepted.height == len(accepted)
    assert accepted | rejected == every
    assert not accepted & rejected

    keys = [name_key(row["name"]) for row in rows]
    expected_rejected = {
        n + 2
        for n, (((good, _), _), key) in enumerate(zip(drawn, keys, strict=True))
        if not good or (key is not None and (keys.count(key) > 1 or key in STORED))
    }
    assert rejected == expected_rejected


@settings(max_examples=60, deadline=None)
@given(
    whole=st.from_regex(r"[+-]?[0-9]{0,18}|[+-]?9{34}", fullmatch=True),
    places=st.from_regex(r"[0-9]{0,8}", fullmatch=True),
    point=st.booleans(),
    decimal_comma=st.booleans(),
)
def test_decimal_places_are_counted_as_written_without_trailing_zeros(
    whole, places, point, decimal_comma
):
    """The amount is the number written; its places are those written, less trailing zeros;
    places beyond the store's are cut (the amount fails on its places, never on its size)."""
    mark = "," if decimal_comma else "."
    text = whole + (mark + places if point else "")
    digits = whole.lstrip("+-") + (places if point else "")
    parsed = (
        pl.DataFrame({"credit_limit": [text]})
        .with_columns(
            credit_limit_plain=_plain(pl.col("credit_limit"), decimal_comma),
            credit_limit_decimals=_decimals(pl.col("credit_limit"), decimal_comma),
        )
        .select(
            amount=_amount("credit_limit", decimal_comma),
            places=_decimals(pl.col("credit_limit"), decimal_comma),
        )
        .row(0, named=True)
    )
    if not digits:
        assert parsed["amount"] is None
        return
    expected = Decimal(text.replace(",", "."))
    cut = expected.quantize(
        Decimal(1).scaleb(-AMOUNT_SCALE), rounding=ROUND_DOWN, context=DecimalContext(prec=60)
    )
    assert parsed["amount"] == cut
    assert parsed["places"] == (len(places.rstrip("0")) if point else 0)
