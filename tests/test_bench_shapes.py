"""`make bench`'s batch shapes (bench/generate.py), small: each imports as the bench expects."""

import importlib.util
import json
import os
import subprocess
import sys

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


def test_floor_times_every_variant_against_the_raw_load(tmp_path):
    """`make bench-floor`, small: each variant's import commits (or dry-runs), and the medians
    land in floor.json."""
    command = [sys.executable, str(ROOT / "bench" / "floor.py"), "--rows", "500"]
    done = subprocess.run(
        [*command, "--repeat", "1", "--out", str(tmp_path)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    [figures] = json.loads((tmp_path / "floor.json").read_text())
    assert (figures["shape"], figures["rows"]) == ("plain", 500)
    assert list(figures["medians"]) == [
        f"{run} {variant}"
        for variant in ("as is", "without checks", "without checks or names")
        for run in ("import", "dry run")
    ]
    assert all(ratio > 0 for ratio in figures["medians"].values())
    assert "import without checks or names" in done.stdout


def test_unchecked_import_stores_the_rows_periods_can_be_worked_out_for(tmp_path):
    """bench/unchecked.py leaves the checks out and nothing else: no rejection is stored, and
    what is stored is what the periods and NOT NULL columns allow."""
    batch = tmp_path / "plain.csv"
    reference = generate.write_batch(batch, "plain", ROWS)
    db = tmp_path / "unchecked.duckdb"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "unchecked.py"), "import", str(batch)]
        + ["--reference", str(reference), "--as-of", "2026-11-26", "--db", str(db), "--json"],
        capture_output=True,
        text=True,
        env={**os.environ, "UNCHECKED": "checks,names"},
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["status"] == "committed" and summary["rules"] == {}
    stored = query(db, "SELECT count(*) FROM customers")[0][0]
    assert stored == summary["rows_accepted"]
    assert 0.9 * ROWS < stored < ROWS  # the rows without a known period or zone are left out
    assert query(db, "SELECT count(*) FROM rejections")[0][0] == 0


@pytest.mark.parametrize(
    ("tool", "argument", "told"),
    [
        ("floor.py", "--repeat=0", "argument --repeat: '0' is not a whole number of at least 1"),
        ("run.py", "--rows=-5", "argument --rows: '-5' is not a whole number of at least 1"),
    ],
)
def test_the_bench_tools_refuse_a_count_below_one(tool, argument, told):
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / tool), argument], capture_output=True, text=True
    )
    assert done.returncode == 2 and told in done.stderr


def test_unchecked_refuses_a_stage_it_does_not_know(tmp_path):
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "unchecked.py"), "--help"],
        capture_output=True,
        text=True,
        env={**os.environ, "UNCHECKED": "checks,rules"},
    )
    assert done.returncode == 1
    assert done.stderr.strip() == "UNCHECKED=checks,rules: say checks, or checks,names"
