"""Typed rows to accepted customers and rejections, by the rules of `schemas/`."""

from dataclasses import dataclass, replace
from typing import Any

import pandera.polars as pa
import polars as pl

from pipeline.errors import OnboardError
from pipeline.parse import custom_fields
from schemas.customer import customer_schema
from schemas.rules import RULES, WARNINGS, Cells, Context
from schemas.vocabulary import MAX_CELL, SOURCE_ROW, TEXT, text_column

ROW = "_row"  # position of a row in the typed frame, as pandera reports it
REJECTION_SCHEMA = {  # one row per failed rule
    "source_row": pl.Int64,
    "name": pl.String,
    "column": pl.String,
    "rule": pl.String,
    "message": pl.String,
    "value": pl.String,
}
CELL_TESTS = {code: r.check.breaks for code, r in RULES.items() if isinstance(r.check, Cells)}


@dataclass(frozen=True)
class Validation:
    accepted: pl.DataFrame  # typed rows that pass every rule but warnings
    rejections: pl.DataFrame  # one row per failed rule: REJECTION_SCHEMA
    warnings: pl.DataFrame  # one per warning of an accepted row, as rejections are


def validate(typed: pl.DataFrame, ctx: Context, warnings_as_errors: bool = False) -> Validation:
    """Check every rule on every row (pandera, lazily, on the collected frame).

    Warnings are checks of the same schema: their failures are split from the others by the
    rule's severity. A row with an error is rejected (its warnings are not kept: it is not
    stored); one with warnings only is accepted, its warnings kept beside it. With
    `warnings_as_errors`, a warning rejects the row as an error does.

    `ctx.repeated` (name_key, all_rows), the names that stand on more than one row of the
    batch, and `ctx.similar`, the names like another of it (without stored ones), are worked out
    from `typed` when not given (a batch read in chunks gives them for the whole file).
    """
    if ctx.repeated is None:
        ctx = replace(ctx, repeated=repeated_names(typed))
    if ctx.similar is None:
        ctx = replace(ctx, similar=similar_names(typed))
    assert ctx.repeated is not None and ctx.similar is not None
    typed = typed.with_columns(
        name_repeated=pl.col("name_key").is_in(ctx.repeated["name_key"].implode()),
        name_similar=pl.col("name_key").is_in(ctx.similar["name_key"].implode()),
    )
    fields = [c.removesuffix(TEXT) for c in typed.columns if c.endswith(TEXT)]
    schema = customer_schema(ctx, custom_fields(typed))
    try:
        # pandera runs a few small queries per check: polars' in-memory engine starts them
        # sooner than its streaming one (pandera's CPU -15% on 1M rows, bench/)
        with pl.Config(engine_affinity="in-memory"):
            schema.validate(typed, lazy=True)
    except pa.errors.SchemaErrors as e:
        failures = _rule_failures(e.failure_cases, fields)
    else:
        failures = pl.DataFrame(schema={ROW: pl.UInt32, "rule": pl.String, "column": pl.String})
    warned = pl.lit(False) if warnings_as_errors else pl.col("rule").is_in(list(WARNINGS))
    errors, warnings = failures.filter(~warned), failures.filter(warned)
    rejected = errors[ROW].implode()
    warnings = warnings.filter(~pl.col(ROW).is_in(rejected))
    rows = typed.with_row_index(ROW)
    accepted = typed.filter(~pl.int_range(typed.height).is_in(rejected))
    return Validation(
        accepted.drop("name_repeated", "name_similar"),
        _reported(errors, rows, fields, ctx),
        _reported(warnings, rows, fields, ctx),
    )


def _rule_failures(cases: pl.DataFrame, fields: list[str]) -> pl.DataFrame:
    """pandera's failure cases as (row, rule code, column); `fields`: the batch's columns, the
    only ones a rejection names (a rule checked on extra_fields or source_row names none)."""
    broken = cases.filter(pl.col("index").is_null() | ~pl.col("check").is_in(list(RULES)))
    if broken.height:
        first = broken.row(0, named=True)
        raise OnboardError(f"internal schema error: {first['check']} on {first['column']}")
    return cases.select(
        pl.col("index").cast(pl.UInt32).alias(ROW),
        rule="check",
        column=pl.when(pl.col("column").is_in(fields)).then("column"),
    )


def _reported(
    failures: pl.DataFrame, rows: pl.DataFrame, fields: list[str], ctx: Context
) -> pl.DataFrame:
    """One row per failure with the value the sender wrote and the rule's message, worked out
    per (rule, column): each group's value is its column's text, its message its rule's."""
    failing = rows.join(failures.select(ROW).unique(), on=ROW, how="semi")
    found = _cells_in_error(failures, failing, fields).join(failing, on=ROW, how="left")
    groups = found.partition_by("rule", "column", as_dict=True, maintain_order=True)
    rejected = [_messages(group, code, column, ctx) for (code, column), group in groups.items()]
    if not rejected:
        return pl.DataFrame(schema=REJECTION_SCHEMA)
    return pl.concat(rejected).sort("source_row", "column", "rule")


def _messages(group: pl.DataFrame, code: str, column: str | None, ctx: Context) -> pl.DataFrame:
    """A group of failures of one rule in one column, with their values and messages."""
    rule = RULES[code]
    if rule.extra:
        group = rule.extra(group, ctx)
    value = pl.col(text_column(column)) if column else pl.lit(None, pl.String)
    return (
        group.with_columns(value=value)
        .with_columns(message=rule.message(ctx))
        .with_columns(value=bounded_cell(pl.col("value")), name=bounded_cell(pl.col("name")))
        .select(*(pl.col(c).cast(t) for c, t in REJECTION_SCHEMA.items()))
    )


def bounded_cell(cell: pl.Expr) -> pl.Expr:
    """A cell as kept with a rejection: one longer than MAX_CELL characters is cut there and
    says so. Still over the limit, it fails `cell_too_long` again if a retry reads it back."""
    cut = pl.format("{}… [{} characters, cut]", cell.str.slice(0, MAX_CELL), cell.str.len_chars())
    return (
        pl.when(cell.str.len_bytes() > MAX_CELL)
        .then(pl.when(cell.str.len_chars() > MAX_CELL).then(cut).otherwise(cell))
        .otherwise(cell)
    )


def _cells_in_error(
    failures: pl.DataFrame, failing: pl.DataFrame, columns: list[str]
) -> pl.DataFrame:
    """A rule of every cell is checked once over all of a row's cells: one failure per cell
    that breaks it, named by its column."""
    cells = (
        failures.filter(pl.col("rule").is_in(list(CELL_TESTS)))
        .join(failing.select(ROW, *(text_column(c) for c in columns)), on=ROW)
        .unpivot(index=[ROW, "rule"], on=[text_column(c) for c in columns], variable_name="at")
        .filter(_breaks(pl.col("rule"), pl.col("value")))
        .select(ROW, "rule", column=pl.col("at").str.strip_suffix(TEXT))
    )
    return pl.concat([failures.filter(~pl.col("rule").is_in(list(CELL_TESTS))), cells])


def _breaks(rule: pl.Expr, cell: pl.Expr) -> pl.Expr:
    """Per row, does `cell` break that row's rule (one of CELL_TESTS)?"""
    (first, test), *rest = CELL_TESTS.items()
    chain: Any = pl.when(rule == first).then(test(cell))  # a Then, then a ChainedThen
    for code, test in rest:
        chain = chain.when(rule == code).then(test(cell))
    return chain.otherwise(False)


def similar_names(keys: pl.DataFrame, stored: pl.DataFrame | None = None) -> pl.DataFrame:
    """For each name (of `keys`: name_key, source_row, similar_to) like another of the batch
    or a stored one (`stored`: similar_to, name_key) without being the same name: the rows of
    the batch it is like (similar_rows, null if none) and whether a stored name is
    (similar_stored)."""
    keyed = keys.filter(pl.col("name_key").is_not_null())
    keyed = keyed.select("name_key", SOURCE_ROW, "similar_to")
    # Hashes find the candidates fast; the keys themselves decide among those few.
    candidates = keyed.filter(pl.col("similar_to").hash().is_duplicated())
    alike = candidates.filter(pl.col("name_key").n_unique().over("similar_to") > 1)
    per_name = alike.group_by("similar_to", "name_key").agg(rows=pl.col(SOURCE_ROW))
    in_batch = (
        per_name.join(per_name, on="similar_to", suffix="_other")
        .filter(pl.col("name_key") != pl.col("name_key_other"))
        .group_by("name_key")
        .agg(similar_rows=pl.col("rows_other").list.explode().sort())
    )
    found = in_batch.with_columns(similar_stored=pl.lit(False))
    if stored is not None and stored.height:
        like_stored = (
            keyed.select("name_key", "similar_to")
            .unique()
            .join(stored, on="similar_to", suffix="_stored")
            .filter(pl.col("name_key") != pl.col("name_key_stored"))
            .select("name_key", similar_stored=pl.lit(True))
            .unique()
        )
        found = found.join(like_stored, on="name_key", how="full", coalesce=True).select(
            "name_key",
            "similar_rows",
            similar_stored=pl.col("similar_stored_right").fill_null(False),
        )
    return found.select("name_key", "similar_rows", "similar_stored")


def repeated_names(keys: pl.DataFrame) -> pl.DataFrame:
    """For each name that stands on several rows (of `keys`: name_key, source_row), the rows."""
    keys = keys.select("name_key", SOURCE_ROW).filter(pl.col("name_key").is_not_null())
    # Hashes find the candidates fast; the names themselves decide among those few.
    candidates = keys.filter(pl.col("name_key").hash().is_duplicated())
    repeated = candidates.filter(pl.col("name_key").is_duplicated())
    return repeated.group_by("name_key").agg(all_rows=pl.col(SOURCE_ROW))
