"""One batch, start to end: read -> parse -> validate -> periods -> store."""

import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import polars as pl

from pipeline import store
from pipeline.columns import header_matcher, map_columns
from pipeline.errors import FileRefused, OnboardError
from pipeline.options import RunOptions
from pipeline.parse import parse
from pipeline.periods import add_periods
from pipeline.read import SOURCE_ROW, read_batch
from pipeline.reference import Reference
from pipeline.validate import validate

TOP_REASONS = 5  # rejection reasons the summary shows
EXAMPLE_ROWS = 5  # example rows shown for each


@dataclass
class BatchResult:
    """What one file's import did; the CLI's summary, --json and the tests read this."""

    source: str
    status: str = "failed"  # committed | dry_run | refused | failed
    batch_id: int | None = None
    sha256: str | None = None
    rows_read: int = 0
    rows_accepted: int = 0
    rows_rejected: int = 0
    rows_skipped: int = 0
    blank_rows: int = 0
    rules: dict[str, int] = field(default_factory=dict)  # failures by rule code
    top_reasons: list[dict] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # how the file was read
    timings: dict[str, float] = field(default_factory=dict)  # seconds by stage
    error: str | None = None

    @property
    def exit_code(self) -> int:
        return {"committed": 0, "dry_run": 0, "refused": 2}.get(self.status, 1)

    def to_dict(self) -> dict:
        return asdict(self)


def today_utc() -> date:
    return datetime.now(UTC).date()


def import_file(
    path: str | Path,
    reference: Reference,
    options: RunOptions,
    con: duckdb.DuckDBPyConnection,
) -> BatchResult:
    """Import one file as one batch. Errors become the result's status, never half a batch."""
    result = BatchResult(source=str(path))
    try:
        _import(Path(path), reference, options, con, result)
    except FileRefused as e:
        result.status, result.error = "refused", str(e)
    except OnboardError as e:
        result.status, result.error = "failed", f"{path}: {e}"
    return result


def _import(
    path: Path,
    reference: Reference,
    options: RunOptions,
    con: duckdb.DuckDBPyConnection,
    result: BatchResult,
) -> None:
    started = datetime.now(UTC)
    clock = _Clock(result.timings)
    fields = reference.custom_field_names
    with clock("read"):
        read = read_batch(path, options, header_matcher(fields, options.renames))
        result.sha256 = _sha256(path)
    decimal_comma = options.decimal_comma
    if decimal_comma is None:
        decimal_comma = read.delimiter == ";"
    result.notes = [*read.notes, "decimal comma" if decimal_comma else "decimal point"]
    with clock("parse"):
        columns = map_columns(str(path), read.headers, fields, options.renames)
        typed = parse(
            read.frame, columns, reference, options.as_of, decimal_comma, options.date_format
        )
    with clock("validate"):
        known = store.existing_names(con, typed["name_key"])
        checked = validate(
            typed, reference, options.as_of, known, decimal_comma, options.date_format
        )
    with clock("periods"):
        customers = add_periods(checked.accepted, options.as_of)
        rejections = _with_originals(checked.rejections, read.frame)

    result.ignored_columns = list(columns.ignored)
    result.blank_rows = read.blank_rows
    result.rows_read = typed.height
    result.rows_accepted = customers.height
    result.rows_rejected = result.rows_read - result.rows_accepted
    result.rules = dict(rejections.group_by("rule").len().sort("rule").iter_rows())
    result.top_reasons = _top_reasons(rejections)
    if options.dry_run:
        result.status = "dry_run"
        return
    with clock("write"):
        batch = store.BatchRow(
            source=str(path),
            sha256=result.sha256,
            status="committed",
            as_of=options.as_of,
            started_at=started,
            finished_at=datetime.now(UTC),
            rows_read=result.rows_read,
            rows_accepted=result.rows_accepted,
            rows_rejected=result.rows_rejected,
            rows_skipped=result.rows_skipped,
            blank_rows=result.blank_rows,
            options=options.to_dict(),
        )
        try:
            result.batch_id = store.write_batch(con, batch, customers, rejections)
        except duckdb.Error as e:
            raise OnboardError(f"writing the batch failed, nothing was written: {e}") from e
    result.status = "committed"


def _with_originals(rejections: pl.DataFrame, raw: pl.DataFrame) -> pl.DataFrame:
    """Each rejection with its row's cells as the sender wrote them, as JSON."""
    cells = [c for c in raw.columns if c != SOURCE_ROW]
    rows = rejections.select(SOURCE_ROW).unique()
    originals = raw.join(rows, on=SOURCE_ROW, how="semi").select(
        SOURCE_ROW, original=pl.struct(cells).struct.json_encode()
    )
    return rejections.join(originals, on=SOURCE_ROW, how="left")


def _top_reasons(rejections: pl.DataFrame) -> list[dict]:
    """The most common rules, each with an example message and a few rows."""
    top = (
        rejections.group_by("rule")
        .agg(
            count=pl.len(),
            example=pl.col("message").first(),
            rows=pl.col(SOURCE_ROW).unique(maintain_order=True).head(EXAMPLE_ROWS),
        )
        .sort(["count", "rule"], descending=[True, False])
        .head(TOP_REASONS)
    )
    return top.to_dicts()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class _Clock:
    """Times named stages into a dict of seconds."""

    def __init__(self, timings: dict[str, float]):
        self.timings = timings

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[stage] = round(time.perf_counter() - start, 4)
