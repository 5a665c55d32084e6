"""Workbooks to text columns: .xlsx, .xlsm, .xlsb, .xls and .ods, read through fastexcel (calamine).

Every cell comes back as the text a person typed: text as written (`00789` stays `00789`), numbers
as their shortest decimal that reads back as the same double, as Python's repr writes them (12345,
1200.5, 19.99, 41800000.01), dates as `YYYY-MM-DD` (a time part other than midnight is kept:
`YYYY-MM-DD HH:MM:SS`), times and durations as `HH:MM:SS` (hours past 24 for durations:
`255:10:10`), booleans as TRUE/FALSE and error cells as their Excel text (`#N/A`, `#DIV/0!`...),
never as empty cells. Dates follow the workbook's own date system, so 1904 workbooks (old Mac
Excel) give the same dates (`workbook._dates_1904`). Text cells that read exactly like
`true`/`false` or a midnight timestamp are indistinguishable from typed cells here and are
normalised the same way.

Numbers are written out in full, never with an exponent: 1E+20 is `100000000000000000000`,
1.5E-07 is `0.00000015`. calamine gives numbers rounded to nine decimals; where that shows (nine
decimals, or 16 digits or more) the cell is read again as a number (`workbook._numbers`). Where its
rounding leaves no trace, the number reads as calamine rounds it: 1.5E-10 as `0`, the formula
result 0.30000000000000004 as `0.3` (as Excel shows it); telling those apart would mean reading
every number column of every sheet twice more.

The sheet: `sheet` names it (a tab name, case-insensitively, else a number, 1 being the first in
workbook order, hidden sheets counted); by default the first visible sheet whose header row
satisfies `is_header` (hidden sheets are skipped: they often hold lookup lists). The header row
is the first row, among the first HEADER_ROWS rows from the sheet's first non-blank row, for which
`is_header(cells)` holds. `source_row` is the row number the spreadsheet shows.

Reading happens in a child process (`python -m pipeline.workbook`, which turns cells into
text) with a time limit and an address-space limit: calamine aborts the whole process when an
allocation fails, and a 5 KB .xlsx with one cell in A1 and one in XFD1048576 asks it for
512 GiB. Loading a sheet may take memory in proportion to the workbook's content only, so a
stray cell far below a small table is refused at once. A reader that dies or runs out of time
means the file is refused, never a crash of the import.
"""

import os
import pickle
import select
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import polars as pl

from pipeline.errors import FileRefused
from pipeline.grid import ReadResult, blank_cell, from_grid
from pipeline.workbook import HEADER_ROWS, SPARSE, WORKBOOK_EXTENSIONS

__all__ = ["WORKBOOK_EXTENSIONS", "read_workbook"]

TIME_LIMIT = 60.0  # seconds a workbook may take to read
MEMORY_LIMIT = 4 << 30  # bytes of address space the reader may take beyond its own start


def read_workbook(
    path: Path, sheet: str | int | None, is_header: Callable[[list[str]], bool]
) -> ReadResult:
    """Read one sheet of a workbook as text; refuse (FileRefused) what cannot be read."""
    source = str(path)
    with _Reader(Path(path), source) as reader:
        names = reader.sheet_names
        if sheet is not None:
            index = _sheet_index(source, names, sheet)
            _, first, head = reader.head(index, skip_hidden=False)
            if head.height == 0:
                raise FileRefused(source, f"sheet {names[index]!r} is empty; nothing to import")
            header = _header_row(first, head, is_header)
            if header is None:
                raise FileRefused(
                    source,
                    f"sheet {names[index]!r} has no header row with the required columns in its "
                    f"first {HEADER_ROWS} rows; check the headers",
                )
        else:
            index, header = _first_sheet_with_header(reader, source, names, is_header)
        grid = reader.take(index).slice(header)
    filled = grid.select((~blank_cell(pl.all())).any()).row(0)  # blank columns (beside titles) go
    grid = grid.select(c for c, kept in zip(grid.columns, filled, strict=True) if kept)
    result = from_grid(grid, source, header_row=header + 1)
    note = f"sheet {names[index]!r} ({index + 1} of {len(names)}), header on row {header + 1}"
    return replace(result, notes=(note,))


def _sheet_index(source: str, names: list[str], sheet: str | int) -> int:
    """A sheet by its tab name (case-insensitively), else by number (1 is the first)."""
    folded = [n.casefold() for n in names]
    if str(sheet).casefold() in folded:
        return folded.index(str(sheet).casefold())
    listed = _some(names)
    if isinstance(sheet, int):
        if 1 <= sheet <= len(names):
            return sheet - 1
        raise FileRefused(source, f"there is no sheet {sheet}: the sheets are {listed}")
    raise FileRefused(source, f"no sheet is named {sheet!r}: the sheets are {listed}")


def _first_sheet_with_header(reader, source, names, is_header) -> tuple[int, int]:
    tried, hidden, sparse, filled = [], [], [], 0
    too_large: FileRefused | None = None  # the first sheet too large to load, said if no other
    for index, name in enumerate(names):
        try:
            visible, first, head = reader.head(index, skip_hidden=True)
        except _OutOfMemory as e:  # stray cells far away: passed over, in a new reader
            reader.restart()
            too_large = too_large or FileRefused(source, f"sheet {name!r}: {e.reason}")
            visible = SPARSE
        if visible == SPARSE:
            sparse.append(name)
            continue
        if visible != "visible":
            hidden.append(name)
            continue
        header = _header_row(first, head, is_header)
        if header is not None:
            return index, header
        tried.append(name)
        filled += head.height > 0
    if too_large and not filled:
        raise too_large
    if not filled and not hidden and not sparse:
        raise FileRefused(
            source, "the workbook is empty: no sheet holds any cell; nothing to import"
        )
    reason = (
        f"no sheet has a header row with the required columns in its first {HEADER_ROWS} rows "
        f"(sheets tried: {_some(tried) or 'none'}"
        + (f"; hidden sheets skipped: {_some(hidden)}" if hidden else "")
        + (
            f"; sheets skipped as nearly empty beside their size (stray cells far from the "
            f"table?): {_some(sparse)}"
            if sparse
            else ""
        )
        + "); check the headers or name the sheet with --sheet"
    )
    raise FileRefused(source, reason)


def _some(names: list[str], shown: int = 3) -> str:
    """A few names and a count of the rest, so that a workbook of 20,000 sheets still gets a
    one-line refusal: `'S1', 'S2', 'S3' and 19,997 more`."""
    listed = ", ".join(repr(n) for n in names[:shown])
    more = len(names) - shown
    return f"{listed} and {more:,} more" if more > 0 else listed


def _header_row(first: int, head: pl.DataFrame, is_header) -> int | None:
    """The 0-based sheet row of the header among `head` (rows from `first`), or None."""
    for offset, row in enumerate(head.iter_rows()):
        cells = [(cell or "").strip() for cell in row]
        if any(cells) and is_header(cells):
            return first + offset
    return None


class _OutOfMemory(FileRefused):
    """The reader died for want of memory, loading one sheet."""


class _Reader:
    """The parent's side of the child process that reads one workbook."""

    def __init__(self, path: Path, source: str):
        self.path, self.source = path, source
        self.deadline = time.monotonic() + TIME_LIMIT
        self._start()

    def restart(self) -> None:
        """A new child, after one died (its sheets can still be read, but the one it died on)."""
        self.close()
        self._start()

    def _start(self) -> None:
        self.stderr = tempfile.TemporaryFile()  # noqa: SIM115 (closed in close())
        package_root = str(Path(__file__).resolve().parents[1])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
        self.proc = subprocess.Popen(
            [sys.executable, "-P", "-m", "pipeline.workbook", str(self.path), str(MEMORY_LIMIT)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            env=env,
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.requests, self.replies = self.proc.stdin, self.proc.stdout
        try:
            self.sheet_names: list[str] = self._receive()[1]
        except BaseException:
            self.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for stream in (self.requests, self.replies, self.stderr):
            stream.close()

    def head(self, index: int, skip_hidden: bool) -> tuple[str, int, pl.DataFrame]:
        """Visibility, first non-blank row and the rows where a header is looked for."""
        self._send(f"head {index} {int(skip_hidden)}")
        _, visible, first, head = self._receive()
        return visible, first, head

    def take(self, index: int) -> pl.DataFrame:
        """The whole sheet as text, row i being the sheet's row i + 1."""
        self._send(f"take {index}")
        return self._receive()[1]

    def _send(self, request: str) -> None:
        try:
            self.requests.write(request.encode() + b"\n")
            self.requests.flush()
        except BrokenPipeError:
            raise self._died() from None

    def _receive(self) -> tuple:
        (size,) = struct.unpack("<Q", self._read(8))
        reply = pickle.loads(self._read(size))
        if reply[0] == "refused":
            raise FileRefused(self.source, reply[1])
        return reply

    def _read(self, n: int) -> bytes:
        fd, data = self.replies.fileno(), bytearray()
        while len(data) < n:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                self.proc.kill()
                raise FileRefused(
                    self.source,
                    f"reading the workbook took more than {TIME_LIMIT:g} s; "
                    "save the sheet as CSV and import that",
                )
            chunk = os.read(fd, min(n - len(data), 1 << 20))
            if not chunk:
                raise self._died()
            data += chunk
        return bytes(data)

    def _died(self) -> FileRefused:
        status = self.proc.wait()
        self.stderr.seek(0)
        lines = self.stderr.read(64 * 1024).decode("utf-8", "replace").strip().splitlines()
        if any("memory allocation" in line for line in lines):
            return _OutOfMemory(
                self.source,
                "reading the workbook needs more memory than allowed; "
                "delete stray cells far below or right of the table, or save the sheet as CSV",
            )
        last = lines[-1] if lines else f"exit status {status}"
        return FileRefused(
            self.source,
            f"the workbook reader stopped ({last[:200]}); save the sheet as CSV and import that",
        )
