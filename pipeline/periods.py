"""Billing periods: the first and current period of each customer, and when the current one closes.

All dates are calendar dates in the customer's billing period timezone (see `shared/domain.md`).
Everything is vectorized; the only Python loop over data is over the distinct time zones, as
`dt.replace_time_zone` takes one zone per call.
"""

import datetime
from typing import Any

import polars as pl

from schemas.vocabulary import PERIOD_KINDS

OUTPUT_COLUMNS = (
    "first_period_start",
    "first_period_end",
    "current_period_start",
    "current_period_end",
    "current_period_closes_at",
)
_UTC = pl.Datetime("us", "UTC")
_ZONE = "billing_period_timezone"
_CLOSES_ON = "_closes_on"
_ANCHOR = "_anchor"  # the day periods are counted from: billing_change_on, else created_on
_HOUR = pl.duration(hours=1)


def _days(n: pl.Expr | int) -> pl.Expr:
    """A duration of `n` days."""
    return pl.duration(days=n)


def _by_kind(kind: pl.Expr, exprs: dict[str, pl.Expr]) -> pl.Expr:
    """Pick, per row, the expression of that row's kind (null for an unknown kind)."""
    (first, expr), *rest = exprs.items()
    chain: Any = pl.when(kind == first).then(expr)  # a Then, then a ChainedThen
    for name, expr in rest:
        chain = chain.when(kind == name).then(expr)
    return chain.otherwise(None)


def period_bounds(kind: pl.Expr, created_on: pl.Expr, day: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """Start and inclusive end (pl.Date) of the period of `kind` (a string code from PERIOD_KINDS)
    that holds `day`, for a customer created on `created_on` (the anchor for monthly_anniversary
    and 30_days), NOT clipped.
    """
    day_of_month = day.dt.day()
    month_start, month_end = day.dt.month_start(), day.dt.month_end()
    mid_month = month_start + _days(15)  # semimonthly: 1st .. 15th, 16th .. last day
    week_start = day - _days(day.dt.weekday() - 1)  # weekday: Monday = 1
    second_half = day_of_month > 15

    # Anniversary: day N .. day N-1 of the next month, N = created_on's day, at most 28.
    anchor = pl.min_horizontal(created_on.dt.day(), 28)
    month = day.dt.year() * 12 + day.dt.month() - 1 - (day_of_month < anchor).cast(pl.Int32)
    anniversary = pl.date(month // 12, month % 12 + 1, anchor)
    next_anniversary = pl.date((month + 1) // 12, (month + 1) % 12 + 1, anchor)

    # 30 days: blocks counted from created_on (floor division, so days before it work too).
    block_start = created_on + _days((day - created_on).dt.total_days() // 30 * 30)

    start = _by_kind(
        kind,
        {
            "daily": day,
            "weekly": week_start,
            "semimonthly": pl.when(second_half).then(mid_month).otherwise(month_start),
            "monthly": month_start,
            "monthly_anniversary": anniversary,
            "30_days": block_start,
        },
    )
    end = _by_kind(
        kind,
        {
            "daily": day,
            "weekly": week_start + _days(6),
            "semimonthly": pl.when(second_half).then(month_end).otherwise(mid_month - _days(1)),
            "monthly": month_end,
            "monthly_anniversary": next_anniversary - _days(1),
            "30_days": block_start + _days(29),
        },
    )
    return start, end


def _as_utc(naive: pl.Expr, zone: str) -> pl.Expr:
    """The UTC instant of a naive local time in `zone`: the first if twice, null if never."""
    local = naive.dt.replace_time_zone(zone, ambiguous="earliest", non_existent="null")
    return local.dt.convert_time_zone("UTC")


def _day_starts(days: pl.DataFrame) -> pl.DataFrame:
    """Add `current_period_closes_at`: the UTC instant at which each (zone, date) local day starts.

    Midnight if it exists (the first one where clocks fall back to 00:00); where clocks jump
    forward at 00:00, midnight does not exist and the day starts at the end of the jump: one
    (absolute) hour after the previous day's 23:00.
    """
    midnight = pl.col(_CLOSES_ON).cast(pl.Datetime("us"))
    parts = [
        part.with_columns(
            current_period_closes_at=pl.coalesce(
                _as_utc(midnight, zone), _as_utc(midnight - _HOUR, zone) + _HOUR
            )
        )
        for (zone,), part in days.partition_by(_ZONE, as_dict=True).items()
    ]
    if not parts:
        return days.with_columns(current_period_closes_at=pl.lit(None, dtype=_UTC))
    return pl.concat(parts)


def _check(customers: pl.DataFrame, as_of: datetime.date) -> None:
    """Raise ValueError unless every row has a known kind, a zone and created_on <= as_of."""
    ok = (
        pl.col("billing_period").is_in(PERIOD_KINDS)
        & pl.col(_ZONE).is_not_null()
        & (pl.col("created_on") <= as_of)
    )
    bad = customers.filter(~ok.fill_null(False)).height
    if bad:
        raise ValueError(
            f"{bad} row(s) lack a known billing_period, a billing_period_timezone "
            f"or a created_on on or before {as_of}"
        )


def add_periods(customers: pl.DataFrame, as_of: datetime.date) -> pl.DataFrame:
    """Add each customer's first and current billing period and when the current one closes.

    Input columns: billing_period (a code from PERIOD_KINDS), billing_period_timezone (an IANA
    name), created_on (pl.Date, non-null, <= as_of), and maybe billing_change_on (pl.Date: the
    day the customer's billing period or zone last changed, from which they apply; null:
    since creation). Adds first_period_start/_end (the period holding created_on, starting on
    it), current_period_start/_end (the period holding as_of, counted from and clipped to
    billing_change_on, else created_on), and current_period_closes_at (pl.Datetime('us',
    'UTC'): the start of the local day after current_period_end in billing_period_timezone).
    Raises ValueError if a row breaks the input contract.
    """
    _check(customers, as_of)
    # Periods depend on (kind, created_on, anchor) only, the close on (zone, day): compute
    # each once.
    kind, created_on, anchor = pl.col("billing_period"), pl.col("created_on"), pl.col(_ANCHOR)
    changed = "billing_change_on" in customers.columns
    keys = customers.select(
        kind,
        created_on,
        (pl.coalesce("billing_change_on", "created_on") if changed else created_on).alias(_ANCHOR),
        _ZONE,
    )
    _, first_end = period_bounds(kind, created_on, created_on)
    current_start, current_end = period_bounds(kind, anchor, pl.lit(as_of, dtype=pl.Date))
    periods = (
        keys.select(kind, created_on, anchor)
        .unique()
        .with_columns(
            first_period_start=created_on,
            first_period_end=first_end,
            current_period_start=pl.max_horizontal(current_start, anchor),
            current_period_end=current_end,
        )
    )
    # joined on the key columns alone: the customers' other columns are not copied
    on = ["billing_period", "created_on", _ANCHOR]
    out = keys.join(periods, on=on, how="left", maintain_order="left")
    out = out.with_columns((pl.col("current_period_end") + _days(1)).alias(_CLOSES_ON))
    closes = _day_starts(out.select(_ZONE, _CLOSES_ON).unique())
    out = out.join(closes, on=[_ZONE, _CLOSES_ON], how="left", maintain_order="left")
    return customers.drop(OUTPUT_COLUMNS, strict=False).hstack(out.select(OUTPUT_COLUMNS))
