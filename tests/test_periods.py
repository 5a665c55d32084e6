"""Tests for pipeline.periods: the worked examples, tiling properties, and DST-aware closes."""

import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.periods import add_periods, period_bounds
from schemas.vocabulary import PERIOD_KINDS

D = dt.date
DAY = dt.timedelta(days=1)
UTC = dt.UTC
KINDS = st.sampled_from(PERIOD_KINDS)
CREATED = st.dates(D(2024, 1, 1), D(2030, 12, 31))
LATE_DAYS = [  # every 29th, 30th and 31st from 2024 to 2030
    day for n in range(7 * 366) if (day := D(2024, 1, 1) + n * DAY).day >= 29 and day.year <= 2030
]
LENGTHS = {  # in days, of regular (unclipped) periods
    "daily": {1},
    "weekly": {7},
    "semimonthly": {13, 14, 15, 16},
    "monthly": {28, 29, 30, 31},
    "monthly_anniversary": {28, 29, 30, 31},
    "30_days": {30},
}
OUTPUT_SCHEMA = {
    "first_period_start": pl.Date,
    "first_period_end": pl.Date,
    "current_period_start": pl.Date,
    "current_period_end": pl.Date,
    "current_period_closes_at": pl.Datetime("us", "UTC"),
}


def bounds(kind: str, created: dt.date, day: dt.date) -> tuple[dt.date, dt.date]:
    """period_bounds for one (kind, created_on, day), as Python dates."""
    start, end = period_bounds(pl.lit(kind), pl.lit(created), pl.lit(day))
    return pl.select(start.alias("start"), end.alias("end")).row(0)


def customers(*rows: tuple[str, str, dt.date]) -> pl.DataFrame:
    """A frame of (billing_period, billing_period_timezone, created_on) rows."""
    return pl.DataFrame(
        rows,
        schema={
            "billing_period": pl.String,
            "billing_period_timezone": pl.String,
            "created_on": pl.Date,
        },
        orient="row",
    )


def one(kind: str, created: dt.date, as_of: dt.date, zone: str = "UTC") -> dict:
    """add_periods for a single customer, as a dict of its output row."""
    return add_periods(customers((kind, zone, created)), as_of).row(0, named=True)


def periods_around(kind: str, created: dt.date) -> pl.DataFrame:
    """The (unclipped) period of every day from 40 days before created_on to 400 days after."""
    start, end = period_bounds(pl.lit(kind), pl.lit(created), pl.col("day"))
    days = pl.date_range(created - 40 * DAY, created + 400 * DAY, eager=True).alias("day")
    return pl.DataFrame(days).with_columns(start=start, end=end)


# --- the worked examples of domain.md -------------------------------------------------------

WORKED_EXAMPLES = [
    # kind, created_on, first period end, next period start, next period end
    ("monthly_anniversary", D(2026, 3, 19), D(2026, 4, 18), D(2026, 4, 19), D(2026, 5, 18)),
    ("monthly_anniversary", D(2026, 3, 30), D(2026, 4, 27), D(2026, 4, 28), D(2026, 5, 27)),
    ("monthly_anniversary", D(2026, 1, 31), D(2026, 2, 27), D(2026, 2, 28), D(2026, 3, 27)),
    ("monthly_anniversary", D(2028, 2, 29), D(2028, 3, 27), D(2028, 3, 28), D(2028, 4, 27)),
    ("30_days", D(2026, 3, 20), D(2026, 4, 18), D(2026, 4, 19), D(2026, 5, 18)),
    ("weekly", D(2026, 11, 25), D(2026, 11, 29), D(2026, 11, 30), D(2026, 12, 6)),
    ("semimonthly", D(2026, 2, 20), D(2026, 2, 28), D(2026, 3, 1), D(2026, 3, 15)),
    ("daily", D(2026, 11, 26), D(2026, 11, 26), D(2026, 11, 27), D(2026, 11, 27)),
]


@pytest.mark.parametrize(
    ("kind", "created", "first_end", "next_start", "next_end"),
    WORKED_EXAMPLES,
    ids=[f"{kind}-{created}" for kind, created, *_ in WORKED_EXAMPLES],
)
def test_worked_example(kind, created, first_end, next_start, next_end):
    row = one(kind, created, as_of=created)
    assert (row["first_period_start"], row["first_period_end"]) == (created, first_end)
    assert bounds(kind, created, first_end + DAY) == (next_start, next_end)


def test_bounds_are_not_clipped():
    assert bounds("monthly_anniversary", D(2026, 3, 30), D(2026, 3, 30)) == (
        D(2026, 3, 28),
        D(2026, 4, 27),
    )
    assert bounds("weekly", D(2026, 11, 25), D(2026, 11, 25)) == (D(2026, 11, 23), D(2026, 11, 29))


# --- properties ---------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(kind=KINDS, created=CREATED)
def test_periods_tile_time(kind, created):
    frame = periods_around(kind, created)
    assert frame.filter(
        (pl.col("start") > pl.col("day")) | (pl.col("day") > pl.col("end"))
    ).is_empty()
    periods = frame.select("start", "end").unique().sort("start")
    starts, ends = periods["start"].to_list(), periods["end"].to_list()
    assert [end + DAY for end in ends[:-1]] == starts[1:]  # no gap, no overlap


@settings(max_examples=200, deadline=None)
@given(kind=KINDS, created=CREATED)
def test_period_shapes(kind, created):
    periods = periods_around(kind, created).select("start", "end").unique().sort("start")
    periods = periods.with_columns(days=(pl.col("end") - pl.col("start")).dt.total_days() + 1)
    assert set(periods["days"]) <= LENGTHS[kind]
    start_days = set(periods["start"].dt.day())
    if kind == "weekly":
        assert set(periods["start"].dt.weekday()) == {1}
    elif kind == "semimonthly":
        assert start_days == {1, 16}
    elif kind == "monthly":
        assert start_days == {1}
    elif kind == "monthly_anniversary":
        assert start_days == {min(created.day, 28)}
    elif kind == "30_days":
        assert set((periods["start"] - created).dt.total_days() % 30) == {0}


@settings(max_examples=200, deadline=None)
@given(kind=KINDS, created=CREATED, age=st.integers(0, 800))
def test_first_and_current_periods(kind, created, age):
    as_of = created + age * DAY
    row = one(kind, created, as_of)
    start, end = bounds(kind, created, as_of)
    assert row["first_period_start"] == created
    assert row["first_period_end"] == bounds(kind, created, created)[1]
    first_days = (row["first_period_end"] - created).days + 1
    assert 1 <= first_days <= max(LENGTHS[kind])
    if kind in ("daily", "30_days"):  # created_on is always a period start
        assert first_days in LENGTHS[kind]
    assert (row["current_period_start"], row["current_period_end"]) == (max(start, created), end)
    assert row["current_period_start"] <= as_of <= row["current_period_end"]
    if as_of <= row["first_period_end"]:
        assert row["current_period_end"] == row["first_period_end"]
    else:
        assert row["current_period_start"] == start
        assert start > row["first_period_end"]


@settings(max_examples=200, deadline=None)
@given(created=st.sampled_from(LATE_DAYS))
def test_anniversary_late_days_become_28(created):
    first_end = one("monthly_anniversary", created, created)["first_period_end"]
    next_month = (created.replace(day=1) + 32 * DAY).replace(day=27)
    assert first_end == next_month
    later = periods_around("monthly_anniversary", created).filter(pl.col("start") > created)
    assert set(later["start"].dt.day()) == {28}


@pytest.mark.parametrize("kind", PERIOD_KINDS)
@given(created=CREATED)
@settings(max_examples=25, deadline=None)
def test_current_is_first_on_creation_day(kind, created):
    row = one(kind, created, as_of=created)
    assert row["current_period_start"] == row["first_period_start"] == created
    assert row["current_period_end"] == row["first_period_end"] >= created


# --- when the current period closes ------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "day", "closes_at"),
    [
        ("America/Sao_Paulo", D(2018, 11, 4), dt.datetime(2018, 11, 4, 3, tzinfo=UTC)),
        ("America/Havana", D(2026, 3, 8), dt.datetime(2026, 3, 8, 5, tzinfo=UTC)),
        ("Asia/Beirut", D(2026, 3, 29), dt.datetime(2026, 3, 28, 22, tzinfo=UTC)),
        ("Africa/Cairo", D(2026, 4, 24), dt.datetime(2026, 4, 23, 22, tzinfo=UTC)),
        ("America/Santiago", D(2026, 9, 6), dt.datetime(2026, 9, 6, 4, tzinfo=UTC)),
        ("America/Havana", D(2026, 11, 1), dt.datetime(2026, 11, 1, 4, tzinfo=UTC)),
        ("Atlantic/Azores", D(2026, 10, 25), dt.datetime(2026, 10, 25, 0, tzinfo=UTC)),
        ("Europe/Prague", D(2026, 1, 10), dt.datetime(2026, 1, 9, 23, tzinfo=UTC)),
        ("Europe/Prague", D(2026, 7, 1), dt.datetime(2026, 6, 30, 22, tzinfo=UTC)),
        ("Asia/Kolkata", D(2026, 7, 1), dt.datetime(2026, 6, 30, 18, 30, tzinfo=UTC)),
    ],
)
def test_closes_at_start_of_local_day(zone, day, closes_at):
    """A daily period created and current on the day before `day` closes when `day` starts."""
    row = one("daily", day - DAY, as_of=day - DAY, zone=zone)
    assert row["current_period_closes_at"] == closes_at


SWEEP_ZONES = [
    "UTC",
    "Europe/Prague",
    "America/New_York",
    "America/Sao_Paulo",
    "America/Havana",
    "Asia/Beirut",
    "Africa/Cairo",
    "America/Santiago",
    "Atlantic/Azores",
    "Asia/Tehran",
    "America/Asuncion",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "Europe/Dublin",
]


def test_closes_at_is_first_instant_of_next_day_2018_to_2030():
    """Every day from 2018 to 2030 in zones with midnight DST changes: closes_at is local
    midnight of the next day or the first instant after it (gap), never a later one (fold).

    30-day customers created 0..29 days before as_of have current periods ending on each of the
    30 days from as_of, so one call per 30 days covers every day.
    """
    calls = []
    as_of = D(2018, 1, 1)
    while as_of <= D(2030, 12, 31):
        rows = [("30_days", z, as_of - age * DAY) for z in SWEEP_ZONES for age in range(30)]
        calls.append(add_periods(customers(*rows), as_of))
        as_of += 30 * DAY
    out = pl.concat(calls)
    ends = out["current_period_end"].unique()
    assert ends.len() == 30 * len(calls) == (ends.max() - ends.min()).days + 1  # every day
    for zone in SWEEP_ZONES:
        part = out.filter(pl.col("billing_period_timezone") == zone)
        closes = pl.col("current_period_closes_at")
        local_date = closes.dt.convert_time_zone(zone).dt.date()
        just_before = (closes - pl.duration(microseconds=1)).dt.convert_time_zone(zone).dt.date()
        wrong = part.filter(
            (local_date != pl.col("current_period_end") + pl.duration(days=1))
            | (just_before != pl.col("current_period_end"))
        )
        assert wrong.is_empty(), zone


# --- add_periods end to end ----------------------------------------------------------------


def test_add_periods_end_to_end():
    as_of = D(2026, 11, 26)  # a Thursday
    batch = customers(
        ("daily", "Europe/Prague", D(2026, 11, 26)),
        ("weekly", "America/New_York", D(2026, 11, 10)),
        ("semimonthly", "Asia/Tokyo", D(2026, 2, 20)),
        ("monthly", "UTC", D(2024, 2, 10)),
        ("monthly_anniversary", "Asia/Kolkata", D(2026, 1, 31)),
        ("30_days", "America/Havana", D(2026, 9, 2)),
        ("monthly_anniversary", "America/Sao_Paulo", D(2026, 11, 26)),
    ).with_columns(name=pl.Series([f"c{i}" for i in range(7)]))
    out = add_periods(batch, as_of)
    assert out.schema == {**batch.schema, **OUTPUT_SCHEMA}
    assert out.select(batch.columns).equals(batch)
    expected = {
        "first_period_start": [
            D(2026, 11, 26),
            D(2026, 11, 10),
            D(2026, 2, 20),
            D(2024, 2, 10),
            D(2026, 1, 31),
            D(2026, 9, 2),
            D(2026, 11, 26),
        ],
        "first_period_end": [
            D(2026, 11, 26),
            D(2026, 11, 15),
            D(2026, 2, 28),
            D(2024, 2, 29),
            D(2026, 2, 27),
            D(2026, 10, 1),
            D(2026, 12, 25),
        ],
        "current_period_start": [
            D(2026, 11, 26),
            D(2026, 11, 23),
            D(2026, 11, 16),
            D(2026, 11, 1),
            D(2026, 10, 28),
            D(2026, 11, 1),
            D(2026, 11, 26),
        ],
        "current_period_end": [
            D(2026, 11, 26),
            D(2026, 11, 29),
            D(2026, 11, 30),
            D(2026, 11, 30),
            D(2026, 11, 27),
            D(2026, 11, 30),
            D(2026, 12, 25),
        ],
        "current_period_closes_at": [
            dt.datetime(2026, 11, 26, 23, tzinfo=UTC),  # Prague, CET
            dt.datetime(2026, 11, 30, 5, tzinfo=UTC),  # New York, EST
            dt.datetime(2026, 11, 30, 15, tzinfo=UTC),  # Tokyo
            dt.datetime(2026, 12, 1, 0, tzinfo=UTC),
            dt.datetime(2026, 11, 27, 18, 30, tzinfo=UTC),  # Kolkata, +05:30
            dt.datetime(2026, 12, 1, 5, tzinfo=UTC),  # Havana, CST
            dt.datetime(2026, 12, 26, 3, tzinfo=UTC),  # Sao Paulo, no DST since 2019
        ],
    }
    for column, values in expected.items():
        assert out[column].to_list() == values, column


def test_add_periods_duplicates_and_row_order():
    distinct = [
        (kind, zone, D(2026, 1, 1) + (7 * i + j) * DAY)
        for i, kind in enumerate(PERIOD_KINDS)
        for j, zone in enumerate(["UTC", "Asia/Tokyo", "America/Havana"])
    ]
    as_of = D(2026, 3, 1)
    batch = customers(*distinct[::-1], *distinct, *distinct[::2]).with_row_index("i")
    out = add_periods(batch, as_of)
    assert out["i"].to_list() == batch["i"].to_list()
    alone = {(k, z, c): one(k, c, as_of, zone=z) for k, z, c in distinct}
    for got in out.iter_rows(named=True):
        got.pop("i")
        assert (
            got == alone[got["billing_period"], got["billing_period_timezone"], got["created_on"]]
        )


def test_add_periods_empty_frame():
    out = add_periods(customers(), D(2026, 1, 1))
    assert out.height == 0
    assert out.schema == {**customers().schema, **OUTPUT_SCHEMA}


@pytest.mark.parametrize(
    "row",
    [
        ("daily", "UTC", D(2026, 1, 2)),  # created after as_of
        ("fortnightly", "UTC", D(2026, 1, 1)),  # unknown kind
        (None, "UTC", D(2026, 1, 1)),
        ("daily", None, D(2026, 1, 1)),
        ("daily", "UTC", None),
    ],
)
def test_add_periods_rejects_rows_outside_its_contract(row):
    with pytest.raises(ValueError, match="1 row"):
        add_periods(customers(("daily", "UTC", D(2025, 12, 1)), row), D(2026, 1, 1))


def test_every_zone_the_import_accepts_works_in_polars():
    # A zone accepted by the rules but unknown to polars would fail a whole batch at periods.
    from schemas.vocabulary import time_zones

    zones = sorted(time_zones().values())
    assert "Europe/Prague" in zones and "UTC" in zones
    frame = pl.DataFrame(
        {
            "billing_period": ["daily"] * len(zones),
            "billing_period_timezone": zones,
            "created_on": [dt.date(2026, 11, 26)] * len(zones),
        }
    )
    closes = add_periods(frame, dt.date(2026, 11, 26))["current_period_closes_at"]
    assert closes.null_count() == 0
