"""Files built to hurt: gzip bombs, floods of blank lines, NUL bytes, blank lines above the
header, rows of thousands of fields. Each is imported or refused with one line, in bounded
memory, and what is stored is asserted.

The limits are module constants made small here, so the cases stay small and fast.
"""

import gc
import gzip
import json
import tempfile

import polars as pl
import pytest

import pipeline.grid
import pipeline.read
from helpers import HEADER, query
from pipeline.options import RunOptions
from pipeline.read import read_batch

GOOD = "Internet access,Retail,Monthly,Europe/Paris,postpaid,EUR,100,,,"


def row(name: str) -> str:
    return f"{name},{GOOD}"


@pytest.fixture
def run_import(onboard, reference_path):
    """Import a file; returns (click result, parsed JSON summary or None)."""

    def run(path):
        args = ["import", str(path), "--reference", str(reference_path), "--as-of", "2026-11-26"]
        result = onboard(*args, "--json")
        return result, json.loads(result.stdout) if result.stdout.strip() else None

    return run


@pytest.fixture(params=["whole", "streamed"])
def read_as(request, monkeypatch):
    """Both ways a text file is read; streamed in tiny blocks and pieces, so that every cut
    between pieces (and a blank block skipped unparsed) is met on a small file."""
    if request.param == "streamed":
        monkeypatch.setattr(pipeline.read, "STREAM_BYTES", 0)
        monkeypatch.setattr(pipeline.read, "READ_BLOCK", 64)
        monkeypatch.setattr(pipeline.read, "CHUNK_ROWS", 2)
        monkeypatch.setattr(pipeline.grid, "CHUNK_ROWS", 2)
    return request.param


@pytest.fixture
def tmp_folder(tmp_path, monkeypatch):
    """The temporary folder the reader decompresses into, to see what it leaves there."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def assert_refused(result, path, db, reason: str) -> None:
    assert result.exit_code == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"onboard: error: {path}: ") and reason in line
    assert "Traceback" not in result.output
    assert query(db, "SELECT count(*) FROM batches UNION ALL SELECT count(*) FROM customers") == [
        (0,),
        (0,),
    ]


# gzip bombs and floods of blank lines


def test_a_gzip_flood_of_blank_lines_imports_its_rows_and_counts_the_blanks(
    tmp_path, db, run_import, tmp_folder
):
    text = f"{HEADER}\n{row('Ann Co')}\n" + "\n" * 1_000_000 + f"{row('Bob Co')}\n"
    path = tmp_path / "flood.csv.gz"
    path.write_bytes(gzip.compress(text.encode()))
    result, summary = run_import(path)
    assert (summary["rows_accepted"], summary["blank_rows"]) == (2, 1_000_000), result.output
    assert "gzip" in summary["notes"]
    assert query(db, "SELECT name, source_row FROM customers ORDER BY 2") == [
        ("Ann Co", 2),
        ("Bob Co", 1_000_003),
    ]
    assert list(tmp_folder.iterdir()) == []  # the decompressed copy is gone


def test_a_utf16_gzip_flood_is_transcoded_block_by_block(tmp_path, db, run_import, monkeypatch):
    monkeypatch.setattr(pipeline.read, "STREAM_BYTES", 1000)
    text = f"{HEADER}\r\n{row('Café Co')}\r\n" + "\r\n" * 200_000 + f"{row('Œuvre')}\r\n"
    path = tmp_path / "unicode.csv.gz"
    path.write_bytes(gzip.compress(b"\xff\xfe" + text.encode("utf-16-le")))
    result, summary = run_import(path)
    assert (summary["rows_accepted"], summary["blank_rows"]) == (2, 200_000), result.output
    assert "encoding utf-16" in summary["notes"]
    assert query(db, "SELECT name, source_row FROM customers ORDER BY 2") == [
        ("Café Co", 2),
        ("Œuvre", 200_003),
    ]


def test_a_plain_flood_of_blank_lines_is_read_in_pieces_not_parsed(tmp_path, monkeypatch):
    """A small file of blank lines would make a grid of millions of rows: it is streamed, and
    its blocks of blank lines are counted without polars parsing them."""
    parsed, read_grid = [], pipeline.read._read_grid

    def spy(*args, **kwargs):
        grid = read_grid(*args, **kwargs)
        parsed.append(grid.height)
        return grid

    monkeypatch.setattr(pipeline.read, "_read_grid", spy)
    path = tmp_path / "flood.csv"
    path.write_text(f"{HEADER}\n{row('Ann Co')}\n" + " \n,,\n" * 1_000_000 + row("Bob Co"))
    read = read_batch(path, RunOptions(as_of=None))
    assert read.frame is None  # streamed
    chunks = list(read.chunks())
    assert sum(parsed) < 200_000  # rows parsed: only where the flood starts and ends
    assert sum(blank for _, blank in chunks) == 2_000_000
    assert pl.concat(c for c, _ in chunks).select("name", "source_row").rows() == [
        ("Ann Co", 2),
        ("Bob Co", 2_000_003),
    ]


def test_a_file_of_many_short_lines_in_windows_1252_reads_as_when_read_whole(
    tmp_path, db, run_import, monkeypatch
):
    """Streamed because its cells outnumber its bytes, it still has its encoding told from all
    of its bytes, as a file read whole does (a large file must be UTF-8 or name --encoding)."""
    monkeypatch.setattr(pipeline.read, "STREAM_CELLS", 0)
    text = f"{HEADER}\r\n{row('Café Müller')}\r\n" + ",\r\n" * 1000 + row("Señora Peña")
    path = tmp_path / "b.csv"
    path.write_bytes(text.encode("cp1252"))
    assert read_batch(path, RunOptions(as_of=None)).frame is None  # streamed
    result, summary = run_import(path)
    assert (summary["rows_accepted"], summary["blank_rows"]) == (2, 1000), result.output
    assert "encoding windows-1252" in summary["notes"]
    assert query(db, "SELECT name FROM customers ORDER BY source_row") == [
        ("Café Müller",),
        ("Señora Peña",),
    ]


def test_a_gzip_file_expanding_beyond_the_limit_is_refused_leaving_nothing(
    tmp_path, db, onboard, reference_path, monkeypatch, tmp_folder
):
    monkeypatch.setattr(pipeline.read, "GUNZIP_LIMIT", 1 << 20)
    path = tmp_path / "bomb.csv.gz"
    path.write_bytes(gzip.compress(f"{HEADER}\n".encode() + b"\n" * (2 << 20)))
    result = onboard("import", str(path), "--reference", str(reference_path))
    assert_refused(result, path, db, "the gzip file expands to more than 1 MiB of text")
    assert list(tmp_folder.iterdir()) == []


def test_the_decompressed_text_lives_as_long_as_the_result(tmp_path, monkeypatch, tmp_folder):
    monkeypatch.setattr(pipeline.read, "STREAM_BYTES", 0)  # read later, by chunks()
    path = tmp_path / "batch.csv.gz"
    path.write_bytes(gzip.compress(f"{HEADER}\n{row('Ann Co')}\n".encode()))
    read = read_batch(path, RunOptions(as_of=None))
    [copy] = tmp_folder.iterdir()
    assert copy.read_text().startswith(HEADER)
    [(records, _)] = read.chunks()
    assert records["name"].to_list() == ["Ann Co"]
    del read, records
    gc.collect()
    assert not copy.exists()


def test_a_temporary_folder_that_cannot_be_written_stops_the_batch(
    tmp_path, db, onboard, reference_path, monkeypatch
):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "missing"))
    path = tmp_path / "batch.csv.gz"
    path.write_bytes(gzip.compress(f"{HEADER}\n{row('Ann Co')}\n".encode()))
    result = onboard("import", str(path), "--reference", str(reference_path))
    assert result.exit_code == 1  # not the file's fault: it is not refused
    [line] = result.stderr.strip().splitlines()
    assert (
        f"cannot write the file's text into {tmp_path / 'missing'}" in line and "set TMPDIR" in line
    )
    assert query(db, "SELECT status FROM batches") == [("failed",)]
    assert query(db, "SELECT count(*) FROM customers") == [(0,)]


# NUL bytes


@pytest.mark.parametrize("form", ["plain", "streamed", "gzip"])
def test_a_nul_byte_past_the_first_64_kib_refuses_the_file(
    tmp_path, db, onboard, reference_path, monkeypatch, form
):
    lines = [HEADER, *(row(f"Co {n}") for n in range(2000)), row("Nul\x00Co")]
    text = ("\n".join(lines) + "\n").encode()
    assert text.index(b"\x00") > 64 * 1024
    path = tmp_path / ("batch.csv.gz" if form == "gzip" else "batch.csv")
    path.write_bytes(gzip.compress(text) if form == "gzip" else text)
    if form == "streamed":
        monkeypatch.setattr(pipeline.read, "STREAM_BYTES", 0)
    result = onboard("import", str(path), "--reference", str(reference_path))
    assert_refused(result, path, db, "the file holds NUL bytes")


def test_a_streamed_file_not_utf8_is_refused_also_when_its_unnamed_columns_are_looked_at(
    tmp_path, db, onboard, reference_path, monkeypatch
):
    monkeypatch.setattr(pipeline.read, "STREAM_BYTES", 0)
    path = tmp_path / "b.csv"
    path.write_bytes(f"{HEADER},\n{row('Café Co')},\n".encode("cp1252"))
    result = onboard("import", str(path), "--reference", str(reference_path))
    assert_refused(result, path, db, "the file is not UTF-8 text; pass --encoding")


# blank lines above the header row


@pytest.mark.parametrize(
    ("delimiter", "name"), [(",", "','"), (";", "';'"), ("\t", "tab"), ("|", "'|'")]
)
def test_blank_lines_above_the_header_are_skipped_and_rows_keep_their_line(
    tmp_path, db, run_import, read_as, delimiter, name
):
    lines = ["\ufeff", "   ", "\t", HEADER, row("Ann Co"), "", row("Bob Co")]
    path = tmp_path / "b.csv"
    path.write_text("\r\n".join(lines).replace(",", delimiter) + "\r\n")
    result, summary = run_import(path)
    assert (summary["rows_accepted"], summary["blank_rows"]) == (2, 1), result.output
    assert f"delimiter {name}" in summary["notes"]
    assert query(db, "SELECT name, source_row FROM customers ORDER BY 2") == [
        ("Ann Co", 5),
        ("Bob Co", 7),
    ]


def test_a_file_blank_for_its_first_64_kib_is_refused(tmp_path, db, onboard, reference_path):
    path = tmp_path / "b.csv"
    path.write_text("\n" * 70_000 + f"{HEADER}\n{row('Ann Co')}\n")
    result = onboard("import", str(path), "--reference", str(reference_path))
    assert_refused(result, path, db, "the first 64 KiB hold only blank lines, no header row")


def test_a_header_row_with_a_carriage_return_alone_is_refused(
    tmp_path, db, onboard, reference_path
):
    path = tmp_path / "b.csv"
    path.write_text(f"{HEADER.replace('currency', 'curr' + chr(13) + 'ency')}\n{row('Ann')}\n")
    result = onboard("import", str(path), "--reference", str(reference_path))
    assert_refused(result, path, db, "the header row holds a stray line break")


# rows with more fields than the header


def test_rows_longer_than_the_header_are_malformed_and_nothing_is_dropped_unseen(
    tmp_path, db, run_import, read_as
):
    many = ",".join(f"x{n}" for n in range(800))
    lines = [
        HEADER,
        row("Ann Co"),
        f"{row('Wide Co')},{many}",  # 800 more fields
        f"{row('Far Co')}{',' * 30}far",  # the fields read beyond the header are empty
        f"{row('Few Co')},surplus,more",
        f"{row('Trailing Co')}{',' * 40}",  # trailing empty fields are no error
        row("Bob Co"),
    ]
    path = tmp_path / "b.csv"
    path.write_text("\n".join(lines) + "\n")
    result, summary = run_import(path)
    assert summary["rows_accepted"] == 3, result.output
    assert query(db, "SELECT name FROM customers ORDER BY source_row") == [
        ("Ann Co",),
        ("Trailing Co",),
        ("Bob Co",),
    ]
    rejected = query(
        db, "SELECT source_row, rule, message, original FROM rejections ORDER BY source_row"
    )
    assert [(r[0], r[1]) for r in rejected] == [(n, "malformed_row") for n in (3, 4, 5)]
    extras = [json.loads(r[3])["__extra__"] for r in rejected]
    assert extras == ["x0 | x1 | x2 | x3 | x4 | x5 | x6 | x7 | …", "…", "surplus | more"]
    assert "extra values: x0 | x1 | x2 | x3 | x4 | x5 | x6 | x7 | …;" in rejected[0][2]


def test_a_row_of_thousands_of_fields_makes_no_wider_grid(tmp_path, monkeypatch):
    """The grid keeps EXTRA_FIELDS cells beyond the header's, however long the longest row:
    a million rows with one long row must not become a million rows of thousands of cells."""
    widths = []
    read_csv = pl.read_csv

    def spy(*args, schema, **kwargs):
        widths.append(len(schema))
        return read_csv(*args, schema=schema, **kwargs)

    monkeypatch.setattr(pl, "read_csv", spy)
    path = tmp_path / "b.csv"
    path.write_text("a,b,c\n1,2,3\n" + "x," * 5000 + "y\n4,5,6\n")
    read = read_batch(path, RunOptions(as_of=None))
    assert max(widths) == 3 + pipeline.read.EXTRA_FIELDS
    assert read.frame.select("a", "__extra__", "source_row").rows() == [
        ("1", None, 2),
        ("x", "x | x | x | x | x | x | x | x | …", 3),
        ("4", None, 4),
    ]


def test_when_the_raw_lines_and_the_grid_disagree_the_file_is_refused():
    """Which row is long is told from the raw lines; should they split into records otherwise
    than the grid did, nothing is guessed."""
    grid = pl.read_csv(
        b"a,b\n1,2\n",
        has_header=False,
        schema={"c0": pl.String, "c1": pl.String},
        row_index_name="__position__",
    )
    with pytest.raises(pipeline.read.FileRefused, match="which one cannot be told"):
        pipeline.read._mark_longer(grid, b"a,b\n1,2\n3,4\n", "b.csv", ",", 2, 0)
