"""Text columns to typed columns.

Every cell arrives as text. Parsing never rejects anything by itself: a value that does not
parse keeps its text beside a null typed value (or keeps its text as the typed value, for the
names looked up in lists), and the schema turns that into a named rule failure. Lookups work on
the distinct values through `replace_strict`, never per row.
"""

import functools
import re
from datetime import date, datetime

import dateutil.parser
import polars as pl

from pipeline.columns import ColumnMap, blank_to_null
from pipeline.grid import EXTRA
from pipeline.names import clean_names, name_keys
from schemas.reference import Reference
from schemas.rules import by_class
from schemas.vocabulary import (
    AMOUNT_SCALE,
    AMOUNTS,
    DATE_ORDERS,
    PERIOD_LABELS,
    SOURCE_ROW,
    STANDARD,
    TEXT,
    text_column,
    time_zones,
)

_TIME = (  # an optional time of day after a date, with an optional offset or Z
    r"(?:[T ](?<hour>\d{2}):(?<minute>\d{2})(?::(?<second>\d{2})(?:[.,]\d+)?)?"
    r" ?(?:Z|[+-](?<offset_hours>\d{2})(?::?(?<offset_minutes>\d{2}))?)?)?"
)
ISO_DATE = rf"^(?<year>\d{{4}})-(?<month>\d{{2}})-(?<day>\d{{2}}){_TIME}$"
YEAR_FIRST = rf"^(?<year>\d{{4}})[-/.](?<month>\d{{1,2}})[-/.](?<day>\d{{1,2}}){_TIME}$"
_AMOUNT = r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$"  # ASCII digits: \d is any script's


def parse(
    raw: pl.DataFrame,
    columns: ColumnMap,
    reference: Reference,
    as_of: date,
    decimal_comma: bool = False,
    date_format: str | None = None,
    keys: pl.Series | None = None,
) -> pl.DataFrame:
    """Typed customer columns from a frame of text columns (see `pipeline.read`).

    Keeps `source_row`, and each column's text as `<column>__text`; `<amount>_given` tells an
    amount cell that is not blank, `<amount>_plain` one written as a plain number. Columns the
    file lacks are null. `created_on` defaults to `as_of` when empty; a prepaid customer's
    `available_funds` to 0. With `decimal_comma`, amounts are written `1500,50`; `date_format`
    (strftime) is a layout accepted for created_on besides ISO dates. `keys`: the rows' name
    keys, when the caller has worked them out already.
    """
    sources = {**columns.columns, **columns.custom}
    fields = _batch_fields(raw, columns, reference)
    texts = [
        (pl.nth(sources[c]) if c in sources else pl.lit(None, pl.String)).alias(text_column(c))
        for c in (*STANDARD, *fields)
    ]
    extra = pl.col(EXTRA) if EXTRA in raw.columns else pl.lit(None, pl.String)
    frame = raw.select(pl.col(SOURCE_ROW).cast(pl.Int64), *texts, extra_fields=extra)
    lookups = {
        "business_model": lambda t: _lookup(t, reference.business_models),
        "customer_class": lambda t: _lookup(t, reference.class_names),
        "billing_period": lambda t: _recode(
            t.str.replace_all(r"[\s_\-()]", "").str.to_lowercase(), PERIOD_LABELS, t
        ),
        "billing_period_timezone": lambda t: _recode(t.str.to_lowercase(), time_zones(), t),
        "balance_control": lambda t: t.str.to_lowercase(),
        "currency": lambda t: t.str.to_uppercase(),
    }
    name = clean_names(frame[text_column("name")]).alias("name")
    typed = frame.with_columns(
        name,
        name_key=name_keys(name) if keys is None else keys,
        **{c: _by_distinct(frame, c, lookup, pl.String) for c, lookup in lookups.items()},
        created_on=pl.when(pl.col(text_column("created_on")).is_null())
        .then(pl.lit(as_of))
        .otherwise(_created_on(frame, as_of, date_format)),
        **{amount: blank_to_null(pl.col(text_column(amount))) for amount in AMOUNTS},
    ).with_columns(  # the amounts' trimmed text, worked out once above; the classes
        currency=_or_its_class("currency", reference.class_currencies),
        business_model=_or_its_class("business_model", reference.class_business_models),
        **{f: _of_its_classes(f, reference) for f in fields},
        **{f"{amount}_given": pl.col(amount).is_not_null() for amount in AMOUNTS},
        **{f"{amount}_decimals": _decimals(pl.col(amount), decimal_comma) for amount in AMOUNTS},
        **{f"{amount}_plain": _plain(pl.col(amount), decimal_comma) for amount in AMOUNTS},
    )
    prepaid = pl.col("balance_control") == "prepaid"
    return typed.with_columns(
        credit_limit=_amount("credit_limit", decimal_comma),
        available_funds=pl.when(~pl.col("available_funds_given") & prepaid)
        .then(pl.lit(0).cast(_decimal()))
        .otherwise(_amount("available_funds", decimal_comma)),
    )


def _created_on(frame: pl.DataFrame, as_of: date, date_format: str | None) -> pl.Expr:
    """ISO dates, or the `date_format` layout; with `dmy`/`mdy`, any common layout in that
    order (python-dateutil, once per distinct text)."""
    flexible = None
    if date_format in DATE_ORDERS:
        flexible = functools.partial(_flexible_date, day_first=DATE_ORDERS[date_format])
    return _by_distinct(
        frame,
        "created_on",
        lambda t: pl.when(t.is_null()).then(pl.lit(as_of)).otherwise(_date(t, date_format)),
        pl.Date,
        flexible,
    )


def _by_distinct(frame: pl.DataFrame, column: str, make, dtype, fallback=None) -> pl.Expr:
    """`make(text)` (a polars expression) computed once per distinct text of `column`, then
    mapped onto every row. `fallback(text)`, a Python function of one text, gives the values
    `make` left null (still once per distinct value)."""
    text = text_column(column)
    distinct = frame.select(pl.col(text).unique().drop_nulls())
    values = distinct.select(make(blank_to_null(pl.col(text)))).to_series()
    if fallback is not None and values.null_count():
        texts = distinct.to_series()
        filled = [fallback(t) if v is None else v for t, v in zip(texts, values, strict=True)]
        values = pl.Series(filled, dtype=dtype)
    if values.dtype == pl.String and values.equals(distinct.to_series(), check_names=False):
        return pl.col(text)  # every value is already as it should be: nothing to map
    return pl.col(text).replace_strict(
        distinct.to_series(), values, default=None, return_dtype=dtype
    )


def _decimal() -> pl.Decimal:
    return pl.Decimal(38, AMOUNT_SCALE)


def _plain(text: pl.Expr, decimal_comma: bool) -> pl.Expr:
    """The (trimmed) text is a plain number in the file's convention: digits, one decimal mark,
    maybe a sign; no thousands separators, no exponent."""
    return text.str.contains(_AMOUNT.replace(r"\.", ",") if decimal_comma else _AMOUNT)


def _amount(amount: str, decimal_comma: bool) -> pl.Expr:
    """A plain amount as a decimal; null when it is not plain, or when it has more than
    AMOUNT_DIGITS integer digits."""
    text = pl.col(amount)
    number = text.str.replace(",", ".", literal=True) if decimal_comma else text
    return pl.when(pl.col(f"{amount}_plain")).then(number.str.to_decimal(scale=AMOUNT_SCALE))


def _decimals(text: pl.Expr, decimal_comma: bool) -> pl.Expr:
    """Decimal places written in a (trimmed) number, not counting trailing zeros (`100.00` JPY
    is fine): the bytes after the decimal mark once trailing zeros are taken off."""
    mark = text.str.find("," if decimal_comma else ".", literal=True)
    return (text.str.strip_chars_end("0").str.len_bytes() - mark - 1).fill_null(0)


def _flexible_date(text: str, day_first: bool) -> date | None:
    """A date in any common layout (python-dateutil) with the day-month order given, or None.

    A date with a part missing (`March 2026`) is None, not completed from today; so are dates
    written year first (polars reads those as year-month-day, see `_date`) and numbers whose
    year is neither four digits nor two digits last (`1/2/3`: which is the year?).
    """
    text = text.strip()
    if not text or re.match(r"\d{4}[-/.]\d", text):
        return None
    numbers = re.fullmatch(r"\d+[-/. ]+\d+[-/. ]+(\d+)", text)
    if numbers and len(numbers[1]) not in (2, 4):
        return None
    try:
        one = dateutil.parser.parse(text, dayfirst=day_first, default=datetime(2001, 1, 1))
        two = dateutil.parser.parse(text, dayfirst=day_first, default=datetime(2002, 2, 2))
    except (ValueError, OverflowError):
        return None
    return one.date() if one.date() == two.date() else None


def _date(text: pl.Expr, date_format: str | None) -> pl.Expr:
    """An ISO date, maybe with a time (also what workbook date cells become), or one in the
    `date_format` layout; with `dmy`/`mdy`, also a date written year first in another way
    (`2026/01/05`, `2026.1.5`): always year-month-day."""
    iso = _dated(text, ISO_DATE)
    if date_format is None:
        return iso
    if date_format in DATE_ORDERS:
        return iso.fill_null(_dated(text, YEAR_FIRST))
    return iso.fill_null(text.str.to_date(date_format, strict=False))


def _dated(text: pl.Expr, layout: str) -> pl.Expr:
    """The date of a text in `layout` (named groups year, month, day, and an optional time:
    hour, minute, second, offset hours and minutes), null when the date or the time is not real
    (2026-02-30, 25:00)."""
    part = text.str.extract_groups(layout).struct.field

    def number(name: str) -> pl.Expr:
        return part(name).cast(pl.Int32)

    real_time = part("hour").is_null() | (
        (number("hour") <= 23)
        & (number("minute") <= 59)
        & (number("second").fill_null(0) <= 59)
        & (number("offset_hours").fill_null(0) <= 23)
        & (number("offset_minutes").fill_null(0) <= 59)
    )
    day = pl.format(
        "{}-{}-{}", part("year"), part("month").str.zfill(2), part("day").str.zfill(2)
    ).str.to_date("%Y-%m-%d", strict=False)
    return pl.when(real_time).then(day)


def _lookup(text: pl.Expr, names) -> pl.Expr:
    """The reference's spelling of a name, matched case-insensitively; else the text as given."""
    return _recode(text.str.to_lowercase(), {n.lower(): n for n in names}, text)


def _recode(key: pl.Expr, mapping: dict[str, str], fallback: pl.Expr) -> pl.Expr:
    return key.replace_strict(mapping, default=None, return_dtype=pl.String).fill_null(fallback)


def _or_its_class(column: str, fixed: dict[str, str]) -> pl.Expr:
    """The column's value, or where it is empty the one the row's class fixes (if any)."""
    if not fixed:
        return pl.col(column)
    return pl.col(column).fill_null(by_class(fixed))


def _batch_fields(raw: pl.DataFrame, columns: ColumnMap, reference: Reference) -> list[str]:
    """The custom fields a chunk is checked for: those the file has a column for, and the
    mandatory ones of its rows' classes (empty, then). The other fields are empty and
    optional for every row, so they need no column: a reference with thousands of classes
    costs only what the batch uses of it."""
    fields = set(columns.custom)
    missing = {
        f: use.mandatory
        for f, use in reference.field_uses.items()
        if use.mandatory and f not in fields
    }
    if missing and "customer_class" in columns.columns:
        written = raw.select(pl.nth(columns.columns["customer_class"]).str.strip_chars())
        texts = set(written.to_series().str.to_lowercase().unique().drop_nulls())
        classes = {c for c in reference.class_names if c.lower() in texts}
        fields |= {f for f, mandatory in missing.items() if classes.intersection(mandatory)}
    return [f for f in reference.custom_field_names if f in fields]


def _of_its_classes(field: str, reference: Reference) -> pl.Expr:
    """A custom field's trimmed value, in the rows of the classes that have the field (null in
    the others: it is not theirs), as the customer's `custom_data` keeps it."""
    classes = pl.Series(reference.field_uses[field].classes, dtype=pl.String).implode()
    return pl.when(pl.col("customer_class").is_in(classes)).then(
        blank_to_null(pl.col(text_column(field)))
    )


def custom_fields(typed: pl.DataFrame) -> list[str]:
    """The custom fields a frame from `parse` has columns for."""
    fields = (c.removesuffix(TEXT) for c in typed.columns if c.endswith(TEXT))
    return [f for f in fields if f not in STANDARD]
