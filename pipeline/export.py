"""Fix files: a batch's rejected rows as the sender wrote them, with every reason.

A clerk fixes the cells and sends the file back: it imports directly (its `errors` column is
ignored). Values a spreadsheet would run as formulas are neutralized: prefixed with `'` in CSV
(the import takes the prefix off again), written as text cells in .xlsx.
"""

from pathlib import Path

import duckdb
import polars as pl

from pipeline import store
from pipeline.columns import SILENTLY_IGNORED as ERRORS  # the column of reasons
from pipeline.columns import header_key
from pipeline.errors import UsageError
from pipeline.read import FORMULA_START, SOURCE_ROW, stored_cells, unique_names


def export_rejections(con: duckdb.DuckDBPyConnection, batch_id: int, path: Path) -> int:
    """Write the batch's rows with open rejections to `path` (.csv or .xlsx); returns rows."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise UsageError(f"{path}: export to a .csv or .xlsx file")
    batch = store.batch(con, batch_id)
    found = store.rejections(con, batch_id, open_only=True)
    headers = batch["headers"] or []
    rows = _rows(found, headers)
    options = batch["options"] or {}
    if suffix == ".csv":
        # `;` where amounts had decimal commas, so the file imports back the same way
        _write_csv(rows, headers, path, ";" if options.get("decimal_comma") else ",")
    else:
        _write_xlsx(rows, found, headers, path, options.get("renames") or {})
    return rows.height


def _rows(found: pl.DataFrame, headers: list[str]) -> pl.DataFrame:
    """One row per rejected source row: its cells in header order, then `errors`."""
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
        *(cells.struct.field(n).alias(f"c{i}") for i, n in enumerate(unique_names(headers))),
        ERRORS,
    )


def _write_csv(rows: pl.DataFrame, headers: list[str], path: Path, separator: str) -> None:
    cells = rows.columns[1:-1]  # between source_row and errors (see _rows)
    neutral = rows.select(
        *(
            pl.when(pl.col(c).str.contains("^" + FORMULA_START))
            .then(pl.lit("'") + pl.col(c))
            .otherwise(pl.col(c))
            .alias(h)
            for c, h in zip(cells, unique_names(headers), strict=False)
        ),
        pl.col(ERRORS),
    )
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write(separator.join(_csv_cell(h, separator) for h in [*headers, ERRORS]) + "\r\n")
        f.write(
            neutral.write_csv(include_header=False, separator=separator, line_terminator="\r\n")
        )


def _write_xlsx(
    rows: pl.DataFrame,
    found: pl.DataFrame,
    headers: list[str],
    path: Path,
    renames: dict[str, str],
) -> None:
    import xlsxwriter

    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet("Rejected rows")
    bold = workbook.add_format({"bold": True})
    marked = workbook.add_format({"bg_color": "#FFC7CE"})
    for col, header in enumerate([*headers, ERRORS]):
        sheet.write_string(0, col, header, bold)
    renamed = {header_key(h): header_key(c) for h, c in renames.items()}  # --map
    keys = [renamed.get(header_key(h), header_key(h)) for h in headers]
    reasons: dict[tuple[int, str], str] = {}
    for row, column, message in found.select(SOURCE_ROW, "column", "message").iter_rows():
        if column:
            key = (row, header_key(column))
            reasons[key] = f"{reasons[key]}\n{message}" if key in reasons else message
    cells = rows.columns[1:-1]  # between source_row and errors (see _rows)
    for line, row in enumerate(rows.iter_rows(named=True), start=1):
        for col, cell in enumerate(cells):
            reason = reasons.get((row[SOURCE_ROW], keys[col]))
            value = row[cell] if row[cell] is not None else ""
            sheet.write_string(line, col, value, marked if reason else None)
            if reason:
                sheet.write_comment(line, col, reason)
        sheet.write_string(line, len(headers), row[ERRORS])
    sheet.freeze_panes(1, 0)
    workbook.close()


def _csv_cell(text: str, separator: str = ",") -> str:
    if any(c in text for c in f'{separator}"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text
