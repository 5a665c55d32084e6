"""`make bench`'s batch shapes (bench/generate.py), small: each imports as the bench expects."""

import importlib.util
import json

import pytest

from helpers import ROOT, query

_spec = importlib.util.spec_from_file_location("bench_generate", ROOT / "bench" / "generate.py")
generate = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(generate)

ROWS = 2_000


def import_shape(onboard, tmp_path, shape: str) -> dict:
    batch = tmp_path / f"{shape}.csv"
    reference = generate.write_batch(batch, shape, ROWS)
    result = onboard(
        "import", str(batch), "--reference", str(reference), "--as-of", "2026-11-26", "--json"
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["status"] == "committed"
    assert summary["rows_read"] == ROWS
    assert summary["ignored_columns"] == []  # every generated column is a known one
    assert summary["rows_accepted"] + summary["rows_rejected"] == ROWS
    return summary


def test_plain_batch_has_about_three_percent_rejected(onboard, tmp_path):
    summary = import_shape(onboard, tmp_path, "plain")
    assert 0.01 * ROWS < summary["rows_rejected"] < 0.06 * ROWS
    assert "custom_field_required" not in summary["rules"]


def test_custom_batch_stores_custom_fields_and_rejects_their_defects(onboard, db, tmp_path):
    summary = import_shape(onboard, tmp_path, "custom")
    assert 0.01 * ROWS < summary["rows_rejected"] < 0.06 * ROWS
    assert summary["rules"]["custom_field_required"] > 0
    assert summary["rules"]["custom_field_pattern"] > 0
    fields = dict(
        query(
            db,
            "SELECT customer_class, max(cardinality(custom_data)) FROM customers "
            "GROUP BY customer_class",
        )
    )
    assert fields == {"Retail": 0, "Business": 1, "Enterprise": 5}
    shares = dict(query(db, "SELECT customer_class, count(*) FROM customers GROUP BY ALL"))
    assert all(0.25 * ROWS < n < 0.4 * ROWS for n in shares.values())


def test_defective_batch_has_about_thirty_percent_rejected_over_many_rules(onboard, tmp_path):
    summary = import_shape(onboard, tmp_path, "defective")
    assert 0.25 * ROWS < summary["rows_rejected"] < 0.36 * ROWS
    assert len(summary["rules"]) >= 20
    assert {"currency_not_enabled", "customer_class_unknown", "name_duplicate_in_batch"} <= set(
        summary["rules"]
    )


@pytest.mark.parametrize("shape", generate.SHAPES)
def test_generation_is_deterministic(shape):
    assert generate.generate(500, shape=shape).equals(generate.generate(500, shape=shape))
    assert not generate.generate(500, seed=8, shape=shape).equals(
        generate.generate(500, shape=shape)
    )
