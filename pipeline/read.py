"""Files to text columns: every cell is read as text, nothing is inferred.

`read_batch` detects the format from the content (a workbook sent with a .csv name still
reads) and returns the file's records as String columns, one per header in file order, then
`source_row`, the row number a person sees in a spreadsheet (the header is row 1 of a CSV file).
Rows that are entirely blank are not records: they are dropped and counted. A CSV row with more
fields than the header keeps its extra cells in `EXTRA` (rule `malformed_row`).

Memory stays bounded whatever the file holds: large text files are read piece by piece, a gzip
file is decompressed block by block into a temporary file first, and a flood of blank lines is
counted, not parsed (polars gives every line a row of cells, about 16 bytes a cell).
"""

import codecs
import contextlib
import csv
import gzip
import io
import mmap
import re
import tempfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import polars as pl

from pipeline.errors import FileRefused, OnboardError, first_line
from pipeline.excel import WORKBOOK_EXTENSIONS, read_workbook
from pipeline.fixfile import marked_batch, unguard_text
from pipeline.grid import (
    CHUNK_ROWS,
    MORE,
    POSITION,
    Prepare,
    ReadResult,
    from_grid,
    records,
    through_reasons,
    unguard_formulas,
    unique_names,
    valueless,
)
from pipeline.options import DELIMITERS, RunOptions
from pipeline.workbook import OLE2

TEXT_EXTENSIONS = (".csv", ".txt", ".tsv", ".gz")
MAX_LINE = 1 << 20  # a first line longer than this is not a header: the file is refused
STREAM_BYTES = 256 << 20  # text files larger than this are imported in chunks
STREAM_CELLS = 4 << 20  # and files with more cells (rows x columns) than this and than bytes:
# a grid takes 16 bytes a cell, so read whole, a small file of blank lines would take gigabytes
EXTRA_FIELDS = 8  # cells kept of a row longer than the header; a longer one is marked, not cut
# A gzip file is refused when it expands to more text than this: 4 GiB is some 40 million rows,
# four times the largest batch measured (README, Performance), and all a temporary folder needs.
GUNZIP_LIMIT = 4 << 30
READ_BLOCK = 256 << 10  # bytes read at a time when decompressing or reading a large file
MAX_PIECE = 64 << 20  # a large file is parsed in pieces of about this size (or CHUNK_ROWS lines)
_SNIFF = 64 * 1024
_SPACES = b" \t\r\n"  # with the delimiter, what a blank line holds
# blank lines above the header row (the delimiter still unknown: any of them)
_LEADING_BLANK_LINES = re.compile(rb"(?:\xef\xbb\xbf)?(?:[ \t\r,;|]*\n)*")
_SEP_LINE = re.compile(rb"sep=([,;\t|])[ \t\r]*\n", re.IGNORECASE)
_NUL = (
    "the file holds NUL bytes: it is binary, not a CSV file (or UTF-16 or UTF-32 text without "
    "its byte order mark: pass --encoding utf-16-le, utf-16-be or utf-32)"
)
_NOT_UTF8 = "the file is not UTF-8 text; pass --encoding (e.g. windows-1252)"
_ZIP, _GZIP = b"PK\x03\x04", b"\x1f\x8b"


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
    if head.startswith((_ZIP, OLE2)):
        return read_workbook(path, options.sheet, is_header or (lambda cells: any(cells)))
    with contextlib.ExitStack() as temporary:  # the files the result reads, if any: kept below
        if head.startswith(_GZIP):
            text = _temporary_file(temporary)
            _gunzip(path, source, text)
            head = text.read(_SNIFF)
            if head.startswith((_ZIP, OLE2)):
                raise FileRefused(source, "a compressed workbook; send the workbook itself")
            result = _read_text(Path(text.name), head, source, options, temporary, compressed=True)
        else:
            result = _read_text(path, head, source, options, temporary)
        return replace(result, temporary=temporary.pop_all())  # `scan` may read them later


def _gunzip(path: Path, source: str, text) -> None:
    """Decompress a gzip file block by block into the file `text`, left at its start; refused
    when it expands beyond GUNZIP_LIMIT, before it fills the disk."""
    size = 0
    try:
        with gzip.open(path, "rb") as f:
            for block in iter(lambda: f.read(READ_BLOCK), b""):
                size += len(block)
                if size > GUNZIP_LIMIT:
                    raise FileRefused(
                        source,
                        f"the gzip file expands to more than {GUNZIP_LIMIT >> 20:,} MiB of text; "
                        "split it into smaller batches",
                    )
                _spill(text.write, block)
    except (OSError, EOFError, zlib.error) as e:
        raise FileRefused(source, f"not a readable gzip file ({e})") from None
    _spill(text.flush)
    text.seek(0)


def _temporary_file(temporary: contextlib.ExitStack):
    """A new temporary file (deleted when closed, or dropped), closed with `temporary`."""
    file = _spill(tempfile.NamedTemporaryFile, prefix="onboard-", suffix=".csv")
    return temporary.enter_context(file)


def _spill(write, *args, **kwargs):
    """`write(...)` to the temporary folder: a full disk stops the batch (exit 1), and does not
    refuse the file, which is not at fault."""
    try:
        return write(*args, **kwargs)
    except OSError as e:
        raise OnboardError(
            f"cannot write the file's text into {tempfile.gettempdir()} ({e.strerror}); "
            "free some space there or set TMPDIR to a folder with room"
        ) from None


def _read_text(
    data: Path | bytes,
    head: bytes,
    source: str,
    options: RunOptions,
    temporary: contextlib.ExitStack,
    compressed=False,
) -> ReadResult:
    """A text file (`data`, whose first bytes are `head`) as records; a large file in another
    encoding than UTF-8 is transcoded into a temporary file, entered in `temporary`."""
    # UTF-32's byte order marks first: little-endian's begins as UTF-16's does
    utf32 = head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE))
    utf16 = head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    encoding = options.encoding or ("utf-32" if utf32 else "utf-16" if utf16 else "utf-8")
    if codecs.lookup(encoding).name != "utf-8":
        data = _transcode(data, encoding, source, temporary)
        head = _head(data)
    elif b"\x00" in head:
        raise FileRefused(source, _NUL)
    if b"\n" not in head and b"\r" in head:  # old Mac line ends (CR alone): made LF
        data = (data if isinstance(data, bytes) else data.read_bytes()).replace(b"\r", b"\n")
        head = head.replace(b"\r", b"\n")
    blank_lines = _LEADING_BLANK_LINES.match(head)  # always: it matches the empty start
    start = blank_lines.end() if blank_lines else 0  # the header row: the first line not blank
    hint = _SEP_LINE.match(head, start)  # Excel's `sep=;` line above the header
    if hint:
        blank_lines = _LEADING_BLANK_LINES.match(head, hint.end())
        start = blank_lines.end() if blank_lines else hint.end()
    if not head[start:].strip():
        if _size(data) > len(head):
            raise FileRefused(source, "the first 64 KiB hold only blank lines, no header row")
        raise FileRefused(source, "the file is empty; nothing to import")
    if b"\n" not in head[start:] and _size(data) > len(head):  # a header row longer than head
        head = _head(data, start + MAX_LINE)
        if b"\n" not in head[start:] and _size(data) > len(head):
            raise FileRefused(source, "no line break in the first MiB: not a CSV file")
    text = head[start:].decode("utf-8", errors="replace").removeprefix("\ufeff")
    try:
        delimiter = options.delimiter or (hint and hint[1].decode()) or _detect_delimiter(text)
        first = next(csv.reader(io.StringIO(text), delimiter=delimiter), [])
    except csv.Error:  # a carriage return alone inside the header row
        raise FileRefused(source, "the header row holds a stray line break") from None
    header_fields = len(first)
    skip = head.count(b"\n", 0, start)

    def notes() -> tuple[str, ...]:
        return ("gzip",) * compressed + (f"encoding {encoding}", f"delimiter {_NAMES[delimiter]}")

    size = _size(data)
    if size > STREAM_BYTES or _records_in(data) * (header_fields + 1) > max(size, STREAM_CELLS):
        if size <= STREAM_BYTES and not options.encoding and not _utf8(data):
            data, encoding = _legacy(data, source, temporary)  # as when read whole, below
        headers = [cell.strip() for cell in first]
        headers = headers[: through_reasons(headers)]
        layout = _Layout(source, delimiter, len(headers), start, skip)
        return _streamed(data, layout, headers, notes())
    if _holds_nul(data):
        raise FileRefused(source, _NUL)
    try:
        grid = _read_grid(data, source, delimiter, header_fields, skip, skip)
    except _NotUtf8:
        if options.encoding:
            raise FileRefused(source, f"the file is not {options.encoding} text") from None
        data, encoding = _legacy(data, source, temporary)
        grid = _read_grid(data, source, delimiter, header_fields, skip, skip)
    result = from_grid(grid, source, header_fields=header_fields)
    if marked_batch(result.headers) is not None:
        result = _unguard_fix_file(result)
    return replace(result, notes=notes(), delimiter=delimiter)


@dataclass(frozen=True)
class _Layout:
    """Where a text file's header row is and how its lines split."""

    source: str
    delimiter: str
    header_fields: int  # fields of the header row
    start: int  # byte offset of the header row (blank lines above it are left out)
    skip: int  # lines above it


def _streamed(data: Path | bytes, layout: _Layout, headers: list[str], notes: tuple) -> ReadResult:
    """A large UTF-8 file (or one of very many short lines), read piece by piece when imported:
    memory stays bounded."""
    if not any(headers):
        raise FileRefused(layout.source, "the first row is blank: it must hold the column headers")
    fix_file = marked_batch(headers) is not None
    headers = [unguard_text(h) for h in headers] if fix_file else headers

    spans = list(_pieces(data, layout))  # one pass now: a NUL refuses the file at once

    def grids(lazy=False) -> Iterator[tuple[pl.DataFrame | pl.LazyFrame | None, int]]:
        """Each piece's cells below the header row, with the blank lines left out before it;
        `lazy`: as lazy frames whose unused columns polars need not parse, rows not marked."""
        position = layout.skip
        with data.open("rb") if isinstance(data, Path) else io.BytesIO(data) as f:
            for start, end, blank in spans:
                position += blank
                if start == end:
                    yield None, blank
                    continue
                f.seek(start)
                piece = f.read(end - start)
                grid: pl.DataFrame | pl.LazyFrame
                if lazy:
                    grid, rows = _scan_grid(piece, layout, position), _records_in(piece)
                else:
                    try:
                        grid = _read_grid(
                            piece, layout.source, layout.delimiter, layout.header_fields, position
                        )
                    except _NotUtf8:
                        raise FileRefused(layout.source, _NOT_UTF8) from None
                    rows = grid.height
                position += rows
                yield grid.filter(pl.col(POSITION) > layout.skip), blank

    cells = [f"c{i}" for i in range(layout.header_fields)]
    try:
        lazy = (g for g, _ in grids(lazy=True) if isinstance(g, pl.LazyFrame))
        empty = valueless(lazy, cells, headers)
    except pl.exceptions.ComputeError as e:
        raise _scan_refusal(layout.source, e) from None
    headers = [h for c, h in zip(cells, headers, strict=True) if c not in empty]
    names, fields = unique_names(headers), layout.header_fields - len(empty)

    def pieces() -> Iterator[tuple[pl.DataFrame | None, int]]:
        for grid, blank in grids():
            assert not isinstance(grid, pl.LazyFrame)
            yield None if grid is None else records(grid.drop(empty), names, fields), blank

    def selected(prepare: Prepare) -> Iterator[pl.DataFrame]:
        try:
            for grid, _ in grids(lazy=True):
                if isinstance(grid, pl.LazyFrame):
                    yield prepare(records(grid.drop(empty), names, fields)).collect()
        except pl.exceptions.ComputeError as e:
            raise _scan_refusal(layout.source, e) from None

    return ReadResult(
        None,
        headers,
        0,
        notes,
        layout.delimiter,
        pieces=pieces,
        selected=selected,
        source=layout.source,
        fix_file=fix_file,
    )


def _scan_grid(piece: bytes, layout: _Layout, first: int) -> pl.LazyFrame:
    """A piece's cells, lazily, keeping EXTRA_FIELDS cells beyond the header's."""
    return pl.scan_csv(
        piece,
        has_header=False,
        schema={f"c{i}": pl.String for i in range(layout.header_fields + EXTRA_FIELDS)},
        separator=layout.delimiter,
        missing_columns="insert",
        truncate_ragged_lines=True,
        extra_columns="ignore",
        row_index_name=POSITION,
        row_index_offset=first,
    )


def _pieces(data: Path | bytes, layout: _Layout) -> Iterator[tuple[int, int, int]]:
    """The text from the header row on as pieces (start, end: byte offsets) cut at line ends
    after CHUNK_ROWS lines or MAX_PIECE bytes, each with the number of blank lines left out
    before it. Found in one pass over the bytes, which also refuses a file holding a NUL.

    A block of nothing but blank lines (outside quotes) is counted, not parsed: a flood of empty
    lines costs next to nothing. A piece is cut only where no quoted value is open (the quotes
    before are even), which is how polars splits records; a row longer than MAX_PIECE (a quote
    never closed) refuses the file rather than being held whole.
    """
    blank = _SPACES + layout.delimiter.encode()
    start = at = layout.start  # the piece's start, the block's
    skipped = lines = odd = cut = 0  # blank lines before; the piece's lines; a quote open; a cut
    text = False  # the piece holds more than blank lines
    with data.open("rb") if isinstance(data, Path) else io.BytesIO(data) as f:
        f.seek(at)
        for block in iter(lambda: f.read(READ_BLOCK), b""):
            if b"\x00" in block:
                raise FileRefused(layout.source, _NUL)
            newlines, last = block.count(b"\n"), block.rfind(b"\n")
            if not odd and newlines > 1 and _only(blank, block):
                # only blank lines: the piece ends with the first, the next starts after the last
                if text:
                    yield start, at + block.find(b"\n") + 1, skipped
                    skipped = 0
                else:
                    skipped += lines + 1
                skipped += newlines - 1
                start, lines, cut, text = at + last + 1, 0, 0, False
            else:
                text = text or not _only(blank, block)
                quoted = b'"' in block  # most blocks hold none: nothing to count
                odd ^= quoted and block.count(b'"') & 1
                lines += newlines
                if last >= 0 and odd == (quoted and block.count(b'"', last) & 1):
                    cut = at + last + 1  # no quote open there
                if cut and (lines >= CHUNK_ROWS or at + len(block) - start >= MAX_PIECE):
                    yield start, cut, skipped
                    start, skipped, lines, odd, cut, text = cut, 0, 0, 0, 0, False
                    at = f.seek(start)  # the rest is read again as the next piece's start
                    continue
                if at + len(block) - start > MAX_PIECE:
                    reason = f"a row is longer than {MAX_PIECE >> 20} MiB (a quote never closed?)"
                    raise FileRefused(layout.source, reason)
            at += len(block)
        f.seek(max(at - 1, 0))
        ends_line = f.read(1) == b"\n"
    if text:
        yield start, at, skipped
    elif at > start or skipped:  # blank lines at the end; the last without a line end too
        yield at, at, skipped + lines + (at > start and not ends_line)


def _only(chars: bytes, block: bytes) -> bool:
    """Does `block` hold nothing but `chars`? (its ends tell most blocks of text at once)"""
    return block[0] in chars and block[-1] in chars and not block.translate(None, chars)


def _unguard_fix_file(result: ReadResult) -> ReadResult:
    """A CSV fix file's headers and cells without the `'` the export put before formula-like
    text."""
    headers = [unguard_text(h) for h in result.headers]
    renamed = dict(zip(unique_names(result.headers), unique_names(headers), strict=True))
    assert result.frame is not None  # a file read whole
    frame = unguard_formulas(result.frame.rename(renamed), list(renamed.values()))
    return replace(result, frame=frame, headers=headers, fix_file=True)


class _NotUtf8(Exception):
    pass


class _MoreFields(Exception):
    """A row has more fields than the grid has columns."""


_NAMES = {",": "','", ";": "';'", "\t": "tab", "|": "'|'"}


def _size(data: Path | bytes) -> int:
    return len(data) if isinstance(data, bytes) else data.stat().st_size


def _legacy(data: Path | bytes, source: str, temporary) -> tuple[Path | bytes, str]:
    """A file that is not UTF-8 as a legacy single-byte one, transcoded, and its encoding:
    Windows-1252 when every byte is defined there (what Windows desktops write), else Latin-1."""
    raw = data if isinstance(data, bytes) else data.read_bytes()  # read once for both
    _refuse_broken_utf8(raw, source)
    encoding = "windows-1252" if _decodes(raw, "windows-1252") else "latin-1"
    return _transcode(raw, encoding, source, temporary), encoding


# A character of two to four bytes as UTF-8 writes it: in a Windows-1252 or Latin-1 file these
# pairs are mojibake ("Ã©"), so a file holding them is UTF-8 text
_UTF8_SEQUENCE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)


_NON_ASCII = bytes(range(0x80, 0x100))


def _refuse_broken_utf8(raw: bytes, source: str) -> None:
    """Refuse UTF-8 text with a byte that is not UTF-8: read as Windows-1252, each of its
    other accented letters would be stored as two wrong ones ("Café" as "CafÃ©"). Text that is
    mostly bytes outside such sequences is single-byte text where a pair reads as UTF-8 by
    chance (Windows-1252 "É»" is the bytes of "ɻ")."""
    in_sequences = len(raw) - len(_UTF8_SEQUENCE.sub(b"", raw))
    outside = len(raw) - len(raw.translate(None, _NON_ASCII)) - in_sequences
    if in_sequences <= outside:
        return
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        raise FileRefused(
            source,
            f"the file is UTF-8 text but for byte 0x{raw[e.start]:02x} on line {line}; correct "
            "that character (or pass --encoding if the file is not UTF-8)",
        ) from None


def _utf8(data: Path | bytes) -> bool:
    """Is `data` UTF-8 text? Told block by block: no more of it is held in memory."""
    decode = codecs.getincrementaldecoder("utf-8")().decode
    with data.open("rb") if isinstance(data, Path) else io.BytesIO(data) as f:
        try:
            for block in iter(lambda: f.read(READ_BLOCK), b""):
                decode(block)
            decode(b"", True)
        except UnicodeDecodeError:
            return False
    return True


def _decodes(raw: bytes, encoding: str) -> bool:
    try:
        codecs.decode(raw, encoding)
    except UnicodeDecodeError:
        return False
    return True


def _transcode(
    data: Path | bytes, encoding: str, source: str, temporary: contextlib.ExitStack
) -> Path | bytes:
    """`data` decoded from `encoding`, as UTF-8 bytes; a file larger than STREAM_BYTES block by
    block into a temporary file, so a compressed flood of UTF-16 text costs no memory either."""
    large = _size(data) > STREAM_BYTES
    out = _temporary_file(temporary) if large else io.BytesIO()
    decode = codecs.getincrementaldecoder(encoding)().decode
    with data.open("rb") if isinstance(data, Path) else io.BytesIO(data) as f:
        for n, block in enumerate(iter(lambda: f.read(READ_BLOCK), b"")):
            text = _decoded(decode, block, encoding, source)
            _spill(out.write, (text if n else text.removeprefix("\ufeff")).encode("utf-8"))
    _spill(out.write, _decoded(decode, b"", encoding, source, final=True).encode("utf-8"))
    if not large:
        return out.getvalue()
    _spill(out.flush)
    return Path(out.name)


def _decoded(decode, block: bytes, encoding: str, source: str, final=False) -> str:
    try:
        text = decode(block, final)
    except UnicodeError as e:  # a decoding error, or a stream the codec cannot start (no BOM)
        raise FileRefused(source, f"cannot decode the file as {encoding}: {e}") from None
    if "\x00" in text:
        raise FileRefused(source, "the file holds NUL characters: it is binary, not a CSV file")
    return text


def _head(data: Path | bytes, size: int = _SNIFF) -> bytes:
    if isinstance(data, bytes):
        return data[:size]
    with data.open("rb") as f:
        return f.read(size)


def _detect_delimiter(text: str) -> str:
    """The candidate that splits the header line into the most fields (`,` when none does)."""
    counts = {d: len(next(csv.reader(io.StringIO(text), delimiter=d), [])) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] > 1 else ","


def _read_grid(
    data: Path | bytes, source: str, delimiter: str, header_fields: int, first=0, skip=0
) -> pl.DataFrame:
    """All cells as text, rows numbered from `first`, the first `skip` lines left out.

    A row with more fields than the header keeps EXTRA_FIELDS more of them; one with more still
    is marked (`MORE`), so no text is ever dropped unseen. Room is made only when a row needs
    it, and never more than that: one row of thousands of fields costs no more than one of ten.
    """
    try:
        return _csv(data, source, delimiter, header_fields, first, skip)
    except _MoreFields:
        width = header_fields + EXTRA_FIELDS
        grid = _csv(data, source, delimiter, width, first, skip, truncate=True)
        return _mark_longer(grid, data, source, delimiter, width, skip)


def _csv(data, source, delimiter, width, first, skip, truncate=False) -> pl.DataFrame:
    try:
        return pl.read_csv(
            data,
            has_header=False,
            schema={f"c{i}": pl.String for i in range(width)},
            separator=delimiter,
            missing_columns="insert",
            truncate_ragged_lines=truncate,
            extra_columns="ignore" if truncate else "raise",  # a first line longer than `width`
            raise_if_empty=True,
            skip_lines=skip,
            row_index_name=POSITION,  # in step with the cells' chunks, unlike with_row_index
            row_index_offset=first,
            glob=False,  # a file named `bad[1].csv` is that file, not a pattern
        )
    except pl.exceptions.NoDataError:
        raise FileRefused(source, "the file is empty; nothing to import") from None
    except (pl.exceptions.ComputeError, pl.exceptions.SchemaError) as e:
        if _utf8_error(e):
            raise _NotUtf8 from None
        if "more fields" in str(e) or "not specified in schema" in str(e):
            raise _MoreFields from None
        raise FileRefused(source, _problem(e)) from None


def _utf8_error(error: Exception) -> bool:
    return "invalid utf-8" in str(error).lower()


def _scan_refusal(source: str, error: Exception) -> FileRefused:
    """Why a streamed file's lazily read pieces cannot be read, said for the sender."""
    return FileRefused(source, _NOT_UTF8 if _utf8_error(error) else _problem(error))


def _problem(error: Exception) -> str:
    first = first_line(error)
    if "malformed" in first or "could not parse" in first:  # polars' words for a stray quote
        found = re.search(r"could not parse `([^`]{1,40})", first)
        near = f" (near {found[1]!r})" if found else ""
        return (
            f'a quote (") inside a field that is not quoted as a whole, or a quoted field never '
            f'closed{near}; quote the whole field and double the quotes in it ("12"" Pizza"), '
            "or remove the quote"
        )
    return "cannot read the file as CSV: " + first


def _mark_longer(grid, data, source: str, delimiter: str, width: int, skip: int) -> pl.DataFrame:
    """`grid`, read keeping `width` cells a row, with `MORE` set on the rows that had text in a
    field beyond them.

    Told from the raw lines: a record's fields are its delimiters outside quotes (all of its
    delimiters less those inside its cells) plus one, trailing empty fields not counted. A line
    ends a record when the quotes so far are even, as polars splits them; should the two
    readings disagree, which row is long cannot be told and the file is refused.
    """
    line, d = pl.col("line"), delimiter
    lines = pl.read_lines(data, name="line").select(
        ends=line.str.count_matches('"', literal=True).cum_sum() % 2 == 0,
        inner=line.str.count_matches(d, literal=True),
        last=line.str.strip_chars_end(f" \t\r{d}").str.count_matches(d, literal=True),
    )
    delimiters = (
        lines.select(
            record=pl.col("ends").cast(pl.Int64).cum_sum().shift(1, fill_value=0),
            delimiters=pl.when("ends").then("last").otherwise("inner"),
        )
        .group_by("record", maintain_order=True)
        .agg(pl.col("delimiters").sum())["delimiters"]
    )
    if delimiters.len() != grid.height + skip:
        raise FileRefused(
            source,
            "a row has more fields than the header and which one cannot be told; "
            "check the delimiter and quotes",
        )
    cells = [c for c in grid.columns if c != POSITION]
    quoted = pl.sum_horizontal(pl.col(c).str.count_matches(d, literal=True) for c in cells)
    return grid.with_columns((delimiters.slice(skip) - quoted >= width).alias(MORE))


def _records_in(data: Path | bytes) -> int:
    """How many records the file holds (polars counts lines, minding quotes, without parsing)."""
    lines = pl.scan_csv(
        data, has_header=False, schema={"c": pl.String}, truncate_ragged_lines=True, glob=False
    )
    return lines.select(pl.len()).collect().item()


def _holds_nul(data: Path | bytes) -> bool:
    if isinstance(data, bytes):
        return b"\x00" in data
    with data.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as text:
        return text.find(b"\x00") >= 0
