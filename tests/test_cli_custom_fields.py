"""Typed custom fields end to end: what custom_data stores, what is rejected."""

import json

from helpers import AS_OF, line, query, refused_reference
from schemas.vocabulary import REQUIRED

REFERENCE = """\
currencies = ["USD", "EUR"]
business_models = ["Hosted IP PBX"]

[[customer_classes]]
name = "Retail"

[[customer_classes]]
name = "Business"
[[customer_classes.custom_fields]]
name = "seats"
type = "number"
mandatory = true
default = 1
[[customer_classes.custom_fields]]
name = "since"
type = "date"
[[customer_classes.custom_fields]]
name = "signed_at"
type = "datetime"
[[customer_classes.custom_fields]]
name = "plan"
type = "list"
values = ["Basic", "Premium"]
default = "Basic"
[[customer_classes.custom_fields]]
name = "note"
"""
HEADER = [
    *REQUIRED,
    "seats",
    "since",
    "signed_at",
    "plan",
    "note",
]


def row(name: str, klass="Business", zone="Europe/Prague", **fields) -> list[str]:
    cells = [name, "Hosted IP PBX", klass, "Monthly", zone, "prepaid", "USD"]
    return cells + [fields.get(f, "") for f in HEADER[7:]]


def run(onboard, tmp_path, rows, *options, header=HEADER, delimiter=","):
    reference = tmp_path / "typed.toml"
    reference.write_text(REFERENCE, encoding="utf-8")
    path = tmp_path / "batch.csv"
    text = "\n".join(line(r, delimiter) for r in [header, *rows]) + "\n"
    path.write_text(text, encoding="utf-8")
    return onboard("import", str(path), "--reference", str(reference), "--as-of", AS_OF, *options)


def custom_data(db) -> dict:
    return dict(query(db, "SELECT name, custom_data FROM customers ORDER BY name"))


def test_typed_values_are_stored_in_their_canonical_form(onboard, db, tmp_path):
    rows = [
        row(
            "Ann Co",
            seats="+0012.50",
            since="2026-01-05",
            signed_at="2026-11-26 14:30",
            plan="premium",
            note=" free text ",
        ),
        row("Bob Co", signed_at="2026-11-26T14:30:00Z"),
        row("Cid Co", klass="Retail", seats="many", plan="Gold"),  # not Retail's fields
    ]
    result = run(onboard, tmp_path, rows)
    assert result.exit_code == 0, result.output
    assert custom_data(db) == {
        "Ann Co": {
            "seats": "12.5",
            "since": "2026-01-05",
            "signed_at": "2026-11-26T13:30:00+00:00",
            "plan": "Premium",
            "note": "free text",
        },
        "Bob Co": {"seats": "1", "signed_at": "2026-11-26T14:30:00+00:00", "plan": "Basic"},
        "Cid Co": {},
    }


def test_values_not_of_their_type_are_rejected_and_nothing_of_the_row_is_stored(
    onboard, db, tmp_path
):
    rows = [
        row("Ann Co", seats="1,5"),
        row("Bob Co", since="31/12/2026"),
        row("Cid Co", signed_at="2026-03-29 02:30"),  # the clocks skip it in Prague
        row("Dan Co", plan="Gold"),
        row("Eve Co", seats="2"),
    ]
    result = run(onboard, tmp_path, rows, "--json")
    summary = json.loads(result.stdout)
    assert (summary["rows_accepted"], summary["rows_rejected"]) == (1, 4)
    assert summary["rules"] == {"custom_field_type": 4}
    assert custom_data(db) == {"Eve Co": {"seats": "2", "plan": "Basic"}}
    assert query(db, 'SELECT source_row, "column", rule, value FROM rejections ORDER BY 1') == [
        (2, "seats", "custom_field_type", "1,5"),
        (3, "since", "custom_field_type", "31/12/2026"),
        (4, "signed_at", "custom_field_type", "2026-03-29 02:30"),
        (5, "plan", "custom_field_type", "Gold"),
    ]


def test_numbers_and_dates_follow_the_files_conventions(onboard, db, tmp_path):
    rows = [row("Ann Co", seats="1500,50", since="05/01/2026")]
    result = run(onboard, tmp_path, rows, "--date-format", "%d/%m/%Y", delimiter=";")
    assert result.exit_code == 0, result.output
    assert "decimal comma" in result.stdout
    assert custom_data(db)["Ann Co"] == {"seats": "1500.5", "since": "2026-01-05", "plan": "Basic"}


def test_defaults_are_stored_when_the_file_has_no_column_for_them(onboard, db, tmp_path):
    result = run(onboard, tmp_path, [row("Ann Co")[:7]], header=HEADER[:7])
    assert result.exit_code == 0, result.output
    assert custom_data(db) == {"Ann Co": {"seats": "1", "plan": "Basic"}}


def test_a_retry_reads_typed_values_as_the_batch_was_read(onboard, db, tmp_path):
    """A decimal comma batch's number is rejected for a list value; once the list allows it,
    the retry stores the number read with the batch's decimal comma."""
    rows = [row("Ann Co", seats="2,5", plan="Gold")]
    assert run(onboard, tmp_path, rows, delimiter=";").exit_code == 0
    widened = tmp_path / "widened.toml"
    widened.write_text(REFERENCE.replace('"Premium"]', '"Premium", "Gold"]'), encoding="utf-8")
    assert onboard("reference", "load", str(widened)).exit_code == 0
    result = onboard("retry", "1", "--as-of", AS_OF)
    assert result.exit_code == 0, result.output
    assert custom_data(db) == {"Ann Co": {"seats": "2.5", "plan": "Gold"}}


def test_reference_load_refuses_a_default_not_of_its_type(onboard, db, tmp_path):
    wrong = tmp_path / "wrong.toml"
    text = REFERENCE.replace("default = 1\n", 'default = "one"\n')
    assert refused_reference(onboard, db, wrong, text) == (
        f"onboard: error: {wrong}:13: custom field 'seats': default 'one' is not a number; "
        "write it as 1500.50 or 1500"
    )
