"""One batch, start to end: read -> parse -> validate -> periods -> store.

`import_file` imports a file; `retry_batch` re-checks a stored batch's open rejections. Both
run the same `_run`: records checked chunk by chunk (`_check`) and written through one
`store.BatchWriter`, one transaction per batch.
"""

import contextlib
import hashlib
import queue
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import polars as pl

from pipeline import store
from pipeline.columns import ColumnMap, header_matcher, map_columns
from pipeline.errors import FileRefused, OnboardError, UsageError
from pipeline.fixfile import marked_batch
from pipeline.names import clean_names, name_keys
from pipeline.options import RunOptions
from pipeline.parse import parse
from pipeline.periods import add_periods
from pipeline.read import SOURCE_ROW, ReadResult, blank_cell, read_batch, stored_cells
from pipeline.reference import Reference
from pipeline.validate import bounded_cell, repeated_names, validate
from schemas.rules import Context
from schemas.vocabulary import text_column

Progress = Callable[[str, int | None], None]  # (stage starting, rows read so far)
TOP_REASONS = 5  # rejection reasons the summary shows
EXAMPLE_ROWS = 5  # example rows shown for each


@dataclass
class BatchResult:
    """What one file's import did; the CLI's summary, --json and the tests read this."""

    source: str
    status: str = "failed"  # committed | dry_run | skipped | refused | failed
    exit_code: int = 1
    batch_id: int | None = None
    earlier_batch: int | None = None  # skipped: the batch that committed this content
    retry_of: int | None = None
    sha256: str | None = None
    rows_read: int = 0
    rows_accepted: int = 0
    rows_rejected: int = 0
    rows_skipped: int = 0
    rows_updated: int = 0
    blank_rows: int = 0
    rules: dict[str, int] = field(default_factory=dict)  # failures by rule code
    top_reasons: list[dict] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # how the file was read
    timings: dict[str, float] = field(default_factory=dict)  # seconds by stage
    error: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class _Checked:
    customers: pl.DataFrame  # accepted rows with periods, ready to store
    rejections: pl.DataFrame
    replaces: pl.Series  # name keys of stored customers the batch updates
    rows_skipped: int


def today_utc() -> date:
    return datetime.now(UTC).date()


def import_file(
    path: str | Path,
    reference: Reference,
    options: RunOptions,
    con: duckdb.DuckDBPyConnection,
    progress: Progress | None = None,
) -> BatchResult:
    """Import one file as one batch. Errors become the result's status, never half a batch."""
    path = Path(path)
    result = BatchResult(source=str(path))
    started = datetime.now(UTC)
    clock = _Clock(result.timings, progress)
    try:
        with clock("read"):
            if path.is_file():
                result.sha256 = _sha256(path)
                earlier = store.committed_batch(con, result.sha256)
                if earlier is not None and not options.force:
                    return _skip_same_file(result, earlier, options, con, started)
            fields = reference.custom_field_names
            read = read_batch(path, options, header_matcher(fields, options.renames))
            options, fix_notes = _as_its_batch_was(read.headers, options, con)
            columns = map_columns(str(path), read.headers, fields, options.renames)
            result.ignored_columns = list(columns.ignored)
        decimal_comma = options.decimal_comma
        if decimal_comma is None:
            decimal_comma = read.delimiter == ";"
            # recorded with the batch, so a retry and a fix file read amounts the same way
            options = replace(options, decimal_comma=decimal_comma)
        result.notes = [
            *fix_notes,
            *read.notes,
            "decimal comma" if decimal_comma else "decimal point",
        ]
        _run(result, read, columns, reference, options, con, clock, started)
    except FileRefused as e:
        result.status, result.exit_code, result.error = "refused", 2, str(e)
    except OnboardError as e:
        result.status, result.exit_code, result.error = "failed", e.exit_code, f"{path}: {e}"
        if not options.dry_run:
            _record_failure(result, options, con, started, str(e))
    return result


def _as_its_batch_was(
    headers: list[str], options: RunOptions, con: duckdb.DuckDBPyConnection
) -> tuple[RunOptions, list[str]]:
    """A fix file is read as its batch was: with that batch's decimal mark, date layout and
    column mapping, where the options leave them open. Also a note saying so."""
    batch_id = marked_batch(headers)
    if batch_id is None:
        return options, []
    try:
        stored = store.batch(con, batch_id)["options"] or {}
    except UsageError:
        return options, [f"fix file of batch {batch_id}, which this database does not hold"]
    decimal_comma = options.decimal_comma
    if decimal_comma is None:
        decimal_comma = stored.get("decimal_comma")
    read_as = replace(
        options,
        decimal_comma=decimal_comma,
        date_format=options.date_format or stored.get("date_format"),
        renames=options.renames or stored.get("renames") or {},
    )
    return read_as, [f"fix file of batch {batch_id}, read as that batch was"]


def _record_failure(result, options, con, started, reason: str) -> None:
    """A `failed` row in `batches`, for the audit; nothing else of the batch was written."""
    failed = replace(
        _batch_row(result, "failed", options, started),
        rows_read=0,
        rows_accepted=0,
        rows_rejected=0,
        rows_skipped=0,
        reason=reason,
    )
    with contextlib.suppress(duckdb.Error):
        result.batch_id = store.write_batch(con, failed)


def retry_batch(
    batch_id: int, reference: Reference, as_of: date | None, con: duckdb.DuckDBPyConnection
) -> BatchResult:
    """Re-check a batch's open rejections; import the rows that pass now as a new batch."""
    original = store.batch(con, batch_id)
    if original["retry_of"] is not None:
        raise UsageError(f"batch {batch_id} is a retry; retry batch {original['retry_of']}")
    stored = original["options"] or {}
    options = RunOptions(
        as_of=as_of or today_utc(),
        decimal_comma=bool(stored.get("decimal_comma")),
        renames=stored.get("renames") or {},
        date_format=stored.get("date_format"),
    )
    result = BatchResult(source=original["source"], retry_of=batch_id, sha256=original["sha256"])
    clock = _Clock(result.timings)
    started = datetime.now(UTC)
    with clock("read"):
        read = _open_rows(con, batch_id, original["headers"])
        fields = reference.custom_field_names
        columns = map_columns(result.source, read.headers, fields, options.renames)
    if read.frame.height == 0:
        result.status, result.exit_code = "nothing_to_retry", 0
        return result
    _run(result, read, columns, reference, options, con, clock, started, retry=True)
    return result


def _run(
    result: BatchResult,
    read: ReadResult,
    columns: ColumnMap,
    reference: Reference,
    options: RunOptions,
    con: duckdb.DuckDBPyConnection,
    clock: "_Clock",
    started: datetime,
    retry: bool = False,
) -> None:
    """Check the records chunk by chunk and write them in one transaction (none on a dry run).

    Names are looked up once for the whole batch: repeated within it, stored before it. While
    a chunk is checked, the one before is written on a second thread. A retry writes only the
    rows that pass now: the others stay open in the batch retried.
    """
    with clock("validate"):
        keys = _name_keys(read, columns)
        repeated = repeated_names(keys)
        stored = store.existing_customers(con, keys["name_key"])
        # kept for parse when the records are in memory; a streamed file's could be large
        keys = keys["name_key"] if read.frame is not None else None
    writer = None if options.dry_run else store.BatchWriter(con, result.retry_of)
    background = _Background(writer)
    try:
        reasons = []
        for records, blank in read.chunks():
            chunk_keys = None if keys is None else keys.slice(result.rows_read, records.height)
            result.blank_rows += blank
            clock.rows = (clock.rows or 0) + records.height
            checked = _check(
                records, columns, reference, options, clock, repeated, stored, chunk_keys
            )
            result.rows_read += records.height
            result.rows_accepted += checked.customers.height
            result.rows_skipped += checked.rows_skipped
            result.rows_updated += checked.replaces.len()
            reasons.append(_reason_counts(checked.rejections))
            if writer:
                with clock("write"):  # made ready here, written on the writer's thread
                    rejections = None if retry else _with_originals(checked.rejections, records)
                    background.submit(checked.customers, rejections, checked.replaces)
        background.close()
        result.rows_rejected = result.rows_read - result.rows_accepted - result.rows_skipped
        result.rules, result.top_reasons = _summarize(reasons)
        if retry:
            result.rows_read, result.rows_rejected = result.rows_accepted, 0
        status, reason = _verdict(result, options, retry)
        if writer and status in ("committed", "refused"):
            with clock("write"):
                batch = _batch_row(result, status, options, started)
                batch = replace(batch, headers=read.headers, reason=reason)
                result.batch_id = writer.finish(batch)
            writer = None
    except duckdb.Error as e:
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise OnboardError(f"writing the batch failed, nothing was written: {reason}") from e
    finally:
        background.close(raise_error=False)
        result.timings["write"] = round(result.timings.get("write", 0) + background.seconds, 4)
        if writer:
            writer.abort()
    result.status = status
    result.exit_code = 1 if status == "refused" else 0
    if status == "refused":
        result.error = f"{result.source}: batch {result.batch_id} refused: {reason}"


class _Background:
    """Writes chunks on a second thread, one chunk ahead at most: DuckDB and polars both
    release the GIL, so writing one chunk overlaps checking the next. Without a writer (a dry
    run) it does nothing. An error in the thread is raised in the caller at the next step."""

    def __init__(self, writer: store.BatchWriter | None):
        self.writer = writer
        self.seconds = 0.0
        self.error: BaseException | None = None
        self.queue: queue.Queue = queue.Queue(maxsize=1)
        self.thread = threading.Thread(target=self._loop, daemon=True) if writer else None
        if self.thread:
            self.thread.start()

    def submit(self, *chunk) -> None:
        """Queue a chunk (customers, rejections, replaces), turned into what DuckDB scans here:
        the writing thread is the slower of the two."""
        if self.error:
            raise self.error
        if self.thread:
            self.queue.put(self.writer.prepare(*chunk))

    def close(self, raise_error: bool = True) -> None:
        if self.thread and self.thread.is_alive():
            self.queue.put(None)
            self.thread.join()
        if raise_error and self.error:
            raise self.error

    def _loop(self) -> None:
        while (chunk := self.queue.get()) is not None:
            if self.error:
                continue  # drain: the caller stops at its next step
            start = time.perf_counter()
            try:
                self.writer.add(chunk)
            except BaseException as e:  # handed to the caller
                self.error = e
            self.seconds += time.perf_counter() - start


def _name_keys(read: ReadResult, columns: ColumnMap) -> pl.DataFrame:
    """Every record's name key and source_row (a streamed file: one pass over its names)."""
    names = read.collect(pl.nth(columns.columns["name"]).alias("name"), pl.col(SOURCE_ROW))
    return names.select(name_key=name_keys(clean_names(names["name"])), source_row=SOURCE_ROW)


def _verdict(result: BatchResult, options: RunOptions, retry: bool) -> tuple[str, str | None]:
    """The batch's status, and why when it is refused."""
    if options.dry_run:
        return "dry_run", None
    if retry and not result.rows_accepted:
        return "nothing_passes", None
    limit = options.rejected_limit(result.rows_read)
    if limit is not None and result.rows_rejected > limit:
        return "refused", (
            f"{result.rows_rejected} of {result.rows_read} rows rejected, more than "
            f"--max-rejected {options.max_rejected}; no customer was written"
        )
    return "committed", None


def _check(
    records: pl.DataFrame,
    columns: ColumnMap,
    reference: Reference,
    options: RunOptions,
    clock: "_Clock",
    repeated: pl.DataFrame,
    stored: pl.DataFrame,
    name_keys: pl.Series | None = None,
) -> _Checked:
    decimal_comma = bool(options.decimal_comma)
    with clock("parse"):
        typed = parse(
            records,
            columns,
            reference,
            options.as_of,
            decimal_comma,
            options.date_format,
            name_keys,
        )
    with clock("validate"):
        stored = stored.join(typed.select("name_key"), on="name_key", how="semi")
        rows_skipped = 0
        if options.on_existing == "skip":
            kept = typed.join(stored, on="name_key", how="anti")
            rows_skipped, typed = typed.height - kept.height, kept
        none = pl.Series("name_key", [], pl.String)
        shared = stored.filter(pl.col("customers") > 1)["name_key"]
        context = Context(
            reference,
            options.as_of,
            decimal_comma,
            options.date_format,
            existing=stored["name_key"] if options.on_existing == "reject" else none,
            ambiguous=shared if options.on_existing == "update" else none,
            repeated=repeated,
        )
        checked = validate(typed, context)
    with clock("periods"):
        accepted = checked.accepted
        replaces = pl.Series("name_key", [], pl.String)
        if options.on_existing == "update":
            accepted, replaces = _keep_creation_dates(accepted, stored)
        customers = add_periods(accepted, options.as_of)
    return _Checked(customers, checked.rejections, replaces, rows_skipped)


def _keep_creation_dates(accepted: pl.DataFrame, stored: pl.DataFrame):
    """Rows updating a stored customer keep its creation date unless the row gives one."""
    joined = accepted.join(
        stored.select("name_key", stored_created_on="created_on"), on="name_key", how="left"
    )
    kept = blank_cell(pl.col(text_column("created_on")))
    updated = joined.with_columns(
        created_on=pl.when(kept & pl.col("stored_created_on").is_not_null())
        .then(pl.col("stored_created_on"))
        .otherwise(pl.col("created_on"))
    )
    replaces = updated.filter(pl.col("stored_created_on").is_not_null())["name_key"]
    return updated.drop("stored_created_on"), replaces


def _skip_same_file(result, earlier, options, con, started) -> BatchResult:
    result.status, result.exit_code, result.earlier_batch = "skipped", 0, earlier
    if not options.dry_run:
        reason = f"same content as batch {earlier}, already committed (use --force to import)"
        batch = replace(_batch_row(result, "skipped", options, started), reason=reason)
        result.batch_id = store.write_batch(con, batch)
    return result


def _batch_row(result: BatchResult, status: str, options: RunOptions, started) -> store.BatchRow:
    return store.BatchRow(
        source=result.source,
        sha256=result.sha256 or "",
        status=status,
        as_of=options.as_of,
        started_at=started,
        finished_at=datetime.now(UTC),
        rows_read=result.rows_read,
        rows_accepted=result.rows_accepted,
        rows_rejected=result.rows_rejected,
        rows_skipped=result.rows_skipped,
        blank_rows=result.blank_rows,
        options=options.to_dict(),
        timings=result.timings,
        retry_of=result.retry_of,
    )


def _open_rows(con: duckdb.DuckDBPyConnection, batch_id: int, headers: list[str]) -> ReadResult:
    """A batch's rows with open rejections, rebuilt as the text columns they were read as."""
    rows = (
        store.rejections(con, batch_id, open_only=True)
        .group_by(SOURCE_ROW)
        .agg(pl.col("original").first())
        .sort(SOURCE_ROW)
    )
    frame = rows.select(stored_cells(pl.col("original"), headers).struct.unnest(), SOURCE_ROW)
    return ReadResult(frame, headers, 0)


def _with_originals(rejections: pl.DataFrame, raw: pl.DataFrame) -> pl.DataFrame:
    """Each rejection with its row's cells as the sender wrote them (cut where longer than a
    cell may be), as JSON."""
    cells = [c for c in raw.columns if c != SOURCE_ROW]
    rows = rejections.select(SOURCE_ROW).unique()
    originals = raw.join(rows, on=SOURCE_ROW, how="semi").select(
        SOURCE_ROW, original=pl.struct(bounded_cell(pl.col(c)) for c in cells).struct.json_encode()
    )
    return rejections.join(originals, on=SOURCE_ROW, how="left")


def _reason_counts(rejections: pl.DataFrame) -> pl.DataFrame:
    """A chunk's failures by rule: how many, an example message, the first few rows."""
    return rejections.group_by("rule", maintain_order=True).agg(
        count=pl.len(),
        example=pl.col("message").first(),
        rows=pl.col(SOURCE_ROW).unique(maintain_order=True).head(EXAMPLE_ROWS),
    )


def _summarize(chunks: list[pl.DataFrame]) -> tuple[dict[str, int], list[dict]]:
    """Failures by rule over all chunks, and the most common rules with examples."""
    if not chunks:
        return {}, []
    totals = (
        pl.concat(chunks)
        .group_by("rule", maintain_order=True)
        .agg(
            pl.col("count").sum(),
            pl.col("example").first(),
            pl.col("rows").list.explode(keep_nulls=False, empty_as_null=False).head(EXAMPLE_ROWS),
        )
        .sort(["count", "rule"], descending=[True, False])
    )
    rules = dict(totals.select("rule", "count").sort("rule").iter_rows())
    return rules, totals.head(TOP_REASONS).to_dicts()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class _Clock:
    """Adds up the seconds of named stages, telling `progress` as each starts."""

    def __init__(self, timings: dict[str, float], progress: Progress | None = None):
        self.timings = timings
        self.progress = progress
        self.rows: int | None = None

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        if self.progress:
            self.progress(stage, self.rows)
        start = time.perf_counter()
        try:
            yield
        finally:
            spent = time.perf_counter() - start
            self.timings[stage] = round(self.timings.get(stage, 0) + spent, 4)
