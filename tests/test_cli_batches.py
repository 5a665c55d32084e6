"""The audit of batches: `onboard batches` and `onboard show`."""

import json

from helpers import (
    AS_OF,
    HEADER,
    customer,
    reference_with,
)

NEXT_DAY = "2026-11-27"


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
            assert text.startswith(f"  {key}: "), text  # values apart from their names
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
        "warnings_as_errors": False,
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
