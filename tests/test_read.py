"""Reading the files people send: encodings, delimiters, decimal commas, gzip, odd rows.

Each case imports a small file built here and asserts what is stored, not only the exit code.
"""

import gzip
import json

import pytest

from helpers import HEADER, query
from pipeline.errors import FileRefused
from pipeline.options import RunOptions
from pipeline.read import read_batch

AS_OF = "2026-11-26"


@pytest.fixture
def run_import(onboard, reference_path):
    """Import files; returns (click result, parsed JSON summary or None)."""

    def run(*args: str):
        result = onboard(
            "import",
            *map(str, args),
            "--reference",
            str(reference_path),
            "--as-of",
            AS_OF,
            "--json",
        )
        summary = json.loads(result.stdout) if result.stdout.strip() else None
        return result, summary

    return run


def write(path, text: str, encoding: str = "utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


ROW = (
    "{name}{d}Internet access{d}Retail{d}Monthly{d}Europe/Paris{d}postpaid{d}EUR{d}{limit}{d}{d}{d}"
)


def rows(d: str, *names: str, limit: str = "100") -> str:
    header = HEADER.replace(",", d)
    return "\r\n".join([header, *(ROW.format(name=n, d=d, limit=limit) for n in names)]) + "\r\n"


@pytest.mark.parametrize(
    ("encoding", "bom"),
    [
        ("utf-8", b""),
        ("utf-8", b"\xef\xbb\xbf"),
        ("utf-16-le", b"\xff\xfe"),
        ("utf-16-be", b"\xfe\xff"),
        ("utf-32-le", b"\xff\xfe\x00\x00"),
        ("utf-32-be", b"\x00\x00\xfe\xff"),
        ("cp1252", b""),
    ],
)
def test_encodings_are_detected_and_names_keep_their_letters(
    tmp_path, db, run_import, encoding, bom
):
    path = tmp_path / "batch.csv"
    path.write_bytes(bom + rows(",", "Café Müller", "Señora Peña", "Œuvre").encode(encoding))
    result, summary = run_import(path)
    assert result.exit_code == 0, result.output
    assert summary["rows_accepted"] == 3
    names = {r[0] for r in query(db, "SELECT name FROM customers")}
    assert names == {"Café Müller", "Señora Peña", "Œuvre"}
    expected = {"cp1252": "windows-1252"}.get(encoding, encoding.removesuffix("-le"))
    expected = expected.removesuffix("-be")  # said without the byte order its BOM gave
    assert f"encoding {expected}" in summary["notes"]


def test_latin1_bytes_undefined_in_windows_1252_read_as_latin1(tmp_path, db, run_import):
    path = write(tmp_path / "b.csv", rows(",", "Caf\x81 Zone"), "latin-1")
    result, summary = run_import(path)
    assert "encoding latin-1" in summary["notes"]
    # U+0081 is a control character: the name is rejected, with the value decoded as sent.
    assert query(db, "SELECT rule, value FROM rejections") == [
        ("name_control_characters", "Caf\x81 Zone")
    ]


def test_encoding_option_overrides_detection(tmp_path, db, onboard, reference_path):
    # Valid UTF-8 bytes that the sender meant as Windows-1252: only --encoding can say so.
    path = tmp_path / "b.csv"
    path.write_bytes(rows(",", "Ã©cole").encode("utf-8"))
    result = onboard(
        "import", str(path), "--reference", str(reference_path), "--encoding", "windows-1252"
    )
    assert result.exit_code == 0
    assert query(db, "SELECT name FROM customers") == [("ÃƒÂ©cole",)]


@pytest.mark.parametrize(
    ("delimiter", "name"), [(",", "','"), (";", "';'"), ("\t", "tab"), ("|", "'|'")]
)
def test_delimiters_are_detected(tmp_path, db, run_import, delimiter, name):
    path = write(tmp_path / "b.csv", rows(delimiter, "Ann Co", "Bob Co", limit="100"))
    result, summary = run_import(path)
    assert summary["rows_accepted"] == 2, result.output
    assert f"delimiter {name}" in summary["notes"]
    assert query(db, "SELECT credit_limit FROM customers ORDER BY name")[0][0] == 100


def test_delimiter_option_overrides_detection(tmp_path, onboard, reference_path, db):
    # A quoted header cell full of semicolons makes `;` look likelier than `,`.
    notes = '"' + ";".join("abcdefghijklmnopqrst") + '"'
    text = rows(",", "Ann Co").replace("tax_id", f"tax_id,{notes}", 1)
    path = write(tmp_path / "b.csv", text)
    detected = onboard("import", str(path), "--reference", str(reference_path))
    assert detected.exit_code == 2
    result = onboard("import", str(path), "--reference", str(reference_path), "--delimiter", ",")
    assert result.exit_code == 0, result.output
    assert query(db, "SELECT name FROM customers") == [("Ann Co",)]


def test_quoted_fields_hold_delimiters_and_line_breaks(tmp_path, db, run_import):
    text = rows(",", '"Smith, Jones & Co"', '"Two\nLines"', "After Break")
    result, summary = run_import(write(tmp_path / "b.csv", text))
    assert summary["rows_read"] == 3
    assert query(db, "SELECT name, source_row FROM customers ORDER BY source_row") == [
        ("Smith, Jones & Co", 2),
        ("After Break", 4),
    ]
    [(rule, row)] = query(db, "SELECT rule, source_row FROM rejections")
    assert (rule, row) == ("name_control_characters", 3)


@pytest.mark.parametrize(
    ("text", "flag", "stored_limit", "rule"),
    [
        (rows(";", "A Co", limit="1500,50"), None, "1500.5000", None),
        (rows(";", "A Co", limit="1.500,00"), None, None, "credit_limit_not_a_number"),
        (rows(";", "A Co", limit="1500.50"), None, None, "credit_limit_not_a_number"),
        (rows(";", "A Co", limit="1500.50"), "--decimal-point", "1500.5000", None),
        (rows(",", "A Co", limit='"1500,50"'), "--decimal-comma", "1500.5000", None),
        (rows(",", "A Co", limit='"1,000"'), None, None, "credit_limit_not_a_number"),
    ],
)
def test_decimal_comma_applies_in_semicolon_files_and_is_never_guessed(
    tmp_path, db, onboard, reference_path, text, flag, stored_limit, rule
):
    path = write(tmp_path / "b.csv", text)
    args = ["import", str(path), "--reference", str(reference_path), "--json"]
    summary = json.loads(onboard(*args, *([flag] if flag else [])).stdout)
    limits = [str(r[0]) for r in query(db, "SELECT credit_limit FROM customers")]
    assert limits == ([stored_limit] if stored_limit else [])
    assert list(summary["rules"]) == ([rule] if rule else [])
    comma = flag == "--decimal-comma" or (flag is None and ";" in text.splitlines()[0])
    assert ("decimal comma" if comma else "decimal point") in summary["notes"]


def test_gzip_files_are_read_as_they_are(tmp_path, db, run_import):
    path = tmp_path / "batch.csv.gz"
    path.write_bytes(gzip.compress(rows(",", "Ann Co", "Bob Co").encode()))
    result, summary = run_import(path)
    assert summary["rows_accepted"] == 2
    assert "gzip" in summary["notes"]


def test_blank_lines_and_delimiter_only_lines_are_skipped_and_counted(tmp_path, db, run_import):
    text = (
        rows(",", "Ann Co")
        + "\r\n,,,,,,,,,,\r\n   \r\n"
        + ROW.format(name="Bob Co", d=",", limit="1")
        + "\r\n"
    )
    result, summary = run_import(write(tmp_path / "b.csv", text))
    assert (summary["rows_read"], summary["blank_rows"], summary["rows_accepted"]) == (2, 3, 2)
    assert query(db, "SELECT name, source_row FROM customers ORDER BY 2") == [
        ("Ann Co", 2),
        ("Bob Co", 6),
    ]
    assert query(db, "SELECT rows_read, blank_rows FROM batches") == [(2, 3)]


def test_more_fields_than_the_header_is_malformed_and_fewer_are_empty(tmp_path, db, run_import):
    text = (
        rows(",", "Ann Co") + "Extra Co,Internet access,Retail,Monthly,Europe/Paris,"
        "postpaid,EUR,100,,,,surplus,more\r\nShort Co,Internet access\r\n"
    )
    result, summary = run_import(write(tmp_path / "b.csv", text))
    assert summary["rows_accepted"] == 1
    found = query(db, "SELECT source_row, rule, message FROM rejections ORDER BY 1, 2")
    assert found[0][:2] == (3, "malformed_row")
    assert "extra values: surplus | more" in found[0][2]
    assert {r[1] for r in found if r[0] == 4} == {
        "customer_class_required",
        "billing_period_required",
        "billing_period_timezone_required",
        "balance_control_required",
        "currency_required",
    }
    original = json.loads(query(db, "SELECT original FROM rejections WHERE source_row = 3")[0][0])
    assert original["name"] == "Extra Co" and original["__extra__"] == "surplus | more"


def test_many_more_fields_than_the_header_still_reads(tmp_path, db, run_import):
    text = rows(",", "Ann Co") + "Wide Co" + ",x" * 200 + "\r\n"
    result, summary = run_import(write(tmp_path / "b.csv", text))
    assert summary["rules"].get("malformed_row") == 1
    assert summary["rows_accepted"] == 1


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "the file is empty"),
        (b"   \n\n", "the file is empty"),
        (b"name,currency\x00\x01\x02\n", "NUL bytes"),
        (bytes(range(256)) * 40, "NUL bytes"),
        (b"x" * (3 << 20), "no line break in the first MiB"),
        (b"\x1f\x8b\x08\x00garbage", "not a readable gzip file"),
        (b"PK\x03\x04garbage", ""),
    ],
)
def test_unreadable_files_are_refused_with_one_line(
    tmp_path, db, onboard, reference_path, content, reason
):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    result = onboard("import", str(path), "--reference", str(reference_path))
    assert result.exit_code == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"onboard: error: {path}: ")
    assert reason in line
    assert "Traceback" not in result.output
    assert query(db, "SELECT count(*) FROM customers UNION ALL SELECT count(*) FROM batches") == [
        (0,),
        (0,),
    ]


def test_map_reads_a_senders_header_as_a_column(tmp_path, db, onboard, reference_path):
    path = write(tmp_path / "b.csv", rows(",", "Ann Co").replace("name,", "Client,", 1))
    refused = onboard("import", str(path), "--reference", str(reference_path))
    assert refused.exit_code == 2
    assert "missing required column(s) name" in refused.stderr
    result = onboard(
        "import", str(path), "--reference", str(reference_path), "--map", "Client=name"
    )
    assert result.exit_code == 0
    assert query(db, "SELECT name FROM customers") == [("Ann Co",)]


def test_map_to_an_unknown_column_is_a_usage_error(tmp_path, onboard, reference_path):
    path = write(tmp_path / "b.csv", rows(",", "Ann Co"))
    result = onboard("import", str(path), "--reference", str(reference_path), "--map", "A=nope")
    assert result.exit_code == 2
    assert "unknown column 'nope'" in result.stderr


def test_a_column_given_twice_is_refused(tmp_path, db, onboard, reference_path):
    path = write(
        tmp_path / "b.csv", rows(",", "Ann Co").replace("currency,", "Currency,Currency,", 1)
    )
    result = onboard("import", str(path), "--reference", str(reference_path))
    assert result.exit_code == 2
    assert "column 'currency' is given twice" in result.stderr


@pytest.mark.parametrize(
    ("created", "date_format", "stored_date", "rule"),
    [
        ("2026-11-03", None, "2026-11-03", None),
        ("03/04/2026", None, None, "created_on_invalid"),
        ("03/04/2026", "%d/%m/%Y", "2026-04-03", None),
        ("03/04/2026", "%m/%d/%Y", "2026-03-04", None),
        ("31/02/2026", "%d/%m/%Y", None, "created_on_invalid"),
        ("3.4.2026", "dmy", "2026-04-03", None),
        ("03/04/26", "mdy", "2026-03-04", None),
        ("3 April 2026", "dmy", "2026-04-03", None),
        ("2026-11-03", "dmy", "2026-11-03", None),
        ("March 2026", "dmy", None, "created_on_invalid"),
        ("31/02/2026", "dmy", None, "created_on_invalid"),
    ],
)
def test_text_dates_are_never_guessed(
    tmp_path, db, onboard, reference_path, created, date_format, stored_date, rule
):
    text = rows(",", "Ann Co").replace(",,,\r\n", f",,{created},\r\n")
    path = write(tmp_path / "b.csv", text)
    extra = ["--date-format", date_format] if date_format else []
    onboard("import", str(path), "--reference", str(reference_path), *extra)
    dates = [str(r[0]) for r in query(db, "SELECT created_on FROM customers")]
    assert dates == ([stored_date] if stored_date else [])
    messages = query(db, "SELECT rule, message FROM rejections")
    assert [m[0] for m in messages] == ([rule] if rule else [])
    if rule and not date_format:
        assert "--date-format %d/%m/%Y" in messages[0][1]


def test_a_folder_imports_each_supported_file_as_its_own_batch(tmp_path, db, run_import):
    folder = tmp_path / "in"
    folder.mkdir()
    write(folder / "b.csv", rows(",", "Bob Co"))
    write(folder / "a.csv", rows(",", "Ann Co"))
    write(folder / "c.csv", "")
    write(folder / "notes.toml", "not a batch")
    result, summaries = run_import(folder)
    assert result.exit_code == 2  # the worst of the files
    assert [(s["source"].rsplit("/", 1)[1], s["status"]) for s in summaries] == [
        ("a.csv", "committed"),
        ("b.csv", "committed"),
        ("c.csv", "file_refused"),
    ]
    assert query(
        db, "SELECT source, name FROM customers JOIN batches USING (batch_id) ORDER BY batch_id"
    ) == [(str(folder / "a.csv"), "Ann Co"), (str(folder / "b.csv"), "Bob Co")]


def test_read_batch_returns_text_columns_and_spreadsheet_row_numbers(tmp_path):
    path = write(tmp_path / "b.csv", 'a,b\n00789,12345\n\n"x\ny",2\n')
    read = read_batch(path, RunOptions(as_of=None))
    assert read.headers == ["a", "b"]
    assert read.frame.select("a", "b", "source_row").rows() == [
        ("00789", "12345", 2),
        ("x\ny", "2", 4),
    ]
    assert read.blank_rows == 1


def test_read_batch_refuses_a_missing_file(tmp_path):
    with pytest.raises(FileRefused, match="no such file"):
        read_batch(tmp_path / "nope.csv", RunOptions(as_of=None))


def _workbook(path, rows, date_1904=False, title=True):
    import datetime as dt

    import xlsxwriter

    workbook = xlsxwriter.Workbook(str(path), {"date_1904": date_1904})
    workbook.add_worksheet("Read me").write(0, 0, "Instructions for the clerk")
    sheet = workbook.add_worksheet("Customers")
    dated = workbook.add_format({"num_format": "yyyy-mm-dd"})
    top = 2 if title else 0
    if title:
        sheet.write(0, 0, "Customers of November")
    for col, header in enumerate(HEADER.split(",")):
        sheet.write_string(top, col, header)
    for r, row in enumerate(rows, start=top + 1):
        for c, value in enumerate(row):
            if isinstance(value, dt.date):
                sheet.write_datetime(r, c, dt.datetime.combine(value, dt.time()), dated)
            elif isinstance(value, int | float):
                sheet.write_number(r, c, value)
            elif value is not None:
                sheet.write_string(r, c, value)
    workbook.close()
    return path


@pytest.mark.parametrize("date_1904", [False, True])
def test_workbook_values_arrive_as_typed(tmp_path, db, run_import, date_1904):
    import datetime as dt

    good = ["Internet access", "Retail", "Monthly", "Europe/Paris", "postpaid", "EUR"]
    rows = [
        ["00789", *good, 1200.5, None, dt.date(2026, 11, 2)],
        [12345, *good, 99.99, None, dt.date(2024, 2, 29)],
    ]
    path = _workbook(tmp_path / "batch.xlsx", rows, date_1904=date_1904)
    result, summary = run_import(path)
    assert summary["rows_accepted"] == 2, result.output
    assert "sheet 'Customers' (2 of 2), header on row 3" in summary["notes"]
    assert query(
        db,
        "SELECT name, credit_limit::VARCHAR, created_on::VARCHAR, source_row "
        "FROM customers ORDER BY source_row",
    ) == [
        ("00789", "1200.5000", "2026-11-02", 4),
        ("12345", "99.9900", "2024-02-29", 5),
    ]


def test_a_workbook_sent_with_a_csv_name_still_reads(tmp_path, db, run_import):
    good = ["Internet access", "Retail", "Monthly", "Europe/Paris", "postpaid", "EUR"]
    path = _workbook(tmp_path / "batch.xlsx", [["Ann Co", *good, 10, None, None]])
    renamed = path.rename(tmp_path / "batch.csv")
    result, summary = run_import(renamed)
    assert summary["rows_accepted"] == 1
    assert query(db, "SELECT name, source_row FROM customers") == [("Ann Co", 4)]


def test_a_sheet_without_the_required_columns_is_refused(tmp_path, db, onboard, reference_path):
    path = _workbook(tmp_path / "batch.xlsx", [])
    result = onboard("import", str(path), "--reference", str(reference_path), "--sheet", "1")
    assert result.exit_code == 2
    assert str(path) in result.stderr and "Read me" in result.stderr


def test_progress_is_silent_when_stderr_is_not_a_terminal(tmp_path, run_import):
    result, summary = run_import(write(tmp_path / "b.csv", rows(",", "Ann Co")))
    assert summary["rows_accepted"] == 1
    assert result.stderr == ""


def test_a_large_file_streamed_in_chunks_stores_what_a_whole_read_stores(
    tmp_path, onboard, reference_path, monkeypatch
):
    import pipeline.grid
    import pipeline.read

    text = (
        rows(",", "Ann Co", "Bob Co", "Cid Co", "ann  co", "Dan Co", "Eve Co", "Fay Co")
        + ",,,,,,,,,,\r\n"
        + "Gus Co,Internet access,Retail,Monthly,Europe/Paris,postpaid,EUR,1,,,,surplus\r\n"
        + ROW.format(name="BOB CO", d=",", limit="5")
        + "\r\n"
        + ROW.format(name="Hal Co", d=",", limit="x")
        + "\r\n"
    )
    path = write(tmp_path / "b.csv", text)

    def imported(db_name: str):
        db = tmp_path / db_name
        result = onboard(
            "import",
            str(path),
            "--reference",
            str(reference_path),
            "--as-of",
            AS_OF,
            "--json",
            "--db",
            str(db),
            with_db=False,
        )
        summary = json.loads(result.stdout)
        tables = (
            query(db, "SELECT name, source_row, current_period_end FROM customers ORDER BY 2"),
            query(db, "SELECT source_row, rule, message FROM rejections ORDER BY 1, 2"),
            query(db, "SELECT rows_read, rows_accepted, rows_rejected, blank_rows FROM batches"),
        )
        return summary, tables

    whole_summary, whole = imported("whole.duckdb")
    monkeypatch.setattr(pipeline.read, "CHUNK_ROWS", 3)
    monkeypatch.setattr(pipeline.grid, "CHUNK_ROWS", 3)
    chunked_summary, chunked = imported("chunked.duckdb")
    monkeypatch.setattr(pipeline.read, "STREAM_BYTES", 0)
    streamed_summary, streamed = imported("streamed.duckdb")
    assert chunked == whole
    assert streamed == whole
    assert whole[2] == [(10, 4, 6, 1)]
    assert "the name 'Ann Co' is also on row(s) 5 of this file; names must be unique" in [
        m for _, _, m in whole[1]
    ]
    assert streamed_summary["rules"] == chunked_summary["rules"] == whole_summary["rules"]
    assert streamed_summary["timings"].keys() == whole_summary["timings"].keys()


def test_a_streamed_file_takes_the_fix_file_guard_off_names_before_comparing_them(
    tmp_path, db, run_import, monkeypatch
):
    """The batch-wide pass over a streamed file's names sees them as its chunks do."""
    import pipeline.read

    monkeypatch.setattr(pipeline.read, "STREAM_BYTES", 0)
    path = write(tmp_path / "b.csv", rows(",", "'-Acme", "'-acme", "Bob Co"))
    result, summary = run_import(path)
    assert summary["rows_accepted"] == 1, result.output
    assert summary["rules"] == {"name_duplicate_in_batch": 2}
    assert query(db, "SELECT name FROM customers") == [("Bob Co",)]


def test_a_streamed_file_that_is_not_utf8_is_refused_with_what_to_do(
    tmp_path, db, onboard, reference_path, monkeypatch
):
    import pipeline.read

    monkeypatch.setattr(pipeline.read, "STREAM_BYTES", 0)
    path = write(tmp_path / "b.csv", rows(",", "Caf\u00e9 Co"), encoding="windows-1252")
    result = onboard("import", str(path), "--reference", str(reference_path))
    assert result.exit_code == 2
    assert f"{path}: the file is not UTF-8 text; pass --encoding" in result.stderr
    assert query(db, "SELECT count(*) FROM customers") == [(0,)]


def test_utf8_text_with_one_bad_byte_is_refused_not_read_as_windows_1252(
    tmp_path, db, onboard, reference_path
):
    path = tmp_path / "b.csv"
    text = rows(",", "Caf\u00e9 Z\u00fcrich", "Beta \x00uro").encode("utf-8")
    path.write_bytes(text.replace(b"\x00", b"\xff"))  # one byte no UTF-8 text holds
    result = onboard("import", str(path), "--reference", str(reference_path))
    assert result.exit_code == 2
    assert result.stderr == (
        f"onboard: error: {path}: the file is UTF-8 text but for byte 0xff on line 3; correct "
        "that character (or pass --encoding if the file is not UTF-8)\n"
    )
    assert query(db, "SELECT count(*) FROM customers") == [(0,)]
    forced = onboard("import", str(path), "--encoding", "windows-1252")
    assert forced.exit_code == 0  # as the operator says
    assert query(db, "SELECT name FROM customers ORDER BY 1")[0] == ("Beta \u00ffuro",)


def test_windows_1252_text_with_a_pair_that_reads_as_utf8_is_still_windows_1252(
    tmp_path, db, run_import
):
    # «ÉTÉ» holds the bytes C9 BB, which UTF-8 reads as one letter: the rest of the file is not
    path = write(tmp_path / "b.csv", rows(",", "«ÉTÉ» Café", "Señora Peña"), "windows-1252")
    result, summary = run_import(path)
    assert "encoding windows-1252" in summary["notes"], result.output
    names = query(db, "SELECT name FROM customers ORDER BY name")
    assert names == [("Señora Peña",), ("«ÉTÉ» Café",)]


def test_old_mac_line_ends_read_as_lines(tmp_path, db, run_import):
    path = write(tmp_path / "b.csv", rows(",", "Ann Co", "Bob Co").replace("\r\n", "\r"))
    result, summary = run_import(path)
    assert summary["rows_accepted"] == 2, result.output
    assert query(db, "SELECT name, source_row FROM customers ORDER BY 2") == [
        ("Ann Co", 2),
        ("Bob Co", 3),
    ]


@pytest.fixture(params=["whole", "streamed"])
def read_as(request, monkeypatch):
    """Both ways a text file is read: whole into memory, or streamed as a large one is."""
    import pipeline.read

    if request.param == "streamed":
        monkeypatch.setattr(pipeline.read, "STREAM_BYTES", 0)
    return request.param


def test_trailing_delimiters_make_no_unnamed_columns(tmp_path, db, run_import, read_as):
    text = rows(",", "Ann Co").replace("\r\n", ",,\r\n")
    result, summary = run_import(write(tmp_path / "b.csv", text))
    assert summary["rows_accepted"] == 1
    assert summary["ignored_columns"] == []
    assert result.stderr == ""


def test_blank_fields_beyond_the_header_are_no_error(tmp_path, db, run_import, read_as):
    """Fields of spaces beyond the header are as empty as empty ones (`a,b,c, , `)."""
    row = ROW.format(name="Ann Co", d=",", limit="1")
    text = f"{HEADER}\r\n{row}, , \r\n{row.replace('Ann', 'Bob')},,x\r\n"
    result, summary = run_import(write(tmp_path / "b.csv", text))
    assert summary["rows_accepted"] == 1, result.output
    assert query(db, "SELECT name, rule, value FROM rejections") == [
        ("Bob Co", "malformed_row", None)
    ]


@pytest.mark.parametrize(
    ("record", "near"),
    [
        ('Tonys 12" Pizza', ""),  # a quote inside a field not quoted as a whole
        ('"Zeta" ', " (near '\"Zeta\" ')"),  # text after the closing quote
    ],
)
def test_a_stray_quote_refuses_the_file_saying_what_to_do(
    tmp_path, onboard, reference_path, record, near
):
    first, stray = (ROW.format(name=n, d=",", limit="1") for n in ("Ann", record))
    path = write(tmp_path / "b.csv", f"{HEADER}\r\n{first}\r\n{stray}\r\n")
    result = onboard("import", str(path), "--reference", str(reference_path))
    assert result.exit_code == 2
    assert result.stderr == (
        f'onboard: error: {path}: a quote (") inside a field that is not quoted as a whole, or a '
        f"quoted field never closed{near}; quote the whole field and double the quotes in it "
        '("12"" Pizza"), or remove the quote\n'
    )


def test_excels_sep_line_gives_the_delimiter(tmp_path, db, run_import, read_as):
    """`sep=;` above the header, as Excel writes it to say how the file splits."""
    text = "sep=;\r\n" + rows(";", "Ann Co", limit="1500,5")
    result, summary = run_import(write(tmp_path / "b.csv", text))
    assert summary["rows_accepted"] == 1, result.output
    assert "delimiter ';'" in summary["notes"]
    # the sep line is a line of the file: the header is on line 2, its first record row 3
    assert query(db, "SELECT name, credit_limit::VARCHAR, source_row FROM customers") == [
        ("Ann Co", "1500.5000", 3)
    ]


def test_an_unnamed_column_with_values_is_named_in_a_warning(tmp_path, run_import, read_as):
    row = ROW.format(name="Ann Co", d=",", limit="1")
    text = f"{HEADER},\r\n{row},note\r\n"
    result, summary = run_import(write(tmp_path / "b.csv", text))
    assert summary["rows_accepted"] == 1
    assert summary["ignored_columns"] == ["(unnamed column 12)"]
    assert "'(unnamed column 12)' is not a known column and was ignored" in result.stderr


def test_a_column_right_of_a_fix_files_reasons_holds_extra_cells_read_whole_or_streamed(
    tmp_path, db, run_import, read_as
):
    """Cells right of the reasons column are a malformed row's extra text (where the export
    puts it), whatever the file's size: a column a clerk added there is not read as data."""
    header = HEADER + ",errors (fix file of batch 7),note"
    ok = ROW.format(name="Ann Co", d=",", limit="1")
    text = f"{header}\r\n{ok},bad,\r\n{ok.replace('Ann', 'Bob')},bad,hello\r\n"
    result, summary = run_import(write(tmp_path / "fix.csv", text))
    assert summary["rows_accepted"] == 1, result.output
    assert summary["ignored_columns"] == []
    assert query(db, "SELECT name, rule, message FROM rejections") == [
        (
            "Bob Co",
            "malformed_row",
            "the row has more fields than the header; extra values: hello; quote values that "
            "contain the delimiter",
        )
    ]
