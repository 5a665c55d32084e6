"""One batch, start to end: read -> parse -> validate -> periods -> store.

`import_file` imports a file; `retry_batch` re-checks a stored batch's open rejections. Both
run the same `_run`: records checked chunk by chunk (`_check`) and written through one
`store.BatchWriter`, one transaction per batch; each returns a `BatchResult`.
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
from enum import StrEnum
from pathlib import Path

import duckdb
import polars as pl

from pipeline import store, updates
from pipeline.columns import ColumnMap, header_matcher, map_columns
from pipeline.errors import FileRefused, OnboardError, UsageError, first_line
from pipeline.fixfile import marked_batch
from pipeline.grid import ReadResult, stored_cells
from pipeline.names import clean_names, name_keys, similarity_keys
from pipeline.options import RunOptions
from pipeline.parse import custom_fields, parse
from pipeline.periods import add_periods
from pipeline.personal import masked_reasons
from pipeline.read import read_batch
from pipeline.validate import bounded_cell, repeated_names, similar_names, validate
from schemas.reference import DEFAULT_RESELLER, Reference
from schemas.rules import Context
from schemas.vocabulary import SOURCE_ROW

Progress = Callable[[str, int | None], None]  # (stage starting, rows read so far)
TOP_REASONS = 5  # rejection reasons the summary shows
EXAMPLE_ROWS = 5  # example rows shown for each


class Status(StrEnum):
    """How a file's import or a retry ended (the `status` of the summary and --json)."""

    COMMITTED = "committed"  # stored: its customers, rejections and batch row
    DRY_RUN = "dry_run"  # checked, nothing written
    SKIPPED = "skipped"  # content committed before: nothing but a `skipped` batch row
    REFUSED = "refused"  # over --max-rejected: rejections and batch row kept, no customer
    FILE_REFUSED = "file_refused"  # the file cannot be imported: nothing written
    FAILED = "failed"  # stopped by an error: nothing but a `failed` batch row
    NOTHING_TO_RETRY = "nothing_to_retry"  # a retry of a batch without open rejections
    NOTHING_PASSES = "nothing_passes"  # a retry whose rows all still fail

    @property
    def exit_code(self) -> int:
        return {Status.REFUSED: 1, Status.FILE_REFUSED: 2, Status.FAILED: 1}.get(self, 0)


@dataclass
class BatchResult:
    """What one file's import did; the CLI's summary, --json and the tests read this."""

    source: str
    status: Status = Status.FAILED
    exit_code: int = 1
    batch_id: int | None = None
    earlier_batch: int | None = None  # skipped: the batch that committed this content
    retry_of: int | None = None
    reseller: str = DEFAULT_RESELLER  # whose batch: the reseller of the reference
    reference_version: int | None = None  # of that reference as stored (None: not stored)
    sha256: str | None = None
    rows_read: int = 0
    rows_accepted: int = 0
    rows_rejected: int = 0
    rows_skipped: int = 0
    rows_updated: int = 0
    rows_warned: int = 0  # accepted rows with at least one warning
    rows_rechecked: int | None = None  # a retry: the open rejected rows it checked again
    blank_rows: int = 0
    rules: dict[str, int] = field(default_factory=dict)  # failures by rule code
    warnings: dict[str, int] = field(default_factory=dict)  # warnings by rule code
    top_reasons: list[dict] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # how the file was read
    timings: dict[str, float] = field(default_factory=dict)  # seconds by stage
    error: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class _Batch:
    """What `_run` checks and writes: the records, how their columns map, the options they are
    read and judged with. A retry (`retry_of`) stores no rejections: its rows that still fail
    stay open in the batch retried."""

    read: ReadResult
    columns: ColumnMap
    options: RunOptions
    retry_of: int | None = None


@dataclass(frozen=True)
class _Checked:
    customers: pl.DataFrame  # accepted rows with periods, ready to store
    rejections: pl.DataFrame
    warnings: pl.DataFrame  # of accepted rows
    replaces: pl.Series  # name keys of stored customers the batch updates
    rows_skipped: int
    fields: tuple[str, ...]  # the custom fields `customers` has columns for


def today_utc() -> date:
    return datetime.now(UTC).date()


def import_file(
    path: str | Path,
    reference: Reference,
    options: RunOptions,
    con: duckdb.DuckDBPyConnection,
    progress: Progress | None = None,
    version: int | None = None,
) -> BatchResult:
    """Import one file as one batch of the reference's reseller (`version`: the reference's,
    as stored). Errors become the result's status, never half a batch."""
    path = Path(path)
    clock = _Clock(progress)
    result = BatchResult(
        source=str(path),
        reseller=reference.reseller,
        reference_version=version,
        timings=clock.timings,
    )
    try:
        with clock("read"):
            if path.is_file():
                result.sha256 = _sha256(path)
                earlier = store.committed_batch(con, result.sha256, reference.reseller)
                if earlier is not None and not options.force:
                    return _skip_same_file(result, earlier, options, con, clock)
            fields = reference.custom_field_names
            read = read_batch(path, options, header_matcher(fields, options.renames))
            options, fix_notes = _as_its_batch_was(read.headers, options, con, reference.reseller)
            columns = map_columns(str(path), read.headers, fields, options.renames)
        if options.decimal_comma is None:
            # recorded with the batch, so a retry and a fix file read amounts the same way
            options = replace(options, decimal_comma=read.delimiter == ";")
        mark = "decimal comma" if options.decimal_comma else "decimal point"
        result.ignored_columns = list(columns.ignored)
        result.notes = [*fix_notes, *read.notes, mark]
        return _run(_Batch(read, columns, options), reference, con, clock, result)
    except FileRefused as e:
        return replace(result, status=Status.FILE_REFUSED, exit_code=2, error=str(e))
    except OnboardError as e:
        failed = replace(result, status=Status.FAILED, exit_code=e.exit_code, error=f"{path}: {e}")
        if not options.dry_run:
            _record_failure(failed, options, con, clock, str(e))
        return failed


def _as_its_batch_was(
    headers: list[str], options: RunOptions, con: duckdb.DuckDBPyConnection, reseller: str
) -> tuple[RunOptions, list[str]]:
    """A fix file is read as its batch was: with that batch's decimal mark, date layout and
    column mapping, where the options leave them open. Also a note saying so. A batch of
    another reseller is as unknown as one never stored."""
    batch_id = marked_batch(headers)
    if batch_id is None:
        return options, []
    try:
        batch = store.batch(con, batch_id)
    except UsageError:
        batch = None
    if batch is None or batch["reseller"] != reseller:
        return options, [f"fix file of batch {batch_id}, which this database does not hold"]
    stored = batch["options"] or {}
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


def _record_failure(result: BatchResult, options, con, clock: "_Clock", reason: str) -> None:
    """A `failed` row in `batches`, for the audit; nothing else of the batch was written."""
    failed = replace(_batch_row(result, Status.FAILED, options, clock), reason=reason)
    with contextlib.suppress(duckdb.Error):
        result.batch_id = store.write_batch(con, failed)


def retry_batch(
    batch_id: int,
    reference: Reference,
    as_of: date | None,
    con: duckdb.DuckDBPyConnection,
    version: int | None = None,
    *,
    warnings_as_errors: bool = False,
    show_personal: bool = False,
) -> BatchResult:
    """Re-check a batch's open rejections against `reference` (its reseller's, `version` as
    stored); import the rows that pass now as a new batch."""
    original = store.batch(con, batch_id)
    if original["status"] == "reverted":
        raise UsageError(f"batch {batch_id} was reverted: there is nothing of it to retry")
    if original["retry_of"] is not None:
        raise UsageError(f"batch {batch_id} is a retry; retry batch {original['retry_of']}")
    stored = original["options"] or {}
    options = RunOptions(
        as_of=as_of or today_utc(),
        decimal_comma=bool(stored.get("decimal_comma")),
        renames=stored.get("renames") or {},
        date_format=stored.get("date_format"),
        warnings_as_errors=warnings_as_errors,
        show_personal=show_personal,
    )
    clock = _Clock()
    result = BatchResult(
        source=original["source"],
        retry_of=batch_id,
        reseller=reference.reseller,
        reference_version=version,
        sha256=original["sha256"],
        timings=clock.timings,
    )
    with clock("read"):
        read = _open_rows(con, batch_id, original["headers"])
        assert read.frame is not None
        if read.frame.height == 0:  # none rejected, or none stored (a skipped or failed batch)
            return replace(result, status=Status.NOTHING_TO_RETRY, exit_code=0)
        fields = reference.custom_field_names
        columns = map_columns(result.source, read.headers, fields, options.renames)
    return _run(_Batch(read, columns, options, retry_of=batch_id), reference, con, clock, result)


@dataclass
class _Tally:
    """Counts of a run as its chunks are checked."""

    rows_read: int = 0
    rows_accepted: int = 0
    rows_skipped: int = 0
    rows_updated: int = 0
    rows_warned: int = 0
    blank_rows: int = 0

    @property
    def rows_rejected(self) -> int:
        return self.rows_read - self.rows_accepted - self.rows_skipped


def _run(
    batch: _Batch,
    reference: Reference,
    con: duckdb.DuckDBPyConnection,
    clock: "_Clock",
    result: BatchResult,
) -> BatchResult:
    """Check the records chunk by chunk and write them in one transaction (none on a dry run);
    `result`, with what was done.

    Names are looked up once for the whole batch: repeated within it, stored before it. While
    a chunk is checked, the one before is written on a second thread.
    """
    read, options, retry = batch.read, batch.options, batch.retry_of is not None
    with clock("validate"):
        names, in_memory = _batch_names(read, batch.columns, con)
    writer = None if options.dry_run else store.BatchWriter(con, batch.retry_of, reference.reseller)
    background = _Background(writer)
    tally, reasons, warned = _Tally(), [], []
    try:
        for records, blank in read.chunks():
            chunk_keys = (
                None if in_memory is None else in_memory.slice(tally.rows_read, records.height)
            )
            clock.rows = tally.rows_read + records.height
            names = replace(names, keys=chunk_keys)
            checked = _check(records, batch, reference, clock, names)
            tally.blank_rows += blank
            tally.rows_read += records.height
            tally.rows_accepted += checked.customers.height
            tally.rows_skipped += checked.rows_skipped
            tally.rows_updated += checked.replaces.len()
            tally.rows_warned += checked.warnings[SOURCE_ROW].n_unique()
            reasons.append(_reason_counts(checked.rejections))
            warned.append(checked.warnings["rule"].value_counts(name="count"))
            if writer:
                with clock("write"):  # made ready here, written on the writer's thread
                    rejections = None if retry else _with_originals(checked.rejections, records)
                    background.submit(
                        checked.customers,
                        rejections,
                        checked.replaces,
                        checked.fields,
                        checked.warnings,
                    )
        background.close()
        personal = () if options.show_personal else reference.personal_fields
        rules, top_reasons = _summarize(reasons, personal)
        warnings = dict(
            pl.concat(warned).group_by("rule").agg(pl.col("count").sum()).sort("rule").iter_rows()
            if warned
            else []
        )
        rows_read, rows_rejected = tally.rows_read, tally.rows_rejected
        if retry:  # the rows it read were rejected before; it judges only what passes now
            rows_read, rows_rejected = tally.rows_accepted, 0
        result = replace(
            result,
            rows_read=rows_read,
            rows_accepted=tally.rows_accepted,
            rows_rejected=rows_rejected,
            rows_skipped=tally.rows_skipped,
            rows_updated=tally.rows_updated,
            rows_warned=tally.rows_warned,
            rows_rechecked=tally.rows_read if retry else None,
            blank_rows=tally.blank_rows,
            rules=rules,
            warnings=warnings,
            top_reasons=top_reasons,
        )
        status, reason = _verdict(result, options, retry)
        if writer and status in (Status.COMMITTED, Status.REFUSED):
            with clock("write"):
                row = _batch_row(result, status, options, clock)
                row = replace(row, headers=read.headers, reason=reason)
                result.batch_id = writer.finish(row)
            writer = None
    except duckdb.Error as e:
        first = first_line(e)
        raise OnboardError(f"writing the batch failed, nothing was written: {first}") from e
    finally:
        background.close(raise_error=False)
        clock.add("write", background.seconds)
        if writer:  # an error is on its way: one of the rollback's own is not told over it
            with contextlib.suppress(duckdb.Error):
                writer.abort()
    error = f"{result.source}: batch {result.batch_id} refused: {reason}" if reason else None
    return replace(result, status=status, exit_code=status.exit_code, error=error)


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
        if self.writer:
            self.queue.put(self.writer.prepare(*chunk))

    def close(self, raise_error: bool = True) -> None:
        if self.thread and self.thread.is_alive():
            self.queue.put(None)
            self.thread.join()
        if raise_error and self.error:
            raise self.error

    def _loop(self) -> None:
        assert self.writer is not None
        while (chunk := self.queue.get()) is not None:
            if self.error:
                continue  # drain: the caller stops at its next step
            start = time.perf_counter()
            try:
                self.writer.add(chunk)
            except BaseException as e:  # handed to the caller
                self.error = e
            self.seconds += time.perf_counter() - start


def _batch_names(
    read: ReadResult, columns: ColumnMap, con: duckdb.DuckDBPyConnection
) -> tuple["_Names", pl.DataFrame | None]:
    """What the batch's names meet, and its name keys (name_key, similar_to) when its records
    are in memory (kept for parse); those of a streamed file are let go here, before its chunks
    are read."""
    keys = _name_keys(read, columns)
    repeated = repeated_names(keys)
    stored = store.existing_customers(con, keys["name_key"])
    keys = keys.with_columns(similar_to=similarity_keys(keys["name_key"]))
    similar = similar_names(keys, store.similar_customers(con, keys["similar_to"]))
    in_memory = keys.select("name_key", "similar_to") if read.frame is not None else None
    return _Names(repeated, stored, similar), in_memory


def _name_keys(read: ReadResult, columns: ColumnMap) -> pl.DataFrame:
    """Every record's name key and source_row (a streamed file: one pass over its names)."""
    names = read.collect(pl.nth(columns.columns["name"]).alias("name"), pl.col(SOURCE_ROW))
    return names.select(name_key=name_keys(clean_names(names["name"])), source_row=SOURCE_ROW)


def _verdict(result: BatchResult, options: RunOptions, retry: bool) -> tuple[Status, str | None]:
    """The batch's status, and why when it is refused."""
    if options.dry_run:
        return Status.DRY_RUN, None
    if retry and not result.rows_accepted:
        return Status.NOTHING_PASSES, None
    limit = options.rejected_limit(result.rows_read)
    if limit is not None and result.rows_rejected > limit:
        return Status.REFUSED, (
            f"{result.rows_rejected} of {result.rows_read} rows rejected, more than "
            f"--max-rejected {options.max_rejected}; no customer was written"
        )
    return Status.COMMITTED, None


@dataclass(frozen=True)
class _Names:
    """What the batch's names meet, worked out once for the whole batch."""

    repeated: pl.DataFrame  # names on several rows (validate.repeated_names)
    stored: pl.DataFrame  # the stored customers it names (store.existing_customers)
    similar: pl.DataFrame  # names like another of it or a stored one (validate.similar_names)
    keys: pl.DataFrame | None = None  # the chunk's name keys, when worked out already


def _check(
    records: pl.DataFrame,
    batch: _Batch,
    reference: Reference,
    clock: "_Clock",
    names: _Names,
) -> _Checked:
    """One chunk of records parsed, checked and given its periods, `names` being what the batch
    meets of names: repeated in it, stored (of every reseller), similar; its keys.

    Names are unique across resellers: a name another reseller's customer holds is
    `name_exists` whatever --on-existing says; only the reseller's own customers are skipped
    or updated."""
    options, stored, keys = batch.options, names.stored, names.keys
    decimal_comma = bool(options.decimal_comma)
    with clock("parse"):
        typed = parse(
            records,
            batch.columns,
            reference,
            options.as_of,
            decimal_comma,
            options.date_format,
            keys,
        )
    with clock("validate"):
        stored = stored.join(typed.select("name_key"), on="name_key", how="semi")
        mine = pl.col("reseller") == reference.reseller
        taken = stored.filter(~mine).select("name_key")  # by another reseller's customers
        stored = stored.filter(mine).join(taken, on="name_key", how="anti")
        rows_skipped = 0
        if options.on_existing == "skip":
            kept = typed.join(stored, on="name_key", how="anti")
            rows_skipped, typed = typed.height - kept.height, kept
        none = pl.Series("name_key", [], pl.String)
        shared = stored.filter(pl.col("customers") > 1)["name_key"]
        own = stored["name_key"] if options.on_existing == "reject" else none
        context = Context(
            reference,
            options.as_of,
            decimal_comma,
            options.date_format,
            existing=pl.concat([own, taken["name_key"]]),
            ambiguous=shared if options.on_existing == "update" else none,
            updated=stored.select("name_key", "currency")
            if options.on_existing == "update"
            else None,
            repeated=names.repeated,
            similar=names.similar,
        )
        checked = validate(typed, context, options.warnings_as_errors)
    with clock("periods"):
        if options.on_existing == "update":
            customers, replaces = updates.with_periods(checked.accepted, stored, options.as_of)
        else:
            customers = add_periods(checked.accepted, options.as_of)
            replaces = pl.Series("name_key", [], pl.String)
    fields = tuple(custom_fields(typed))
    return _Checked(customers, checked.rejections, checked.warnings, replaces, rows_skipped, fields)


def _skip_same_file(result, earlier, options, con, clock: "_Clock") -> BatchResult:
    skipped = replace(result, status=Status.SKIPPED, exit_code=0, earlier_batch=earlier)
    if not options.dry_run:
        reason = f"same content as batch {earlier}, already committed (use --force to import)"
        row = replace(_batch_row(skipped, Status.SKIPPED, options, clock), reason=reason)
        skipped.batch_id = store.write_batch(con, row)
    return skipped


def _batch_row(
    result: BatchResult, status: Status, options: RunOptions, clock: "_Clock"
) -> store.BatchRow:
    return store.BatchRow(
        source=result.source,
        sha256=result.sha256 or "",
        status=status.value,
        as_of=options.as_of,
        started_at=clock.started,
        finished_at=datetime.now(UTC),
        rows_read=result.rows_read,
        rows_accepted=result.rows_accepted,
        rows_rejected=result.rows_rejected,
        rows_skipped=result.rows_skipped,
        blank_rows=result.blank_rows,
        options=options.to_dict(),
        timings=clock.timings,
        retry_of=result.retry_of,
        reseller=result.reseller,
        reference_version=result.reference_version,
    )


def _open_rows(con: duckdb.DuckDBPyConnection, batch_id: int, headers: list[str]) -> ReadResult:
    """A batch's rows with open rejections, rebuilt as the text columns they were read as
    (those a purge left their cells)."""
    rows = (
        store.rejections(con, batch_id, open_only=True, cells=True)
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
    """A chunk's failures by rule: how many, an example message (with its column and value),
    the first few rows."""
    return rejections.group_by("rule", maintain_order=True).agg(
        count=pl.len(),
        example=pl.col("message").first(),
        example_column=pl.col("column").first(),
        example_value=pl.col("value").first(),
        rows=pl.col(SOURCE_ROW).unique(maintain_order=True).head(EXAMPLE_ROWS),
    )


def _summarize(
    chunks: list[pl.DataFrame], personal: tuple[str, ...]
) -> tuple[dict[str, int], list[dict]]:
    """Failures by rule over all chunks, and the most common rules with examples (the values of
    `personal` fields masked)."""
    if not chunks:
        return {}, []
    totals = (
        pl.concat(chunks)
        .group_by("rule", maintain_order=True)
        .agg(
            pl.col("count").sum(),
            pl.col("example", "example_column", "example_value").first(),
            pl.col("rows").list.explode(keep_nulls=False, empty_as_null=False).head(EXAMPLE_ROWS),
        )
        .sort(["count", "rule"], descending=[True, False])
    )
    rules = dict(totals.select("rule", "count").sort("rule").iter_rows())
    return rules, masked_reasons(totals.head(TOP_REASONS), personal).to_dicts()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class _Clock:
    """When a run started, and the seconds of its named stages, telling `progress` as each
    starts."""

    def __init__(self, progress: Progress | None = None):
        self.started = datetime.now(UTC)
        self.timings: dict[str, float] = {}
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
            self.add(stage, time.perf_counter() - start)

    def add(self, stage: str, seconds: float) -> None:
        self.timings[stage] = round(self.timings.get(stage, 0) + seconds, 4)
