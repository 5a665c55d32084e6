"""The pandera schema of a batch's typed rows: the form's columns (`Customer`), with the checks
of `schemas/rules.py` added, each named by its rule code.

Every check belongs to one column, even when it reads others: pandera then reports a failure
as that one cell, never the whole row, which it would turn into Python objects row by row.
A rule of every cell (`Cells`) is one check on `source_row`, reported per cell afterwards; a
custom field is a column of its own, with its fields' checks.
"""

from datetime import date
from typing import Annotated

import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData

from schemas.rules import RULES, Cells, Context, Fields, Row
from schemas.vocabulary import AMOUNT_SCALE, SOURCE_ROW, STANDARD, text_column, value_column


class Customer(pa.DataFrameModel):
    """One row of a batch: the fields of the customer creation form. Every column may be null
    here: which must not is a rule (`<column>_required`), reported by its code."""

    source_row: int
    name: str = pa.Field(nullable=True)
    business_model: str = pa.Field(nullable=True)
    customer_class: str = pa.Field(nullable=True)
    billing_period: str = pa.Field(nullable=True)
    billing_period_timezone: str = pa.Field(nullable=True)
    balance_control: str = pa.Field(nullable=True)
    currency: str = pa.Field(nullable=True)
    credit_limit: Annotated[pl.Decimal, 38, AMOUNT_SCALE] = pa.Field(nullable=True)
    available_funds: Annotated[pl.Decimal, 38, AMOUNT_SCALE] = pa.Field(nullable=True)
    created_on: date = pa.Field(nullable=True)
    extra_fields: str = pa.Field(nullable=True)

    class Config:
        strict = False


def customer_schema(ctx: Context, fields: list[str]) -> pa.DataFrameSchema:
    """The schema for a batch checked in `ctx`, whose custom-field columns are `fields`."""
    schema = Customer.to_schema()
    checks: dict[str, list[pa.Check]] = {c: [] for c in schema.columns}
    custom: dict[str, list[pa.Check]] = {f: [] for f in fields}
    cells = [pl.col(text_column(c)) for c in (*STANDARD, *fields)]
    for rule in RULES.values():
        if isinstance(rule.check, Row):
            on, passes = rule.check.on or rule.column, rule.check.passes(ctx)
            assert on is not None, rule.code
            if passes is not None:
                checks[on].append(_check(rule.code, passes))
        elif isinstance(rule.check, Cells):
            ok = ~pl.any_horizontal(rule.check.breaks(cell) for cell in cells)
            checks[SOURCE_ROW].append(_check(rule.code, ok))
        elif isinstance(rule.check, Fields):
            for name in fields:
                use, value = ctx.reference.field_uses[name], pl.col(name)
                found = rule.check.passes(use, value, pl.col(value_column(name)))
                custom[name] += [_check(rule.code, ok) for ok in found]
    schema = schema.update_columns({c: {"checks": found} for c, found in checks.items()})
    return schema.add_columns(
        {name: pa.Column(str, checks=found, nullable=True) for name, found in custom.items()}
    )


def _check(code: str, ok: pl.Expr) -> pa.Check:
    """A pandera check named `code`: True where the row passes; one that cannot be judged
    (null) passes."""

    def passes(data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(ok.fill_null(True))

    return pa.Check(passes, name=code)
