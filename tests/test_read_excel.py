"""Reading workbooks: every cell as the text a person typed, the right sheet, the right row numbers.

Workbooks are built here with xlsxwriter; the odd real ones come from the shared corpus
(calamine's own test files): each is read correctly or refused with a one-line reason.
"""

import datetime as dt
import re
import shutil
import struct
import subprocess
import sys
import time
import zipfile
import zlib
from decimal import Decimal
from pathlib import Path

import pytest
import xlsxwriter

from helpers import CORPUS, query
from pipeline import excel
from pipeline.columns import header_matcher
from pipeline.errors import FileRefused
from pipeline.excel import read_workbook
from schemas.vocabulary import REQUIRED

CORPUS_FILES = sorted(p for p in CORPUS.iterdir() if p.suffix in (".xls", ".xlsx", ".xlsb", ".ods"))
IS_HEADER = header_matcher(())
ANY_ROW = any  # corpus files are not batches: any row with a cell is a header


def customers(ws, formats, top: int = 2) -> None:
    """A title, a blank row, the header on row `top` + 1, records, blank rows between them."""
    ws.write(0, 0, "New customers, March")
    ws.write_row(top, 0, [*REQUIRED, "credit_limit", "created_on", "tax_id", "note"])
    base = ["postpaid", "business", "monthly", "Europe/Paris", "credit", "EUR"]
    ws.write_row(top + 1, 0, ["Acme", *base])
    ws.write_number(top + 1, 7, 1200.5)
    ws.write_datetime(top + 1, 8, dt.date(2024, 3, 1), formats["date"])
    ws.write_string(top + 1, 9, "00789")
    ws.write_boolean(top + 1, 10, True)
    ws.write_row(top + 4, 0, ["Beta", *base])  # two blank rows above
    ws.write_number(top + 4, 7, 19.99)
    ws.write_datetime(top + 4, 8, dt.datetime(2024, 3, 2, 13, 45, 10), formats["datetime"])
    ws.write_number(top + 4, 9, 12345)
    ws.write_formula(top + 4, 10, "=1/0", None, "#DIV/0!")
    ws.write_row(top + 5, 0, ["Gamma", *base])
    ws.write_formula(top + 5, 7, "=NA()", None, "#N/A")
    ws.write_number(top + 5, 8, 45352, formats["date"])
    ws.write_boolean(top + 5, 10, False)


def workbook(path: Path, sheets: dict, date_1904: bool = False) -> Path:
    """Write sheets (name -> function(worksheet, formats), or None for an empty sheet)."""
    wb = xlsxwriter.Workbook(str(path), {"date_1904": date_1904})
    formats = {
        "date": wb.add_format({"num_format": "yyyy-mm-dd"}),
        "datetime": wb.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"}),
        "time": wb.add_format({"num_format": "hh:mm"}),
        "duration": wb.add_format({"num_format": "[h]:mm:ss"}),
    }
    for name, fill in sheets.items():
        ws = wb.add_worksheet(name)
        if fill:
            fill(ws, formats)
    wb.close()
    return path


def rewrite(path: Path, part: str, edit, keep_checksum: bool = False) -> Path:
    """Change one part of a zip workbook with `edit(bytes) -> bytes`. With keep_checksum, the
    part's old CRC-32 stays in the zip's headers, as when the file is changed in place."""
    with zipfile.ZipFile(path) as archive:
        parts = [(info, archive.read(info)) for info in archive.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for info, data in parts:
            archive.writestr(info, edit(data) if info.filename == part else data)
    if keep_checksum:
        data = dict((info.filename, data) for info, data in parts)[part]
        new, old = (struct.pack("<I", zlib.crc32(d)) for d in (edit(data), data))
        raw = path.read_bytes()
        assert raw.count(new) == 2  # the part's local header and its central directory entry
        path.write_bytes(raw.replace(new, old))
    return path


def instructions(ws, formats) -> None:
    ws.write(0, 0, "Fill in the Customers sheet, one customer a row.")


@pytest.fixture
def batch_xlsx(tmp_path) -> Path:
    return workbook(
        tmp_path / "batch.xlsx",
        {"Instructions": instructions, "Customers": customers, "Notes": instructions},
    )


def test_cells_come_back_as_typed(batch_xlsx):
    result = read_workbook(batch_xlsx, None, IS_HEADER)
    rows = result.frame.select("name", "credit_limit", "created_on", "tax_id", "note").rows()
    assert rows == [
        ("Acme", "1200.5", "2024-03-01", "00789", "TRUE"),
        ("Beta", "19.99", "2024-03-02 13:45:10", "12345", "#DIV/0!"),
        ("Gamma", "#N/A", "2024-03-01", None, "FALSE"),
    ]
    assert result.headers[:7] == list(REQUIRED)
    assert result.frame.select("currency").to_series().to_list() == ["EUR"] * 3


def test_rows_are_numbered_as_the_sheet_shows_them(batch_xlsx):
    result = read_workbook(batch_xlsx, None, IS_HEADER)
    assert result.frame["source_row"].to_list() == [4, 7, 8]
    assert result.blank_rows == 2
    assert result.notes == ("sheet 'Customers' (2 of 3), header on row 3",)


def test_a_table_away_from_a1_keeps_its_row_numbers(tmp_path):
    def shifted(ws, formats):
        ws.write_row(5, 2, ["name", "tax_id"])  # C6: five empty rows, two empty columns
        ws.write_row(6, 2, ["Acme", "00789"])
        ws.write_row(9, 2, ["Beta", "42"])

    path = workbook(tmp_path / "shifted.xlsx", {"Data": shifted})
    result = read_workbook(path, None, lambda cells: "name" in cells)
    assert result.frame.rows() == [("Acme", "00789", None, 7), ("Beta", "42", None, 10)]
    assert result.notes == ("sheet 'Data' (1 of 1), header on row 6",)


@pytest.mark.parametrize("sheet", ["Customers", "customers", 2])
def test_the_sheet_can_be_named_or_numbered(batch_xlsx, sheet):
    result = read_workbook(batch_xlsx, sheet, IS_HEADER)
    assert result.frame["name"].to_list() == ["Acme", "Beta", "Gamma"]


def test_a_tab_named_by_a_number_is_taken_by_its_name(tmp_path):
    path = workbook(tmp_path / "years.xlsx", {"2": instructions, "1": customers})
    assert read_workbook(path, 1, IS_HEADER).notes[0].startswith("sheet '1' (2 of 2)")


@pytest.mark.parametrize(
    ("sheet", "message"),
    [
        ("Clients", r"no sheet is named 'Clients': the sheets are 'Instructions', 'Customers'"),
        (4, r"there is no sheet 4: the sheets are 'Instructions', 'Customers', 'Notes'"),
        (1, r"sheet 'Instructions' has no header row with the required columns"),
    ],
)
def test_a_wrong_sheet_is_refused(batch_xlsx, sheet, message):
    with pytest.raises(FileRefused, match=rf"^{re.escape(str(batch_xlsx))}: {message}"):
        read_workbook(batch_xlsx, sheet, IS_HEADER)


def test_no_sheet_with_a_header_is_refused_naming_the_sheets_tried(tmp_path):
    def hidden_customers(ws, formats):
        customers(ws, formats)
        ws.hide()

    path = workbook(tmp_path / "b.xlsx", {"Read me": instructions, "Data": hidden_customers})
    message = (
        r"no sheet has a header row .* \(sheets tried: 'Read me'; hidden sheets skipped: 'Data'\)"
    )
    with pytest.raises(FileRefused, match=message):
        read_workbook(path, None, IS_HEADER)
    assert read_workbook(path, "Data", IS_HEADER).frame.height == 3  # named: read, hidden or not


NUMBERS = [  # a number cell, the text it reads as
    (41800000.01, "41800000.01"),  # calamine: 41800000.009999998
    (-41800000.01, "-41800000.01"),
    (12345, "12345"),
    (1200.5, "1200.5"),
    (19.99, "19.99"),
    (1 / 3, "0.3333333333333333"),  # calamine: 0.333333333
    (0.000000123456, "0.000000123456"),  # calamine: 0.000000123
    (1e20, "100000000000000000000"),  # never with an exponent
    (1.5e-7, "0.00000015"),
    (123456789012345678, "123456789012345700"),  # stored as 1.234567890123457E+17
    (1.5e-10, "0"),  # nothing left within nine decimals: read as calamine rounds it
]


def test_numbers_read_as_their_shortest_decimal_and_text_as_typed(tmp_path):
    def amounts(ws, formats):
        ws.write_row(0, 0, ["name", "amount"])
        for row, (number, _) in enumerate(NUMBERS, 1):
            ws.write_row(row, 0, [f"n{row}", number])
        ws.write_string(row + 1, 1, "41800000.009999998")  # text, in the same column
        ws.write_string(row + 2, 1, "00789")

    path = workbook(tmp_path / "amounts.xlsx", {"Amounts": amounts})
    read = read_workbook(path, None, ANY_ROW).frame["amount"].to_list()
    assert read == [text for _, text in NUMBERS] + ["41800000.009999998", "00789"]


def test_a_large_amount_with_cents_is_imported_as_sent(tmp_path, onboard, db, reference_path):
    def batch(ws, formats):
        ws.write_row(0, 0, [*REQUIRED, "credit_limit", "tax_id"])
        row = ["Acme", "Hosted IP PBX", "Business", "Monthly", "UTC", "postpaid", "EUR"]
        ws.write_row(1, 0, [*row, 41800000.01, "CZ12345678"])

    path = workbook(tmp_path / "large.xlsx", {"Customers": batch})
    result = onboard("import", str(path), "--reference", str(reference_path))
    assert result.exit_code == 0, result.output
    assert query(db, "SELECT credit_limit FROM customers") == [(Decimal("41800000.01"),)]
    assert query(db, "SELECT count(*) FROM rejections") == [(0,)]


def test_hundreds_of_sheets_are_named_a_few_and_counted(tmp_path):
    def hidden(ws, formats):
        instructions(ws, formats)
        ws.hide()

    sheets = {f"S{n}": instructions for n in range(1, 201)} | {f"H{n}": hidden for n in range(100)}
    path = workbook(tmp_path / "many.xlsx", sheets)
    started = time.perf_counter()
    with pytest.raises(FileRefused) as refused:
        read_workbook(path, None, IS_HEADER)
    assert time.perf_counter() - started < 5
    assert str(refused.value).endswith(
        "(sheets tried: 'S1', 'S2', 'S3' and 197 more; "
        "hidden sheets skipped: 'H0', 'H1', 'H2' and 97 more); "
        "check the headers or name the sheet with --sheet"
    )
    assert len(str(refused.value)) < len(str(path)) + 250
    with pytest.raises(FileRefused, match=r"the sheets are 'S1', 'S2', 'S3' and 297 more$"):
        read_workbook(path, "Customers", IS_HEADER)


# what Excel 2010 and later add to xl/workbook.xml; calamine then misses a 1904 date system
X14_WORKBOOK_PR = (
    b'<extLst><ext uri="{140A7094-0E35-4892-8432-C4D2E57EDEB5}" '
    b'xmlns:x14="http://schemas.microsoft.com/office/spreadsheetml/2009/9/main">'
    b'<x14:workbookPr defaultImageDpi="220"/></ext></extLst></workbook>'
)


def mac_workbook(path: Path, sheets: dict, saved_by: str) -> Path:
    """A 1904 workbook as old Mac Excel saved it, or as Excel 2010 and later save it."""
    workbook(path, sheets, date_1904=True)
    if saved_by == "excel 2010":
        rewrite(path, "xl/workbook.xml", lambda xml: xml.replace(b"</workbook>", X14_WORKBOOK_PR))
    return path


@pytest.mark.parametrize("saved_by", ["mac excel", "excel 2010"])
def test_the_1904_date_system_gives_the_same_dates(tmp_path, saved_by):
    sheets = {"Customers": customers}
    plain = read_workbook(workbook(tmp_path / "1900.xlsx", sheets), None, IS_HEADER)
    mac = read_workbook(mac_workbook(tmp_path / "1904.xlsx", sheets, saved_by), None, IS_HEADER)
    assert mac.frame["created_on"].to_list()[:2] == ["2024-03-01", "2024-03-02 13:45:10"]
    assert mac.frame.drop("created_on").equals(plain.frame.drop("created_on"))
    # a serial number keeps its meaning in its own workbook's system: 45352 is 2028 in 1904
    assert mac.frame["created_on"][2] == "2028-03-02"


@pytest.mark.parametrize("saved_by", [None, "mac excel", "excel 2010"])
def test_times_and_durations_read_as_a_clock(tmp_path, saved_by):
    def times(ws, formats):
        ws.write_row(0, 0, ["name", "at", "took", "on"])
        ws.write(1, 0, "Acme")
        ws.write_datetime(1, 1, dt.time(9, 30), formats["time"])
        ws.write_number(1, 2, 10.6320601851852, formats["duration"])
        ws.write_datetime(1, 3, dt.datetime(1904, 1, 5, 6), formats["datetime"])

    path, sheets = tmp_path / "times.xlsx", {"T": times}
    path = mac_workbook(path, sheets, saved_by) if saved_by else workbook(path, sheets)
    row = read_workbook(path, None, ANY_ROW).frame.row(0)
    assert row == ("Acme", "09:30:00", "255:10:10", "1904-01-05 06:00:00", None, 2)


@pytest.mark.parametrize("saved_by", [None, "mac excel"])
def test_serial_60_reads_as_the_day_excel_shows_that_never_was(tmp_path, saved_by):
    def serials(ws, formats):
        ws.write_row(0, 0, ["name", "on"])
        for row, serial in enumerate([59, 60, 61], start=1):
            ws.write(row, 0, f"Day {serial}")
            ws.write_number(row, 1, serial, formats["date"])

    path, sheets = tmp_path / "days.xlsx", {"D": serials}
    path = mac_workbook(path, sheets, saved_by) if saved_by else workbook(path, sheets)
    days = read_workbook(path, None, ANY_ROW).frame["on"].to_list()
    if saved_by:  # the 1904 system counts from 1904-01-01: no phantom day
        assert days == ["1904-02-29", "1904-03-01", "1904-03-02"]  # 1904 was a leap year
    else:  # Excel shows 1900-02-29 (Lotus 1-2-3's leap year): a date import rejects
        assert days == ["1900-02-28", "1900-02-29", "1900-03-01"]


@pytest.mark.parametrize("suffix", [".csv", ".xls", ".ods", ".xlsb"])
def test_a_workbook_under_another_name_is_read(batch_xlsx, tmp_path, suffix):
    renamed = tmp_path / f"batch{suffix}"
    shutil.copy(batch_xlsx, renamed)
    assert read_workbook(renamed, None, IS_HEADER).frame.height == 3


@pytest.mark.parametrize(("name", "suffix"), [("date.xls", ".xlsx"), ("date.ods", ".xlsx")])
def test_other_workbooks_under_another_name_are_read(tmp_path, name, suffix):
    renamed = Path(shutil.copy(CORPUS / name, tmp_path / f"renamed{suffix}"))
    assert read_workbook(renamed, None, ANY_ROW).frame.height > 0


def test_a_password_under_another_name_is_still_named(tmp_path):
    renamed = tmp_path / "locked.csv"
    shutil.copy(CORPUS / "pass_protected.xlsx", renamed)
    with pytest.raises(FileRefused, match=r"locked\.csv: the workbook is password-protected"):
        read_workbook(renamed, None, ANY_ROW)


def one_customer(ws) -> None:
    """The required columns' header and one customer under it, from A1."""
    ws.write_row(0, 0, list(REQUIRED))
    ws.write_row(1, 0, ["Acme", "Hosted IP PBX", "Business", "Monthly", "UTC", "prepaid", "EUR"])


def stray(path: Path, row: int, column: int) -> Path:
    """A small table, and one stray cell far below or right of it."""
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet()
    one_customer(ws)
    ws.write(row, column, "x")
    wb.close()
    return path


TOO_MUCH_MEMORY = (
    r"sheet 'Sheet1': reading the workbook needs more memory than allowed; "
    r"delete stray cells far below or right of the table, or save the sheet as CSV$"
)


@pytest.mark.parametrize(
    ("row", "column", "reason"),
    [
        (1_048_575, 16_383, TOO_MUCH_MEMORY),  # XFD1048576: calamine asks for 512 GiB
        (1_048_575, 9, TOO_MUCH_MEMORY),  # J1048576: 320 MiB, far more than a 5 KB file needs
        (
            299_999,
            9,
            r"no sheet has a header row with the required columns in its first 20 rows "
            r"\(sheets tried: none; sheets skipped as nearly empty beside their size \(stray "
            r"cells far from the table\?\): 'Sheet1'\); check the headers or name the sheet "
            r"with --sheet$",
        ),
    ],
)
def test_a_stray_far_cell_is_refused_quickly(tmp_path, row, column, reason):
    path = stray(tmp_path / "stray.xlsx", row, column)
    started = time.perf_counter()
    with pytest.raises(FileRefused, match=rf"^{re.escape(str(path))}: {reason}"):
        read_workbook(path, None, IS_HEADER)
    assert time.perf_counter() - started < 3


def test_a_nearly_empty_sheet_named_is_refused_and_one_in_front_is_passed_over(tmp_path):
    path = tmp_path / "two.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    notes = wb.add_worksheet("Notes")
    notes.write(0, 0, "read me")
    notes.write(299_999, 9, "x")
    one_customer(wb.add_worksheet("Customers"))
    wb.close()

    read = read_workbook(path, None, IS_HEADER)
    assert read.frame["name"].to_list() == ["Acme"]
    assert read.notes == ("sheet 'Customers' (2 of 2), header on row 1",)
    with pytest.raises(
        FileRefused,
        match=r"sheet 'Notes' spans 300,000 rows and 10 columns but is nearly empty; delete the "
        r"stray cells",
    ):
        read_workbook(path, "Notes", IS_HEADER)


def test_a_sheet_too_large_to_load_in_front_is_passed_over(tmp_path):
    path = tmp_path / "two.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    junk = wb.add_worksheet("Junk")
    junk.write(0, 0, "notes")
    junk.write(100_000, 100, "x")  # calamine would need more memory than the reader may take
    one_customer(wb.add_worksheet("Customers"))
    wb.close()

    read = read_workbook(path, None, IS_HEADER)
    assert read.frame["name"].to_list() == ["Acme"]
    assert read.notes == ("sheet 'Customers' (2 of 2), header on row 1",)


def test_a_stray_far_cell_takes_little_memory(tmp_path):
    """Before the reader's memory was bounded, this 5 KB file took 1 GiB in the child."""
    path = stray(tmp_path / "stray.xlsx", 1_048_575, 9)
    script = (
        "import resource, sys\n"
        "from pipeline.excel import read_workbook\n"
        "try:\n"
        "    read_workbook(sys.argv[1], None, any)\n"
        "except Exception:\n"
        "    pass\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(path)],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parents[1],
    )
    assert int(done.stdout) < 250 * 1024  # KiB: the child's own start takes about 100 MiB


def test_a_part_that_fails_its_checksum_is_refused(batch_xlsx, tmp_path):
    def edit(xml):  # in place, same length: 1200.5 becomes 9200.5
        return xml.replace(b"<v>1200.5</v>", b"<v>9200.5</v>")

    sheet = "xl/worksheets/sheet2.xml"
    saved = rewrite(Path(shutil.copy(batch_xlsx, tmp_path / "saved.xlsx")), sheet, edit)
    assert read_workbook(saved, None, IS_HEADER).frame["credit_limit"][0] == "9200.5"
    rewrite(batch_xlsx, sheet, edit, keep_checksum=True)
    message = (
        r"batch\.xlsx: the workbook is damaged \(its part 'xl/worksheets/sheet2\.xml' fails its "
        r"checksum\); open it in Excel and save it again$"
    )
    with pytest.raises(FileRefused, match=message):
        read_workbook(batch_xlsx, None, IS_HEADER)


def formulas(ws, formats) -> None:
    """A header and one row whose credit limit is a formula, and a text formula giving ""."""
    ws.write_row(0, 0, [*REQUIRED, "credit_limit", "note"])
    ws.write_row(1, 0, ["Acme", "postpaid", "business", "monthly", "UTC", "credit", "EUR"])
    ws.write_formula(1, 7, "=100*2", None, 200)
    ws.write_formula(1, 8, '=""', None, "")  # a text formula whose value is the empty text


def test_formulas_saved_without_their_values_are_refused_not_read_as_empty(tmp_path):
    saved = workbook(tmp_path / "saved.xlsx", {"Customers": formulas})

    def as_excel_saves(xml):  # a text formula's cell is typed t="str"
        return xml.replace(b'<c r="I2">', b'<c r="I2" t="str">')

    rewrite(saved, "xl/worksheets/sheet1.xml", as_excel_saves)
    frame = read_workbook(saved, None, IS_HEADER).frame
    assert (frame["credit_limit"][0], frame["note"][0]) == ("200", "")  # computed, and ""

    def uncomputed(xml):  # as a program that does not calculate formulas saves them
        return re.sub(rb"(<f>[^<]*</f>)<v>[^<]*</v>", rb"\1", xml)

    rewrite(saved, "xl/worksheets/sheet1.xml", uncomputed)
    message = (
        r"saved\.xlsx: the workbook's formulas have no computed values \(it was saved by a "
        r"program that does not calculate them\); open it in Excel or LibreOffice and save it "
        r"again$"
    )
    with pytest.raises(FileRefused, match=message):
        read_workbook(saved, None, IS_HEADER)


def test_opendocument_error_cells_are_refused_not_read_as_empty(tmp_path):
    def with_error(xml):  # LibreOffice writes an error cell as empty text with this mark
        return xml.replace(
            b'office:value-type="', b'calcext:value-type="error" office:value-type="', 1
        )

    path = rewrite(Path(shutil.copy(CORPUS / "date.ods", tmp_path)), "content.xml", with_error)
    with pytest.raises(FileRefused, match=r"the workbook holds error cells \(#DIV/0!, #N/A"):
        read_workbook(path, None, ANY_ROW)


@pytest.mark.parametrize(
    ("name", "part"), [("date.ods", "content.xml"), ("issues.xlsb", "xl/worksheets/sheet1.bin")]
)
def test_other_zip_workbooks_are_checked_too(tmp_path, name, part):
    path = rewrite(
        Path(shutil.copy(CORPUS / name, tmp_path)),
        part,
        lambda data: data[:-1] + bytes([data[-1] ^ 1]),
        keep_checksum=True,
    )
    with pytest.raises(FileRefused, match=rf"damaged \(its part '{re.escape(part)}' fails its"):
        read_workbook(path, None, ANY_ROW)


def test_a_slow_read_is_refused(batch_xlsx, monkeypatch):
    monkeypatch.setattr(excel, "TIME_LIMIT", 0.0)
    with pytest.raises(FileRefused, match=r"reading the workbook took more than 0 s"):
        read_workbook(batch_xlsx, None, IS_HEADER)


# The corpus: real odd files. Refused ones with the reason expected; all others are read.
REFUSED = {
    "empty_sheet.xlsx": r"the workbook is empty",
    "issue_594_dos.ods": r"too many cells to read",
    "pass_protected.ods": r"the workbook is password-protected; save it without a password",
    "pass_protected.xlsx": r"the workbook is password-protected; save it without a password",
    "too_small.xls": r"cannot read the workbook, damaged or truncated\? \(Xls error: .*too small",
}
READ = {
    "OOM_alloc.xls",
    "OOM_alloc2.xls",
    "any_sheets.xlsx",
    "date.ods",
    "date.xls",
    "date_1904.xlsx",
    "date_iso.xlsx",
    "errors.xlsx",
    "has_x000D_.xlsx",
    "header-row.xlsx",
    "inlineStr_cdata.xlsx",
    "issues.xlsb",
    "merge_cells.xlsx",
    "no-header.xlsx",
    "temperature-in-middle.xlsx",
    "whitespace_trim.xlsx",
}


def test_every_corpus_file_has_an_expected_outcome():
    found = {p.name for p in CORPUS.iterdir() if p.suffix in (".xls", ".xlsx", ".xlsb", ".ods")}
    assert found == READ | set(REFUSED)


@pytest.mark.parametrize("name", sorted(READ))
def test_corpus_file_is_read(name):
    started = time.perf_counter()
    result = read_workbook(CORPUS / name, None, ANY_ROW)
    assert time.perf_counter() - started < 10
    assert result.notes[0].startswith("sheet ")


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_corpus_file_is_refused_in_one_line(name):
    started = time.perf_counter()
    with pytest.raises(
        FileRefused, match=rf"^{re.escape(str(CORPUS / name))}: {REFUSED[name]}"
    ) as refused:
        read_workbook(CORPUS / name, None, ANY_ROW)
    assert time.perf_counter() - started < 10
    assert "\n" not in str(refused.value)


def cells(name: str, sheet=None) -> list[tuple]:
    """Header then records, as text, without source_row and the extra-cells column."""
    result = read_workbook(CORPUS / name, sheet, ANY_ROW)
    return [tuple(result.headers), *result.frame.drop("__extra__", "source_row").rows()]


@pytest.mark.parametrize("name", ["date.xls", "date_1904.xlsx"])
def test_corpus_dates_agree_across_date_systems(name):
    # A1 and A2 are dates, A3 a duration of 255:10:10 (format [h]:mm:ss)
    assert cells(name) == [("2021-01-01", "15"), ("2021-01-02", "16"), ("255:10:10", "17")]


def test_corpus_opendocument_dates_and_times():
    assert cells("date.ods") == [
        ("2021-01-01", "15"),
        ("2021-01-01 10:10:10", "16"),
        ("10:10:10", "17"),
        ("10:10:10.123456", "18"),
    ]


def test_corpus_iso_dates():
    assert cells("date_iso.xlsx")[:3] == [("2021-01-01",), ("2021-01-01 10:10:10",), ("10:10:10",)]


def test_corpus_error_cells_keep_their_text():
    assert [row[0] for row in cells("errors.xlsx")] == [
        "#DIV/0!",
        "#NAME?",
        "#VALUE!",
        "#NULL!",
        "#REF!",
        "#NUM!",
        "#N/A",
    ]


def test_corpus_binary_workbook_types():
    assert cells("issues.xlsb") == [
        ("1",),
        ("1.5",),
        ("ab",),
        ("FALSE",),
        ("test",),
        ("2016-10-20",),
    ]


def test_corpus_hidden_sheets_are_skipped_unless_named():
    assert read_workbook(CORPUS / "any_sheets.xlsx", None, ANY_ROW).notes == (
        "sheet 'Visible' (1 of 4), header on row 1",
    )
    with pytest.raises(FileRefused, match=r"sheet 'Hidden' is empty"):
        read_workbook(CORPUS / "any_sheets.xlsx", "Hidden", ANY_ROW)


def test_corpus_table_in_the_middle():
    result = read_workbook(CORPUS / "temperature-in-middle.xlsx", None, ANY_ROW)
    assert result.headers == ["label", "value"]
    assert result.frame.select("label", "value", "source_row").rows() == [
        ("celsius", "22.2222", 5),
        ("fahrenheit", "72", 6),
    ]


def test_corpus_header_below_notes():
    def is_header(cells):
        return "Columns" in cells

    result = read_workbook(CORPUS / "header-row.xlsx", None, is_header)
    assert result.headers == ["Columns", "Column A", "Column B", "Column C"]
    assert result.frame.drop("__extra__").rows() == [("put data here", "1", "2", "3", 10)]
    assert result.notes == ("sheet 'Sheet1' (1 of 1), header on row 9",)


@pytest.mark.parametrize("name", sorted(p.name for p in CORPUS_FILES))
def test_every_corpus_file_is_refused_by_import_with_one_line_and_nothing_written(
    name, onboard, db, reference_path
):
    # None of them is a customer batch: each must end as a clean refusal, never a traceback.
    path = next(p for p in CORPUS_FILES if p.name == name)
    started = time.perf_counter()
    result = onboard("import", str(path), "--reference", str(reference_path))
    assert time.perf_counter() - started < 20
    assert result.exit_code == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"onboard: error: {path}: ")
    assert "Traceback" not in result.output
    assert query(db, "SELECT count(*) FROM batches UNION ALL SELECT count(*) FROM customers") == [
        (0,),
        (0,),
    ]
