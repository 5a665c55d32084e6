"""Text columns to typed columns.

Every cell arrives as text. Parsing never rejects anything by itself: a value that does not
parse keeps its text beside a null typed value (or keeps its text as the typed value, for the
names looked up in lists), and the schema turns that into a named rule failure. Lookups work on
the distinct values through `replace_strict`, never per row.
"""

import functools
import re
from dataclasses import dataclass
from datetime import date, datetime

import dateutil.parser
import polars as pl

from pipeline.columns import ColumnMap, blank_to_null
from pipeline.grid import EXTRA
from pipeline.names import clean_names, name_keys, similarity_keys
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
    value_column,
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
    keys: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Typed customer columns from a frame of text columns (see `pipeline.read`).

    Keeps `source_row`, and each column's text as `<column>__text`; `<amount>_given` tells an
    amount cell that is not blank, `<amount>_plain` one written as a plain number. Columns the
    file lacks are null. `created_on` defaults to `as_of` when empty; a prepaid customer's
    `available_funds` to 0; an empty currency or business model to the one the row's class
    fixes. A custom field is `<field>` (its text, or its class's default) and `<field>__value`
    (as custom_data keeps it: `_custom_columns`). With `decimal_comma`, amounts (and number
    fields) are written `1500,50`; `date_format` (strftime) is a layout accepted for created_on
    (and date fields) besides ISO dates. `name_key` and `similar_to` are the name's keys
    (`pipeline.names`): `keys`' columns of them, when the caller has worked them out already.
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
    if keys is None:
        key = name_keys(name)
        keys = pl.DataFrame({"name_key": key, "similar_to": similarity_keys(key)})
    typed = frame.with_columns(
        name,
        keys["name_key"],
        keys["similar_to"],
        **{c: _by_distinct(frame, c, lookup, pl.String) for c, lookup in lookups.items()},
        created_on=pl.when(pl.col(text_column("created_on")).is_null())
        .then(pl.lit(as_of))
        .otherwise(_created_on(frame, as_of, date_format)),
        **{amount: blank_to_null(pl.col(text_column(amount))) for amount in AMOUNTS},
    )
    conventions = Conventions(decimal_comma, date_format)
    typed = typed.with_columns(  # the amounts' trimmed text, worked out once above; the classes
        currency=_or_its_class("currency", reference.class_currencies),
        business_model=_or_its_class("business_model", reference.class_business_models),
        **_custom_columns(typed, fields, reference, conventions),
        **{f"{amount}_given": pl.col(amount).is_not_null() for amount in AMOUNTS},
        **{f"{amount}_decimals": _decimals(pl.col(amount), decimal_comma) for amount in AMOUNTS},
        **{f"{amount}_plain": _plain(pl.col(amount), decimal_comma) for amount in AMOUNTS},
    )
    prepaid = pl.col("balance_control") == "prepaid"
    return typed.with_columns(
        **{value_column(f): pl.col(f) for f in fields if value_column(f) not in typed.columns},
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
    AMOUNT_DIGITS integer digits. Decimal places beyond AMOUNT_SCALE are cut, not rounded: no
    currency has that many (the amount fails `<amount>_too_many_decimals`), and rounding
    34 nines up would make it too large."""
    text = pl.col(amount)
    number = text.str.replace(",", ".", literal=True) if decimal_comma else text
    kept = number.str.slice(0, number.str.find(".", literal=True) + 1 + AMOUNT_SCALE)
    number = pl.when(pl.col(f"{amount}_decimals") > AMOUNT_SCALE).then(kept).otherwise(number)
    return pl.when(pl.col(f"{amount}_plain")).then(number.str.to_decimal(scale=AMOUNT_SCALE))


def _decimals(text: pl.Expr, decimal_comma: bool) -> pl.Expr:
    """Decimal places written in a (trimmed) number, not counting trailing zeros (`100.00` JPY
    is fine): the bytes after the decimal mark once trailing zeros are taken off."""
    mark = text.str.find("," if decimal_comma else ".", literal=True)
    return (text.str.strip_chars_end("0").str.len_bytes() - mark - 1).fill_null(0)


def _flexible_date(text: str, day_first: bool) -> date | None:
    """A date in any common layout (python-dateutil) with the day-month order given, or None.

    A date with a part missing (`March 2026`) is None, not completed from today; so are dates
    written year first (polars reads those as year-month-day, see `_date`), digits alone
    (`20261105`, `46000`), numbers whose year is neither four digits nor two digits last
    (`1/2/3`: which is the year?) and numbers that only read in the other order (`13/11/2026`
    with `mdy`: dateutil would swap them).
    """
    text = text.strip()
    if not text or text.isdigit() or re.match(r"\d{4}\D", text):
        return None
    numbers = re.fullmatch(r"(\d+)[-/. ]+(\d+)[-/. ]+(\d+)", text)
    if numbers and len(numbers[3]) not in (2, 4):
        return None
    try:
        one = dateutil.parser.parse(text, dayfirst=day_first, default=datetime(2001, 1, 1))
        two = dateutil.parser.parse(text, dayfirst=day_first, default=datetime(2002, 2, 2))
    except (ValueError, OverflowError):
        return None
    if numbers:  # the order given, never swapped where it cannot hold (13/11 with mdy)
        day, month = (numbers[1], numbers[2]) if day_first else (numbers[2], numbers[1])
        if (one.day, one.month) != (int(day), int(month)):
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
    """The custom fields a chunk is checked for: those the file has a column for, and those
    its rows' classes make mandatory or give a default (empty, then). The other fields are
    empty and optional for every row, so they need no column: a reference with thousands of
    classes costs only what the batch uses of it."""
    fields = set(columns.custom)
    missing = {
        f: {*use.mandatory, *use.defaults}
        for f, use in reference.field_uses.items()
        if (use.mandatory or use.defaults) and f not in fields
    }
    if missing and "customer_class" in columns.columns:
        written = raw.select(pl.nth(columns.columns["customer_class"]).str.strip_chars())
        texts = set(written.to_series().str.to_lowercase().unique().drop_nulls())
        classes = {c for c in reference.class_names if c.lower() in texts}
        fields |= {f for f, mandatory in missing.items() if classes.intersection(mandatory)}
    return [f for f in reference.custom_field_names if f in fields]


@dataclass(frozen=True)
class Conventions:
    """How a file writes numbers and dates (custom fields are read as amounts and created_on)."""

    decimal_comma: bool = False
    date_format: str | None = None


def _custom_columns(
    typed: pl.DataFrame, fields: list[str], reference: Reference, conventions: Conventions
) -> dict[str, pl.Expr]:
    """Each custom field as two columns, in the rows of the classes that have it (null in the
    others: it is not theirs): `<field>`, its trimmed text, or its class's default when empty
    (what the rules check); `<field>__value`, that value as `custom_data` keeps it (null where
    the text is not of the field's type: `custom_field_type`)."""
    columns: dict[str, pl.Expr] = {}
    for name in fields:
        use = reference.field_uses[name]
        of_class = pl.col("customer_class").is_in(pl.Series(use.classes, dtype=pl.String).implode())
        given = blank_to_null(pl.col(text_column(name)))
        default = by_class(use.defaults) if use.defaults else pl.lit(None, pl.String)
        columns[name] = pl.when(of_class).then(given.fill_null(default))
        if use.type != "text":  # a text field's value is its text: the same column, below
            value = field_values(typed, name, use.type, use.values, conventions)
            columns[value_column(name)] = pl.when(of_class).then(
                pl.when(given.is_null()).then(default).otherwise(value)
            )
    return columns


def field_values(
    typed: pl.DataFrame, field: str, kind: str, values: tuple[str, ...], conventions: Conventions
) -> pl.Expr:
    """The canonical text of a custom field's cells (trimmed) by its type `kind`, null where a
    cell is not of it: a number as a plain decimal (`number_text`), a date as YYYY-MM-DD (read
    as created_on is, `--date-format` too), a date and time as the UTC instant
    (`datetime_texts`), a list value in the reference's spelling (`values`, matched ignoring
    case), text as it is. `typed` has the field's text column and (for date-times) the rows'
    billing_period_timezone."""
    text = blank_to_null(pl.col(text_column(field)))
    if kind == "number":
        return number_text(text, conventions.decimal_comma)
    if kind == "date":
        flexible = None
        if conventions.date_format in DATE_ORDERS:
            flexible = functools.partial(
                _flexible_date, day_first=DATE_ORDERS[conventions.date_format]
            )
        dates = _by_distinct(
            typed, field, lambda t: _date(t, conventions.date_format), pl.Date, flexible
        )
        return dates.dt.to_string("%Y-%m-%d")
    if kind == "datetime":
        return datetime_texts(typed, field)
    if kind == "list":
        spelling = {v.lower(): v for v in values}
        return _by_distinct(
            typed,
            field,
            lambda t: t.str.to_lowercase().replace_strict(spelling, default=None),
            pl.String,
        )
    return text


def number_text(text: pl.Expr, decimal_comma: bool) -> pl.Expr:
    """A number written plainly in the file's convention, as amounts are (`1500.50`, or
    `1500,50` with decimal commas), as its canonical text: a point for decimals, `-` the only
    sign, no leading zeros, no trailing zeros after the decimal mark, no mark without decimals
    (`+007,50` is `7.5`, `-0.0` is `0`, `.5` is `0.5`); null when it is not plain."""
    mark = "," if decimal_comma else "."
    parts = text.str.extract_groups(
        rf"^(?<sign>[+-]?)(?<whole>[0-9]*)(?:{re.escape(mark)}(?<fraction>[0-9]*))?$"
    ).struct.field
    whole = parts("whole").str.strip_chars_start("0")
    fraction = parts("fraction").fill_null("").str.strip_chars_end("0")
    magnitude = pl.when(whole == "").then(pl.lit("0")).otherwise(whole) + pl.when(
        fraction == ""
    ).then(pl.lit("")).otherwise("." + fraction)
    negative = (parts("sign") == "-") & (magnitude != "0")
    signed = pl.when(negative).then("-" + magnitude).otherwise(magnitude)
    return pl.when(_plain(text, decimal_comma)).then(signed)


_DATETIME = (  # an ISO date, maybe with a time of day, maybe with an offset or Z
    r"^(?<year>\d{4})-(?<month>\d{2})-(?<day>\d{2})"
    r"(?:[T ](?<hour>\d{2}):(?<minute>\d{2})(?::(?<second>\d{2})(?<fraction>[.,]\d{1,9})?)?"
    r" ?(?<offset>Z|(?<sign>[+-])(?<offset_hours>\d{2})(?::?(?<offset_minutes>\d{2}))?)?)?$"
)


def datetime_texts(typed: pl.DataFrame, field: str) -> pl.Expr:
    """Dates and times written ISO 8601 (`2026-11-26 14:30`, `2026-11-26T14:30:00+01:00`,
    `...Z`; a date alone is its midnight), as the UTC instant they name,
    `2026-11-26T13:30:00+00:00`; null when not one. Without an offset, a time is the local time
    of the row's billing period time zone (UTC where the row has no known zone: the row is
    rejected for that anyway); a local time the clocks skip is none, and one they repeat is the
    first. Worked out once per distinct (text, zone)."""
    zones = pl.Series(sorted(set(time_zones().values())), dtype=pl.String).implode()
    zone = pl.col("billing_period_timezone")
    rows = typed.select(
        text=blank_to_null(pl.col(text_column(field))),
        zone=pl.when(zone.is_in(zones)).then(zone).otherwise(pl.lit("UTC")),
    )
    distinct = rows.filter(pl.col("text").is_not_null()).unique()
    if not distinct.height:
        return pl.lit(None, pl.String)
    part = pl.col("text").str.extract_groups(_DATETIME).struct.field

    def number(name: str) -> pl.Expr:
        return part(name).cast(pl.Int32)

    real = (
        (number("hour").fill_null(0) <= 23)
        & (number("minute").fill_null(0) <= 59)
        & (number("second").fill_null(0) <= 59)
        & (number("offset_hours").fill_null(0) <= 23)
        & (number("offset_minutes").fill_null(0) <= 59)
    )
    local = pl.format(
        "{}-{}-{} {}:{}:{}{}",
        part("year"),
        part("month"),
        part("day"),
        part("hour").fill_null("00"),
        part("minute").fill_null("00"),
        part("second").fill_null("00"),
        part("fraction").str.replace(",", ".", literal=True).fill_null(""),
    ).str.to_datetime("%Y-%m-%d %H:%M:%S%.f", strict=False, time_unit="us")
    offset = (
        pl.when(part("offset") == "Z")
        .then(pl.lit(0))
        .when(part("sign").is_not_null())
        .then(
            pl.when(part("sign") == "-").then(-1).otherwise(1)
            * (number("offset_hours") * 60 + number("offset_minutes").fill_null(0))
        )
    )
    read = distinct.with_columns(local=pl.when(real).then(local), offset=offset)
    fixed = read.filter(pl.col("offset").is_not_null()).with_columns(
        utc=(pl.col("local") - pl.duration(minutes=pl.col("offset"))).dt.replace_time_zone("UTC")
    )
    local_ones = [
        group.with_columns(
            utc=pl.col("local")
            .dt.replace_time_zone(name, ambiguous="earliest", non_existent="null")
            .dt.convert_time_zone("UTC")
        )
        for (name,), group in read.filter(pl.col("offset").is_null()).group_by("zone")
    ]
    found = pl.concat([fixed, *local_ones]).select(
        "text", "zone", value=pl.col("utc").dt.to_string("%Y-%m-%dT%H:%M:%S%.f%:z")
    )
    return pl.lit(rows.join(found, on=["text", "zone"], how="left", maintain_order="left")["value"])


def custom_fields(typed: pl.DataFrame) -> list[str]:
    """The custom fields a frame from `parse` has columns for."""
    fields = (c.removesuffix(TEXT) for c in typed.columns if c.endswith(TEXT))
    return [f for f in fields if f not in STANDARD]
