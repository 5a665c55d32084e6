"""Files to text columns: every cell is read as text, nothing is inferred.

`read_batch` detects the format from the content (a workbook sent with a .csv name still
reads) and returns the file's records as String columns, one per header in file order, then
`source_row`, the row number a person sees in a spreadsheet (the header is row 1 of a CSV file).
Rows that are entirely blank are not records: they are dropped and counted. A CSV row with more
fields than the header keeps its extra cells in `EXTRA` (rule `malformed_row`).
"""

import codecs
import csv
import gzip
import io
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import polars as pl

from pipeline.errors import FileRefused
from pipeline.fixfile import marked_batch, unguard_text, unguarded
from pipeline.options import DELIMITERS, RunOptions

SOURCE_ROW = "source_row"
EXTRA = "__extra__"  # text of the cells beyond the header's last column
WORKBOOK_EXTENSIONS = (".xlsx", ".xlsm", ".xlsb", ".xls", ".ods")
TEXT_EXTENSIONS = (".csv", ".txt", ".tsv", ".gz")
MAX_LINE = 1 << 20  # a first line longer than this is not a header: the file is refused
STREAM_BYTES = 256 << 20  # text files larger than this are imported in chunks
CHUNK_ROWS = 250_000  # rows checked and written at a time
STREAM_EXTRA_FIELDS = 8  # room for rows longer than the header in a streamed file
_POSITION = "__position__"  # a record's 0-based line in the grid
_SNIFF = 64 * 1024
_ZIP, _OLE2, _GZIP = b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", b"\x1f\x8b"


@dataclass(frozen=True)
class ReadResult:
    """A file's records: all in `frame`, or (large text files) streamed by `chunks()`."""

    frame: pl.DataFrame | None  # data columns (unique names), EXTRA, source_row; None: streamed
    headers: list[str]  # the header cells as written, one per data column
    blank_rows: int  # blank records dropped (streamed files: counted by `chunks()`)
    notes: tuple[str, ...] = ()  # how the file was read (sheet, encoding, delimiter...)
    delimiter: str | None = None  # text files only
    scan: Callable[[], pl.LazyFrame] | None = None  # streamed files: all records, blanks too
    source: str = ""
    fix_file: bool = False  # a CSV fix file: its formula-like cells carry a `'` to take off

    def chunks(self) -> Iterator[tuple[pl.DataFrame, int]]:
        """The records in order, in chunks of at most CHUNK_ROWS: (records, blank rows dropped)."""
        if self.scan is None:
            for offset in range(0, max(self.frame.height, 1), CHUNK_ROWS):
                yield self.frame.slice(offset, CHUNK_ROWS), self.blank_rows if not offset else 0
            return
        names = unique_names(self.headers)
        try:
            for batch in self.scan().collect_batches(chunk_size=CHUNK_ROWS):
                kept, blank = _drop_blank(batch, names)
                yield _unguard_formulas(kept, names) if self.fix_file else kept, blank
        except pl.exceptions.ComputeError as e:
            raise _stream_refusal(self.source, e) from None

    def collect(self, *exprs: pl.Expr) -> pl.DataFrame:
        """`exprs` over every record, blank ones too, in one pass: over `frame`, or over a
        streamed file with a fix file's formula guard taken off, as `chunks()` does."""
        if self.scan is None:
            return self.frame.select(*exprs)
        names = unique_names(self.headers) if self.fix_file else []
        try:
            cells = self.scan().with_columns(unguarded(pl.col(n)) for n in names)
            return cells.select(*exprs).collect(engine="streaming")
        except pl.exceptions.ComputeError as e:
            raise _stream_refusal(self.source, e) from None


def expand_paths(paths) -> list[Path]:
    """The files to import: files as given; a folder's supported files, sorted by name."""
    files = []
    for path in map(Path, paths):
        if path.is_dir():
            found = sorted(
                p
                for p in path.iterdir()
                if p.is_file()
                and not p.name.startswith(".")
                and p.suffix.lower() in (*TEXT_EXTENSIONS, *WORKBOOK_EXTENSIONS)
            )
            files.extend(found or [path])  # an empty folder is refused like a missing file
        else:
            files.append(path)
    return files


def read_batch(path: str | Path, options: RunOptions, is_header=None) -> ReadResult:
    """Read a batch file; refuse (FileRefused) what cannot be read.

    `is_header(cells)` tells a workbook's header row (searched in its first rows).
    """
    path = Path(path)
    source = str(path)
    if path.is_dir():
        raise FileRefused(source, "a folder with no files to import (.csv, .xlsx, .ods, ...)")
    if not path.is_file():
        raise FileRefused(source, "no such file")
    with path.open("rb") as f:
        head = f.read(_SNIFF)
    if not head.strip():
        raise FileRefused(source, "the file is empty; nothing to import")
    if head.startswith((_ZIP, _OLE2)):
        from pipeline.excel import read_workbook

        return read_workbook(path, options.sheet, is_header or (lambda cells: any(cells)))
    if head.startswith(_GZIP):
        data = _gunzip(path)
        if data.startswith((_ZIP, _OLE2)):
            raise FileRefused(source, "a compressed workbook; send the workbook itself")
        return _read_text(data, data[:_SNIFF], source, options, compressed=True)
    return _read_text(path, head, source, options)


def _gunzip(path: Path) -> bytes:
    try:
        with gzip.open(path, "rb") as f:
            return f.read()
    except (OSError, EOFError, zlib.error) as e:
        raise FileRefused(str(path), f"not a readable gzip file ({e})") from None


def _read_text(
    data: Path | bytes, head: bytes, source: str, options: RunOptions, compressed=False
) -> ReadResult:
    """A text file (`data`, whose first bytes are `head`) as records."""
    utf16 = head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    encoding = options.encoding or ("utf-16" if utf16 else "utf-8")
    if codecs.lookup(encoding).name != "utf-8":
        data = _transcode(data, encoding, source)
        head = data[:_SNIFF]
    elif b"\x00" in head:
        raise FileRefused(source, "the file holds NUL bytes: it is binary, not a CSV file")
    text = head.decode("utf-8", errors="replace").removeprefix("\ufeff")
    if "\n" not in text and "\r" not in text and _size(data) > MAX_LINE:
        raise FileRefused(source, "no line break in the first MiB: not a CSV file")
    if "\n" not in text and "\r" in text:  # old Mac line ends (CR alone): made LF
        data = (data if isinstance(data, bytes) else data.read_bytes()).replace(b"\r", b"\n")
        text = text.replace("\r", "\n")
    delimiter = options.delimiter or _detect_delimiter(text)
    header_fields = len(next(csv.reader(io.StringIO(text), delimiter=delimiter), []))

    def notes() -> tuple[str, ...]:
        return ("gzip",) * compressed + (f"encoding {encoding}", f"delimiter {_NAMES[delimiter]}")

    if isinstance(data, Path) and data.stat().st_size > STREAM_BYTES:
        return _streamed(data, source, text, delimiter, header_fields, notes())
    try:
        grid = _read_grid(data, source, delimiter, header_fields)
    except _NotUtf8:
        if options.encoding:
            raise FileRefused(source, f"the file is not {options.encoding} text") from None
        raw = data if isinstance(data, bytes) else data.read_bytes()  # read once for both
        encoding = _legacy_encoding(raw)  # not UTF-8: a legacy single-byte file
        grid = _read_grid(_transcode(raw, encoding, source), source, delimiter, header_fields)
    result = _from_grid(grid, source, header_fields=header_fields)
    if marked_batch(result.headers) is not None:
        result = _unguard_fix_file(result)
    return replace(result, notes=notes(), delimiter=delimiter)


def _streamed(
    path: Path, source: str, text: str, delimiter: str, header_fields: int, notes: tuple
) -> ReadResult:
    """A large UTF-8 file, read in chunks when imported (bounded memory)."""
    first = next(csv.reader(io.StringIO(text), delimiter=delimiter), [])
    headers = [cell.strip() for cell in first]
    fix_file = marked_batch(headers) is not None
    headers = [unguard_text(h) for h in headers] if fix_file else headers
    if not any(headers):
        raise FileRefused(source, "the first row is blank: it must hold the column headers")
    width = header_fields + STREAM_EXTRA_FIELDS

    def records() -> pl.LazyFrame:
        grid = pl.scan_csv(
            path,
            has_header=False,
            schema={f"c{i}": pl.String for i in range(width)},
            separator=delimiter,
            missing_columns="insert",
            row_index_name=_POSITION,
        )
        return grid.filter(pl.col(_POSITION) > 0)

    cells = [f"c{i}" for i in range(header_fields)]
    try:  # a pass over the file only when a header cell is empty
        empty = _valueless(records(), cells, headers)
    except pl.exceptions.ComputeError as e:
        raise _stream_refusal(source, e) from None
    headers = [h for c, h in zip(cells, headers, strict=True) if c not in empty]

    def scan() -> pl.LazyFrame:
        kept = records().drop(empty)
        return _records(kept, unique_names(headers), header_fields - len(empty))

    return ReadResult(
        None, headers, 0, notes, delimiter, scan=scan, source=source, fix_file=fix_file
    )


def _stream_refusal(source: str, error: Exception) -> FileRefused:
    """Why a streamed file cannot be read, said for the sender."""
    if "invalid utf-8" in str(error).lower():
        reason = "the file is not UTF-8 text; pass --encoding (e.g. windows-1252)"
    elif "more fields" in str(error):
        reason = (
            f"a row has more than {STREAM_EXTRA_FIELDS} fields beyond the header; "
            "check the delimiter and quotes"
        )
    else:
        reason = _csv_problem(error)
    return FileRefused(source, reason)


def _unguard_fix_file(result: ReadResult) -> ReadResult:
    """A CSV fix file's headers and cells without the `'` the export put before formula-like
    text."""
    headers = [unguard_text(h) for h in result.headers]
    renamed = dict(zip(unique_names(result.headers), unique_names(headers), strict=True))
    frame = _unguard_formulas(result.frame.rename(renamed), list(renamed.values()))
    return replace(result, frame=frame, headers=headers, fix_file=True)


def _unguard_formulas(frame: pl.DataFrame, names: list[str]) -> pl.DataFrame:
    """Take off the `'` a fix file put before formula-like text (rarely present: checked first)."""
    quoted = frame.select(pl.col(n).str.starts_with("'").any() for n in names)
    if not any(quoted.row(0)):
        return frame
    return frame.with_columns(unguarded(pl.col(n)) for n in names)


class _NotUtf8(Exception):
    pass


_NAMES = {",": "','", ";": "';'", "\t": "tab", "|": "'|'"}


def _size(data: Path | bytes) -> int:
    return len(data) if isinstance(data, bytes) else data.stat().st_size


def _legacy_encoding(raw: bytes) -> str:
    """Windows-1252 when every byte is defined there (what Windows desktops write), else Latin-1."""
    return "windows-1252" if _decodes(raw, "windows-1252") else "latin-1"


def _decodes(raw: bytes, encoding: str) -> bool:
    try:
        codecs.decode(raw, encoding)
    except UnicodeDecodeError:
        return False
    return True


def _transcode(data: Path | bytes, encoding: str, source: str) -> bytes:
    raw = data if isinstance(data, bytes) else data.read_bytes()
    try:
        text = codecs.decode(raw, encoding)
    except (UnicodeDecodeError, LookupError) as e:
        raise FileRefused(source, f"cannot decode the file as {encoding}: {e}") from None
    if "\x00" in text:
        raise FileRefused(source, "the file holds NUL characters: it is binary, not a CSV file")
    return text.removeprefix("\ufeff").encode("utf-8")


def _detect_delimiter(text: str) -> str:
    """The candidate that splits the header line into the most fields (`,` when none does)."""
    counts = {d: len(next(csv.reader(io.StringIO(text), delimiter=d), [])) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] > 1 else ","


def _read_grid(data: Path | bytes, source: str, delimiter: str, header_fields: int):
    """All cells as text; room is made for rows with more fields than the header."""
    width = header_fields
    while True:
        schema = {f"c{i}": pl.String for i in range(width)}
        try:
            return pl.read_csv(
                data,
                has_header=False,
                schema=schema,
                separator=delimiter,
                missing_columns="insert",
                raise_if_empty=True,
                row_index_name=_POSITION,  # in step with the cells' chunks, unlike with_row_index
            )
        except pl.exceptions.NoDataError:
            raise FileRefused(source, "the file is empty; nothing to import") from None
        except pl.exceptions.ComputeError as e:
            if "invalid utf-8" in str(e).lower():
                raise _NotUtf8 from None
            if "more fields" in str(e) and width < 4096:
                width = width * 8 + 8
                continue
            raise FileRefused(source, _csv_problem(e)) from None


def _from_grid(
    grid: pl.DataFrame, source: str, header_row: int = 1, header_fields: int | None = None
) -> ReadResult:
    """Split a grid of text cells into headers and records numbered from `header_row` + 1.

    Cells beyond the first `header_fields` columns are joined into EXTRA.
    """
    if grid.height == 0:
        raise FileRefused(source, "the file is empty; nothing to import")
    if _POSITION not in grid.columns:
        grid = grid.with_row_index(_POSITION, offset=header_row - 1)
    header_fields = header_fields or grid.width - 1
    cells = [c for c in grid.columns if c != _POSITION][:header_fields]
    headers = [("" if h is None else str(h)).strip() for h in grid.select(cells).row(0)]
    if not any(headers):
        raise FileRefused(source, "the first row is blank: it must hold the column headers")
    empty = _valueless(grid.slice(1), cells, headers)
    if empty:
        headers = [h for c, h in zip(cells, headers, strict=True) if c not in empty]
        grid, header_fields = grid.drop(empty), header_fields - len(empty)
    names = unique_names(headers)
    kept, blank = _drop_blank(_records(grid.slice(1), names, header_fields), names)
    return ReadResult(kept, headers, blank, source=source)


def _valueless(records, cells: list[str], headers: list[str]) -> set[str]:
    """The cells with no header and no value in any of the (lazy) `records`: trailing
    delimiters, not data."""
    unnamed = [c for c, h in zip(cells, headers, strict=True) if not h]
    if not unnamed:
        return set()
    held = records.lazy().select(pl.col(unnamed).is_not_null().any()).collect(engine="streaming")
    return {c for c in unnamed if not held[c].item()}


def _records(grid, names: list[str], header_fields: int):
    """Cells of a (lazy) grid with a `_POSITION` column: named data columns, EXTRA, source_row."""
    columns = [c for c in grid.collect_schema().names() if c != _POSITION]
    cells, beyond = columns[:header_fields], columns[header_fields:]
    extra = pl.concat_str([pl.col(c) for c in beyond], separator=" | ", ignore_nulls=True)
    return grid.select(
        *(pl.col(c).alias(n) for c, n in zip(cells, names, strict=True)),
        (pl.when(extra != "").then(extra) if beyond else pl.lit(None, pl.String)).alias(EXTRA),
        (pl.col(_POSITION).cast(pl.Int64) + 1).alias(SOURCE_ROW),
    )


def _drop_blank(records: pl.DataFrame, names: list[str]) -> tuple[pl.DataFrame, int]:
    """Records without the entirely blank ones, and how many those were.

    Only the rows whose first cell is blank (few) have their other cells looked at."""
    first, *others = [*names, EXTRA]
    maybe = records.filter(blank_cell(pl.col(first)))
    blank = maybe.filter(pl.all_horizontal(blank_cell(pl.col(n)) for n in others))[SOURCE_ROW]
    if not blank.len():  # the usual case: no copy
        return records, 0
    return records.filter(~pl.col(SOURCE_ROW).is_in(blank.implode())), blank.len()


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


def _csv_problem(error: Exception) -> str:
    text = str(error)
    if "more fields" in text:
        return "a row has thousands more fields than the header; check the delimiter and quotes"
    return "cannot read the file as CSV: " + text.strip().splitlines()[0]
