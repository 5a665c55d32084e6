"""Fix files: `onboard rejections N --export`, what they hold and how they import back."""

import re
import zipfile
from decimal import Decimal
from pathlib import Path
from xml.etree import ElementTree

import pytest

from helpers import (
    AS_OF,
    HEADER,
    HEADERS,
    SAMPLE,
    cells,
    customer,
    query,
    read_csv,
    write_csv,
)
from schemas.vocabulary import header_key

SAMPLE_REJECTED_ROWS = [2, 9, 10, 11, 12, 13, 14, 15]


@pytest.fixture
def sample_imported(onboard, with_reference):
    """The sample batch as batch 1: 14 rows, 8 of them rejected."""
    assert onboard("import", str(SAMPLE / "customers.csv"), "--as-of", AS_OF).exit_code == 0


def reasons_by_row(db, batch_id: int) -> dict[int, list[tuple[str | None, str]]]:
    found: dict[int, list[tuple[str | None, str]]] = {}
    for source_row, column, message in query(
        db,
        'SELECT source_row, "column", message FROM rejections '
        'WHERE batch_id = ? AND resolved_by_batch IS NULL ORDER BY source_row, "column", rule',
        batch_id,
    ):
        found.setdefault(source_row, []).append((column, message))
    return found


def test_csv_fix_file_holds_the_rows_as_sent_with_every_reason(
    onboard, db, tmp_path, sample_imported
):
    fix = tmp_path / "fix-1.csv"
    result = onboard("rejections", "1", "--export", str(fix))

    assert result.exit_code == 0
    assert result.stdout == ""
    assert f"{fix}: 8 rejected row(s) of batch 1 written" in result.stderr
    sent = read_csv(SAMPLE / "customers.csv")
    exported = read_csv(fix)
    # the sender's headers, in the sender's order, then the reasons
    assert exported[0] == [*sent[0], "errors (fix file of batch 1)"]
    rows = [sent[n - 1] for n in SAMPLE_REJECTED_ROWS]
    neutralized = [[("'" + c if c[:1] in "=+-@" and c else c) for c in r] for r in rows]
    assert [r[:-1] for r in exported[1:]] == neutralized
    assert neutralized[-1][:8] == [
        "Mars Colony",
        "Internet access",
        "Retail",
        "Daily",
        "Mars/Olympus_Mons",
        "Postpaid",
        "EUR",
        "'-5",
    ]
    reasons = reasons_by_row(db, 1)
    for source_row, record in zip(SAMPLE_REJECTED_ROWS, exported[1:], strict=True):
        every = [f"{col}: {message}" if col else message for col, message in reasons[source_row]]
        assert record[-1] == "; ".join(every)
    berlin = exported[1 + SAMPLE_REJECTED_ROWS.index(11)]
    assert berlin[-1].startswith("billing_period: billing period 'Fortnightly' ")
    assert berlin[-1].endswith(
        "; currency: currency 'GBP' is not enabled for this reseller; enabled: USD, EUR, CZK, "
        "JPY, BHD"
    )


M = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def _column_index(ref: str) -> int:
    letters = re.match(r"[A-Z]+", ref).group()
    index = 0
    for letter in letters:
        index = index * 26 + ord(letter) - ord("A") + 1
    return index - 1


def _ref(row: int, column: int) -> str:
    letters = ""
    column += 1
    while column:
        column, rest = divmod(column - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return f"{letters}{row}"


def _text(element) -> str:
    return "".join(t.text or "" for t in element.iter(f"{M}t"))


def read_xlsx(path: Path) -> dict:
    """The first sheet as read from the file's XML: grid, cell kinds, highlights, comments."""
    with zipfile.ZipFile(path) as z:
        names = set(z.namelist())
        root = ElementTree.fromstring
        strings = [_text(si) for si in root(z.read("xl/sharedStrings.xml")).iter(f"{M}si")]
        styles = root(z.read("xl/styles.xml"))
        fills = [
            f.find(f"{M}patternFill") is not None
            and f.find(f"{M}patternFill").get("patternType") == "solid"
            for f in styles.find(f"{M}fills").iter(f"{M}fill")
        ]
        xfs = list(styles.find(f"{M}cellXfs").iter(f"{M}xf"))
        filled = {i for i, xf in enumerate(xfs) if fills[int(xf.get("fillId", "0"))]}
        sheet = root(z.read("xl/worksheets/sheet1.xml"))
        comments = {}
        if "xl/comments1.xml" in names:
            for comment in root(z.read("xl/comments1.xml")).iter(f"{M}comment"):
                comments[comment.get("ref")] = _text(comment)
    grid: dict[int, dict[int, str]] = {}
    kinds, highlighted = set(), set()
    for cell in sheet.iter(f"{M}c"):
        ref, kind = cell.get("r"), cell.get("t")
        kinds.add(kind)
        assert cell.find(f"{M}f") is None, f"{ref} holds a formula"
        if kind == "s":
            value = strings[int(cell.find(f"{M}v").text)]
        elif kind == "inlineStr":
            value = _text(cell.find(f"{M}is"))
        else:
            value = cell.findtext(f"{M}v") or ""
        row = int(re.search(r"\d+", ref).group())
        grid.setdefault(row, {})[_column_index(ref)] = value
        if int(cell.get("s", "0")) in filled:
            highlighted.add(ref)
    width = max(max(cols) for cols in grid.values()) + 1
    rows = [[grid[r].get(c, "") for c in range(width)] for r in sorted(grid)]
    return {"rows": rows, "kinds": kinds, "highlighted": highlighted, "comments": comments}


def test_xlsx_fix_file_highlights_each_offending_cell_with_its_reason(
    onboard, db, tmp_path, sample_imported
):
    fix = tmp_path / "fix-1.xlsx"
    assert onboard("rejections", "1", "--export", str(fix)).exit_code == 0

    book = read_xlsx(fix)
    sent = read_csv(SAMPLE / "customers.csv")
    assert book["kinds"] <= {"s", "inlineStr"}  # every cell is text, none a number or formula
    assert book["rows"][0] == [*sent[0], "errors (fix file of batch 1)"]
    # as sent, not even the `'` of the CSV file: a text cell cannot run as a formula
    assert [r[:-1] for r in book["rows"][1:]] == [sent[n - 1] for n in SAMPLE_REJECTED_ROWS]

    keys = [header_key(h) for h in sent[0]]
    expected: dict[str, list[str]] = {}
    for line_number, source_row in enumerate(SAMPLE_REJECTED_ROWS, start=2):
        for column, message in reasons_by_row(db, 1)[source_row]:
            if column is not None:
                ref = _ref(line_number, keys.index(header_key(column)))
                expected.setdefault(ref, []).append(message)
        errors = book["rows"][line_number - 1][-1]
        assert all(m in errors for _, m in reasons_by_row(db, 1)[source_row])
    assert book["highlighted"] == set(expected) == set(book["comments"])
    for ref, messages in expected.items():
        assert sorted(book["comments"][ref].split("\n")) == sorted(messages)
    assert book["comments"]["G5"] == (
        "currency 'GBP' is not enabled for this reseller; enabled: USD, EUR, CZK, JPY, BHD"
    )  # Berlin Bikes, source row 11, is the file's 4th rejected row
    assert {"D5", "G5"} <= book["highlighted"]
    assert "A5" not in book["highlighted"]


def test_xlsx_fix_file_highlights_a_column_read_through_map(
    onboard, db, batch, tmp_path, reference_path
):
    header = HEADER.replace("name,", "Client,", 1)
    path = batch(customer("Ann\tCo"), customer("Bob Co"), header=header)
    result = onboard(
        "import", str(path), "--reference", str(reference_path), "--map", "Client=name"
    )
    assert result.exit_code == 0
    fix = tmp_path / "fix.xlsx"
    assert onboard("rejections", "1", "--export", str(fix)).exit_code == 0
    book = read_xlsx(fix)
    assert book["rows"][0][0] == "Client"
    assert book["rows"][1][0] == "Ann\tCo"
    assert book["highlighted"] == {"A2"}
    assert "control character" in book["comments"]["A2"]


FORMULA_LIKE = {
    "hyperlink": '=HYPERLINK("http://evil.example","click")',
    "phone": "+420 123",
    "sum": "@SUM(A1)",
    "minus": "-Minus Co",
}


@pytest.fixture
def formula_batch(onboard, batch, reference_path):
    """Formula-looking values, each row rejected for a reason a clerk can fix."""
    path = batch(
        customer("Good Co"),
        customer(FORMULA_LIKE["hyperlink"], currency="GBP"),
        customer(FORMULA_LIKE["phone"], balance="postpaid", credit="-5"),
        customer(FORMULA_LIKE["sum"], model="Satellite TV"),
        customer(FORMULA_LIKE["minus"], created="2027-01-01"),
        name="formulas.csv",
    )
    result = onboard("import", str(path), "--reference", str(reference_path), "--as-of", AS_OF)
    assert "rows read 5: accepted 1, rejected 4" in result.stdout
    return path


FIXES = {  # (row of the fix file, column): the clerk's correction
    (1, "currency"): "EUR",
    (2, "credit_limit"): "5",
    (3, "business_model"): "Internet access",
    (4, "created_on"): "2026-11-01",
}


def fix_csv(exported: Path, fixed: Path) -> None:
    """The clerk edits cells and saves; the `'` guards and the errors column stay."""
    rows = read_csv(exported)
    assert [r[0] for r in rows[1:]] == ["'" + v for v in FORMULA_LIKE.values()]
    assert rows[2][HEADERS.index("credit_limit")] == "'-5"
    for (row, column), value in FIXES.items():
        rows[row][HEADERS.index(column)] = value
    write_csv(fixed, rows)


def fix_xlsx(exported: Path, fixed: Path) -> None:
    """The clerk edits cells in the workbook: here its shared strings, one cell each."""
    book = read_xlsx(exported)
    assert [r[0] for r in book["rows"][1:]] == list(FORMULA_LIKE.values())
    assert book["rows"][2][HEADERS.index("credit_limit")] == "-5"
    replacements = {
        book["rows"][row][HEADERS.index(column)]: value for (row, column), value in FIXES.items()
    }
    with zipfile.ZipFile(exported) as source, zipfile.ZipFile(fixed, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/sharedStrings.xml":
                text = data.decode("utf-8")
                for old, new in replacements.items():
                    assert text.count(f"<t>{old}</t>") == 1, old
                    text = text.replace(f"<t>{old}</t>", f"<t>{new}</t>")
                data = text.encode("utf-8")
            target.writestr(item, data)


@pytest.mark.parametrize(("suffix", "fix"), [(".csv", fix_csv), (".xlsx", fix_xlsx)])
def test_fix_file_round_trip_restores_formula_like_values(
    onboard, db, tmp_path, formula_batch, suffix, fix
):
    exported = tmp_path / f"fix-1{suffix}"
    assert onboard("rejections", "1", "--export", str(exported)).exit_code == 0

    # sent back unchanged: the same rows fail the same way, with the values as first sent
    unchanged = onboard("import", str(exported), "--as-of", AS_OF)
    assert unchanged.exit_code == 0
    assert unchanged.stderr == ""  # the errors column is ignored without a warning
    assert "batch 2 committed" in unchanged.stdout
    rejected = 'SELECT name, "column", rule, value, message FROM rejections WHERE batch_id = ?'
    assert sorted(query(db, rejected, 2)) == sorted(query(db, rejected, 1))

    fixed = tmp_path / f"fix-1-corrected{suffix}"
    fix(exported, fixed)
    result = onboard("import", str(fixed), "--as-of", AS_OF)

    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert "batch 3 committed" in result.stdout
    assert "rows read 4: accepted 4, rejected 0" in result.stdout
    stored = (
        "SELECT name, business_model, balance_control, currency, credit_limit, "
        "created_on::VARCHAR, batch_id, source_row FROM customers ORDER BY batch_id, source_row"
    )
    assert query(db, stored) == [
        ("Good Co", "Internet access", "prepaid", "USD", None, AS_OF, 1, 2),
        (FORMULA_LIKE["hyperlink"], "Internet access", "prepaid", "EUR", None, AS_OF, 3, 2),
        (FORMULA_LIKE["phone"], "Internet access", "postpaid", "USD", 5, AS_OF, 3, 3),
        (FORMULA_LIKE["sum"], "Internet access", "prepaid", "USD", None, AS_OF, 3, 4),
        (FORMULA_LIKE["minus"], "Internet access", "prepaid", "USD", None, "2026-11-01", 3, 5),
    ]


def test_formula_like_values_keep_their_original_text_through_an_unchanged_fix_file(
    onboard, db, tmp_path, formula_batch
):
    for suffix in (".csv", ".xlsx"):
        exported = tmp_path / f"again{suffix}"
        assert onboard("rejections", "1", "--export", str(exported)).exit_code == 0
        assert onboard("import", str(exported), "--as-of", AS_OF).exit_code == 0
    values = "SELECT source_row, rule, value FROM rejections WHERE batch_id = ?"
    names = "SELECT DISTINCT name, source_row FROM rejections WHERE batch_id = ? ORDER BY 2"
    for batch_id in (2, 3):
        assert sorted(query(db, values, batch_id)) == [
            (2, "currency_not_enabled", "GBP"),
            (3, "credit_limit_negative", "-5"),
            (4, "business_model_unknown", "Satellite TV"),
            (5, "created_on_after_as_of", "2027-01-01"),
        ]
        assert [n for n, _ in query(db, names, batch_id)] == list(FORMULA_LIKE.values())


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_a_senders_own_leading_apostrophe_survives_a_fix_file(
    onboard, db, tmp_path, batch, reference_path, suffix
):
    sent = batch(customer("'+Quoted", currency="GBP"), customer("'Plain", currency="GBP"))
    assert onboard("import", str(sent), "--reference", str(reference_path)).exit_code == 0
    exported = tmp_path / f"fix{suffix}"
    assert onboard("rejections", "1", "--export", str(exported)).exit_code == 0
    if suffix == ".csv":  # guarded as formula-like text is, so the guard's removal keeps it
        assert [r[0] for r in read_csv(exported)[1:]] == ["''+Quoted", "''Plain"]

    assert onboard("import", str(exported)).exit_code == 0
    names = "SELECT DISTINCT name FROM rejections WHERE batch_id = ? ORDER BY 1"
    assert query(db, names, 2) == query(db, names, 1) == [("'+Quoted",), ("'Plain",)]


def test_a_senders_own_errors_column_is_data_kept_in_the_fix_file(
    onboard, db, tmp_path, batch, reference_path
):
    sent = batch(
        customer("Ann Co", currency="GBP") + ",mine,a note", header=HEADER + ",Errors,Notes"
    )
    result = onboard("import", str(sent), "--reference", str(reference_path))
    assert result.stderr == (
        f"onboard: warning: {sent}: columns 'Errors', 'Notes' are not known columns and were "
        "ignored\n"
    )
    exported = tmp_path / "fix.csv"
    assert onboard("rejections", "1", "--export", str(exported)).exit_code == 0
    header, row = read_csv(exported)
    assert header[-3:] == ["Errors", "Notes", "errors (fix file of batch 1)"]
    assert row[-3:-1] == ["mine", "a note"]


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_a_malformed_row_stays_malformed_through_an_unchanged_fix_file(
    onboard, db, tmp_path, batch, reference_path, suffix
):
    sent = batch(
        customer("Ann Co"), customer("Bob Co") + ",x,y", customer("Cid Co", currency="GBP")
    )
    assert onboard("import", str(sent), "--reference", str(reference_path)).exit_code == 0
    exported = tmp_path / f"fix{suffix}"
    assert onboard("rejections", "1", "--export", str(exported)).exit_code == 0

    again = onboard("import", str(exported))

    assert again.exit_code == 0, again.output
    assert again.stderr == ""  # the extra cells are no unnamed column, warned of and ignored
    rejected = "SELECT name, rule, value FROM rejections WHERE batch_id = ? ORDER BY name"
    assert (
        query(db, rejected, 2)
        == query(db, rejected, 1)
        == [
            ("Bob Co", "malformed_row", None),
            ("Cid Co", "currency_not_enabled", "GBP"),
        ]
    )
    assert query(db, "SELECT name FROM customers") == [("Ann Co",)]
    if suffix == ".csv":  # the extra text one field beyond the header, as it was sent
        header, bob, cid = read_csv(exported)
        assert (len(bob), len(cid)) == (len(header) + 1, len(header))
        assert bob[-1] == "x | y"
        fixed = tmp_path / "fixed.csv"
        write_csv(fixed, [header, bob[:-1], cid])  # the clerk removes the extra cells
        assert onboard("import", str(fixed)).exit_code == 0
        assert query(db, rejected, 3) == [("Cid Co", "currency_not_enabled", "GBP")]
        assert ("Bob Co",) in query(db, "SELECT name FROM customers")


def test_fix_file_of_a_decimal_comma_batch_imports_back(onboard, db, tmp_path, reference_path):
    sent = tmp_path / "semicolons.csv"
    rows = [
        HEADERS,
        cells("Ann Co", balance="postpaid", currency="GBP", credit="1500,50"),
        cells("Bob Co", balance="postpaid", currency="EUR", credit="99,5"),
    ]
    write_csv(sent, rows, delimiter=";")
    assert onboard("import", str(sent), "--reference", str(reference_path)).exit_code == 0
    exported = tmp_path / "semicolons-fix.csv"
    assert onboard("rejections", "1", "--export", str(exported)).exit_code == 0

    fixed = read_csv(exported, delimiter=";")
    assert fixed[1][:-1] == rows[1]  # the amount as written: 1500,50
    fixed[1][HEADERS.index("currency")] = "EUR"
    result = onboard("import", str(write_csv(tmp_path / "back.csv", fixed, delimiter=";")))

    assert result.exit_code == 0
    assert "accepted 1, rejected 0" in result.stdout
    assert query(db, "SELECT name, credit_limit FROM customers ORDER BY name") == [
        ("Ann Co", Decimal("1500.5000")),
        ("Bob Co", Decimal("99.5000")),
    ]


def test_export_needs_a_csv_or_xlsx_name_and_a_known_batch(onboard, tmp_path, sample_imported):
    wrong = onboard("rejections", "1", "--export", str(tmp_path / "fix.txt"))
    assert wrong.exit_code == 2
    assert "export to a .csv or .xlsx file" in wrong.stderr
    unknown = onboard("rejections", "9", "--export", str(tmp_path / "fix.csv"))
    assert unknown.exit_code == 2
    assert "no batch 9" in unknown.stderr
    assert not (tmp_path / "fix.csv").exists()


# --- retry -----------------------------------------------------------------------------------
