"""Reruns, fixes and retries: the same file twice, stored customers, thresholds, fix files,
retries and the audit of batches; what is stored and what is printed.

The subprocess tests (kill -9, two writers, the lock timeout) are in test_crash_safety.py.
"""

import csv
import io
import json
import re
import shutil
import zipfile
from datetime import date
from decimal import Decimal
from pathlib import Path
from xml.etree import ElementTree

import pytest

from conftest import HEADER, SAMPLE, query
from schemas.vocabulary import header_key

AS_OF = "2026-11-26"
NEXT_DAY = "2026-11-27"
HEADERS = HEADER.split(",")


def line(cells, delimiter: str = ",") -> str:
    """One CSV record, quoted where needed."""
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="").writerow(cells)
    return out.getvalue()


def cells(
    name: str,
    *,
    model: str = "Internet access",
    klass: str = "Retail",
    period: str = "Daily",
    zone: str = "UTC",
    balance: str = "prepaid",
    currency: str = "USD",
    credit: str = "",
    funds: str = "",
    created: str = "",
    tax: str = "",
) -> str:
    """The cells of a record under the standard HEADER; the defaults make a good row."""
    return [name, model, klass, period, zone, balance, currency, credit, funds, created, tax]


def customer(name: str, **cells_of) -> str:
    """A record under the standard HEADER, as a CSV line."""
    return line(cells(name, **cells_of))


def read_csv(path: Path, delimiter: str = ",") -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.reader(f, delimiter=delimiter))


def write_csv(path: Path, rows: list[list[str]], delimiter: str = ",") -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f, delimiter=delimiter).writerows(rows)
    return path


def reference_with(tmp_path: Path, currencies=(), business_models=()) -> Path:
    """The sample reference with more currencies and business models enabled."""
    text = (SAMPLE / "reference.toml").read_text(encoding="utf-8")
    text = text.replace('"USD", "EUR"', ", ".join(f'"{c}"' for c in ("USD", *currencies, "EUR")))
    models = ", ".join(f'"{m}"' for m in ("Hosted IP PBX", "Internet access", *business_models))
    text = re.sub(r"business_models = \[.*\]", f"business_models = [{models}]", text)
    path = tmp_path / "reference-changed.toml"
    path.write_text(text, encoding="utf-8")
    return path


def counts(db) -> tuple[int, int, int]:
    """(customers, batches, rejections) stored."""
    [row] = query(
        db,
        "SELECT (SELECT count(*) FROM customers), (SELECT count(*) FROM batches), "
        "(SELECT count(*) FROM rejections)",
    )
    return row


@pytest.fixture
def with_reference(onboard, reference_path):
    """The sample reference stored in the test database."""
    assert onboard("reference", "load", str(reference_path)).exit_code == 0


# --- the same file twice ---------------------------------------------------------------------


def test_same_content_is_skipped_naming_the_earlier_batch(onboard, db, batch, reference_path):
    first = batch(customer("Ann Co"), customer("Bad Co", currency="GBP"), name="monday.csv")
    assert onboard("import", str(first), "--reference", str(reference_path)).exit_code == 0
    before = counts(db)
    renamed = first.with_name("monday-rerun.csv")
    shutil.copy(first, renamed)

    result = onboard("import", str(first), str(renamed))

    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        f"{first}: skipped, the same content was committed as batch 1 "
        "(use --force to import it again)",
        f"{renamed}: skipped, the same content was committed as batch 1 "
        "(use --force to import it again)",
    ]
    assert result.stderr == ""
    assert counts(db) == (before[0], 3, before[2])
    assert query(db, "SELECT DISTINCT batch_id FROM customers") == [(1,)]
    skipped = query(
        db,
        "SELECT batch_id, source, status, rows_read, rows_accepted, rows_rejected, "
        "rows_skipped, reason, sha256 = (SELECT sha256 FROM batches WHERE batch_id = 1) "
        "FROM batches WHERE batch_id > 1 ORDER BY batch_id",
    )
    reason = "same content as batch 1, already committed (use --force to import)"
    assert skipped == [
        (2, str(first), "skipped", 0, 0, 0, 0, reason, True),
        (3, str(renamed), "skipped", 0, 0, 0, 0, reason, True),
    ]


def test_skipped_file_in_json_names_the_earlier_batch(onboard, batch, reference_path):
    path = batch(customer("Ann Co"))
    onboard("import", str(path), "--reference", str(reference_path))
    summary = json.loads(onboard("import", str(path), "--json").stdout)
    assert (summary["status"], summary["earlier_batch"], summary["batch_id"]) == ("skipped", 1, 2)
    assert summary["rows_read"] == summary["rows_accepted"] == 0


def test_dry_run_of_a_committed_file_says_skipped_and_writes_nothing(
    onboard, db, batch, reference_path
):
    path = batch(customer("Ann Co"))
    onboard("import", str(path), "--reference", str(reference_path))
    result = onboard("import", str(path), "--dry-run")
    assert result.exit_code == 0
    assert "skipped, the same content was committed as batch 1" in result.stdout
    assert counts(db) == (1, 1, 0)


def test_changed_content_is_a_new_batch(onboard, db, batch, reference_path):
    onboard("import", str(batch(customer("Ann Co"))), "--reference", str(reference_path))
    changed = batch(customer("Ann Co"), customer("Bob Co"), name="changed.csv")
    result = onboard("import", str(changed))
    assert result.exit_code == 0
    assert "batch 2 committed" in result.stdout
    assert query(db, "SELECT name, batch_id FROM customers ORDER BY name") == [
        ("Ann Co", 1),
        ("Bob Co", 2),
    ]
    assert query(db, "SELECT batch_id, source_row, rule FROM rejections") == [(2, 2, "name_exists")]


def test_force_imports_the_same_file_again_meeting_the_stored_names(
    onboard, db, batch, reference_path
):
    path = batch(customer("Ann Co"), customer("Bob Co"), customer("Bad Co", currency="GBP"))
    onboard("import", str(path), "--reference", str(reference_path), "--as-of", AS_OF)

    forced = onboard("import", str(path), "--force", "--as-of", AS_OF)

    assert forced.exit_code == 0
    assert "batch 2 committed" in forced.stdout
    assert "rows read 3: accepted 0, rejected 3" in forced.stdout
    assert query(
        db, "SELECT status, rows_read, rows_accepted, rows_rejected FROM batches ORDER BY batch_id"
    ) == [("committed", 3, 2, 1), ("committed", 3, 0, 3)]
    assert query(db, "SELECT name, batch_id FROM customers ORDER BY name") == [
        ("Ann Co", 1),
        ("Bob Co", 1),
    ]
    assert query(
        db, "SELECT source_row, rule FROM rejections WHERE batch_id = 2 ORDER BY 1, 2"
    ) == [(2, "name_exists"), (3, "name_exists"), (4, "currency_not_enabled")]
    # without --force the file is still skipped, naming the first batch that committed it
    again = onboard("import", str(path))
    assert "the same content was committed as batch 1" in again.stdout
    assert counts(db)[0] == 2


def test_force_with_update_replaces_the_stored_customers(onboard, db, batch, reference_path):
    path = batch(customer("Ann Co", funds="10"))
    onboard("import", str(path), "--reference", str(reference_path))
    result = onboard("import", str(path), "--force", "--on-existing", "update")
    assert result.exit_code == 0
    assert query(db, "SELECT name, batch_id FROM customers") == [("Ann Co", 2)]
    assert query(db, "SELECT name, batch_id, replaced_by_batch FROM customer_history") == [
        ("Ann Co", 1, 2)
    ]


# --- customers already stored ----------------------------------------------------------------


@pytest.fixture
def stored(onboard, db, batch, reference_path):
    """Ann Co and Bob Co stored by batch 1 (as of AS_OF)."""
    path = batch(
        customer("Ann Co", funds="10", created="2026-11-01"),
        customer("Bob Co", period="Weekly", funds="20", created="2026-11-02"),
        name="stored.csv",
    )
    result = onboard("import", str(path), "--reference", str(reference_path), "--as-of", AS_OF)
    assert result.exit_code == 0
    return path


PERIODS = (  # created_on, first period, current period, when it closes (UTC), as text
    "concat_ws(' ', created_on, first_period_start || '..' || first_period_end, "
    "current_period_start || '..' || current_period_end, "
    "strftime(current_period_closes_at, '%Y-%m-%d %H:%M'))"
)
STORED_ANN = ("Ann Co", "daily", "USD", Decimal("10.0000"), date(2026, 11, 1), 1)


def stored_customers(db, where: str) -> list[tuple]:
    """The stored customers matching `where`, in the columns of STORED_ANN."""
    return query(
        db,
        "SELECT name, billing_period, currency, available_funds, created_on, batch_id "
        f"FROM customers WHERE {where}",
    )


def test_existing_names_are_rejected_by_default(onboard, db, batch, stored):
    path = batch(customer("ann  co "), customer("Cid Co"), name="next.csv")
    result = onboard("import", str(path), "--as-of", AS_OF, "--json")
    assert result.exit_code == 0
    summary = json.loads(result.stdout)
    assert (summary["rows_accepted"], summary["rows_rejected"], summary["rows_skipped"]) == (
        1,
        1,
        0,
    )
    assert summary["rules"] == {"name_exists": 1}
    assert query(
        db, "SELECT source_row, name, rule, value, message FROM rejections WHERE batch_id = 2"
    ) == [
        (
            2,
            "ann  co",
            "name_exists",
            "ann  co ",
            "a customer named 'ann  co' already exists; use another name",
        )
    ]
    assert stored_customers(db, "name_key = 'ann co'") == [STORED_ANN]
    assert query(db, "SELECT count(*) FROM customer_history") == [(0,)]


def test_on_existing_skip_counts_the_rows_as_skipped(onboard, db, batch, stored):
    path = batch(
        customer("ANN CO", currency="EUR"),
        customer("Bob Co"),
        customer("Cid Co"),
        customer("Dan Co", currency="GBP"),
        name="next.csv",
    )
    result = onboard("import", str(path), "--as-of", AS_OF, "--on-existing", "skip")

    assert result.exit_code == 0
    assert "rows read 4: accepted 1, rejected 1, skipped 2" in result.stdout
    [row] = query(
        db,
        "SELECT status, rows_read, rows_accepted, rows_rejected, rows_skipped FROM batches "
        "WHERE batch_id = 2",
    )
    assert row == ("committed", 4, 1, 1, 2)
    assert row[1] == row[2] + row[3] + row[4]
    assert query(db, "SELECT name, batch_id FROM customers ORDER BY name") == [
        ("Ann Co", 1),
        ("Bob Co", 1),
        ("Cid Co", 2),
    ]
    assert stored_customers(db, "name = 'Ann Co'") == [STORED_ANN]
    assert query(db, "SELECT source_row, rule FROM rejections WHERE batch_id = 2") == [
        (5, "currency_not_enabled")
    ]
    assert query(db, "SELECT count(*) FROM customer_history") == [(0,)]


def test_on_existing_update_replaces_values_recomputes_periods_and_keeps_history(
    onboard, db, batch, stored
):
    path = batch(
        # no created_on: Ann keeps her creation date; Bob's row gives a new one
        customer(
            "ANN CO",
            model="Hosted IP PBX",
            period="Monthly",
            zone="Europe/Prague",
            balance="postpaid",
            currency="EUR",
            credit="250",
        ),
        customer("Bob Co", period="Monthly", funds="5", created="2026-11-20"),
        customer("Eve Co"),
        name="update.csv",
    )
    result = onboard(
        "import", str(path), "--as-of", "2026-12-10", "--on-existing", "update", "--json"
    )

    assert result.exit_code == 0
    summary = json.loads(result.stdout)
    assert (summary["rows_read"], summary["rows_accepted"], summary["rows_updated"]) == (3, 3, 2)
    values = (
        "name, business_model, billing_period, billing_period_timezone, balance_control, "
        "currency, credit_limit, available_funds, batch_id, source_row"
    )
    assert query(db, f"SELECT {values} FROM customers ORDER BY name_key") == [
        ("ANN CO", "Hosted IP PBX", "monthly", "Europe/Prague", "postpaid", "EUR", 250, None, 2, 2),
        ("Bob Co", "Internet access", "monthly", "UTC", "prepaid", "USD", None, 5, 2, 3),
        ("Eve Co", "Internet access", "daily", "UTC", "prepaid", "USD", None, 0, 2, 4),
    ]
    assert query(db, f"SELECT name_key, {PERIODS} FROM customers ORDER BY 1") == [
        # Ann keeps her creation date; her period closes at midnight in Prague
        ("ann co", "2026-11-01 2026-11-01..2026-11-30 2026-12-01..2026-12-31 2026-12-31 23:00"),
        ("bob co", "2026-11-20 2026-11-20..2026-11-30 2026-12-01..2026-12-31 2027-01-01 00:00"),
        ("eve co", "2026-12-10 2026-12-10..2026-12-10 2026-12-10..2026-12-10 2026-12-11 00:00"),
    ]
    history = query(
        db,
        f"SELECT {values}, {PERIODS}, replaced_by_batch, "
        "replaced_at > (SELECT finished_at FROM batches WHERE batch_id = 1) "
        "FROM customer_history ORDER BY name",
    )
    assert history == [
        ("Ann Co", "Internet access", "daily", "UTC", "prepaid", "USD", None, 10, 1, 2,
         "2026-11-01 2026-11-01..2026-11-01 2026-11-26..2026-11-26 2026-11-27 00:00", 2, True),
        ("Bob Co", "Internet access", "weekly", "UTC", "prepaid", "USD", None, 20, 1, 3,
         "2026-11-02 2026-11-02..2026-11-08 2026-11-23..2026-11-29 2026-11-30 00:00", 2, True),
    ]  # fmt: skip
    [(keys, distinct)] = query(db, "SELECT count(*), count(DISTINCT name_key) FROM customers")
    assert keys == distinct == 3


def test_each_update_keeps_the_version_it_replaced(onboard, db, batch, stored):
    for funds, name in (("11", "first.csv"), ("12", "second.csv")):
        path = batch(customer("Ann Co", funds=funds), name=name)
        assert onboard("import", str(path), "--on-existing", "update").exit_code == 0
    assert query(db, "SELECT available_funds, batch_id FROM customers WHERE name = 'Ann Co'") == [
        (Decimal("12.0000"), 3)
    ]
    assert query(
        db,
        "SELECT available_funds, batch_id, replaced_by_batch FROM customer_history "
        "ORDER BY replaced_by_batch",
    ) == [(Decimal("10.0000"), 1, 2), (Decimal("11.0000"), 2, 3)]


def test_an_update_row_that_fails_a_rule_leaves_the_customer_as_stored(onboard, db, batch, stored):
    path = batch(customer("Ann Co", currency="GBP", funds="99"), name="bad-update.csv")
    result = onboard("import", str(path), "--as-of", AS_OF, "--on-existing", "update")
    assert result.exit_code == 0
    assert "rows read 1: accepted 0, rejected 1" in result.stdout
    assert stored_customers(db, "name = 'Ann Co'") == [STORED_ANN]
    assert query(db, "SELECT count(*) FROM customer_history") == [(0,)]
    assert query(db, "SELECT rule FROM rejections WHERE batch_id = 2") == [
        ("currency_not_enabled",)
    ]


# --- too many rejections ---------------------------------------------------------------------


@pytest.fixture
def three_of_five_bad(batch):
    return batch(
        customer("Ann Co"),
        customer("Bob Co", currency="GBP"),
        customer("Cid Co"),
        customer("Dan Co", model="Satellite TV"),
        customer("Eve Co", period="Fortnightly", currency="GBP"),
        name="mixed.csv",
    )


def test_a_batch_over_max_rejected_is_refused_but_its_rejections_are_kept(
    onboard, db, tmp_path, with_reference, three_of_five_bad
):
    result = onboard("import", str(three_of_five_bad), "--max-rejected", "2")

    assert result.exit_code == 1
    reason = "3 of 5 rows rejected, more than --max-rejected 2; no customer was written"
    assert result.stderr.splitlines() == [
        f"onboard: error: {three_of_five_bad}: batch 1 refused: {reason}"
    ]
    assert f"{three_of_five_bad}: batch 1 refused, no customer written" in result.stdout
    assert query(db, "SELECT count(*) FROM customers") == [(0,)]
    assert query(
        db,
        "SELECT status, rows_read, rows_accepted, rows_rejected, rows_skipped, reason FROM batches",
    ) == [("refused", 5, 2, 3, 0, reason)]
    assert query(db, "SELECT DISTINCT source_row FROM rejections ORDER BY 1") == [(3,), (5,), (6,)]

    fix = tmp_path / "refused-fix.csv"
    exported = onboard("rejections", "1", "--export", str(fix))
    assert exported.exit_code == 0
    assert [r[0] for r in read_csv(fix)] == ["name", "Bob Co", "Dan Co", "Eve Co"]

    # a refused file was not committed: the same file runs again, here under a higher limit
    again = onboard("import", str(three_of_five_bad), "--max-rejected", "3")
    assert again.exit_code == 0
    assert "batch 2 committed" in again.stdout
    assert query(db, "SELECT name, batch_id FROM customers ORDER BY name") == [
        ("Ann Co", 2),
        ("Cid Co", 2),
    ]


@pytest.mark.parametrize(
    ("limit", "exit_code", "status"),
    [
        ("3", 0, "committed"),  # 3 rejected rows are not more than 3
        ("2", 1, "refused"),
        ("0", 1, "refused"),
        ("60%", 0, "committed"),  # 3 of 5 is 60%
        ("59.9%", 1, "refused"),
        ("0%", 1, "refused"),
        ("100%", 0, "committed"),
    ],
)
def test_max_rejected_counts_rows_or_a_percentage(
    onboard, db, with_reference, three_of_five_bad, limit, exit_code, status
):
    result = onboard("import", str(three_of_five_bad), "--max-rejected", limit)
    assert result.exit_code == exit_code
    assert query(db, "SELECT status FROM batches") == [(status,)]
    assert query(db, "SELECT count(*) FROM customers") == [(2 if status == "committed" else 0,)]


@pytest.mark.parametrize(
    "limit", ["many", "-1", "5.5", "x%", "inf%", "1e400%", "nan%", "101%", "-0.5%", "١٢"]
)
def test_a_bad_max_rejected_is_a_usage_error(onboard, db, three_of_five_bad, limit):
    result = onboard("import", str(three_of_five_bad), "--max-rejected", limit)
    assert result.exit_code == 2
    assert "give a number of rows (10) or a percentage from 0% to 100% (5%)" in result.stderr
    assert not db.exists()
    assert not db.exists()


def test_with_several_files_a_refused_one_does_not_stop_the_others(
    onboard, db, batch, with_reference, three_of_five_bad
):
    good = batch(customer("Zed Co"), name="zz-good.csv")
    result = onboard("import", str(three_of_five_bad), str(good), "--max-rejected", "1")
    assert result.exit_code == 1
    assert query(db, "SELECT source, status FROM batches ORDER BY batch_id") == [
        (str(three_of_five_bad), "refused"),
        (str(good), "committed"),
    ]
    assert query(db, "SELECT name FROM customers") == [("Zed Co",)]


# --- fix files -------------------------------------------------------------------------------

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


@pytest.fixture
def retry_batch(onboard, batch, reference_path):
    """Batch 1: one good row, and rows blocked by GBP, by a business model, by both."""
    path = batch(
        customer("Ann Co"),
        customer("Bob Co", currency="GBP", balance="postpaid", credit="100"),
        customer("Cid Co", model="Satellite TV"),
        customer("Dan Co", currency="GBP", period="Fortnightly"),
        name="blocked.csv",
    )
    result = onboard("import", str(path), "--reference", str(reference_path), "--as-of", AS_OF)
    assert "rows read 4: accepted 1, rejected 3" in result.stdout
    return path


def open_rejections(db, batch_id: int = 1) -> list[tuple]:
    return query(
        db,
        "SELECT source_row, rule, resolved_by_batch FROM rejections WHERE batch_id = ? "
        "ORDER BY ALL",
        batch_id,
    )


def test_retry_imports_rows_that_pass_now_as_a_linked_batch(onboard, db, tmp_path, retry_batch):
    onboard("reference", "load", str(reference_with(tmp_path, currencies=["GBP"])))

    result = onboard("retry", "1", "--as-of", NEXT_DAY)

    assert result.exit_code == 0
    assert f"{retry_batch}: batch 2 committed (retry of batch 1)" in result.stdout
    assert "rows read 1: accepted 1, rejected 0" in result.stdout
    assert "still failing:" in result.stdout
    assert query(
        db,
        "SELECT b.status, b.retry_of, b.as_of, b.rows_read, b.rows_accepted, b.rows_rejected, "
        "b.sha256 = o.sha256 FROM batches b, batches o WHERE b.batch_id = 2 AND o.batch_id = 1",
    ) == [("committed", 1, date(2026, 11, 27), 1, 1, 0, True)]
    assert query(
        db,
        "SELECT name, currency, credit_limit, created_on, batch_id, source_row FROM customers "
        "ORDER BY batch_id, name",
    ) == [
        ("Ann Co", "USD", None, date(2026, 11, 26), 1, 2),
        ("Bob Co", "GBP", Decimal("100.0000"), date(2026, 11, 27), 2, 3),
    ]
    assert open_rejections(db) == [
        (3, "currency_not_enabled", 2),
        (4, "business_model_unknown", None),
        (5, "billing_period_unknown", None),
        (5, "currency_not_enabled", None),  # Dan's other reason still holds him back
    ]
    assert query(db, "SELECT count(*) FROM rejections WHERE batch_id = 2") == [(0,)]
    fix = tmp_path / "still-open.csv"
    onboard("rejections", "1", "--export", str(fix))
    assert [r[0] for r in read_csv(fix)[1:]] == ["Cid Co", "Dan Co"]

    # a second retry admits nothing twice
    second = onboard("retry", "1", "--as-of", NEXT_DAY)
    assert second.exit_code == 0
    assert "nothing passes yet, nothing written (retry of batch 1)" in second.stdout
    assert counts(db) == (2, 2, 4)

    # the reference changes again: Cid passes now, Bob is not admitted again
    models = reference_with(tmp_path, currencies=["GBP"], business_models=["Satellite TV"])
    onboard("reference", "load", str(models))
    third = onboard("retry", "1", "--as-of", NEXT_DAY)
    assert "batch 3 committed (retry of batch 1)" in third.stdout
    assert "rows read 1: accepted 1" in third.stdout
    assert query(db, "SELECT name, batch_id FROM customers ORDER BY name") == [
        ("Ann Co", 1),
        ("Bob Co", 2),
        ("Cid Co", 3),
    ]
    assert [r[2] for r in open_rejections(db)] == [2, 3, None, None]


def test_retry_with_nothing_open_says_so(onboard, db, batch, tmp_path, reference_path):
    path = batch(customer("Bob Co", currency="GBP"))
    onboard("import", str(path), "--reference", str(reference_path))
    onboard("reference", "load", str(reference_with(tmp_path, currencies=["GBP"])))
    assert "batch 2 committed" in onboard("retry", "1").stdout
    result = onboard("retry", "1")
    assert result.exit_code == 0
    assert result.stdout.strip() == "batch 1: no open rejections to retry"
    assert counts(db) == (1, 2, 1)


def test_retry_does_not_admit_a_name_stored_meanwhile(onboard, db, batch, tmp_path, retry_batch):
    # the clerk's corrected Bob arrives first, in a fix file
    onboard("import", str(batch(customer("Bob Co", currency="EUR"), name="bob-fixed.csv")))
    onboard("reference", "load", str(reference_with(tmp_path, currencies=["GBP"])))

    result = onboard("retry", "1", "--as-of", NEXT_DAY)

    assert result.exit_code == 0
    assert "nothing passes yet" in result.stdout
    assert "name_exists (1): rows 3" in result.stdout
    assert query(db, "SELECT name, currency, batch_id FROM customers WHERE name = 'Bob Co'") == [
        ("Bob Co", "EUR", 2)
    ]
    assert (3, "currency_not_enabled", None) in open_rejections(db)


def test_retry_reads_amounts_as_the_batch_did(onboard, db, tmp_path, reference_path):
    ann = cells("Ann Co", balance="postpaid", currency="GBP", credit="1500,50")
    sent = write_csv(tmp_path / "semicolons.csv", [HEADERS, ann], delimiter=";")
    onboard("import", str(sent), "--reference", str(reference_path), "--as-of", AS_OF)
    onboard("reference", "load", str(reference_with(tmp_path, currencies=["GBP"])))

    result = onboard("retry", "1", "--as-of", AS_OF)

    assert "batch 2 committed (retry of batch 1)" in result.stdout
    assert query(db, "SELECT name, credit_limit, batch_id FROM customers") == [
        ("Ann Co", Decimal("1500.5000"), 2)
    ]


@pytest.mark.parametrize(
    ("batch_id", "message"),
    [("2", "batch 2 is a retry; retry batch 1"), ("9", "no batch 9")],
)
def test_retry_of_a_retry_or_an_unknown_batch_is_a_usage_error(
    onboard, tmp_path, retry_batch, batch_id, message
):
    onboard("reference", "load", str(reference_with(tmp_path, currencies=["GBP"])))
    assert onboard("retry", "1").exit_code == 0
    result = onboard("retry", batch_id)
    assert result.exit_code == 2
    assert message in result.stderr


def test_retry_needs_a_database(onboard, db):
    result = onboard("retry", "1")
    assert result.exit_code == 2
    assert "no such database" in result.stderr
    assert not db.exists()


# --- audit -----------------------------------------------------------------------------------


def show(onboard, batch_id: int) -> dict:
    """`onboard show` parsed: its top-level fields, and its options as JSON values."""
    result = onboard("show", str(batch_id))
    assert result.exit_code == 0
    fields, options, section = {}, {}, None
    for text in result.stdout.splitlines():
        key, _, value = text.strip().partition(":")
        if not text.startswith(" "):
            section = key
            fields[key] = value.strip()
        elif section == "options":
            options[key] = json.loads(value)
    return {**fields, "options": options}


def test_batches_lists_every_status_with_counts_and_seconds(
    onboard, db, tmp_path, with_reference, three_of_five_bad
):
    onboard("import", str(three_of_five_bad), "--as-of", AS_OF)
    onboard("import", str(three_of_five_bad))
    forced = ["import", str(three_of_five_bad), "--force", "--max-rejected", "0"]
    assert onboard(*forced).exit_code == 1
    onboard("reference", "load", str(reference_with(tmp_path, currencies=["GBP"])))
    onboard("retry", "1", "--as-of", AS_OF)

    listed = json.loads(onboard("batches", "--format", "json").stdout)

    assert [
        (
            b["batch_id"],
            b["status"],
            b["rows_read"],
            b["rows_accepted"],
            b["rows_rejected"],
            b["retry_of"],
        )
        for b in listed
    ] == [
        (1, "committed", 5, 2, 3, None),
        (2, "skipped", 0, 0, 0, None),
        (3, "refused", 5, 0, 5, None),
        (4, "committed", 1, 1, 0, 1),
    ]
    assert all(isinstance(b["seconds"], float) and b["seconds"] >= 0 for b in listed)
    assert listed[1]["reason"].startswith("same content as batch 1")
    assert listed[2]["reason"].startswith("5 of 5 rows rejected, more than --max-rejected 0")

    table = onboard("batches").stdout.splitlines()
    assert table[0].split()[:4] == ["batch_id", "source", "status", "as_of"]
    assert [row.split()[2] for row in table[2:]] == ["committed", "skipped", "refused", "committed"]
    assert "seconds" in table[0]


def test_show_prints_the_options_a_batch_ran_with(onboard, batch, with_reference):
    header = HEADER.replace("name,", "Client,", 1)
    path = batch(customer("Ann Co", created="26/11/2026"), customer("Bob Co"), header=header)
    options = ["--map", "Client=name", "--on-existing", "skip", "--max-rejected", "50%"]
    result = onboard("import", str(path), "--as-of", AS_OF, *options, "--date-format", "%d/%m/%Y")
    assert result.exit_code == 0

    shown = show(onboard, 1)

    assert shown["status"] == "committed"
    assert shown["as_of"] == AS_OF
    assert shown["source"] == str(path)
    assert (shown["rows_read"], shown["rows_accepted"], shown["rows_rejected"]) == ("2", "2", "0")
    assert json.loads(shown["headers"])[0] == "Client"
    assert set(json.loads(shown["timings"])) >= {"read", "parse", "validate", "periods"}
    assert shown["options"] == {
        "as_of": AS_OF,
        "encoding": None,
        "delimiter": None,
        "decimal_comma": False,
        "sheet": None,
        "renames": {"Client": "name"},
        "date_format": "%d/%m/%Y",
        "on_existing": "skip",
        "force": False,
        "max_rejected": "50%",
    }


def test_show_of_a_retry_names_the_batch_it_retried(onboard, tmp_path, retry_batch):
    onboard("reference", "load", str(reference_with(tmp_path, currencies=["GBP"])))
    onboard("retry", "1", "--as-of", NEXT_DAY)
    shown = show(onboard, 2)
    assert (shown["retry_of"], shown["status"], shown["as_of"]) == ("1", "committed", NEXT_DAY)
    assert shown["options"]["as_of"] == NEXT_DAY
    unknown = onboard("show", "9")
    assert unknown.exit_code == 2
    assert "no batch 9" in unknown.stderr
