"""Helpers the tests share: paths, the standard header, a read-only query, CSV lines."""

import csv
import io
import re
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data"
CORPUS = ROOT.parent / "shared" / "corpus" / "excel-oddities"
AS_OF = "2026-11-26"

HEADER = (
    "name,business_model,customer_class,billing_period,billing_period_timezone,"
    "balance_control,currency,credit_limit,available_funds,created_on,tax_id"
)
HEADERS = HEADER.split(",")


def query(db, sql: str, *params) -> list[tuple]:
    """Rows of `sql` on the database file `db`, read-only, in UTC; the connection is closed."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        con.execute("SET TimeZone = 'UTC'")
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


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
) -> list[str]:
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
