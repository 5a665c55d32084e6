"""Write a realistic customer batch: mostly good rows, about 3% with a defect a clerk would fix.

python bench/generate.py OUT.csv [--rows N] [--seed S]
"""

import argparse
from pathlib import Path

import polars as pl

ZONES = [
    "Europe/Prague",
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
    "America/Sao_Paulo",
    "America/Havana",
    "Asia/Tokyo",
    "Asia/Bahrain",
    "Australia/Sydney",
    "Africa/Cairo",
    "America/Santiago",
    "Asia/Kolkata",
    "Europe/Lisbon",
    "America/Los_Angeles",
    "Asia/Beirut",
    "Pacific/Auckland",
    "Atlantic/Azores",
    "Asia/Singapore",
    "Europe/Madrid",
    "UTC",
]
PERIODS = ["Daily", "Weekly", "Semimonthly", "Monthly", "Monthly (anniversary)", "30 days"]
REFERENCE = Path(__file__).resolve().parent.parent / "sample_data" / "reference.toml"


def generate(rows: int, seed: int = 7, defect_rate: float = 0.03) -> pl.DataFrame:
    row = pl.int_range(rows, dtype=pl.UInt64)

    def draw(k: int, n: int) -> pl.Expr:
        """A pseudo-random whole number in [0, n) per row, the same for the same seed."""
        return (row.hash(seed * 1000 + k) % n).cast(pl.Int64)

    def pick(k: int, values: list[str]) -> pl.Expr:
        return pl.lit(pl.Series(values)).gather(draw(k, len(values)))

    postpaid = draw(1, 10) >= 4
    cents = draw(2, 500_000)
    amount = pl.format("{}.{}", cents // 100, (cents % 100).cast(pl.String).str.zfill(2))
    frame = (
        pl.select(
            Name=pl.format(
                "Customer {} {}", row, pick(3, ["s.r.o.", "Ltd", "GmbH", "Inc.", "S.A."])
            ),
            **{
                "Business model": pick(4, ["Hosted IP PBX", "Internet access"]),
                "Customer class": pl.when(draw(5, 10) < 3)
                .then(pl.lit("Business"))
                .otherwise(pl.lit("Retail")),
                "Billing period": pick(6, PERIODS),
                "Billing period timezone": pick(7, ZONES),
                "Balance control": pl.when(postpaid)
                .then(pl.lit("Postpaid"))
                .otherwise(pl.lit("Prepaid")),
                "Currency": pick(
                    8, ["USD"] * 8 + ["EUR"] * 6 + ["CZK"] * 3 + ["JPY"] * 2 + ["BHD"]
                ),
                "Credit limit": pl.when(postpaid).then(amount),
                "Available funds": pl.when(~postpaid).then(amount),
                "Created on": (pl.date(2024, 1, 1) + pl.duration(days=draw(9, 1060))).cast(
                    pl.String
                ),
                "tax_id": pl.format("CZ{}", draw(10, 10**9 - 10**7) + 10**7),
            },
        )
        .with_columns(
            pl.when(pl.col("Currency") == "JPY")
            .then(pl.col(c).str.replace(r"\..*", ""))
            .otherwise(pl.col(c))
            .alias(c)
            for c in ("Credit limit", "Available funds")
        )
        .with_columns(
            pl.when(pl.col("Customer class") == "Business").then(pl.col("tax_id")).alias("tax_id")
        )
    )
    spoiled = pl.when(draw(11, 1_000_000) < defect_rate * 1_000_000).then(draw(12, 6) + 1)
    return _defects(frame.with_columns(kind=pl.select(spoiled).to_series()))


def _defects(frame: pl.DataFrame) -> pl.DataFrame:
    """Spoil the rows marked in `kind`, one common defect each."""
    spoil = {
        1: ("Currency", pl.lit("GBP")),
        2: ("Billing period timezone", pl.lit("Europe/Praha")),
        3: ("Created on", pl.lit("31/02/2026")),
        4: ("Billing period", pl.lit("Fortnightly")),
        5: ("Name", pl.lit("")),
        6: ("Business model", pl.lit("Cable TV")),
    }
    return frame.with_columns(
        pl.when(pl.col("kind") == k).then(value).otherwise(pl.col(column)).alias(column)
        for k, (column, value) in spoil.items()
    ).drop("kind")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    generate(args.rows, args.seed).write_csv(args.out)
    args.out.with_name("reference.toml").write_text(REFERENCE.read_text())


if __name__ == "__main__":
    main()
