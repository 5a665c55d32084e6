"""Helpers the tests share: paths, the standard header, a read-only query, CSV lines."""

import csv
import io
import re
from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from pipeline.columns import map_columns
from pipeline.grid import EXTRA
from pipeline.names import clean_names, name_keys, similarity_keys
from pipeline.parse import parse
from pipeline.validate import Validation, similar_names, validate
from schemas.rules import Context
from schemas.vocabulary import STANDARD

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


def refused_reference(onboard, db, path: Path, text: str) -> str:
    """Load `text` (written to `path`) as a reference that is refused: exit 2, nothing stored;
    the one error line."""
    path.write_text(text, encoding="utf-8")
    result = onboard("reference", "load", str(path))
    assert result.exit_code == 2
    assert not db.exists()
    return result.stderr.strip()


def counts(db) -> tuple[int, int, int]:
    """(customers, batches, rejections) stored."""
    [row] = query(
        db,
        "SELECT (SELECT count(*) FROM customers), (SELECT count(*) FROM batches), "
        "(SELECT count(*) FROM rejections)",
    )
    return row


# Rows checked without a file: map_columns -> parse -> validate

AS_OF_DATE = date(2026, 11, 26)
HEADERS_WITH_TAX_ID = (*STANDARD, "tax_id")
GOOD_ROW = {
    "name": "Acme Telecom",
    "business_model": "Hosted IP PBX",
    "customer_class": "Retail",
    "billing_period": "Monthly",
    "billing_period_timezone": "Europe/Prague",
    "balance_control": "Postpaid",
    "currency": "USD",
    "credit_limit": "",
    "available_funds": "",
    "created_on": "",
    "tax_id": "",
}
PREPAID = {"balance_control": "prepaid"}
BUSINESS = {"customer_class": "Business"}


def text_batch(rows: list[dict], headers=HEADERS_WITH_TAX_ID, first_row: int = 2) -> pl.DataFrame:
    """Text columns named by `headers` (cells from GOOD_ROW unless a row overrides them), then
    EXTRA when a row has cells beyond the header, then source_row, as `pipeline.read` gives."""
    cells = {h: [row.get(h, GOOD_ROW.get(h, "")) for row in rows] for h in headers}
    frame = pl.DataFrame(cells, schema=dict.fromkeys(headers, pl.String))
    if any(EXTRA in row for row in rows):
        frame = frame.with_columns(pl.Series(EXTRA, [row.get(EXTRA) for row in rows], pl.String))
    rows_numbered = pl.int_range(first_row, first_row + len(rows), dtype=pl.Int64)
    return frame.with_columns(rows_numbered.alias("source_row"))


def check(
    rows: list[dict],
    reference,
    existing=(),
    headers=HEADERS_WITH_TAX_ID,
    ambiguous=(),
    alike=(),
    warnings_as_errors=False,
    updated=None,
) -> Validation:
    """Map, parse and validate `rows` as one batch; `existing` are stored name keys,
    `ambiguous` keys that several stored customers share, `alike` stored names (as written)
    the batch's names are compared with for name_similar, `updated` ({name key: currency})
    the stored customers the batch updates. With the standard headers, a column
    a row names besides them (another custom field) is a header too."""
    if headers == HEADERS_WITH_TAX_ID:
        more = [k for row in rows for k in row if k not in headers and k != EXTRA]
        headers = (*headers, *dict.fromkeys(more))
    columns = map_columns("batch.csv", list(headers), reference.custom_field_names)
    typed = parse(text_batch(rows, headers), columns, reference, AS_OF_DATE)
    stored_keys = name_keys(clean_names(pl.Series(list(alike), dtype=pl.String)))
    stored = pl.DataFrame({"similar_to": similarity_keys(stored_keys), "name_key": stored_keys})
    names = {
        "existing": pl.Series(list(existing), dtype=pl.String),
        "ambiguous": pl.Series(list(ambiguous), dtype=pl.String),
        "similar": similar_names(typed, stored),
        "updated": pl.DataFrame(
            list((updated or {}).items()), schema=["name_key", "currency"], orient="row"
        ),
    }
    return validate(typed, Context(reference, AS_OF_DATE, **names), warnings_as_errors)


def failures(result: Validation) -> list[tuple]:
    return result.rejections.select("source_row", "rule", "column", "value").rows()


def png_pixels(path: Path) -> tuple[int, int, list[bytes]]:
    """A PNG (8-bit RGB or RGBA, not interlaced, as browsers write screenshots) as its width,
    height and rows of pixels, 3 or 4 bytes each: enough to tell a blank page from a drawn one
    without an image library."""
    import struct
    import zlib

    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    chunks, at = {}, 8
    while at < len(data):
        (size,), kind = struct.unpack(">I", data[at : at + 4]), data[at + 4 : at + 8]
        chunks[kind] = chunks.get(kind, b"") + data[at + 8 : at + 8 + size]
        at += 12 + size
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunks[b"IHDR"])
    assert depth == 8 and colour in (2, 6) and not interlace, (depth, colour, interlace)
    step = 3 if colour == 2 else 4
    raw, rows, previous = zlib.decompress(chunks[b"IDAT"]), [], bytes(width * step)
    stride = width * step + 1
    for y in range(height):
        kind, line = raw[y * stride], bytearray(raw[y * stride + 1 : (y + 1) * stride])
        for x in range(len(line)):
            left = line[x - step] if x >= step else 0
            up, corner = previous[x], previous[x - step] if x >= step else 0
            if kind == 1:
                line[x] = (line[x] + left) & 0xFF
            elif kind == 2:
                line[x] = (line[x] + up) & 0xFF
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                near = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[x] = (line[x] + near) & 0xFF
        rows.append(bytes(line))
        previous = bytes(line)
    return width, height, rows
