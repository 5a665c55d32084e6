"""Typed custom fields: each value read by its field's type, kept in one canonical text.

Rows go map_columns -> parse -> validate (tests/helpers.py); the end-to-end cases, with what
lands in custom_data, are in test_cli_custom_fields.py.
"""

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import AS_OF_DATE, GOOD_ROW, check, text_batch
from pipeline import parse as parse_module
from pipeline.columns import map_columns
from pipeline.parse import number_text, parse
from pipeline.reference import parse_reference
from schemas.customer import customer_schema
from schemas.rules import Context
from schemas.vocabulary import STANDARD

TYPED = """\
currencies = ["USD"]
business_models = ["Hosted IP PBX"]

[[customer_classes]]
name = "Retail"
[[customer_classes.custom_fields]]
name = "seats"
type = "number"
[[customer_classes.custom_fields]]
name = "since"
type = "date"
[[customer_classes.custom_fields]]
name = "signed_at"
type = "datetime"
[[customer_classes.custom_fields]]
name = "plan"
type = "list"
values = ["Gold", "Silver"]
"""
FIELDS = ("seats", "since", "signed_at", "plan")
HEADERS = (*STANDARD, *FIELDS)


def stored(rows: list[dict], field: str, reference_text: str = TYPED, **conventions) -> list:
    """`field`'s value as custom_data keeps it, for each row (None: rejected or empty)."""
    reference = parse_reference(reference_text)
    columns = map_columns("batch.csv", list(HEADERS), reference.custom_field_names)
    typed = parse(text_batch(rows, HEADERS), columns, reference, AS_OF_DATE, **conventions)
    return typed[f"{field}__value"].to_list()


# ---------------------------------------------------------------------------------------------
# Numbers: plain decimals, as amounts are written; kept as the shortest plain decimal


@pytest.mark.parametrize(
    ("written", "kept"),
    [
        ("12", "12"),
        ("12.50", "12.5"),
        ("+0012.500", "12.5"),
        ("-3.25", "-3.25"),
        ("-0.00", "0"),
        ("000", "0"),
        (".5", "0.5"),
        ("5.", "5"),
        ("100", "100"),
        ("1" * 40, "1" * 40),  # no limit: custom data is text
        ("1,5", None),
        ("1e3", None),
        ("1 000", None),
        ("twelve", None),
        ("-", None),
        (".", None),
        ("１２", None),  # full-width digits
    ],
)
def test_a_number_is_kept_as_its_shortest_plain_decimal(written, kept):
    assert stored([{"seats": written}], "seats") == [kept]


def test_a_number_with_a_decimal_comma_is_kept_with_a_point():
    rows = [{"seats": "1500,50"}, {"seats": "1500.50"}]
    assert stored(rows, "seats", decimal_comma=True) == ["1500.5", None]


@settings(max_examples=200, deadline=None)
@given(
    sign=st.sampled_from(["", "+", "-"]),
    whole=st.from_regex(r"[0-9]{0,25}", fullmatch=True),
    fraction=st.from_regex(r"[0-9]{0,12}", fullmatch=True) | st.none(),
    decimal_comma=st.booleans(),
)
def test_the_canonical_number_is_the_number_written_and_its_own_canonical_form(
    sign, whole, fraction, decimal_comma
):
    mark = "," if decimal_comma else "."
    written = sign + whole + ("" if fraction is None else mark + fraction)
    kept = pl.select(number_text(pl.lit(written), decimal_comma)).item()
    if not (whole + (fraction or "")):
        assert kept is None
        return
    assert Decimal(kept) == Decimal(written.replace(",", "."))
    assert pl.select(number_text(pl.lit(kept), False)).item() == kept  # a fixed point
    assert "e" not in kept.lower() and "+" not in kept and "," not in kept
    digits = kept.lstrip("-")
    assert digits == "0" or not digits.startswith("0") or digits.startswith("0.")
    assert not ("." in kept and kept.endswith(("0", ".")))
    assert kept != "-0"


# ---------------------------------------------------------------------------------------------
# Dates: as created_on is read, --date-format too; kept as YYYY-MM-DD


@pytest.mark.parametrize(
    ("written", "date_format", "kept"),
    [
        ("2026-01-05", None, "2026-01-05"),
        (" 2026-01-05T10:00:00 ", None, "2026-01-05"),
        ("2026-02-30", None, None),
        ("05/01/2026", None, None),
        ("05/01/2026", "%d/%m/%Y", "2026-01-05"),
        ("5.1.2026", "dmy", "2026-01-05"),
        ("1/5/26", "mdy", "2026-01-05"),
        ("March 2026", "dmy", None),
    ],
)
def test_a_date_is_read_as_created_on_is_and_kept_iso(written, date_format, kept):
    assert stored([{"since": written}], "since", date_format=date_format) == [kept]


def test_a_python_read_date_is_read_once_per_distinct_text(monkeypatch):
    seen = []
    real = parse_module._flexible_date

    def counted(text, day_first):
        seen.append(text)
        return real(text, day_first)

    monkeypatch.setattr(parse_module, "_flexible_date", counted)
    rows = [{"since": f"{n % 3 + 1}.1.2026"} for n in range(300)]
    kept = stored(rows, "since", date_format="dmy")
    assert sorted(set(kept)) == ["2026-01-01", "2026-01-02", "2026-01-03"]
    assert sorted(seen) == ["1.1.2026", "2.1.2026", "3.1.2026"]


# ---------------------------------------------------------------------------------------------
# Dates and times: ISO 8601; kept as the UTC instant; without an offset, local time in the
# row's billing period time zone


@pytest.mark.parametrize(
    ("written", "zone", "kept"),
    [
        ("2026-11-26T14:30:00+01:00", "UTC", "2026-11-26T13:30:00+00:00"),
        ("2026-11-26 14:30+0530", "UTC", "2026-11-26T09:00:00+00:00"),
        ("2026-11-26T14:30:00Z", "Asia/Tokyo", "2026-11-26T14:30:00+00:00"),
        ("2026-11-26T14:30:00-03", "UTC", "2026-11-26T17:30:00+00:00"),
        ("2026-11-26 14:30", "Europe/Prague", "2026-11-26T13:30:00+00:00"),
        ("2026-07-01 14:30", "Europe/Prague", "2026-07-01T12:30:00+00:00"),
        ("2026-11-26 14:30:15.250", "UTC", "2026-11-26T14:30:15.250+00:00"),
        ("2026-11-26 14:30:15,5", "UTC", "2026-11-26T14:30:15.500+00:00"),
        ("2026-11-26", "Asia/Tokyo", "2026-11-25T15:00:00+00:00"),  # its midnight
        ("2026-11-26 14:30", "Mars/Base", "2026-11-26T14:30:00+00:00"),  # rejected for the zone
        ("2026-03-29 02:30", "Europe/Prague", None),  # clocks skip it
        ("2026-10-25 02:30", "Europe/Prague", "2026-10-25T00:30:00+00:00"),  # twice: the first
        ("2026-11-26 24:00", "UTC", None),
        ("2026-11-26 23:59:60", "UTC", None),
        ("2026-02-30 10:00", "UTC", None),
        ("2026-11-26 10:00+25:00", "UTC", None),
        ("26/11/2026 10:00", "UTC", None),
        ("today", "UTC", None),
    ],
)
def test_a_date_and_time_is_kept_as_the_utc_instant(written, zone, kept):
    rows = [{"signed_at": written, "billing_period_timezone": zone}]
    assert stored(rows, "signed_at") == [kept]


@settings(max_examples=100, deadline=None)
@given(
    moment=st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2100, 1, 1)),
    minutes=st.integers(min_value=-14 * 60, max_value=14 * 60),
    separator=st.sampled_from(["T", " "]),
)
def test_a_date_and_time_with_an_offset_keeps_its_instant(moment, minutes, separator):
    aware = moment.replace(tzinfo=timezone(timedelta(minutes=minutes)))
    written = aware.isoformat(sep=separator)
    [kept] = stored([{"signed_at": written}], "signed_at")
    assert datetime.fromisoformat(kept) == aware
    assert kept.endswith("+00:00") and datetime.fromisoformat(kept).tzinfo == UTC
    assert stored([{"signed_at": kept}], "signed_at") == [kept]  # a fixed point


# ---------------------------------------------------------------------------------------------
# Lists: one of the values, in any case; kept in the reference's spelling


@pytest.mark.parametrize(
    ("written", "kept"),
    [("Gold", "Gold"), ("gold", "Gold"), (" SILVER ", "Silver"), ("Bronze", None), ("Go ld", None)],
)
def test_a_list_value_is_kept_in_the_references_spelling(written, kept):
    assert stored([{"plan": written}], "plan") == [kept]


# ---------------------------------------------------------------------------------------------
# The rule, defaults, and the cost of a reference


def test_each_value_not_of_its_type_is_a_custom_field_type_rejection_naming_the_field():
    rows = [{"seats": "1,5", "since": "2026-02-30", "signed_at": "noon", "plan": "Bronze"}]
    result = check(rows, parse_reference(TYPED), headers=HEADERS)
    assert result.rejections.select("column", "rule", "value", "message").sort("column").rows() == [
        (
            "plan",
            "custom_field_type",
            "Bronze",
            "plan 'Bronze' is not one of: Gold, Silver",
        ),
        (
            "seats",
            "custom_field_type",
            "1,5",
            "seats '1,5' is not a number; write digits with a point for decimals and no "
            "thousands separators, e.g. 1500.50",
        ),
        (
            "signed_at",
            "custom_field_type",
            "noon",
            "signed_at 'noon' is not a date and time; write it as YYYY-MM-DD HH:MM[:SS], with "
            "an offset such as +01:00 or Z (without one, it is local time in the row's billing "
            "period time zone, and must exist there)",
        ),
        (
            "since",
            "custom_field_type",
            "2026-02-30",
            "since '2026-02-30' is not a real date; write it as YYYY-MM-DD (e.g. 2026-11-26), or "
            "import with --date-format giving the file's layout, e.g. --date-format %d/%m/%Y",
        ),
    ]


DEFAULTS = TYPED.replace(
    'values = ["Gold", "Silver"]\n',
    'values = ["Gold", "Silver"]\nmandatory = true\ndefault = "silver"\n',
).replace('type = "number"\n', 'type = "number"\nmandatory = true\ndefault = 2.50\n')


def test_a_mandatory_field_with_a_default_is_never_required():
    reference = parse_reference(DEFAULTS)
    result = check([{"seats": "", "plan": " "}, {"name": "B", "seats": "3"}], reference, HEADERS)
    assert result.rejections.height == 0
    assert result.accepted.select("seats__value", "plan__value").rows() == [
        ("2.5", "Silver"),
        ("3", "Silver"),
    ]


def test_a_default_applies_when_the_file_has_no_column_for_the_field():
    reference = parse_reference(DEFAULTS)
    result = check([{"name": "A"}], reference, headers=STANDARD)
    assert result.rejections.height == 0
    assert result.accepted.select("seats__value", "plan__value").rows() == [("2.5", "Silver")]


@pytest.mark.parametrize("classes", [2, 500])
def test_a_fields_type_is_checked_once_whatever_the_number_of_classes(classes):
    text = 'currencies = ["USD"]\nbusiness_models = ["Hosted IP PBX"]\n' + "".join(
        f'[[customer_classes]]\nname = "C{n}"\n'
        f'[[customer_classes.custom_fields]]\nname = "since"\ntype = "date"\n'
        for n in range(classes)
    )
    reference = parse_reference(text)
    schema = customer_schema(Context(reference, AS_OF_DATE), ["since"])
    names = [check.name for check in schema.columns["since"].checks]
    assert names == ["custom_field_control_characters", "custom_field_type"]
    rows = [{**GOOD_ROW, "customer_class": "C1", "since": "soon"}]
    result = check(rows, reference, headers=(*STANDARD, "since"))
    assert result.rejections["rule"].to_list() == ["custom_field_type"]
