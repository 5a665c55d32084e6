"""The workbook reader's child process: `python -m pipeline.workbook PATH MEMORY_LIMIT` opens
one workbook through fastexcel (calamine) and answers requests on stdin, one a line ("head
INDEX SKIP_HIDDEN": a sheet's first rows; "take INDEX": the whole sheet), on stdout as
length-prefixed pickles of text frames. `pipeline/excel.py` runs it (see there why in a child)
and says what the text of each cell is.
"""

import os
import pickle
import re
import resource
import struct
import sys
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import polars as pl

from pipeline.errors import first_line
from pipeline.grid import blank_cell

WORKBOOK_EXTENSIONS = (".xlsx", ".xlsm", ".xlsb", ".xls", ".ods")  # opened by their name
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # an OLE file's first bytes: .xls, or an encrypted one
HEADER_ROWS = 20  # rows searched for the header, from the first non-blank one
SHEET_MEMORY = 256 << 20  # bytes of address space loading a sheet may take, at least...
SHEET_MEMORY_PER_BYTE = 64  # ...or this many per byte of the workbook's content, unpacked
ROOMY_CELLS = 1 << 20  # a sheet of up to this many cells (rows x columns) is read however empty
SPARSE = "nearly empty"  # a sheet passed over when the header row is searched for

_ERROR_TEXT = {
    "Div0": "#DIV/0!",
    "NA": "#N/A",
    "Name": "#NAME?",
    "Null": "#NULL!",
    "Num": "#NUM!",
    "Ref": "#REF!",
    "Value": "#VALUE!",
    "GettingData": "#GETTING_DATA",
}
_MIDNIGHT = r"^(\d{4}-\d{2}-\d{2})[ T]00:00:00(?:\.0+)?$"
_ISO_T = r"^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2}(?:\.\d+)?)$"
# a time or a duration shows as a timestamp near the epoch (1899-12-31 or 1904-01-01)
_NEAR_EPOCH = r"^(?:189\d|190[0-5])-\d\d-\d\d(?: \d\d:\d\d:\d\d)?"
_ISO_DURATION = (
    r"^P(?:(?<days>\d+)D)?"
    r"(?:T(?:(?<hours>\d+)H)?(?:(?<minutes>\d+)M)?(?:(?<seconds>\d+)(?:\.(?<fraction>\d+))?S)?)?$"
)
_DETAIL = r"got '(?<kind>\w+)\((?<value>.*)\)'$"  # e.g. Expected string but got 'Error(NA)'
_SERIAL = r"value: (?<serial>[-+\d.eE]+), datetime_type: (?<type>\w+),"
_DATE = r"^\d{4}-\d{2}-\d{2}(?: \d{2}:\d{2}:\d{2}(?:\.\d+)?)?$"
# a number calamine rounded to nine decimals or wrote with 16 digits or more
_ROUNDED = r"^-?(?:\d+\.\d{9}|[\d.]{16,})$"
_FLOAT_TEXT = r"^(?<sign>-?)(?<whole>\d+)(?:\.(?<fraction>\d+))?(?:e(?<exponent>[-+]?\d+))?$"


def _serve(path: Path, memory_limit: int) -> None:
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # whatever the libraries print goes to stderr, never into the replies

    def reply(*message) -> None:
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        replies.write(struct.pack("<Q", len(data)) + data)
        replies.flush()

    _limit_address_space(memory_limit)
    cached: tuple[int, pl.DataFrame] | None = None
    try:
        book = _open(path)
        reply("sheets", book.reader.sheet_names)
        for request in sys.stdin:
            verb, index, *flags = request.split()
            index = int(index)
            if verb == "take" and cached and cached[0] == index:
                reply("frame", cached[1])
                continue
            cached = None
            sheet = _load(book, index, dtypes="string")
            visible, searching = sheet.visible, flags == ["1"]
            if searching and visible != "visible":
                reply("head", visible, 0, pl.DataFrame())
                continue
            sparse = _sparse(book, sheet)
            if sparse and searching:  # passed over, as hidden sheets are
                reply("head", SPARSE, 0, pl.DataFrame())
                continue
            if sparse:
                raise _Refusal(sparse)
            frame = _text(sheet)
            del sheet  # calamine's copy of the sheet goes before the sheet is read again
            frame = _corrected(book, index, frame)
            if verb == "take":
                reply("frame", frame)
                continue
            cached = (index, frame)
            first = _first_nonblank(frame)
            reply("head", visible, first, frame.slice(first, HEADER_ROWS))
    except _Refusal as e:
        reply("refused", str(e))
    except MemoryError:
        reply("refused", "reading the workbook needs more memory than allowed; save it as CSV")


class _Refusal(Exception):
    """Why the child cannot read the workbook (becomes FileRefused in the parent)."""


def _limit_address_space(extra: int) -> None:
    """At most `extra` bytes of address space beyond what the process has now, and never more
    than its limit allowed before."""
    try:
        with open("/proc/self/statm") as f:
            size = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return  # no /proc (not Linux): the time limit still holds
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = min(n for n in (size + extra, soft, hard) if n != resource.RLIM_INFINITY)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


@dataclass(frozen=True)
class _Book:
    """A workbook open in the child."""

    reader: Any  # fastexcel's ExcelReader
    size: int  # bytes of its content, unpacked: no sheet holds more cells than that
    date_1904: bool  # its xl/workbook.xml asks for the 1904 date system


def _open(path: Path) -> _Book:
    import fastexcel

    try:
        size, date_1904 = path.stat().st_size, False
        with path.open("rb") as f:
            kind = ".xls" if f.read(len(OLE2)) == OLE2 else None  # .xls (or encrypted)
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                _check_parts(archive)
                size = sum(part.file_size for part in archive.infolist())
                date_1904 = _date_1904(archive)
                kind = kind or _format_of(archive)
        named = {".xlsm": ".xlsx"}.get(path.suffix.lower(), path.suffix.lower())
        if named in WORKBOOK_EXTENSIONS and kind in (None, named):
            return _Book(fastexcel.read_excel(str(path)), size, date_1904)
        data = path.read_bytes()  # a workbook under another name: calamine sniffs the content
        if b"E\x00n\x00c\x00r\x00y\x00p\x00t\x00e\x00d\x00P\x00a\x00c\x00k" in data:
            raise _Refusal("the workbook is password-protected; save it without a password")
        return _Book(fastexcel.read_excel(data), size, date_1904)
    except _Refusal:
        raise
    except BaseException as e:
        raise _Refusal(_problem(e)) from None


def _format_of(archive: zipfile.ZipFile) -> str | None:
    """The extension a zipped workbook's content has (.xlsm as .xlsx), whatever its name says;
    None when the content is none of them."""
    names = set(archive.namelist())
    parts = {"xl/workbook.xml": ".xlsx", "xl/workbook.bin": ".xlsb", "content.xml": ".ods"}
    return next((kind for part, kind in parts.items() if part in names), None)


def _check_parts(archive: zipfile.ZipFile) -> None:
    """Refuse a zip workbook (.xlsx, .xlsm, .xlsb, .ods) with a part that fails its CRC-32, or
    with cells calamine would read as empty though they are not: formulas saved without their
    computed values (by a program that does not calculate them) and OpenDocument error cells.

    calamine does not check CRCs: a sheet changed in place (its length kept, so the zip still
    opens) would be read with the changed values. Reading every part once more costs about a
    twentieth of reading the workbook (0.7 s beside 12 s for 1,000,000 rows of 12 columns).
    """
    for part in archive.infolist():
        unread = _UNREAD_CELLS.get(part.filename) or (
            _UNCOMPUTED if _WORKSHEET.fullmatch(part.filename) else None
        )
        try:
            with archive.open(part) as data:  # the CRC is checked as the end is read
                tail = b""
                while block := data.read(1 << 20):
                    if unread and unread[0](tail + block):
                        raise _Refusal(unread[1])
                    tail = block[-_LONGEST_CELL:]
        except (zipfile.BadZipFile, EOFError, OSError, ValueError):  # as testzip() catches
            raise _Refusal(
                f"the workbook is damaged (its part {part.filename!r} fails its checksum); "
                "open it in Excel and save it again"
            ) from None


def _uncomputed(xml: bytes) -> bool:
    """Does this piece of a worksheet's XML hold a formula cell without its value? (An empty
    value is the empty text only in a text cell, t="str".)"""
    if b"<f" not in xml:
        return False
    return any(
        found["value"] is None or b't="str"' not in found["attributes"]
        for found in _FORMULA_CELL.finditer(xml)
    )


_WORKSHEET = re.compile(r"xl/worksheets/[^/]+\.xml")
_FORMULA_CELL = re.compile(
    rb"<c\b(?P<attributes>[^>]*)>\s*<f\b[^>]*(?:/>|>[^<]*</f>)\s*(?P<value><v\s*/>|<v>\s*</v>)?"
    rb"\s*</c>"
)
_LONGEST_CELL = 64 << 10  # bytes kept of a block for a cell cut at its end (formulas: 8 KiB)
_UNCOMPUTED = (
    _uncomputed,
    "the workbook's formulas have no computed values (it was saved by a program that does not "
    "calculate them); open it in Excel or LibreOffice and save it again",
)
_UNREAD_CELLS = {  # parts whose text tells such cells, and what to do
    "content.xml": (
        lambda xml: b':value-type="error"' in xml,
        "the workbook holds error cells (#DIV/0!, #N/A...) that cannot be read from .ods; "
        "correct them, or save the workbook as .xlsx",
    ),
}


def _date_1904(archive: zipfile.ZipFile) -> bool:
    """Whether xl/workbook.xml asks for the 1904 date system: its own workbookPr element says
    so, whatever an x14:workbookPr in its extLst says (or not)."""
    try:
        workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    except KeyError:  # not .xlsx or .xlsm: calamine finds the date system itself
        return False
    return any(
        part.tag.endswith("}workbookPr") and part.get("date1904") in ("1", "true")
        for part in workbook
    )


def _load(book: _Book, index: int, **options):
    """A sheet as calamine holds it: every cell of its used range, empty ones too (32 bytes
    each), so one stray cell far below or right of a small table can ask for gigabytes.

    Loading may take SHEET_MEMORY_PER_BYTE bytes of memory per byte of the workbook's content
    (real sheets take 2 to 3), at least SHEET_MEMORY: calamine aborts beyond that, and the file
    is refused. `_sparse` tells a sheet that is mostly empty space before it is converted.
    """
    name = book.reader.sheet_names[index]
    limit = resource.getrlimit(resource.RLIMIT_AS)
    _limit_address_space(max(SHEET_MEMORY, SHEET_MEMORY_PER_BYTE * book.size))
    try:
        sheet = book.reader.load_sheet(index, header_row=None, skip_rows=0, **options)
    except BaseException as e:
        raise _Refusal(_problem(e, name)) from None
    finally:
        resource.setrlimit(resource.RLIMIT_AS, limit)
    return sheet


def _sparse(book: _Book, sheet) -> str | None:
    """Why a sheet that spans more cells than the workbook has bytes is not read (it is mostly
    empty space, and converting it would take ten times its loading), or None."""
    if sheet.total_height * sheet.width <= max(ROOMY_CELLS, book.size):
        return None
    return (
        f"sheet {sheet.name!r} spans {sheet.total_height:,} rows and {sheet.width:,} columns but "
        "is nearly empty; delete the stray cells far below or right of the table and save it again"
    )


def _problem(error: BaseException, sheet: str | None = None) -> str:
    """One line for a reader error: what is wrong and what to do."""
    if isinstance(error, KeyboardInterrupt | SystemExit):
        raise error
    text = first_line(error)
    text = re.sub(
        r",? signature (?:\\x[0-9a-f]{2})+ invalid", "", text.removeprefix("calamine error: ")
    )
    where = f"sheet {sheet!r}: " if sheet else ""
    if "password" in text.lower():
        return "the workbook is password-protected; save it without a password"
    if "limit exceeded" in text.lower():
        return f"{where}too many cells to read ({text}); save the sheet as CSV"
    if "cannot detect file format" in text.lower():
        return "not a workbook that can be read (damaged, or encrypted?); save it again as .xlsx"
    return (
        f"{where}cannot read the workbook, damaged or truncated? ({text}); "
        "open it in Excel and save it again as .xlsx"
    )


def _text(sheet) -> pl.DataFrame:
    """The sheet's cells as text, one column per spreadsheet column (named by its letter)."""
    letters = [_letter(c.absolute_index) for c in sheet.available_columns()]
    try:
        batch, errors = sheet.to_arrow_with_errors()
    except BaseException as e:
        raise _Refusal(_problem(e, sheet.name)) from None
    frame = pl.DataFrame(batch)
    frame = frame.rename(dict(zip(frame.columns, letters, strict=True)))
    frame = frame.with_columns(_as_typed(pl.col(c)) for c in frame.columns)
    if errors is not None:
        frame = _put(frame, _error_cells(errors.errors, letters))
    return frame


def _corrected(book: _Book, index: int, frame: pl.DataFrame) -> pl.DataFrame:
    """The cells whose text from calamine is not what they hold, read again as what they are:
    rounded numbers, dates of 1904 workbooks, times and durations. Each reading again parses
    the whole sheet once more, so only the columns that show a need for it are read again."""
    frame = _numbers(book, index, frame)
    if book.date_1904:
        frame = _dates_1904(book, index, frame)
    near_epoch = [c for c in frame.columns if frame[c].str.contains(_NEAR_EPOCH).any()]
    if near_epoch:
        frame = _put(frame, _times(book, index, near_epoch, frame.columns))
    return frame


def _as_typed(cell: pl.Expr) -> pl.Expr:
    """Dates without their midnight, ISO `T` as a space, booleans as Excel writes them."""
    return (
        cell.str.replace(_MIDNIGHT, "$1")
        .str.replace(_ISO_T, "$1 $2")
        .replace({"true": "TRUE", "false": "FALSE"})
    )


def _numbers(book: _Book, index: int, frame: pl.DataFrame) -> pl.DataFrame:
    """Number cells whose text calamine rounded or wrote out too long, as their shortest decimal.

    calamine writes a number rounded to nine decimals (41800000.01, held as a double a little
    under it, comes as 41800000.009999998) and a large one with every digit of its double
    (123456789012345678 as 123456789012345696). Only the columns holding such text are
    read again, as numbers and as booleans (null for a text cell: text typed the same way stays).
    """
    columns = [c for c in frame.columns if frame[c].str.contains(_ROUNDED).any()]
    if not columns:
        return frame
    value = _reloaded(book, index, columns, "float")
    number = _reloaded(book, index, columns, "boolean")
    return frame.with_columns(
        pl.when(pl.col(c).str.contains(_ROUNDED) & pl.lit(number[c]).is_not_null())
        .then(pl.lit(_as_shown(value[c])))
        .otherwise(pl.col(c))
        .alias(c)
        for c in columns
    )


def _as_shown(numbers: pl.Series) -> pl.Series:
    """Doubles as their shortest decimal that reads back as the same double (polars' text, as
    Python's repr), written out in full: 1E+20 as 100000000000000000000, 1.5E-07 as 0.00000015,
    so an amount never comes with an exponent."""
    parts = numbers.cast(pl.String).str.extract_groups(_FLOAT_TEXT).struct.unnest()
    whole, digits = pl.col("whole"), pl.col("whole") + pl.col("fraction").fill_null("")
    parts = parts.with_columns(
        significant=digits.str.strip_chars("0"),
        # where the decimal point goes, counted from the first significant digit
        point=whole.str.len_chars().cast(pl.Int64)
        + pl.col("exponent").cast(pl.Int64).fill_null(0)
        - (digits.str.len_chars() - digits.str.strip_chars_start("0").str.len_chars()),
    )
    significant, point = pl.col("significant"), pl.col("point")
    n = significant.str.len_chars().cast(pl.Int64)
    text = (
        pl.when(point <= 0)
        .then("0." + significant.str.pad_start((n - point).clip(0), "0"))
        .when(point >= n)
        .then(significant.str.pad_end(point.clip(0), "0"))
        .otherwise(significant.str.head(point.clip(0)) + "." + significant.str.slice(point.clip(0)))
    )
    shown = pl.when(significant == "").then(pl.lit("0")).otherwise(pl.col("sign") + text)
    return parts.select(shown).to_series()


def _dates_1904(book: _Book, index: int, frame: pl.DataFrame) -> pl.DataFrame:
    """Date cells of a 1904 workbook, counted from 1904-01-01.

    calamine misses the 1904 date system when xl/workbook.xml also holds an x14:workbookPr (as
    Excel 2010 and later write it): it counts from 1900, and every date comes four years (1,462
    days) early (calamine issue 706). So the text of each date cell is made again from its serial
    number, read as a duration (null for other cells): the same text when calamine gets it right.
    Times and durations (near the epoch) are then read as a clock by `_times`, as elsewhere.
    """
    columns = [c for c in frame.columns if frame[c].str.contains(_DATE).any()]
    if not columns:
        return frame
    days = _reloaded(book, index, columns, "duration")
    epoch = pl.lit(datetime(1904, 1, 1))
    return frame.with_columns(
        pl.when(pl.lit(days[c]).is_not_null())
        .then(
            _as_typed(
                (epoch + pl.lit(days[c]))
                .dt.to_string("%Y-%m-%d %H:%M:%S%.3f")
                .str.replace(r"\.000$", "")
            )
        )
        .otherwise(pl.col(c))
        .alias(c)
        for c in columns
    )


def _reloaded(book: _Book, index: int, columns: list[str], dtype: str) -> pl.DataFrame:
    """Columns of a sheet (by letter) read again as `dtype`: null where a cell is not one."""
    sheet = _load(book, index, dtypes=dtype, use_columns=[_column_index(c) for c in columns])
    try:
        frame = pl.DataFrame(sheet.to_arrow())
    except BaseException as e:
        raise _Refusal(_problem(e, sheet.name)) from None
    return frame.rename(dict(zip(frame.columns, columns, strict=True)))


def _error_cells(errors, letters: list[str]) -> pl.DataFrame:
    """Cells fastexcel could not give as text: Excel errors and OpenDocument durations."""
    cells = _cells(errors, letters).with_columns(
        pl.col("detail").str.extract_groups(_DETAIL).struct.unnest()
    )
    kind, value = pl.col("kind"), pl.col("value").str.strip_chars('"')
    cells = cells.with_columns(value.str.extract_groups(_ISO_DURATION).struct.unnest())
    cells = cells.with_columns(
        text=pl.when(kind == "Error")
        .then(value.replace_strict(_ERROR_TEXT, default="#" + value.str.to_uppercase()))
        .when((kind == "DurationIso") & value.str.contains(_ISO_DURATION))
        .then(_elapsed(*(pl.col(p) for p in ("days", "hours", "minutes", "seconds", "fraction"))))
    )
    odd = cells.filter(pl.col("text").is_null())
    if odd.height:
        row, column, detail = odd.row(0)[:3]
        raise _Refusal(
            f"cell {column}{row + 1} holds a value that cannot be read as text ({detail})"
        )
    return cells.select("row", "column", "text")


def _times(book: _Book, index: int, columns: list[str], letters: list[str]) -> pl.DataFrame:
    """Time-of-day and duration cells (shown as timestamps near the epoch) as HH:MM:SS; and
    serial 60 of the 1900 date system as Excel shows it, 1900-02-29 (a day that never was, kept
    from Lotus 1-2-3: calamine reads it as the 28th, the same as serial 59)."""
    wanted = [letters.index(c) for c in columns]
    absolute = [_column_index(c) for c in columns]
    _, errors = _load(book, index, dtypes="float", use_columns=absolute).to_arrow_with_errors()
    found = [e for e in (errors.errors if errors else []) if e.position[1] in wanted]
    cells = _cells(found, letters)
    cells = cells.with_columns(pl.col("detail").str.extract_groups(_SERIAL).struct.unnest())
    serial = pl.col("serial").cast(pl.Float64, strict=False)
    ms = (serial * 86_400_000).round().cast(pl.Int64)
    seconds = (ms // 1000).cast(pl.String)
    fraction = pl.when(ms % 1000 > 0).then((ms % 1000).cast(pl.String).str.zfill(3))
    clock = _elapsed(None, None, None, seconds, fraction, total_seconds=True)
    on_1900 = pl.lit(not book.date_1904)  # the 1904 system has no such day
    leap_day = (pl.col("type") == "DateTime") & (serial >= 60) & (serial < 61) & on_1900
    return cells.filter((pl.col("type") == "TimeDelta") | (serial < 1) | leap_day).select(
        "row", "column", text=pl.when(leap_day).then(pl.lit("1900-02-29")).otherwise(clock)
    )


def _elapsed(days, hours, minutes, seconds, fraction, total_seconds=False) -> pl.Expr:
    """HH:MM:SS[.fff] from ISO duration parts (text), or from a total of seconds."""

    def number(part):
        return pl.lit(0, pl.Int64) if part is None else part.cast(pl.Int64).fill_null(0)

    if total_seconds:
        total = number(seconds)
    else:
        total = ((number(days) * 24 + number(hours)) * 60 + number(minutes)) * 60
        total = total + number(seconds)
    clock = pl.format(
        "{}:{}:{}",
        (total // 3600).cast(pl.String).str.zfill(2),
        (total // 60 % 60).cast(pl.String).str.zfill(2),
        (total % 60).cast(pl.String).str.zfill(2),
    )
    return pl.when(fraction.is_not_null()).then(clock + "." + fraction).otherwise(clock)


def _put(frame: pl.DataFrame, cells: pl.DataFrame) -> pl.DataFrame:
    """`frame` with the `text` of `cells` (row, column, text) written in."""
    if cells.height == 0:
        return frame
    for (column,), part in cells.partition_by("column", as_dict=True).items():
        replaced = frame[column].clone()
        replaced.scatter(part["row"], part["text"])
        frame = frame.with_columns(replaced)
    return frame


def _first_nonblank(frame: pl.DataFrame) -> int:
    if frame.width == 0:
        return 0
    filled = frame.select(pl.any_horizontal(~blank_cell(pl.col(c)) for c in frame.columns))
    rows = filled.to_series().arg_true()
    return int(rows[0]) if rows.len() else 0


def _cells(errors, letters: list[str]) -> pl.DataFrame:
    """fastexcel's conversion errors as (row, column letter, detail)."""
    return pl.DataFrame(
        {
            "row": [e.position[0] for e in errors],
            "column": [letters[e.position[1]] for e in errors],
            "detail": [e.detail for e in errors],
        },
        schema={"row": pl.Int64, "column": pl.String, "detail": pl.String},
    )


def _letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _column_index(letters: str) -> int:
    index = 0
    for letter in letters:
        index = index * 26 + ord(letter) - ord("A") + 1
    return index - 1


if __name__ == "__main__":
    _serve(Path(sys.argv[1]), int(sys.argv[2]))
