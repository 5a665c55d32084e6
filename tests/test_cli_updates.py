"""Updates follow the billing system's rules (`--on-existing update`): a stored customer's
currency cannot change, and a change of billing period or zone is not retroactive: the current
period closes as it was, the change applies from the day after it ends (`billing_change_on`)."""

from datetime import UTC, date, datetime

import pytest

from helpers import customer, query

PERIOD = (
    "billing_period, billing_period_timezone, first_period_start, first_period_end, "
    "current_period_start, current_period_end, current_period_closes_at, billing_change_on"
)


@pytest.fixture
def send(onboard, batch, reference_path):
    """Import one customer row as of a date (an update when the name is stored); the row's
    rejections, if any."""
    sent = []

    def run(as_of: str, **cells) -> list[tuple]:
        path = batch(customer("Acme", **cells), name=f"batch-{len(sent)}.csv")
        sent.append(path)
        result = onboard(
            "import",
            str(path),
            "--reference",
            str(reference_path),
            "--as-of",
            as_of,
            "--on-existing",
            "update",
            "--force",  # the same row again is an update again
        )
        assert result.exit_code == 0, result.output
        return query(
            onboard.db,
            "SELECT rule, message FROM rejections WHERE batch_id = (SELECT max(batch_id) "
            "FROM batches)",
        )

    return run


@pytest.fixture
def onboard_db(onboard, db):
    onboard.db = db
    return onboard


def stored(db) -> tuple:
    [row] = query(db, f"SELECT {PERIOD} FROM customers")
    return row


def utc(*parts) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def test_the_worked_example_monthly_changed_to_weekly(onboard_db, db, send):
    """domain.md: monthly, current period March 1 .. 31, changed on March 10 to weekly: March
    stays one period; the weekly periods start April 1, a Wednesday: April 1 .. 5 first."""
    assert send("2026-03-05", period="Monthly", created="2026-03-01") == []
    assert send("2026-03-10", period="Weekly") == []
    assert stored(db) == (
        "weekly", "UTC", date(2026, 3, 1), date(2026, 3, 31),
        date(2026, 3, 1), date(2026, 3, 31), utc(2026, 4, 1), date(2026, 4, 1),
    )  # fmt: skip
    # imported again (nothing changes) once the change is in force: the new kind's periods
    send("2026-04-02", period="Weekly")
    assert stored(db)[4:] == (date(2026, 4, 1), date(2026, 4, 5), utc(2026, 4, 6), date(2026, 4, 1))
    send("2026-04-07", period="Weekly")
    assert stored(db)[4:7] == (date(2026, 4, 6), date(2026, 4, 12), utc(2026, 4, 13))
    # the first period stays the creation's
    assert stored(db)[2:4] == (date(2026, 3, 1), date(2026, 3, 31))


def test_a_change_at_a_month_end_anchors_the_new_periods_on_its_date(onboard_db, db, send):
    """Daily, changed on January 30 to monthly (anniversary): today closes as it was, the
    anniversary periods count from January 31, whose day 31 becomes 28 for good."""
    send("2026-01-30", period="Daily", created="2026-01-02")
    send("2026-01-30", period="Monthly (anniversary)")
    assert stored(db)[4:] == (
        date(2026, 1, 30), date(2026, 1, 30), utc(2026, 1, 31), date(2026, 1, 31),
    )  # fmt: skip
    send("2026-02-27", period="Monthly (anniversary)")
    assert stored(db)[4:7] == (date(2026, 1, 31), date(2026, 2, 27), utc(2026, 2, 28))
    send("2026-02-28", period="Monthly (anniversary)")
    assert stored(db)[4:7] == (date(2026, 2, 28), date(2026, 3, 27), utc(2026, 3, 28))


def test_thirty_days_changed_to_monthly_keeps_its_block(onboard_db, db, send):
    send("2026-01-31", period="30 days", created="2026-01-01")  # Jan 1-30, then Jan 31-Mar 1
    send("2026-01-31", period="Monthly")
    assert stored(db)[4:] == (
        date(2026, 1, 31), date(2026, 3, 1), utc(2026, 3, 2), date(2026, 3, 2),
    )  # fmt: skip
    send("2026-03-05", period="Monthly")  # the first monthly period starts on March 2
    assert stored(db)[4:7] == (date(2026, 3, 2), date(2026, 3, 31), utc(2026, 4, 1))


def test_a_zone_changed_on_the_day_clocks_spring_forward(onboard_db, db, send):
    """Prague's 2026-03-29 has 23 hours: it closes at midnight CEST, 22:00 UTC, as the
    customer's zone said; from March 30 the days are UTC's."""
    send("2026-03-28", period="Daily", zone="Europe/Prague", created="2026-03-01")
    send("2026-03-29", period="Daily", zone="UTC")
    assert stored(db)[1] == "UTC"
    assert stored(db)[4:] == (
        date(2026, 3, 29), date(2026, 3, 29), utc(2026, 3, 29, 22), date(2026, 3, 30),
    )  # fmt: skip
    send("2026-03-30", period="Daily", zone="UTC")
    assert stored(db)[4:7] == (date(2026, 3, 30), date(2026, 3, 30), utc(2026, 3, 31))


def test_a_second_change_before_the_first_is_in_force_takes_its_place(onboard_db, db, send):
    send("2026-03-05", period="Monthly", created="2026-03-01")
    send("2026-03-10", period="Weekly")
    send("2026-03-20", period="Daily")
    assert stored(db)[0] == "daily"
    assert stored(db)[4:] == (
        date(2026, 3, 1), date(2026, 3, 31), utc(2026, 4, 1), date(2026, 4, 1),
    )  # fmt: skip
    send("2026-04-02", period="Daily")
    assert stored(db)[4:7] == (date(2026, 4, 2), date(2026, 4, 2), utc(2026, 4, 3))


def test_an_update_without_a_change_of_period_or_zone_keeps_the_periods(onboard_db, db, send):
    send("2026-03-05", period="Monthly", created="2026-03-01")
    send("2026-03-10", period="Monthly", model="Hosted IP PBX")
    assert query(db, "SELECT business_model FROM customers") == [("Hosted IP PBX",)]
    assert stored(db)[4:] == (date(2026, 3, 1), date(2026, 3, 31), utc(2026, 4, 1), None)


def test_a_stored_customers_currency_cannot_change(onboard_db, db, send):
    send("2026-03-05", currency="USD")
    assert send("2026-03-10", currency="EUR", model="Hosted IP PBX") == [
        (
            "currency_immutable",
            "the customer's currency is USD and cannot change once saved; send USD (or leave "
            "the cell empty if the class fixes it)",
        )
    ]
    assert query(db, "SELECT currency, business_model FROM customers") == [
        ("USD", "Internet access")
    ]
