"""The rules a customer row must pass, as a pandera schema over the typed columns.

Each check's name is its rule code (pandera's own `not_nullable` on column `c` reports
`c_required`), and each check belongs to the column its rule concerns, even when it reads other
columns: pandera then reports a failure with that one cell, never the whole row, which it would
turn into Python objects row by row. `malformed_row` belongs to `extra_fields`; `cell_error`,
which reads every cell, to `source_row`. The codes, their columns and messages are listed in
`schemas/rules.py`.
"""

from datetime import date

import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData

from pipeline.columns import STANDARD
from pipeline.names import CONTROL_CHARACTERS, MIXED_SCRIPTS
from pipeline.parse import AMOUNT_SCALE, BALANCE_CONTROLS, iso_currencies, text_column, time_zones
from pipeline.periods import PERIOD_KINDS
from pipeline.reference import Reference, whole_value

NAME_MAX = 100
CELL_ERRORS = (  # what a spreadsheet error cell reads as (pipeline/excel.py)
    "#NULL!",
    "#DIV/0!",
    "#VALUE!",
    "#REF!",
    "#NAME?",
    "#NUM!",
    "#N/A",
    "#GETTING_DATA",
    "#SPILL!",
    "#CALC!",
    "#FIELD!",
    "#BLOCKED!",
)
MAX_CELL = 32_767  # characters a cell may hold: Excel's own limit
CELL_RULES = {  # rules checked on every cell of a row, each failing cell reported by its column
    "cell_error": lambda cell: cell.is_in(CELL_ERRORS),
    "cell_too_long": lambda cell: cell.str.len_chars() > MAX_CELL,
}


def passes(data: PolarsData, ok: pl.Expr) -> pl.LazyFrame:
    """A check result: True where the row passes; a rule that cannot be judged (null) passes."""
    return data.lazyframe.select(ok.fill_null(True))


def _isin(values, name: str) -> pa.Check:
    values = pl.Series(list(values), dtype=pl.String).implode()
    return pa.Check(lambda data: passes(data, pl.col(data.key).is_in(values)), name=name)


def _given(amount: str) -> pl.Expr:
    """The amount's cell is not blank (worked out by parse)."""
    return pl.col(f"{amount}_given")


def currency_units(minor_units: dict[str, int]) -> pl.Expr:
    """The decimal places the row's currency has (null for one not enabled)."""
    return pl.col("currency").replace_strict(minor_units, default=None, return_dtype=pl.Int64)


def _allowed_decimals(amount: str, minor_units: dict[str, int]) -> pl.Expr:
    units = currency_units(minor_units)
    return pl.when(pl.col(amount).is_not_null()).then(pl.col(f"{amount}_decimals") <= units)


class Customer(pa.DataFrameModel):
    """One row of a batch: the fields of the customer creation form."""

    source_row: int
    name: str = pa.Field(nullable=False)
    business_model: str = pa.Field(nullable=False)
    customer_class: str = pa.Field(nullable=False)
    billing_period: str = pa.Field(nullable=False)
    billing_period_timezone: str = pa.Field(nullable=False)
    balance_control: str = pa.Field(nullable=False)
    currency: str = pa.Field(nullable=False)
    credit_limit: pl.Decimal(38, AMOUNT_SCALE) = pa.Field(nullable=True)
    available_funds: pl.Decimal(38, AMOUNT_SCALE) = pa.Field(nullable=True)
    created_on: date = pa.Field(nullable=True)
    extra_fields: str = pa.Field(nullable=True)

    class Config:
        strict = False

    @pa.check("name", name="name_control_characters")
    def name_control_characters(cls, data: PolarsData) -> pl.LazyFrame:
        """A name holds no tabs, line breaks, other control characters or bidi overrides."""
        return passes(data, ~pl.col("name").str.contains(CONTROL_CHARACTERS))

    @pa.check("name", name="name_mixed_scripts")
    def name_mixed_scripts(cls, data: PolarsData) -> pl.LazyFrame:
        """No word of a name mixes Latin, Greek and Cyrillic letters (a look-alike spelling)."""
        return passes(data, ~pl.col("name").str.contains(MIXED_SCRIPTS))

    @pa.check("name", name="name_too_long")
    def name_too_long(cls, data: PolarsData) -> pl.LazyFrame:
        """A name has at most NAME_MAX characters."""
        return passes(data, pl.col("name").str.len_chars() <= NAME_MAX)

    @pa.check("name", name="name_duplicate_in_batch")
    def name_duplicate_in_batch(cls, data: PolarsData) -> pl.LazyFrame:
        """A name appears once in a batch (ignoring case and extra spaces); `name_repeated`
        is worked out over the whole batch, which may be checked in chunks."""
        return passes(data, ~pl.col("name_repeated"))

    @pa.check("billing_period", name="billing_period_unknown")
    def billing_period_unknown(cls, data: PolarsData) -> pl.LazyFrame:
        """A billing period is one of the form's six kinds."""
        return passes(data, pl.col("billing_period").is_in(PERIOD_KINDS))

    @pa.check("billing_period_timezone", name="billing_period_timezone_unknown")
    def billing_period_timezone_unknown(cls, data: PolarsData) -> pl.LazyFrame:
        """A billing period time zone is an IANA zone name."""
        return passes(data, pl.col("billing_period_timezone").is_in(list(time_zones().values())))

    @pa.check("balance_control", name="balance_control_unknown")
    def balance_control_unknown(cls, data: PolarsData) -> pl.LazyFrame:
        """Balance control is prepaid or postpaid."""
        return passes(data, pl.col("balance_control").is_in(BALANCE_CONTROLS))

    @pa.check("credit_limit", name="credit_limit_not_a_number")
    def credit_limit_not_a_number(cls, data: PolarsData) -> pl.LazyFrame:
        """A credit limit, when given, is a plain decimal number."""
        return passes(data, ~_given("credit_limit") | pl.col("credit_limit_plain"))

    @pa.check("credit_limit", name="credit_limit_too_large")
    def credit_limit_too_large(cls, data: PolarsData) -> pl.LazyFrame:
        """A credit limit has no more integer digits than the store holds."""
        return passes(data, ~pl.col("credit_limit_plain") | pl.col("credit_limit").is_not_null())

    @pa.check("credit_limit", name="credit_limit_negative")
    def credit_limit_negative(cls, data: PolarsData) -> pl.LazyFrame:
        """A credit limit is not negative."""
        return passes(data, pl.col("credit_limit") >= 0)

    @pa.check("credit_limit", name="credit_limit_prepaid")
    def credit_limit_prepaid(cls, data: PolarsData) -> pl.LazyFrame:
        """A credit limit applies to postpaid customers only."""
        return passes(data, (pl.col("balance_control") != "prepaid") | ~_given("credit_limit"))

    @pa.check("available_funds", name="available_funds_not_a_number")
    def available_funds_not_a_number(cls, data: PolarsData) -> pl.LazyFrame:
        """Available funds, when given, are a plain decimal number."""
        return passes(data, ~_given("available_funds") | pl.col("available_funds_plain"))

    @pa.check("available_funds", name="available_funds_too_large")
    def available_funds_too_large(cls, data: PolarsData) -> pl.LazyFrame:
        """Available funds have no more integer digits than the store holds."""
        stored = pl.col("available_funds").is_not_null()
        return passes(data, ~pl.col("available_funds_plain") | stored)

    @pa.check("available_funds", name="available_funds_negative")
    def available_funds_negative(cls, data: PolarsData) -> pl.LazyFrame:
        """Available funds are not negative."""
        return passes(data, pl.col("available_funds") >= 0)

    @pa.check("available_funds", name="available_funds_postpaid")
    def available_funds_postpaid(cls, data: PolarsData) -> pl.LazyFrame:
        """Available funds (an initial payment) apply to prepaid customers only."""
        return passes(data, (pl.col("balance_control") != "postpaid") | ~_given("available_funds"))

    @pa.check("created_on", name="created_on_invalid")
    def created_on_invalid(cls, data: PolarsData) -> pl.LazyFrame:
        """A creation date, when given, is a real calendar date written YYYY-MM-DD."""
        return passes(data, pl.col("created_on").is_not_null())

    @pa.check("extra_fields", name="malformed_row")
    def malformed_row(cls, data: PolarsData) -> pl.LazyFrame:
        """A row has no more fields than the header."""
        return passes(data, pl.col("extra_fields").is_null())


def customer_schema(
    reference: Reference,
    as_of: date,
    existing_names: pl.Series | None = None,
    fields: list[str] | None = None,
    ambiguous_names: pl.Series | None = None,
) -> pa.DataFrameSchema:
    """The Customer model, with the rules that depend on the reseller, the date and the stored
    customers. `fields`: the custom fields the batch has columns for (default: all of them)."""
    fields = list(reference.custom_field_names) if fields is None else fields
    units = reference.minor_units()
    iso_codes = sorted(iso_currencies())
    added = {
        "name": [
            _check("name_exists", ~_key_in(existing_names)),
            _check("name_ambiguous", ~_key_in(ambiguous_names)),
        ],
        "business_model": [_isin(reference.business_models, "business_model_unknown")],
        "customer_class": [_isin(reference.class_names, "customer_class_unknown")],
        "currency": [
            _isin(iso_codes, "currency_not_iso4217"),
            # an ISO 4217 code the reseller has not enabled (the enabled ones are all ISO)
            _check(
                "currency_not_enabled",
                ~pl.col("currency").is_in(sorted(iso_currencies() - set(reference.currencies))),
            ),
        ],
        "credit_limit": [
            _check("credit_limit_too_many_decimals", _allowed_decimals("credit_limit", units))
        ],
        "available_funds": [
            _check("available_funds_too_many_decimals", _allowed_decimals("available_funds", units))
        ],
        "created_on": [_check("created_on_after_as_of", pl.col("created_on") <= as_of)],
        # a row's cells, all of them: reported by the row's number, then cell by cell
        "source_row": [
            _check(
                code,
                ~pl.any_horizontal(test(pl.col(text_column(c))) for c in (*STANDARD, *fields)),
            )
            for code, test in CELL_RULES.items()
        ],
    }
    schema = Customer.to_schema()
    schema = schema.update_columns(
        {c: {"checks": [*schema.columns[c].checks, *checks]} for c, checks in added.items()}
    )
    return schema.add_columns(_custom_field_columns(reference, fields))


def _key_in(keys: pl.Series | None) -> pl.Expr:
    keys = keys if keys is not None else pl.Series([], dtype=pl.String)
    return pl.col("name_key").is_in(keys.implode())


def _check(name: str, ok: pl.Expr) -> pa.Check:
    return pa.Check(lambda data: passes(data, ok), name=name)


def _custom_field_columns(reference: Reference, fields: list[str]) -> dict[str, pa.Column]:
    """For each custom field of the batch (`fields`), in the rows of the classes that have it:
    filled in where mandatory, matching its pattern, free of control characters. A few checks
    per field, whatever the number of classes."""
    columns = {}
    for name in fields:
        use, value = reference.field_uses[name], pl.col(name)
        checks = [
            _check(
                "custom_field_control_characters",
                ~_of_class(use.classes) | ~value.str.contains(CONTROL_CHARACTERS),
            )
        ]
        if use.mandatory:
            ok = ~_of_class(use.mandatory) | value.is_not_null()
            checks.append(_check("custom_field_required", ok))
        for pattern, classes in use.patterns.items():
            ok = ~_of_class(classes) | value.is_null() | value.str.contains(whole_value(pattern))
            checks.append(_check("custom_field_pattern", ok))
        columns[name] = pa.Column(str, checks=checks, nullable=True)
    return columns


def _of_class(classes: tuple[str, ...]) -> pl.Expr:
    return pl.col("customer_class").is_in(pl.Series(classes, dtype=pl.String).implode())
