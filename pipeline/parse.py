"""Text columns to typed columns.

Every cell arrives as text. Parsing never rejects anything by itself: a value that does not
parse keeps its text beside a null typed value (or keeps its text as the typed value, for the
names looked up in lists), and the schema turns that into a named rule failure. Lookups work on
the distinct values through `replace_strict`, never per row.
"""

import functools
import zoneinfo
from datetime import date, datetime

import dateutil.parser
import iso4217
import polars as pl

from pipeline.columns import STANDARD, ColumnMap, blank_to_null, header_key
from pipeline.periods import PERIOD_KINDS
from pipeline.read import EXTRA, SOURCE_ROW
from pipeline.reference import Reference

TEXT = "__text"  # suffix of the column that keeps a cell's text as the sender wrote it
AMOUNT_SCALE = 4  # decimal places kept for amounts: the most any ISO 4217 currency has

PERIOD_LABELS = {  # a billing period as written, header_key'd: its code; 1-6 as in the API
    **{header_key(kind): kind for kind in PERIOD_KINDS},
    **{str(n): kind for n, kind in enumerate(PERIOD_KINDS, start=1)},
}
BALANCE_CONTROLS = ("prepaid", "postpaid")
AMOUNTS = ("credit_limit", "available_funds")
DATE_ORDERS = {"dmy": True, "mdy": False}  # --date-format dmy|mdy: is the day first?
ISO_DATE = r"^\d{4}-\d{2}-\d{2}( \d{2}:\d{2}(:\d{2}(\.\d+)?)?)?$"
_AMOUNT = r"^[+-]?(\d{1,18}(\.\d*)?|\.\d+)$"


@functools.cache
def time_zones() -> dict[str, str]:
    """IANA zone names by their lower-case spelling."""
    return {z.lower(): z for z in zoneinfo.available_timezones() if "/" in z or z == "UTC"}


@functools.cache
def iso_currencies() -> frozenset[str]:
    return frozenset(c.code for c in iso4217.Currency)


def text_column(column: str) -> str:
    return column + TEXT


def parse(
    raw: pl.DataFrame,
    columns: ColumnMap,
    reference: Reference,
    as_of: date,
    decimal_comma: bool = False,
    date_format: str | None = None,
    name_keys: pl.Series | None = None,
) -> pl.DataFrame:
    """Typed customer columns from a frame of text columns (see `pipeline.read`).

    Keeps `source_row`, and each column's text as `<column>__text`; `<amount>_given` tells an
    amount cell that is not blank. Columns the file lacks are null. `created_on` defaults to
    `as_of` when empty; a prepaid customer's `available_funds` to 0. With `decimal_comma`,
    amounts are written `1500,50`; `date_format` (strftime) is a layout accepted for
    created_on besides ISO dates. `name_keys`: the rows' name keys, when the caller has worked
    them out already.
    """
    sources = {**columns.columns, **columns.custom}
    texts = [
        (pl.nth(sources[c]) if c in sources else pl.lit(None, pl.String)).alias(text_column(c))
        for c in (*STANDARD, *reference.custom_field_names)
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
    name = blank_to_null(pl.col(text_column("name")))
    typed = frame.with_columns(
        name=name,
        name_key=name_key(name) if name_keys is None else name_keys,
        **{c: _by_distinct(frame, c, lookup, pl.String) for c, lookup in lookups.items()},
        created_on=pl.when(pl.col(text_column("created_on")).is_null())
        .then(pl.lit(as_of))
        .otherwise(_created_on(frame, as_of, date_format)),
        **{amount: blank_to_null(pl.col(text_column(amount))) for amount in AMOUNTS},
        **{f: blank_to_null(pl.col(text_column(f))) for f in reference.custom_field_names},
    ).with_columns(  # the amounts' trimmed text, worked out once above
        **{f"{amount}_given": pl.col(amount).is_not_null() for amount in AMOUNTS},
        **{f"{amount}_decimals": _decimals(pl.col(amount), decimal_comma) for amount in AMOUNTS},
        **{amount: _amount(pl.col(amount), decimal_comma) for amount in AMOUNTS},
    )
    prepaid = pl.col("balance_control") == "prepaid"
    return typed.with_columns(
        available_funds=pl.when(~pl.col("available_funds_given") & prepaid)
        .then(pl.lit(0).cast(_decimal()))
        .otherwise(pl.col("available_funds")),
        custom_data=_custom_data(reference),
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


def name_key(name: pl.Expr) -> pl.Expr:
    """How names compare for uniqueness: trimmed, inner spaces collapsed, case ignored.

    Only what changes is matched (a run of spaces, a tab...), not every single space: twice as
    fast as replacing each run of `\\s+`, with the same result."""
    return name.str.replace_all(r"\s{2,}|[^\S ]", " ").str.to_lowercase()


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


def _amount(text: pl.Expr, decimal_comma: bool) -> pl.Expr:
    """A decimal amount, or null when the (trimmed) text is not a plain number in the file's
    convention."""
    pattern = _AMOUNT.replace(r"\.", ",") if decimal_comma else _AMOUNT
    number = text.str.replace(",", ".", literal=True) if decimal_comma else text
    return pl.when(text.str.contains(pattern)).then(number.str.to_decimal(scale=AMOUNT_SCALE))


def _decimals(text: pl.Expr, decimal_comma: bool) -> pl.Expr:
    """Decimal places written in a (trimmed) number, not counting trailing zeros (`100.00` JPY
    is fine): the bytes after the decimal mark once trailing zeros are taken off."""
    mark = text.str.find("," if decimal_comma else ".", literal=True)
    return (text.str.strip_chars_end("0").str.len_bytes() - mark - 1).fill_null(0)


def _flexible_date(text: str, day_first: bool) -> date | None:
    """A date in any common layout (python-dateutil) with the day-month order given, or None.

    A date with a part missing (`March 2026`) is None, not completed from today.
    """
    text = text.strip()
    if not text:
        return None
    try:
        one = dateutil.parser.parse(text, dayfirst=day_first, default=datetime(2001, 1, 1))
        two = dateutil.parser.parse(text, dayfirst=day_first, default=datetime(2002, 2, 2))
    except (ValueError, OverflowError):
        return None
    return one.date() if one.date() == two.date() else None


def _date(text: pl.Expr, date_format: str | None) -> pl.Expr:
    """An ISO date (also what workbook date cells become, with the time of a datetime cell), or
    one in the `date_format` layout."""
    iso = pl.when(text.str.contains(ISO_DATE)).then(
        text.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)
    )
    if date_format is None or date_format in DATE_ORDERS:
        return iso
    return iso.fill_null(text.str.to_date(date_format, strict=False))


def _lookup(text: pl.Expr, names) -> pl.Expr:
    """The reference's spelling of a name, matched case-insensitively; else the text as given."""
    return _recode(text.str.to_lowercase(), {n.lower(): n for n in names}, text)


def _recode(key: pl.Expr, mapping: dict[str, str], fallback: pl.Expr) -> pl.Expr:
    return key.replace_strict(mapping, default=None, return_dtype=pl.String).fill_null(fallback)


def _custom_data(reference: Reference) -> pl.Expr:
    """The values of the row's class's custom fields, as (key, value) pairs for a MAP column."""
    pair = pl.Struct({"key": pl.String, "value": pl.String})
    pairs = []
    for field in reference.custom_field_names:
        classes = [c.name for c in reference.customer_classes if field in c.field_names]
        value = pl.when(pl.col("customer_class").is_in(classes)).then(pl.col(field))
        pairs.append(pl.struct(key=pl.lit(field), value=value))
    if not pairs:
        return pl.lit([], dtype=pl.List(pair))
    return pl.concat_list(pairs).list.eval(
        pl.element().filter(pl.element().struct.field("value").is_not_null())
    )
