"""`onboard` with its checks taken out, for bench/floor.py only: what an import costs without them.

    UNCHECKED=checks python bench/unchecked.py import FILE ...
    UNCHECKED=checks,names python bench/unchecked.py import FILE ...

`checks` replaces validation (pandera and every rule) by a filter that keeps only the rows the
billing periods and the table's NOT NULL columns need; `names` also skips the batch-wide name
stage (repeated, stored and look-alike names), so each chunk works out its own name keys. What
it stores is not checked: a measuring tool, never for real data.
"""

import os
import sys

import polars as pl

from pipeline import cli, run
from pipeline.periods import PERIOD_KINDS
from pipeline.validate import REJECTION_SCHEMA, Validation
from schemas.vocabulary import REQUIRED, time_zones

# the customers table's NOT NULL columns that come from the file (created_on defaults)
STORED_NOT_NULL = (*REQUIRED, "name_key", "created_on")


def unchecked(typed: pl.DataFrame, ctx, warnings_as_errors: bool = False) -> Validation:
    """Every row the periods can be worked out for, accepted; no rejection, no warning."""
    periods_known = (
        pl.col("billing_period").is_in(PERIOD_KINDS)
        & pl.col("billing_period_timezone").is_in(list(time_zones().values()))
        & (pl.col("created_on") <= ctx.as_of)
    )
    accepted = typed.filter(periods_known.fill_null(False)).drop_nulls(STORED_NOT_NULL)
    none = pl.DataFrame(schema=REJECTION_SCHEMA)
    return Validation(accepted.drop("name_repeated", "name_similar", strict=False), none, none)


def no_batch_names(read, columns, con) -> tuple[run._Names, None]:
    """No name is repeated, stored or alike; the chunks work out their own keys."""
    keys = pl.Series("name_key", [], pl.String)
    rows = pl.List(pl.Int64)
    return run._Names(
        repeated=pl.DataFrame(schema={"name_key": pl.String, "all_rows": rows}),
        stored=run.store.existing_customers(con, keys),
        similar=pl.DataFrame(
            schema={"name_key": pl.String, "similar_rows": rows, "similar_stored": pl.Boolean}
        ),
    ), None


if __name__ == "__main__":
    left_out = set(os.environ.get("UNCHECKED", "checks").split(","))
    if left_out - {"checks", "names"}:
        sys.exit(f"UNCHECKED={os.environ['UNCHECKED']}: say checks, or checks,names")
    if "checks" in left_out:
        run.validate = unchecked
    if "names" in left_out:
        run._batch_names = no_batch_names
    sys.argv[0] = "onboard"
    cli.main()
