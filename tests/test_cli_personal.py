"""Personal data end to end: stored as sent, shown masked (***) unless --show-personal, kept
in fix files (they go back to the sender)."""

import json

import polars as pl
import pytest

from helpers import AS_OF, HEADER, query, read_csv
from pipeline.personal import MASK, masked_findings, masked_originals

EMAIL = "jane.doe at example.com"  # not an address: custom_field_pattern
HEADER_WITH_EMAIL = HEADER + ",contact_email"


def hosted(name: str, email: str = "", currency: str = "") -> str:
    """A row of class Hosted EU (the sample reference: contact_email is personal)."""
    cells = [name, "", "Hosted EU", "Monthly", "UTC", "prepaid", currency, "", "", "", "", email]
    return ",".join(cells)


@pytest.fixture
def imported(onboard, batch, reference_path):
    """Batch 1: Ann's e-mail is no address; Bob's is, but his currency is wrong; Cid passes."""
    path = batch(
        hosted("Ann Co", EMAIL),
        hosted("Bob Co", "bob@example.com", currency="USD"),
        hosted("Cid Co", "cid@example.com"),
        header=HEADER_WITH_EMAIL,
    )
    result = onboard("import", str(path), "--reference", str(reference_path), "--as-of", AS_OF)
    assert result.exit_code == 0, result.output
    return result


def test_the_database_keeps_personal_values_as_sent(imported, db):
    [(value, message, original)] = query(
        db, "SELECT value, message, original FROM rejections WHERE source_row = 2"
    )
    assert value == EMAIL
    assert f"'{EMAIL}'" in message
    assert json.loads(original)["contact_email"] == EMAIL
    assert query(db, "SELECT custom_data['contact_email'] FROM customers") == [("cid@example.com",)]


def test_the_import_summary_masks_personal_examples(imported, onboard, batch, reference_path):
    assert EMAIL not in imported.stdout
    assert "e.g. contact_email '***' does not have the form" in imported.stdout

    path = batch(hosted("Dan Co", EMAIL), header=HEADER_WITH_EMAIL, name="again.csv")
    as_json = onboard("import", str(path), "--json", "--dry-run")
    [reason] = json.loads(as_json.stdout)["top_reasons"]
    assert reason["example"].startswith("contact_email '***' does not have the form")
    assert set(reason) == {"rule", "count", "example", "rows"}

    shown = onboard("import", str(path), "--json", "--dry-run", "--show-personal")
    [reason] = json.loads(shown.stdout)["top_reasons"]
    assert reason["example"].startswith(f"contact_email '{EMAIL}' does not have the form")


@pytest.mark.parametrize("fmt", ["table", "csv", "json"])
def test_rejections_mask_personal_values_in_every_format(imported, onboard, fmt):
    masked = onboard("rejections", "1", "--format", fmt)
    assert masked.exit_code == 0
    assert EMAIL not in masked.stdout and "bob@example.com" not in masked.stdout
    assert "contact_email '***' does not have the form" in masked.stdout
    shown = onboard("rejections", "1", "--format", fmt, "--show-personal")
    assert EMAIL in shown.stdout
    if fmt != "table":  # the table shows no original cells
        assert "bob@example.com" in shown.stdout


def test_rejections_as_json_mask_values_messages_and_original_cells(imported, onboard):
    rows = json.loads(onboard("rejections", "1", "--format", "json").stdout)
    by_row = {r["source_row"]: r for r in rows}
    ann, bob = by_row[2], by_row[3]
    assert (ann["column"], ann["rule"], ann["value"]) == (
        "contact_email",
        "custom_field_pattern",
        MASK,
    )
    assert ann["message"] == (
        "contact_email '***' does not have the form customer class 'Hosted EU' requires "
        "(pattern [^@\\s]+@[^@\\s]+)"
    )
    assert json.loads(ann["original"])["contact_email"] == MASK
    assert json.loads(ann["original"])["name"] == "Ann Co"  # other cells as sent
    # a rejection of another column: its value as sent, the row's personal cell masked
    assert (bob["rule"], bob["value"]) == ("currency_class_mismatch", "USD")
    original = json.loads(bob["original"])
    assert (original["contact_email"], original["currency"]) == (MASK, "USD")


def test_fix_files_keep_personal_values(imported, onboard, tmp_path):
    fix = tmp_path / "fix.csv"
    assert onboard("rejections", "1", "--export", str(fix)).exit_code == 0
    rows = read_csv(fix)
    assert [r[-2] for r in rows[1:]] == [EMAIL, "bob@example.com"]
    assert f"'{EMAIL}'" in rows[1][-1]


def test_show_prints_no_personal_value(imported, onboard):
    shown = onboard("show", "1")
    assert shown.exit_code == 0
    assert EMAIL not in shown.stdout and "bob@example.com" not in shown.stdout
    assert "custom_field_pattern: 1" in shown.stdout


def test_a_retry_summary_masks_and_shows_on_request(imported, onboard):
    masked = onboard("retry", "1", "--as-of", AS_OF)
    assert "nothing passes yet" in masked.stdout
    assert EMAIL not in masked.stdout and "'***'" in masked.stdout
    shown = onboard("retry", "1", "--as-of", AS_OF, "--show-personal")
    assert f"'{EMAIL}'" in shown.stdout


def test_a_mapped_header_of_a_personal_field_is_masked_in_the_original(
    onboard, batch, reference_path
):
    path = batch(hosted("Ann Co", EMAIL), header=HEADER + ",E-mail address")
    result = onboard(
        "import",
        str(path),
        "--reference",
        str(reference_path),
        "--map",
        "E-mail address=contact_email",
    )
    assert result.exit_code == 0, result.output
    [row] = json.loads(onboard("rejections", "1", "--format", "json").stdout)
    assert json.loads(row["original"])["E-mail address"] == MASK
    assert row["value"] == MASK


def test_masking_works_on_whole_columns(monkeypatch):
    """No value is looked at by Python, however many rows there are."""

    def refused(*args, **kwargs):
        raise AssertionError("a row turned into Python objects")

    for name in ("rows", "iter_rows", "to_dicts", "map_rows"):
        monkeypatch.setattr(pl.DataFrame, name, refused)
    monkeypatch.setattr(pl.Expr, "map_elements", refused)
    n = 50_000
    frame = pl.DataFrame(
        {
            "column": ["email", "tax_id"] * (n // 2),
            "message": ["email 'a@b' is bad", "tax_id 'X1' is bad"] * (n // 2),
            "value": ["a@b", "X1"] * (n // 2),
            "original": ['{"Email":"a@b","tax_id":"X1","__extra__":null}'] * n,
        }
    )
    masked = masked_originals(masked_findings(frame, ["email"]), ["email"], ["Email", "tax_id"])
    assert masked["value"].value_counts().sort("value")["count"].to_list() == [n // 2, n // 2]
    assert masked["message"].unique().sort().to_list() == [
        "email '***' is bad",
        "tax_id 'X1' is bad",
    ]
    assert masked["original"].unique().to_list() == [
        '{"Email":"***","tax_id":"X1","__extra__":null}'
    ]
