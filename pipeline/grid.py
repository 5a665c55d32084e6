"""The grid of text cells both readers produce (`read.py` for text files, `excel.py` for
workbooks), and what a batch's records are made of: a `ReadResult`.

A grid is a frame of String cells, one column per column of the file (c0, c1, ... or A, B, ...)
and POSITION, each row's 0-based line in the file. `from_grid` splits it into the header row
and the records: one column per header (named by `unique_names`), then EXTRA, the text of the
cells beyond the header's last column, then `source_row`, the row a person sees.
"""

import contextlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import polars as pl

from pipeline.errors import FileRefused
from pipeline.fixfile import is_reasons, unguarded
from schemas.vocabulary import SOURCE_ROW

EXTRA = "__extra__"  # text of the cells beyond the header's last column
POSITION = "__position__"  # a record's 0-based line in the grid
MORE = "__more__"  # the row had text beyond the cells read (a text file's EXTRA_FIELDS)
CHUNK_ROWS = 250_000  # rows checked and written at a time

Prepare = Callable[[pl.LazyFrame], pl.LazyFrame]


@dataclass(frozen=True)
class ReadResult:
    """A file's records: all in `frame`, or (large text files) streamed by `chunks()`."""

    frame: pl.DataFrame | None  # data columns (unique names), EXTRA, source_row; None: streamed
    headers: list[str]  # the header cells as written, one per data column
    blank_rows: int  # blank records dropped (streamed files: counted by `chunks()`)
    notes: tuple[str, ...] = ()  # how the file was read (sheet, encoding, delimiter...)
    delimiter: str | None = None  # text files only
    # streamed files: the records piece by piece, blank ones too, each with the number of blank
    # lines left out before it (a piece may then be None: only blank lines were left)
    pieces: Callable[[], Iterator[tuple[pl.DataFrame | None, int]]] | None = None
    # streamed files: `prepare(records)` collected for each piece, its records lazy (polars
    # parses only the columns used; longer rows not marked)
    selected: Callable[[Prepare], Iterator[pl.DataFrame]] | None = None
    source: str = ""
    fix_file: bool = False  # a CSV fix file: its formula-like cells carry a `'` to take off
    # the temporary files `scan` reads (a decompressed or transcoded file): deleted with the
    # result, or at once by `temporary.close()`
    temporary: contextlib.ExitStack | None = field(default=None, repr=False, compare=False)

    def chunks(self) -> Iterator[tuple[pl.DataFrame, int]]:
        """The records in order, in chunks of at most CHUNK_ROWS: (records, blank rows dropped)."""
        if self.pieces is None:
            assert self.frame is not None
            for offset in range(0, max(self.frame.height, 1), CHUNK_ROWS):
                yield self.frame.slice(offset, CHUNK_ROWS), self.blank_rows if not offset else 0
            return
        names = unique_names(self.headers)
        rows = pl.DataFrame(
            schema={**dict.fromkeys([*names, EXTRA], pl.String), SOURCE_ROW: pl.Int64}
        )
        blank = 0
        for records, skipped in self.pieces():
            blank += skipped
            if records is not None:
                kept, dropped = drop_blank(records, names)
                rows, blank = pl.concat([rows, kept]), blank + dropped
            while rows.height >= CHUNK_ROWS:
                yield self._unguarded(rows.head(CHUNK_ROWS), names), blank
                rows, blank = rows.slice(CHUNK_ROWS), 0
        if rows.height or blank:
            yield self._unguarded(rows, names), blank

    def _unguarded(self, rows: pl.DataFrame, names: list[str]) -> pl.DataFrame:
        return unguard_formulas(rows, names) if self.fix_file else rows

    def collect(self, *exprs: pl.Expr) -> pl.DataFrame:
        """Row by row `exprs` over every record, in one pass: over `frame` (blank records
        dropped), or over a streamed file (blank ones too, but for the runs of blank lines it
        leaves unparsed) with a fix file's formula guard taken off, as `chunks()` does."""
        if self.selected is None:
            assert self.frame is not None
            return self.frame.select(*exprs)
        cells = [unguarded(pl.col(n)) for n in unique_names(self.headers) if self.fix_file]
        return pl.concat(self.selected(lambda records: records.with_columns(cells).select(*exprs)))


def from_grid(
    grid: pl.DataFrame, source: str, header_row: int = 1, header_fields: int | None = None
) -> ReadResult:
    """Split a grid of text cells into headers and records numbered from `header_row` + 1.

    Cells beyond the first `header_fields` columns are joined into EXTRA, as are those right
    of a fix file's reasons column (where its export puts a malformed row's extra cells).
    """
    if grid.height == 0:
        raise FileRefused(source, "the file is empty; nothing to import")
    if POSITION not in grid.columns:
        grid = grid.with_row_index(POSITION, offset=header_row - 1)
    header_fields = header_fields or grid.width - 1
    cells = [c for c in grid.columns if c != POSITION][:header_fields]
    headers = [("" if h is None else str(h)).strip() for h in grid.select(cells).row(0)]
    header_fields = through_reasons(headers)
    cells, headers = cells[:header_fields], headers[:header_fields]
    if not any(headers):
        raise FileRefused(source, "the first row is blank: it must hold the column headers")
    empty = valueless([grid.slice(1)], cells, headers)
    if empty:
        headers = [h for c, h in zip(cells, headers, strict=True) if c not in empty]
        grid, header_fields = grid.drop(empty), header_fields - len(empty)
    names = unique_names(headers)
    kept, blank = drop_blank(records(grid.slice(1), names, header_fields), names)
    return ReadResult(kept, headers, blank, source=source)


def through_reasons(headers: list[str]) -> int:
    """How many of `headers` are the file's columns: up to a fix file's reasons column, as the
    cells right of it are a malformed row's extra text (where the export puts them)."""
    reasons = (n for n, h in enumerate(headers, 1) if is_reasons(h))
    return next(reasons, len(headers))


def valueless(
    grids: Iterable[pl.DataFrame | pl.LazyFrame], cells: list[str], headers: list[str]
) -> set[str]:
    """The cells with no header and no value in any of the `grids` (read only when some header
    cell is empty): trailing delimiters, not data."""
    unnamed = [c for c, h in zip(cells, headers, strict=True) if not h]
    if not unnamed:
        return set()
    held = pl.concat(
        grid.lazy().select(pl.col(unnamed).is_not_null().any()).collect() for grid in grids
    )
    return {c for c in unnamed if not held[c].any()}


def records(grid, names: list[str], header_fields: int):
    """Cells of a (lazy) grid with a `POSITION` column: named data columns, EXTRA, source_row."""
    names_in_grid = grid.collect_schema().names()
    columns = [c for c in names_in_grid if c not in (POSITION, MORE)]
    cells, beyond = columns[:header_fields], columns[header_fields:]
    filled = [pl.when(~blank_cell(pl.col(c))).then(pl.col(c)) for c in beyond]  # blank: none
    extra = pl.concat_str(filled, separator=" | ", ignore_nulls=True)
    extra = pl.when(extra != "").then(extra) if beyond else pl.lit(None, pl.String)
    if MORE in names_in_grid:  # the row had text beyond the cells read: said, not dropped
        more = pl.concat_str([extra, pl.lit("…")], separator=" | ", ignore_nulls=True)
        extra = pl.when(pl.col(MORE)).then(more).otherwise(extra)
    return grid.select(
        *(pl.col(c).alias(n) for c, n in zip(cells, names, strict=True)),
        extra.alias(EXTRA),
        (pl.col(POSITION).cast(pl.Int64) + 1).alias(SOURCE_ROW),
    )


def drop_blank(rows: pl.DataFrame, names: list[str]) -> tuple[pl.DataFrame, int]:
    """Records without the entirely blank ones, and how many those were.

    Only the rows whose first cell is blank (few) have their other cells looked at."""
    first, *others = [*names, EXTRA]
    maybe = rows.filter(blank_cell(pl.col(first)))
    blank = maybe.filter(pl.all_horizontal(blank_cell(pl.col(n)) for n in others))[SOURCE_ROW]
    if not blank.len():  # the usual case: no copy
        return rows, 0
    return rows.filter(~pl.col(SOURCE_ROW).is_in(blank.implode())), blank.len()


def stored_cells(original: pl.Expr, headers: list[str]) -> pl.Expr:
    """A stored row's cells (its `original` JSON) as a struct of the columns it was read as:
    one per header, then EXTRA."""
    names = [*unique_names(headers), EXTRA]
    return original.str.json_decode(pl.Struct({n: pl.String for n in names}))


def blank_cell(cell: pl.Expr) -> pl.Expr:
    return cell.is_null() | (cell.str.strip_chars() == "")


def unique_names(headers: list[str]) -> list[str]:
    """Column names for the frame: the header, `column N` when empty, `header (2)` if repeated."""
    names: list[str] = []
    for n, header in enumerate(headers, 1):
        name = header or f"column {n}"
        candidate, k = name, 2
        while candidate in names or candidate in (EXTRA, SOURCE_ROW):
            candidate, k = f"{name} ({k})", k + 1
        names.append(candidate)
    return names


def unguard_formulas(frame: pl.DataFrame, names: list[str]) -> pl.DataFrame:
    """Take off the `'` a fix file put before formula-like text (rarely present: checked first)."""
    quoted = frame.select(pl.col(n).str.starts_with("'").any() for n in names)
    if not any(quoted.row(0)):
        return frame
    return frame.with_columns(unguarded(pl.col(n)) for n in names)
