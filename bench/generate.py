"""Write a realistic customer batch of one shape, and the reseller's reference it is judged by.

Shapes (what users send):
  plain      the sample reference (Retail; Business with a mandatory tax_id), about 3% of the
             rows with a defect a clerk would fix
  custom     classes with custom fields: Retail (none), Business (one: tax_id) and Enterprise
             (five: mandatory and patterned tax_id and contract_id, mandatory account_manager,
             optional patterned po_number, optional free-text notes), a third of the rows each;
             about 3% defective, a missing mandatory value and a pattern mismatch among them
  defective  the plain batch with about 30% of its rows defective, over twenty rules

Everything is drawn from hashes of the row number and the seed: the same arguments give the
same file (with the same polars version), built from whole-column expressions (1M rows in
about two seconds).

python bench/generate.py OUT.csv [--shape S] [--rows N] [--seed S]   (writes OUT.toml too)
"""

import argparse
import os
from pathlib import Path

import polars as pl

SHAPES = ("plain", "custom", "defective")
DEFECT_RATE = {"plain": 0.03, "custom": 0.03, "defective": 0.30}
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
SAMPLE_REFERENCE = Path(__file__).resolve().parent.parent / "sample_data" / "reference.toml"
CUSTOM_REFERENCE = """\
currencies = ["USD", "EUR", "CZK", "JPY", "BHD"]
business_models = ["Hosted IP PBX", "Internet access"]

[[customer_classes]]
name = "Retail"

[[customer_classes]]
name = "Business"
[[customer_classes.custom_fields]]
name = "tax_id"
mandatory = true
pattern = "^[A-Z]{2}[0-9]{6,10}$"

[[customer_classes]]
name = "Enterprise"
[[customer_classes.custom_fields]]
name = "tax_id"
mandatory = true
pattern = "^[A-Z]{2}[0-9]{6,10}$"
[[customer_classes.custom_fields]]
name = "contract_id"
mandatory = true
pattern = "^C-[0-9]{6}$"
[[customer_classes.custom_fields]]
name = "account_manager"
mandatory = true
[[customer_classes.custom_fields]]
name = "po_number"
pattern = "^PO[0-9]{4,8}$"
[[customer_classes.custom_fields]]
name = "notes"
"""
MANAGERS = ["Jana Novakova", "Tom Baker", "Ana Souza", "Kenji Sato", "Fatima Al-Sayed"]
NOTES = [
    "Invoice to head office, attn. Accounts",
    'Prefers "paperless" billing',
    "Přepojit na pobočku Brno",
    "Call before 10:00; closed on Fridays",
    "VIP",
    "Second site in Porto — same contact",
]
LONG_NAME = (
    "Holdings, Investments and International Trading Group with Subsidiaries and Affiliates "
    "in Europe and the Americas"
)
ROW = "_row"


def reference_text(shape: str) -> str:
    """The reference TOML a batch of `shape` is imported with."""
    return CUSTOM_REFERENCE if shape == "custom" else SAMPLE_REFERENCE.read_text()


def reference_path(csv: Path) -> Path:
    """Where the reference of a generated batch is written: beside it, OUT.toml."""
    return csv.with_suffix(".toml")


def generate(rows: int, seed: int = 7, shape: str = "plain") -> pl.DataFrame:
    """A batch of `shape` as the text a sender writes (the plain shape is the batch `make bench`
    measured before it had shapes, the same file for the same seed)."""
    if shape not in SHAPES:
        raise ValueError(f"unknown shape {shape!r}; one of {', '.join(SHAPES)}")
    row = pl.col(ROW)

    def draw(k: int, n: int) -> pl.Expr:
        """A pseudo-random whole number in [0, n) per row, the same for the same seed."""
        return (row.hash(seed * 1000 + k) % n).cast(pl.Int64)

    def pick(k: int, values: list[str]) -> pl.Expr:
        return pl.lit(pl.Series(values)).gather(draw(k, len(values)))

    postpaid = draw(1, 10) >= 4
    cents = draw(2, 500_000)
    amount = pl.format("{}.{}", cents // 100, (cents % 100).cast(pl.String).str.zfill(2))
    if shape == "custom":
        klass = pick(5, ["Retail", "Business", "Enterprise"])
    else:
        klass = pl.when(draw(5, 10) < 3).then(pl.lit("Business")).otherwise(pl.lit("Retail"))
    frame = (
        pl.select(pl.int_range(rows, dtype=pl.UInt64).alias(ROW))
        .with_columns(
            Name=pl.format(
                "Customer {} {}", row, pick(3, ["s.r.o.", "Ltd", "GmbH", "Inc.", "S.A."])
            ),
            **{
                "Business model": pick(4, ["Hosted IP PBX", "Internet access"]),
                "Customer class": klass,
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
    )
    if shape == "custom":
        frame = _custom_fields(frame, draw, pick)
    else:
        frame = frame.with_columns(
            pl.when(pl.col("Customer class") == "Business").then(pl.col("tax_id")).alias("tax_id")
        )
    spoils = DEFECTS[shape]()
    rate = DEFECT_RATE[shape]
    kind = pl.when(draw(11, 1_000_000) < rate * 1_000_000).then(draw(12, len(spoils)) + 1)
    return _spoil(frame.with_columns(kind=kind), spoils).drop(ROW, "kind")


def _custom_fields(frame: pl.DataFrame, draw, pick) -> pl.DataFrame:
    """The custom shape's fields, filled in for the classes that have them (headers as a
    sender writes them: the pipeline matches them ignoring case, spaces and underscores)."""
    klass = pl.col("Customer class")
    taxed = klass.is_in(["Business", "Enterprise"])
    enterprise = klass == "Enterprise"
    country = pick(13, ["CZ", "DE", "GB", "FR", "SK", "BH"])
    return frame.with_columns(
        tax_id=pl.when(taxed).then(pl.format("{}{}", country, draw(10, 10**9 - 10**7) + 10**7)),
        **{
            "Contract ID": pl.when(enterprise).then(
                pl.format("C-{}", draw(14, 10**6).cast(pl.String).str.zfill(6))
            ),
            "Account manager": pl.when(enterprise).then(pick(15, MANAGERS)),
            "PO number": pl.when(enterprise & (draw(16, 2) == 0)).then(
                pl.format("PO{}", draw(17, 10**8 - 10**4) + 10**4)
            ),
            "Notes": pl.when(enterprise & (draw(18, 10) < 3))
            .then(pick(19, NOTES))
            .when(enterprise & (draw(18, 10) == 3))
            .then(pl.format("Migrated from the old billing system, account {}", pl.col(ROW))),
        },
    )


def _amount_given() -> pl.Expr:
    return pl.coalesce("Credit limit", "Available funds")


def _on_given_amount(value: pl.Expr) -> dict[str, pl.Expr]:
    """`value` in whichever amount column the row fills in."""
    return {
        column: pl.when(pl.col(column).is_not_null()).then(value).otherwise(pl.col(column))
        for column in ("Credit limit", "Available funds")
    }


def _common() -> dict[int, dict[str, pl.Expr]]:
    """The plain shape's defects: the ones a clerk fixes every week."""
    return {
        1: {"Currency": pl.lit("GBP")},
        2: {"Billing period timezone": pl.lit("Europe/Praha")},
        3: {"Created on": pl.lit("31/02/2026")},
        4: {"Billing period": pl.lit("Fortnightly")},
        5: {"Name": pl.lit("")},
        6: {"Business model": pl.lit("Cable TV")},
    }


def _custom() -> dict[int, dict[str, pl.Expr]]:
    """The common defects, and custom fields left empty or not matching their pattern. A Retail
    row (no custom fields) given one of those becomes a Business row without a good tax_id."""
    klass = pl.col("Customer class")
    business = klass.is_in(["Retail", "Business"])
    enterprise = klass == "Enterprise"
    as_business = {
        "Customer class": pl.when(klass == "Retail").then(pl.lit("Business")).otherwise(klass)
    }
    return {
        **_common(),
        7: {  # a mandatory value missing
            **as_business,
            "tax_id": pl.when(business).then(pl.lit(None, pl.String)).otherwise(pl.col("tax_id")),
            "Contract ID": pl.when(enterprise)
            .then(pl.lit(None, pl.String))
            .otherwise(pl.col("Contract ID")),
        },
        8: {  # a value not matching its pattern
            **as_business,
            "tax_id": pl.when(business)
            .then(pl.format("cz {}", pl.col(ROW)))
            .otherwise(pl.col("tax_id")),
            "Contract ID": pl.when(enterprise)
            .then(pl.col("Contract ID").str.replace("-", "", literal=True))
            .otherwise(pl.col("Contract ID")),
        },
    }


def _defective() -> dict[int, dict[str, pl.Expr]]:
    """Defects over many rules, as in a batch nobody checked before sending."""
    cents = pl.col(ROW) % 100_000
    return {
        **_common(),  # currency_not_enabled, timezone, created_on_invalid, period, name, model
        7: {"Currency": pl.lit("EURO")},  # currency_not_iso4217
        8: {"Currency": pl.lit("")},  # currency_required
        9: {"Created on": pl.lit("2027-01-15")},  # created_on_after_as_of
        10: {"Customer class": pl.lit("VIP")},  # customer_class_unknown
        11: {"Balance control": pl.lit("Credit")},  # balance_control_unknown
        12: _on_given_amount(pl.lit("1.500,00")),  # *_not_a_number
        13: _on_given_amount(pl.format("-{}", _amount_given())),  # *_negative
        14: _on_given_amount(pl.format("{}.0125", cents)),  # *_too_many_decimals
        15: {  # credit_limit_prepaid / available_funds_postpaid: both amounts filled in
            "Credit limit": _amount_given(),
            "Available funds": _amount_given(),
        },
        16: {"Name": pl.col("Name").shift(1).str.to_uppercase()},  # name_duplicate_in_batch
        17: {"Billing period timezone": pl.lit("#N/A")},  # cell_error
        18: {"Name": pl.format("{} {}", "Name", pl.lit(LONG_NAME))},  # name_too_long
        19: {"Customer class": pl.lit("Business"), "tax_id": pl.lit(None, pl.String)},
        20: {"Customer class": pl.lit("Business"), "tax_id": pl.lit("CZ-1234")},
    }


DEFECTS = {"plain": _common, "custom": _custom, "defective": _defective}


def _spoil(frame: pl.DataFrame, spoils: dict[int, dict[str, pl.Expr]]) -> pl.DataFrame:
    """Spoil the rows marked in `kind` with that kind's values (worked out from the row as it
    was, every column at once)."""
    kind = pl.col("kind")
    columns = dict.fromkeys(c for values in spoils.values() for c in values)
    changed = []
    for column in columns:
        chain = None
        for k, values in spoils.items():
            if column in values:
                start = pl.when(kind == k) if chain is None else chain.when(kind == k)
                chain = start.then(values[column])
        changed.append(chain.otherwise(pl.col(column)).alias(column))
    return frame.with_columns(changed)


def write_batch(out: Path, shape: str = "plain", rows: int = 1_000_000, seed: int = 7) -> Path:
    """Write the batch as CSV to `out` and its reference beside it; returns the reference's
    path. The CSV is written under another name first, so a file at `out` is always whole."""
    reference = reference_path(out)
    reference.write_text(reference_text(shape))
    partial = out.with_name(f".{out.name}.partial")
    generate(rows, seed, shape).write_csv(partial)
    os.replace(partial, out)
    return reference


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--shape", choices=SHAPES, default="plain")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    write_batch(args.out, args.shape, args.rows, args.seed)


if __name__ == "__main__":
    main()
