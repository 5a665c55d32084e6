"""Personal data: the values of custom fields the reference marks `personal`, shown masked.

Whoever reads onboard's output (summaries, `rejections`, `warnings`) sees `***` instead of such
a value: in a finding's `value`, where its message quotes it, and in a rejection's `original`
cells. `--show-personal` shows them; fix files, which go back to the sender, keep them. Stored
rows keep every value: masking is for showing. All of it is polars expressions over whole
columns, whatever the number of rows.
"""

from collections.abc import Collection

import duckdb
import polars as pl

from pipeline import store
from pipeline.grid import stored_cells, unique_names
from pipeline.reference import parse_reference
from schemas.rules import shown
from schemas.vocabulary import header_key

MASK = "***"


def rejections(
    con: duckdb.DuckDBPyConnection, batch_id: int, show_personal: bool = False
) -> pl.DataFrame:
    """A batch's rejections as `onboard rejections` shows them: personal values masked, in
    their values, messages and original cells, unless `show_personal`."""
    found = store.rejections(con, batch_id)
    batch = store.batch(con, batch_id)
    personal = () if show_personal else personal_fields(con, batch["reseller"])
    if not personal:
        return found
    renames = (batch["options"] or {}).get("renames")
    return masked_originals(
        masked_findings(found, personal), personal, batch["headers"] or [], renames
    )


def warnings(
    con: duckdb.DuckDBPyConnection, batch_id: int, show_personal: bool = False
) -> pl.DataFrame:
    """A batch's warnings as `onboard warnings` shows them: personal values masked, unless
    `show_personal`."""
    found = store.warnings(con, batch_id)
    if show_personal:
        return found
    return masked_findings(found, personal_fields(con, store.batch(con, batch_id)["reseller"]))


def personal_fields(con: duckdb.DuckDBPyConnection, reseller: str) -> tuple[str, ...]:
    """The personal fields of the reseller's current reference (it says who may see what now,
    also of the batches checked against an earlier one)."""
    stored = store.stored_reference(con, reseller)
    if stored is None:
        return ()
    where = f"stored reference of {reseller} (from {stored.source})"
    return parse_reference(stored.content, where).personal_fields


def masked_findings(frame: pl.DataFrame, personal: Collection[str]) -> pl.DataFrame:
    """Rejections or warnings (column, message, value) with the values of the `personal`
    fields masked, and the message's quote of such a value (`'value'`)."""
    if not personal or not frame.height:
        return frame
    value = pl.col("value")
    hidden = pl.col("column").is_in(list(personal)) & (value.str.strip_chars() != "")
    around = pl.col("message").str.splitn(pl.format("'{}'", shown("value")), 2).struct
    message = (
        pl.when(around.field("field_1").is_not_null())
        .then(pl.concat_str(around.field("field_0"), pl.lit(f"'{MASK}'"), around.field("field_1")))
        .otherwise(pl.col("message"))
    )
    return frame.with_columns(
        message=pl.when(hidden).then(message).otherwise(pl.col("message")),
        value=pl.when(hidden).then(pl.lit(MASK)).otherwise(value),
    )


def masked_originals(
    frame: pl.DataFrame,
    personal: Collection[str],
    headers: list[str],
    renames: dict[str, str] | None = None,
) -> pl.DataFrame:
    """Rejections with the `original` cells (JSON by header) that feed a `personal` field
    masked where they hold a value. `headers` and `renames` (`--map`): the batch's."""
    fields = {header_key(f) for f in personal}
    renamed = {header_key(h): header_key(c) for h, c in (renames or {}).items()}
    names = [
        name
        for name, header in zip(unique_names(headers), headers, strict=True)
        if renamed.get(header_key(header), header_key(header)) in fields
    ]
    if not names or not frame.height:
        return frame
    cells = stored_cells(pl.col("original"), headers)
    hide = [
        pl.when(pl.field(n).str.strip_chars() != "").then(pl.lit(MASK)).otherwise(pl.field(n))
        for n in names
    ]
    encoded = cells.struct.with_fields(*(h.alias(n) for h, n in zip(hide, names, strict=True)))
    return frame.with_columns(
        original=pl.when(pl.col("original").is_not_null()).then(encoded.struct.json_encode())
    )


def masked_reasons(reasons: pl.DataFrame, personal: Collection[str]) -> pl.DataFrame:
    """The summary's reasons (rule, example, example's column and value) with their examples
    masked as `masked_findings` masks messages; the column and value are then dropped."""
    found = reasons.rename({"example": "message", "example_column": "column"})
    found = masked_findings(found.rename({"example_value": "value"}), personal)
    return found.rename({"message": "example"}).drop("column", "value")
