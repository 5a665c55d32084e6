"""Rows that update a stored customer (`--on-existing update`) follow the billing system's rules.

- The creation date is kept, unless the row gives one.
- A change of billing period or billing period time zone is not retroactive: the current
  period (as the stored settings count it on the as-of date) stays, closing as it was, and the
  change applies from the day after it ends, the customer's `billing_change_on`. From that
  date the new kind's periods run, counted from it (the anchor of a monthly anniversary or a
  30-day period) and the first one starting on it. Until that date the current period is the
  one stored; a second change before it takes the first one's place (`../shared/domain.md`).
- The first period stays as stored (it is the creation's), unless the row gives a new
  creation date.

A currency that would change is a rejection (`currency_immutable`), before any of this.
"""

import datetime

import polars as pl

from pipeline.grid import blank_cell
from pipeline.periods import OUTPUT_COLUMNS, add_periods
from pipeline.store import STORED
from schemas.vocabulary import text_column

_ROW = "_update_row"
_STORED = "stored_"  # prefix of a stored customer's columns beside a row's


def with_periods(
    accepted: pl.DataFrame, stored: pl.DataFrame, as_of: datetime.date
) -> tuple[pl.DataFrame, pl.Series]:
    """`accepted` rows with their billing periods (and `billing_change_on`), those that name a
    `stored` customer (store.existing_customers) as updates of it; and the name keys of the
    stored customers they replace."""
    joined = accepted.join(
        stored.select("name_key", *(pl.col(c).alias(_STORED + c) for c in STORED)),
        on="name_key",
        how="left",
    ).with_row_index(_ROW)
    was = _stored
    update = was("created_on").is_not_null()
    given = ~blank_cell(pl.col(text_column("created_on")))
    changed = update & (
        (pl.col("billing_period") != was("billing_period"))
        | (pl.col("billing_period_timezone") != was("billing_period_timezone"))
    )
    pending = update & (was("billing_change_on") > as_of).fill_null(False)  # not yet in force
    joined = joined.with_columns(
        created_on=pl.when(update & ~given).then(was("created_on")).otherwise("created_on"),
        _changed=changed & ~pending,
        _pending=pending,
        _kept_first=update & ~given,
    )
    # the stored customer's current period on the as-of date, as its own settings count it
    moving = joined.filter("_changed")
    before = add_periods(
        moving.select(
            _ROW,
            billing_period=was("billing_period"),
            billing_period_timezone=was("billing_period_timezone"),
            created_on=was("created_on"),
            billing_change_on=was("billing_change_on"),
        ),
        as_of,
    ).select(_ROW, *(pl.col(c).alias(f"_before_{c}") for c in OUTPUT_COLUMNS))
    joined = joined.join(before, on=_ROW, how="left").with_columns(
        billing_change_on=pl.when("_changed")
        .then(pl.col("_before_current_period_end") + pl.duration(days=1))
        .otherwise(was("billing_change_on"))
    )
    periods = add_periods(joined, as_of)  # a change not yet in force: its period replaced below
    kept = {
        c: pl.when("_changed")
        .then(pl.col(f"_before_{c}"))
        .when("_pending")
        .then(was(c))
        .otherwise(pl.col(c))
        for c in OUTPUT_COLUMNS
        if c.startswith("current")
    }
    firsts = {
        c: pl.when("_kept_first").then(was(c)).otherwise(pl.col(c))
        for c in OUTPUT_COLUMNS
        if c.startswith("first")
    }
    result = periods.with_columns(**kept, **firsts)
    replaces = result.filter(update)["name_key"]
    helpers = [c for c in result.columns if c.startswith(("_", _STORED))]
    return result.drop(helpers), replaces


def _stored(column: str) -> pl.Expr:
    """The stored customer's value of `column`, beside a row that updates it."""
    return pl.col(_STORED + column)
