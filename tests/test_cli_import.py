"""`onboard import` end to end on a temporary database: what is stored, what is printed."""

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from helpers import SAMPLE, query

AS_OF = "2026-11-26"


def import_sample(onboard, reference_path, *extra: str):
    """Import sample_data/customers.csv with the sample reference, as of 2026-11-26."""
    sample = str(SAMPLE / "customers.csv")
    return onboard("import", sample, "--reference", str(reference_path), "--as-of", AS_OF, *extra)


def test_sample_batch_is_stored_with_periods_and_rejections(onboard, db, reference_path):
    result = import_sample(onboard, reference_path)
    assert result.exit_code == 0, result.output
    assert "batch 1 committed" in result.stdout
    assert "rows read 14: accepted 6, rejected 8" in result.stdout

    [batch] = query(
        db, "SELECT status, rows_read, rows_accepted, rows_rejected, as_of FROM batches"
    )
    assert batch == ("committed", 14, 6, 8, date(2026, 11, 26))

    [blue] = query(
        db,
        "SELECT business_model, customer_class, billing_period, billing_period_timezone, "
        "balance_control, currency, credit_limit, available_funds, created_on, "
        "first_period_start, first_period_end, current_period_start, current_period_end, "
        "current_period_closes_at, source_row, batch_id FROM customers WHERE name = ?",
        "Blue Harbor Cafe",
    )
    assert blue == (
        "Internet access",
        "Retail",
        "monthly_anniversary",
        "America/New_York",
        "prepaid",
        "USD",
        None,
        Decimal("150.0000"),
        date(2026, 10, 30),
        date(2026, 10, 30),
        date(2026, 11, 27),
        date(2026, 10, 30),
        date(2026, 11, 27),
        datetime(2026, 11, 28, 5, 0, tzinfo=UTC),
        3,
        1,
    )
    [sao] = query(
        db,
        "SELECT billing_period_timezone, currency, available_funds FROM customers "
        "WHERE name = 'Sao Paulo Motors'",
    )
    assert sao == ("America/Sao_Paulo", "USD", None)  # canonical zone, upper-case currency
    [gulf] = query(db, "SELECT custom_data FROM customers WHERE name = 'Gulf Freight W.L.L.'")
    assert gulf == ({"tax_id": "BH12345678"},)

    rejected_rows = {r[0] for r in query(db, "SELECT DISTINCT source_row FROM rejections")}
    assert rejected_rows == {2, 9, 10, 11, 12, 13, 14, 15}
    stored = {r[0] for r in query(db, "SELECT source_row FROM customers")}
    assert stored.isdisjoint(rejected_rows)
    assert len(stored) + len(rejected_rows) == 14


def test_rejections_command_shows_each_bad_row_with_its_reason(onboard, reference_path):
    import_sample(onboard, reference_path)
    table = onboard("rejections", "1")
    assert table.exit_code == 0
    assert "currency 'GBP' is not enabled for this reseller" in table.stdout
    assert "business model 'Satellite TV' is not known" in table.stdout

    rows = json.loads(onboard("rejections", "1", "--format", "json").stdout)
    by_rule = {(r["source_row"], r["rule"]): r for r in rows}
    assert by_rule[(11, "billing_period_unknown")]["value"] == "Fortnightly"
    assert by_rule[(2, "name_duplicate_in_batch")]["message"].endswith(
        "is also on row(s) 12 of this file; names must be unique"
    )
    original = json.loads(by_rule[(13, "credit_limit_prepaid")]["original"])
    assert original["Name"] == "Tokyo Ramen" and original["Available funds"] == "1200.50"

    csv_out = onboard("rejections", "1", "--format", "csv").stdout
    assert csv_out.splitlines()[0] == (
        "batch_id,source_row,name,column,rule,message,value,original,resolved_by_batch"
    )
    assert len(csv_out.splitlines()) > len(rows)  # quoted JSON spans no extra records


def test_json_summary_counts_by_rule(onboard, reference_path):
    result = import_sample(onboard, reference_path, "--json")
    summary = json.loads(result.stdout)
    assert summary["batch_id"] == 1
    assert summary["status"] == "committed"
    assert summary["source"].endswith("customers.csv")
    assert (summary["rows_read"], summary["rows_accepted"], summary["rows_rejected"]) == (14, 6, 8)
    assert summary["rules"]["name_duplicate_in_batch"] == 2
    assert summary["rules"]["currency_not_enabled"] == 1
    assert set(summary["timings"]) == {"read", "parse", "validate", "periods", "write"}


def test_several_files_give_a_json_list_and_names_meet_stored_customers(
    onboard, db, batch, reference_path
):
    first = batch("Ann Co,Internet access,Retail,Daily,UTC,prepaid,USD,,,", name="a.csv")
    second = batch("ann  co ,Internet access,Retail,Daily,UTC,prepaid,USD,,,", name="b.csv")
    result = onboard(
        "import", str(first), str(second), "--reference", str(reference_path), "--json"
    )
    assert result.exit_code == 0
    summaries = json.loads(result.stdout)
    assert [s["rows_accepted"] for s in summaries] == [1, 0]
    assert summaries[1]["rules"] == {"name_exists": 1}
    assert query(db, "SELECT count(*) FROM customers") == [(1,)]


def test_dry_run_writes_nothing(onboard, db, reference_path):
    onboard("reference", "load", str(reference_path))
    result = onboard("import", str(SAMPLE / "customers.csv"), "--dry-run", "--as-of", "2026-11-26")
    assert result.exit_code == 0
    assert "dry run, nothing written" in result.stdout
    assert "rows read 14: accepted 6, rejected 8" in result.stdout
    assert query(
        db,
        "SELECT (SELECT count(*) FROM customers), (SELECT count(*) FROM batches), "
        "(SELECT count(*) FROM rejections)",
    ) == [(0, 0, 0)]


def test_dry_run_on_a_new_database_creates_no_file(onboard, db, reference_path):
    result = onboard(
        "import", str(SAMPLE / "customers.csv"), "--reference", str(reference_path), "--dry-run"
    )
    assert result.exit_code == 0
    assert not db.exists()


def test_as_of_defaults_to_today_in_utc(onboard, db, batch, reference_path):
    path = batch("Ann Co,Internet access,Retail,Daily,UTC,prepaid,USD,,,")
    assert onboard("import", str(path), "--reference", str(reference_path)).exit_code == 0
    today = datetime.now(UTC).date()
    assert query(db, "SELECT created_on, as_of FROM customers, batches") == [(today, today)]


def test_env_var_names_the_database(tmp_path, batch, reference_path, monkeypatch):
    from click.testing import CliRunner

    from pipeline.cli import cli

    target = tmp_path / "from-env.duckdb"
    monkeypatch.setenv("ONBOARD_DB", str(target))
    path = batch("Ann Co,Internet access,Retail,Daily,UTC,prepaid,USD,,,")
    result = CliRunner().invoke(cli, ["import", str(path), "--reference", str(reference_path)])
    assert result.exit_code == 0
    assert query(target, "SELECT name FROM customers") == [("Ann Co",)]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["import", "missing.csv"], "no stored reference: pass --reference FILE"),
        (["import", "x.csv", "--as-of", "26.11.2026"], "is not a date; write it as YYYY-MM-DD"),
        (["imprt", "x.csv"], "No such command 'imprt'. Did you mean 'import'?"),
        (["import"], "Missing argument 'PATHS...'"),
        (["import", "x.csv", "--max-rejected", "lots"], "give a number of rows (10)"),
        (["rejections", "1"], "no such database"),
        (["reference", "show"], "no such database"),
    ],
)
def test_usage_errors_exit_2_with_one_line(onboard, args, message):
    result = onboard(*args)
    assert result.exit_code == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("onboard: error: ")
    assert message in line
    assert "Traceback" not in result.output


def test_missing_required_columns_refuse_the_file(onboard, db, tmp_path, reference_path):
    path = tmp_path / "short.csv"
    path.write_text("Nmae,currency\nAnn,USD\n")
    result = onboard("import", str(path), "--reference", str(reference_path))
    assert result.exit_code == 2
    [line] = result.stderr.strip().splitlines()
    assert str(path) in line
    assert "missing required column(s) name, business_model" in line
    assert "did you mean 'Nmae' for 'name'" in line
    assert query(db, "SELECT count(*) FROM customers UNION ALL SELECT count(*) FROM batches") == [
        (0,),
        (0,),
    ]


def test_a_bad_file_does_not_stop_the_others(onboard, db, batch, tmp_path, reference_path):
    good = batch("Ann Co,Internet access,Retail,Daily,UTC,prepaid,USD,,,")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    result = onboard("import", str(empty), str(good), "--reference", str(reference_path))
    assert result.exit_code == 2
    assert f"{empty}: the file is empty" in result.stderr
    assert query(db, "SELECT name FROM customers") == [("Ann Co",)]


def test_unknown_column_is_ignored_with_one_warning(onboard, batch, reference_path):
    path = batch(
        "Ann Co,Internet access,Retail,Daily,UTC,prepaid,USD,,,,x",
        header="name,business_model,customer_class,billing_period,billing_period_timezone,"
        "balance_control,currency,credit_limit,available_funds,created_on,tax_id,Notes",
    )
    result = onboard("import", str(path), "--reference", str(reference_path))
    assert result.exit_code == 0
    assert result.stderr.count("'Notes' is not a known column and was ignored") == 1


def test_a_failed_write_leaves_nothing_and_exits_1(onboard, db, batch, reference_path, monkeypatch):
    from pipeline import store

    onboard("reference", "load", str(reference_path))
    path = batch(
        "Ann Co,Internet access,Retail,Daily,UTC,prepaid,USD,,,",
        "Bad Co,Nope,Retail,Daily,UTC,prepaid,USD,,,",
    )
    real_prepare = store.BatchWriter.prepare

    def broken(self, customers=None, rejections=None, *rest):
        # The real code runs; its last insert breaks a NOT NULL rule after the others went in.
        if rejections is not None:
            rejections = rejections.with_columns(rule=None)
        return real_prepare(self, customers, rejections, *rest)

    monkeypatch.setattr(store.BatchWriter, "prepare", broken)
    result = onboard("import", str(path))
    assert result.exit_code == 1
    assert "writing the batch failed, nothing was written" in result.stderr
    assert "failed, nothing imported" in result.stdout
    assert query(
        db,
        "SELECT (SELECT count(*) FROM customers), (SELECT count(*) FROM rejections)",
    ) == [(0, 0)]
    [(status, rows, reason)] = query(db, "SELECT status, rows_read, reason FROM batches")
    assert (status, rows) == ("failed", 0)
    assert "NOT NULL" in reason


def test_batches_command_lists_counts(onboard, reference_path):
    onboard("import", str(SAMPLE / "customers.csv"), "--reference", str(reference_path))
    rows = json.loads(onboard("batches", "--format", "json").stdout)
    assert [(r["batch_id"], r["status"], r["rows_read"]) for r in rows] == [(1, "committed", 14)]
    table = onboard("batches").stdout.splitlines()
    assert table[0].split()[:3] == ["batch_id", "source", "status"]


def test_readable_summary_names_the_common_reasons_with_example_rows(onboard, reference_path):
    out = import_sample(onboard, reference_path).stdout.splitlines()
    assert "  most common rejection reasons:" in out
    start = out.index("  most common rejection reasons:")
    assert out[start + 1] == "    name_duplicate_in_batch (2): rows 2, 12"
    assert out[start + 2] == (
        "      e.g. the name 'Acme Telecom s.r.o.' is also on row(s) 12 of this file; "
        "names must be unique"
    )
    assert out[-1] == (
        "  all reasons: onboard rejections 1; a fix file: onboard rejections 1 --export fix.csv"
    )
