"""Files to text columns: every cell is read as text, nothing is inferred.

`read_batch` returns the file's records as a frame of String columns (one per header, in file
order) followed by `source_row`, the row number a person sees in a spreadsheet (the header is
row 1). Rows that are entirely blank are not records: they are dropped and counted.
"""

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pipeline.errors import FileRefused

SOURCE_ROW = "source_row"


@dataclass(frozen=True)
class ReadResult:
    frame: pl.DataFrame  # data columns (unique names), then source_row
    headers: list[str]  # the header cells as written, one per data column
    blank_rows: int  # blank records dropped
    notes: tuple[str, ...] = ()  # how the file was read (sheet, encoding, delimiter...)


def read_batch(path: str | Path) -> ReadResult:
    """Read a batch file; refuse (FileRefused) what cannot be read."""
    path = Path(path)
    source = str(path)
    if not path.is_file():
        raise FileRefused(source, "no such file")
    try:
        grid = pl.read_csv(path, has_header=False, infer_schema=False, raise_if_empty=True)
    except pl.exceptions.NoDataError:
        raise FileRefused(source, "the file is empty; nothing to import") from None
    except pl.exceptions.ComputeError as e:
        raise FileRefused(source, _csv_problem(e)) from None
    return _from_grid(grid, source)


def _from_grid(grid: pl.DataFrame, source: str, header_row: int = 1) -> ReadResult:
    """Split a grid of text cells into headers and records numbered from `header_row` + 1."""
    if grid.height == 0:
        raise FileRefused(source, "the file is empty; nothing to import")
    headers = [("" if h is None else str(h)).strip() for h in grid.row(0)]
    if not any(headers):
        raise FileRefused(source, "the first row is blank: it must hold the column headers")
    names = _unique_names(headers)
    records = grid.slice(1).rename(dict(zip(grid.columns, names, strict=True)))
    records = records.with_columns(
        pl.int_range(header_row + 1, header_row + 1 + records.height, dtype=pl.Int64).alias(
            SOURCE_ROW
        )
    )
    blank = pl.all_horizontal(blank_cell(pl.col(n)) for n in names)
    kept = records.filter(~blank)
    return ReadResult(kept, headers, records.height - kept.height)


def blank_cell(cell: pl.Expr) -> pl.Expr:
    return cell.is_null() | (cell.str.strip_chars() == "")


def _unique_names(headers: list[str]) -> list[str]:
    """Column names for the frame: the header, `column N` when empty, `header (2)` if repeated."""
    names: list[str] = []
    for n, header in enumerate(headers, 1):
        name = header or f"column {n}"
        candidate, k = name, 2
        while candidate in names:
            candidate, k = f"{name} ({k})", k + 1
        names.append(candidate)
    return names


def _csv_problem(error: Exception) -> str:
    text = str(error)
    if "utf-8" in text.lower():
        return "the file is not UTF-8 text; save it as UTF-8 (CSV UTF-8 in Excel)"
    if "more fields" in text:
        return "a row has more fields than the header; check the delimiters and quotes"
    return "cannot read the file as CSV: " + text.strip().splitlines()[0]
