"""Fix files: a batch's rejected rows as the sender wrote them, with every reason.

A clerk fixes the cells and sends the file back: it imports directly, read as the batch was
(its reasons column, `errors (fix file of batch N)`, is the mark: see `pipeline/fixfile.py`).
Values a spreadsheet would run as formulas are neutralized: prefixed with `'` in CSV (the
import takes the prefix off again, in fix files only), written as text cells in .xlsx. A file
that was itself a fix file gets its reasons column replaced, never a second one.
"""

import re
from pathlib import Path

import duckdb
import polars as pl

from pipeline import store
from pipeline.errors import UsageError
from pipeline.fixfile import guarded, is_reasons, mark
from pipeline.grid import EXTRA, stored_cells, unique_names
from schemas.vocabulary import MAX_CELL, SOURCE_ROW, header_key

ERRORS = "errors"  # the reasons column, while the rows are put together


def export_rejections(con: duckdb.DuckDBPyConnection, batch_id: int, path: Path) -> int:
    """Write the batch's rows with open rejections to `path` (.csv or .xlsx), those a purge
    left their cells; returns rows."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise UsageError(f"{path}: export to a .csv or .xlsx file")
    batch = store.batch(con, batch_id)
    found = store.rejections(con, batch_id, open_only=True, cells=True)
    headers = batch["headers"] or []
    rows = _rows(found, headers)
    options = batch["options"] or {}
    reasons = mark(batch_id)
    if suffix == ".csv":
        # `;` where amounts had decimal commas, so the file imports back the same way
        separator = ";" if options.get("decimal_comma") else ","
        _write_csv(rows, headers, reasons, path, separator)
    else:
        _refuse_long_cells(rows, path)
        _write_xlsx(rows, found, headers, reasons, path, options.get("renames") or {})
    return rows.height


def _rows(found: pl.DataFrame, headers: list[str]) -> pl.DataFrame:
    """One row per rejected source row: its cells in header order, `errors`, then EXTRA (the
    text of a malformed row's cells beyond the header, written right of the reasons, where the
    import takes it for extra cells again)."""
    reason = (
        pl.when(pl.col("column").is_not_null())
        .then(pl.format("{}: {}", "column", "message"))
        .otherwise(pl.col("message"))
    )
    grouped = (
        found.group_by(SOURCE_ROW, maintain_order=True)
        .agg(pl.col("original").first(), reason.str.join("; ").alias(ERRORS))
        .sort(SOURCE_ROW)
    )
    cells = stored_cells(pl.col("original"), headers)
    return grouped.select(
        SOURCE_ROW,
        *(
            cells.struct.field(n).alias(f"c{i}")
            for i, (n, h) in enumerate(zip(unique_names(headers), headers, strict=True))
            if not is_reasons(h)  # an earlier fix file's reasons: replaced
        ),
        ERRORS,
        cells.struct.field(EXTRA),
    )


def _data_headers(headers: list[str]) -> list[str]:
    """The headers of the data columns of `_rows`, in order."""
    return [h for h in headers if not is_reasons(h)]


def _refuse_long_cells(rows: pl.DataFrame, path: Path) -> None:
    """A workbook cell holds MAX_CELL characters: a longer one would be cut silently."""
    cells = rows.columns[1:]
    longest = rows.select(pl.max_horizontal(pl.col(cells).str.len_chars()).max()).item()
    if longest and longest > MAX_CELL:
        raise UsageError(
            f"{path}: a cell holds {longest:,} characters, more than a workbook cell holds "
            f"({MAX_CELL:,}); export to a .csv file instead"
        )


def _write_csv(
    rows: pl.DataFrame, headers: list[str], reasons: str, path: Path, separator: str
) -> None:
    """The header row and the rows, every cell (headers too) guarded against formulas; a
    malformed row's extra text one field more, beyond the header's, as the sender's was."""
    cells = rows.drop(SOURCE_ROW, EXTRA)
    header = pl.DataFrame(
        [
            pl.Series(c, [h])
            for c, h in zip(cells.columns, [*_data_headers(headers), reasons], strict=True)
        ]
    )
    fields = [_csv_field(guarded(pl.col(c)), separator) for c in cells.columns]
    extra = _csv_field(guarded(pl.col(EXTRA)), separator)
    lines = pl.concat(
        [header.with_columns(pl.lit(None, pl.String).alias(EXTRA)), rows.drop(SOURCE_ROW)]
    )
    text = lines.select(
        pl.concat_str(
            pl.concat_str(fields, separator=separator),
            pl.when(pl.col(EXTRA).is_not_null()).then(separator + extra).otherwise(pl.lit("")),
        ).str.join("\r\n")
    ).item()
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write(text + "\r\n")


def _csv_field(cell: pl.Expr, separator: str) -> pl.Expr:
    """A cell as a CSV field: quoted (its quotes doubled) when it holds the separator, a quote
    or a line break; a null as an empty field."""
    quoted = pl.format('"{}"', cell.str.replace_all('"', '""', literal=True))
    special = f'[{re.escape(separator)}"\r\n]'
    return pl.when(cell.str.contains(special)).then(quoted).otherwise(cell).fill_null("")


def _write_xlsx(
    rows: pl.DataFrame,
    found: pl.DataFrame,
    headers: list[str],
    reasons_header: str,
    path: Path,
    renames: dict[str, str],
) -> None:
    import xlsxwriter

    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet("Rejected rows")
    bold = workbook.add_format({"bold": True})
    marked = workbook.add_format({"bg_color": "#FFC7CE"})
    headers = _data_headers(headers)
    for col, header in enumerate([*headers, reasons_header]):
        sheet.write_string(0, col, header, bold)
    renamed = {header_key(h): header_key(c) for h, c in renames.items()}  # --map
    keys = [renamed.get(header_key(h), header_key(h)) for h in headers]
    reasons: dict[tuple[int, str], str] = {}
    for row, column, message in found.select(SOURCE_ROW, "column", "message").iter_rows():
        if column:
            key = (row, header_key(column))
            reasons[key] = f"{reasons[key]}\n{message}" if key in reasons else message
    cells = rows.columns[1:-2]  # between source_row and errors (see _rows)
    for line, row in enumerate(rows.iter_rows(named=True), start=1):
        for col, cell in enumerate(cells):
            reason = reasons.get((row[SOURCE_ROW], keys[col]))
            value = row[cell] if row[cell] is not None else ""
            sheet.write_string(line, col, value, marked if reason else None)
            if reason:
                sheet.write_comment(line, col, reason)
        sheet.write_string(line, len(headers), row[ERRORS])
        if row[EXTRA] is not None:  # a malformed row's extra text, right of its reasons
            sheet.write_string(line, len(headers) + 1, row[EXTRA])
    sheet.freeze_panes(1, 0)
    workbook.close()
