"""The DuckDB database: customers, rejections, warnings, batches and the resellers'
references.

A batch is written in one transaction: its customers, its rejections, its warnings and its
`batches` row commit together or not at all.
"""

import contextlib
import functools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import polars as pl

from pipeline.errors import OnboardError, UsageError
from pipeline.names import LEGAL_SUFFIX, PUNCTUATION, clean_names, name_keys
from schemas.reference import DEFAULT_RESELLER
from schemas.vocabulary import value_column

if TYPE_CHECKING:
    import pyarrow as pa

SCHEMA_V1 = """  -- the tables of schema version 1; later versions are the steps of UPGRADES
CREATE SEQUENCE IF NOT EXISTS batch_ids START 1;
CREATE TABLE IF NOT EXISTS batches (
    batch_id BIGINT PRIMARY KEY,
    source VARCHAR NOT NULL,
    sha256 VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    as_of DATE NOT NULL,
    started_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ NOT NULL,
    rows_read BIGINT NOT NULL,
    rows_accepted BIGINT NOT NULL,
    rows_rejected BIGINT NOT NULL,
    rows_skipped BIGINT NOT NULL DEFAULT 0,
    blank_rows BIGINT NOT NULL DEFAULT 0,
    retry_of BIGINT,
    reason VARCHAR,
    headers JSON,
    options JSON,
    timings JSON,
    CHECK (rows_read = rows_accepted + rows_rejected + rows_skipped)
);
CREATE TABLE IF NOT EXISTS customers (
    name VARCHAR NOT NULL,
    name_key VARCHAR NOT NULL,
    business_model VARCHAR NOT NULL,
    customer_class VARCHAR NOT NULL,
    billing_period VARCHAR NOT NULL,
    billing_period_timezone VARCHAR NOT NULL,
    balance_control VARCHAR NOT NULL,
    currency VARCHAR NOT NULL,
    credit_limit DECIMAL(38, 4),
    available_funds DECIMAL(38, 4),
    created_on DATE NOT NULL,
    first_period_start DATE NOT NULL,
    first_period_end DATE NOT NULL,
    current_period_start DATE NOT NULL,
    current_period_end DATE NOT NULL,
    current_period_closes_at TIMESTAMPTZ NOT NULL,
    custom_data MAP(VARCHAR, VARCHAR),
    batch_id BIGINT NOT NULL,
    source_row BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS customer_history AS
    SELECT *, NULL::BIGINT AS replaced_by_batch, NULL::TIMESTAMPTZ AS replaced_at
    FROM customers WITH NO DATA;
CREATE TABLE IF NOT EXISTS rejections (
    batch_id BIGINT NOT NULL,
    source_row BIGINT NOT NULL,
    name VARCHAR,
    "column" VARCHAR,
    rule VARCHAR NOT NULL,
    message VARCHAR NOT NULL,
    value VARCHAR,
    original JSON,
    resolved_by_batch BIGINT
);
CREATE TABLE IF NOT EXISTS reference (
    loaded_at TIMESTAMPTZ NOT NULL,
    source VARCHAR NOT NULL,
    content VARCHAR NOT NULL
);
"""

SCHEMA_VERSION = 5  # the layout this onboard writes; older files are upgraded in place
_MAGIC = b"DUCK"  # a DuckDB file holds these bytes at offset 8
_VERSIONS = """
CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL
);
"""
READ_LOCK_TIMEOUT = 30  # seconds a command that only reads waits for an import to finish
DUCKDB_MEMORY = "1GB"  # DuckDB spills a large batch's uncommitted rows to disk beyond this

CUSTOMER_COLUMNS = (
    "name",
    "name_key",
    "business_model",
    "customer_class",
    "billing_period",
    "billing_period_timezone",
    "balance_control",
    "currency",
    "credit_limit",
    "available_funds",
    "created_on",
    "first_period_start",
    "first_period_end",
    "current_period_start",
    "current_period_end",
    "current_period_closes_at",
    "custom_data",
    "batch_id",
    "source_row",
    "reseller",
)
_CUSTOM = "__custom_"  # the column of the n-th custom field of a chunk, as DuckDB scans it
_CUSTOMER_FRAME = tuple(c for c in CUSTOMER_COLUMNS if c not in ("custom_data", "reseller"))
REJECTION_COLUMNS = (
    "batch_id",
    "source_row",
    "name",
    "column",
    "rule",
    "message",
    "value",
    "original",
)
WARNING_COLUMNS = REJECTION_COLUMNS[:-1]  # a warning's row is stored: no `original`


@dataclass(frozen=True)
class BatchRow:
    """What `batches` records of one batch."""

    source: str
    sha256: str
    status: str
    as_of: date
    started_at: datetime
    finished_at: datetime
    rows_read: int
    rows_accepted: int
    rows_rejected: int
    rows_skipped: int
    blank_rows: int
    options: dict
    headers: list[str] = field(default_factory=list)
    timings: dict = field(default_factory=dict)
    reason: str | None = None
    retry_of: int | None = None
    reseller: str = DEFAULT_RESELLER
    reference_version: int | None = None  # of the reseller's reference the rows were checked by


@dataclass(frozen=True)
class StoredReference:
    """One version of a reseller's reference, as `reference` holds it."""

    reseller: str
    version: int
    loaded_at: datetime
    source: str
    content: str
    current: bool  # the reseller's highest version: the one imports check against


def connect(
    path: str | Path | None,
    read_only: bool = False,
    lock_timeout: float = 0,
    notify: Callable[[str], None] | None = None,
) -> duckdb.DuckDBPyConnection:
    """Open the database; None opens one in memory. Opened to write, a missing file is created
    with all its tables and one written by an earlier onboard is upgraded in place; opened
    read-only, it must hold this version's tables.

    An existing file must be a DuckDB database whose tables named like onboard's are onboard's
    (UsageError otherwise, before anything is written). DuckDB lets one process write a file
    at a time: while another holds it, wait up to `lock_timeout` seconds, then give up.
    `notify(message)` hears of the wait and of an upgrade.
    """
    target = ":memory:" if path is None else str(path)
    if path is not None and Path(path).exists():
        _check_is_duckdb(Path(path))
    deadline = time.monotonic() + lock_timeout
    while True:
        try:
            con = duckdb.connect(target, read_only=read_only)
            break
        except duckdb.IOException as e:
            if "lock" not in str(e).lower():
                raise OnboardError(f"{target}: cannot open the database: {_first_line(e)}") from e
            if time.monotonic() >= deadline:
                raise OnboardError(
                    f"{target}: the database is in use by another process (waited "
                    f"{lock_timeout:g} s); try again later or raise --lock-timeout"
                ) from e
            if notify:
                notify(f"{target}: in use by another import; waiting up to {lock_timeout:g} s")
                notify = None
            time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))
        except duckdb.Error as e:
            raise OnboardError(f"{target}: cannot open the database: {_first_line(e)}") from e
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"SET memory_limit = '{DUCKDB_MEMORY}'")
        version = _version(con, target)
        _check_tables(con, version, target)
        if read_only:
            _check_current(version, target)
        elif version < SCHEMA_VERSION:
            _upgrade(con, version, target, notify)
    except BaseException:
        con.close()
        raise
    return con


def open_existing(path: str | Path) -> duckdb.DuckDBPyConnection:
    """Open a database that must already exist, read-only (for the commands that only read)."""
    if not Path(path).exists():
        raise UsageError(f"{path}: no such database; run `onboard import` first or pass --db")
    return connect(path, read_only=True, lock_timeout=READ_LOCK_TIMEOUT)


def _check_is_duckdb(path: Path) -> None:
    """Refuse a file that is not a DuckDB database: DuckDB would open it as an empty database
    in memory, and every batch "committed" to it would be lost."""
    try:
        with path.open("rb") as f:
            head = f.read(12)
    except OSError as e:
        raise UsageError(f"{path}: cannot read the database file: {e.strerror}") from None
    if head[8:12] != _MAGIC:
        raise UsageError(
            f"{path}: not a DuckDB database file; pass --db a .duckdb file written by onboard, "
            "or a new path"
        )


def _version(con: duckdb.DuckDBPyConnection, target: str) -> int:
    """The schema version of the open database: 0 when it holds none of onboard's tables,
    1 for the files of onboard before versions were recorded."""
    if _has_table(con, "schema_version"):
        [(version,)] = con.execute("SELECT max(version) FROM schema_version").fetchall()
        if version is not None and version > SCHEMA_VERSION:
            raise UsageError(
                f"{target}: written by a newer onboard (schema version {version}, this one "
                f"knows {SCHEMA_VERSION}); upgrade onboard"
            )
        return version or 0
    return 1 if any(_has_table(con, t) for t in _shapes(1)) else 0


def _check_tables(con: duckdb.DuckDBPyConnection, version: int, target: str) -> None:
    """Every table of the file named like one of onboard's (at `version`) has its columns."""
    expected = _shapes(max(version, 1))
    found = _columns(con)
    for table, columns in expected.items():
        if table in found and found[table] != columns:
            raise UsageError(
                f"{target}: table {table!r} is not onboard's (its columns differ); pass --db "
                "a file written by onboard, or a new path"
            )


def _check_current(version: int, target: str) -> None:
    if version == 0:
        raise UsageError(f"{target}: holds no onboard tables; pass --db a file onboard wrote")
    if version < SCHEMA_VERSION:
        raise UsageError(
            f"{target}: written by an earlier onboard; run `onboard upgrade --db {target}` "
            "(or any import) to upgrade it in place"
        )


def _upgrade(con, version: int, target: str, notify) -> None:
    """Create the tables (version 0) or bring them to this version, in one transaction."""
    con.begin()
    try:
        if version == 0:
            con.execute(SCHEMA_V1)
        con.execute(_VERSIONS)
        notes = [UPGRADES[v](con) for v in range(max(version, 1) + 1, SCHEMA_VERSION + 1)]
        # the versions the file went through: from 1 when it recorded none (0 and 1)
        recorded = version + 1 if version > 1 else 1
        con.execute(
            "INSERT INTO schema_version SELECT v, current_timestamp FROM range(?, ?) t(v)",
            [recorded, SCHEMA_VERSION + 1],
        )
        con.commit()
    except BaseException:
        with contextlib.suppress(duckdb.Error):
            con.rollback()
        raise
    if version and notify:
        said = "; ".join(n for n in notes if n)
        notify(
            f"{target}: upgraded in place from schema version {version} to {SCHEMA_VERSION}"
            + (f"; {said}" if said else "")
        )


def _to_2(con: duckdb.DuckDBPyConnection) -> str | None:
    """Names compare by Unicode rules: recompute every stored key, and list in
    `name_collisions` the customers whose names now compare equal (both are kept)."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS name_collisions (name_key VARCHAR NOT NULL, "
        "name VARCHAR NOT NULL, batch_id BIGINT NOT NULL, source_row BIGINT NOT NULL, "
        "found_at TIMESTAMPTZ NOT NULL)"
    )
    for table in ("customers", "customer_history"):
        stored = con.sql(f"SELECT rowid AS row_id, name, name_key FROM {table}").pl()
        if not stored.height:
            continue
        key = name_keys(clean_names(stored["name"]))
        keys = _arrow(stored.select("row_id", name_key=pl.coalesce(key, "name_key")))  # noqa: F841
        con.execute(
            f"UPDATE {table} SET name_key = k.name_key FROM keys k WHERE {table}.rowid = k.row_id"
        )
    con.execute(
        "INSERT INTO name_collisions SELECT name_key, name, batch_id, source_row, "
        "current_timestamp FROM customers WHERE name_key IN "
        "(SELECT name_key FROM customers GROUP BY name_key HAVING count(*) > 1)"
    )
    collided = con.execute("SELECT name FROM name_collisions ORDER BY name_key, name").fetchall()
    if not collided:
        return None
    shown = ", ".join(repr(name) for (name,) in collided[:4])
    return (
        f"{len(collided)} stored customers have names that now compare equal to another's "
        f"({shown}{', ...' if len(collided) > 4 else ''}); both of each are kept and listed in "
        "table name_collisions: rename or remove one"
    )


def _to_3(con: duckdb.DuckDBPyConnection) -> str | None:
    """Resellers: every reference, batch and customer belongs to one. What was stored goes to
    reseller `default`; the stored reference becomes its version 1 (loaded earlier: 2, 3...),
    and the batches checked against it (started after it was loaded) record that version."""
    for table in ("reference", "batches", "customers", "customer_history"):
        con.execute(
            f"ALTER TABLE {table} ADD COLUMN reseller VARCHAR NOT NULL DEFAULT '{DEFAULT_RESELLER}'"
        )
        con.execute(f"ALTER TABLE {table} ALTER COLUMN reseller DROP DEFAULT")
    con.execute("ALTER TABLE reference ADD COLUMN version INTEGER NOT NULL DEFAULT 1")
    con.execute("ALTER TABLE reference ALTER COLUMN version DROP DEFAULT")
    con.execute(
        "UPDATE reference SET version = n.version FROM (SELECT rowid AS row_id, "
        "row_number() OVER (ORDER BY loaded_at, rowid) AS version FROM reference) n "
        "WHERE reference.rowid = n.row_id"
    )
    con.execute("ALTER TABLE batches ADD COLUMN reference_version INTEGER")
    con.execute(
        "UPDATE batches SET reference_version = r.version FROM (SELECT version, loaded_at "
        "FROM reference ORDER BY version DESC LIMIT 1) r WHERE batches.started_at >= r.loaded_at"
    )
    [(references, batches)] = con.execute(
        "SELECT (SELECT count(*) FROM reference), (SELECT count(*) FROM batches)"
    ).fetchall()
    if not references and not batches:
        return None
    versions = f"; its stored reference is version {references}" if references else ""
    return (
        "references, batches and customers now belong to a reseller: those stored to "
        f"reseller '{DEFAULT_RESELLER}'{versions}"
    )


def _to_4(con: duckdb.DuckDBPyConnection) -> str | None:
    """A committed batch can be reverted: its status becomes `reverted`, with when and by whom."""
    con.execute("ALTER TABLE batches ADD COLUMN reverted_at TIMESTAMPTZ")
    con.execute("ALTER TABLE batches ADD COLUMN reverted_by VARCHAR")
    return None


def _to_5(con: duckdb.DuckDBPyConnection) -> str | None:
    """Warnings: accepted rows' findings worth a look, one row per warning, as rejections."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS warnings (batch_id BIGINT NOT NULL, "
        'source_row BIGINT NOT NULL, name VARCHAR, "column" VARCHAR, rule VARCHAR NOT NULL, '
        "message VARCHAR NOT NULL, value VARCHAR)"
    )
    return None


# version -> the step from the version before; returns a note or None
UPGRADES = {2: _to_2, 3: _to_3, 4: _to_4, 5: _to_5}


@functools.cache
def _shapes(version: int) -> dict[str, list[tuple[str, str]]]:
    """Each table of `version` with its (column, type)s, as an empty database in memory has
    them after the same steps an upgrade takes."""
    con = duckdb.connect()
    try:
        con.execute(SCHEMA_V1)
        for step in range(2, version + 1):
            UPGRADES[step](con)
        if version > 1:
            con.execute(_VERSIONS)
        return _columns(con)
    finally:
        con.close()


def _columns(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[str, str]]]:
    tables: dict[str, list[tuple[str, str]]] = {}
    for table, column, kind in con.execute(
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'main' ORDER BY table_name, ordinal_position"
    ).fetchall():
        tables.setdefault(table, []).append((column, kind))
    return tables


def existing_customers(con: duckdb.DuckDBPyConnection, keys: pl.Series) -> pl.DataFrame:
    """The stored customers among the name keys `keys`, of every reseller: name_key, reseller,
    created_on and `customers`, how many of that reseller have the key (more than one only
    where an upgrade found names to collide)."""
    if not con.execute("SELECT 1 FROM customers LIMIT 1").fetchall():
        return pl.DataFrame(
            schema={
                "name_key": pl.String,
                "reseller": pl.String,
                "created_on": pl.Date,
                "customers": pl.Int64,
            }
        )
    batch_keys = _arrow(pl.DataFrame({"name_key": keys.drop_nulls().unique()}))  # noqa: F841
    return con.sql(
        "SELECT c.name_key, c.reseller, min(c.created_on) AS created_on, count(*) AS customers "
        "FROM customers c JOIN batch_keys b USING (name_key) GROUP BY c.name_key, c.reseller"
    ).pl()


def similar_customers(con: duckdb.DuckDBPyConnection, keys: pl.Series) -> pl.DataFrame:
    """The stored customers whose names compare alike (`names.similarity_keys`) with one of
    `keys` (similarity keys): similar_to, name_key. One query; DuckDB works out the stored names'
    keys with the same patterns as polars."""
    if not con.execute("SELECT 1 FROM customers LIMIT 1").fetchall():
        return pl.DataFrame(schema={"similar_to": pl.String, "name_key": pl.String})
    batch_keys = _arrow(pl.DataFrame({"similar_to": keys.drop_nulls().unique()}))  # noqa: F841
    return con.sql(
        f"SELECT similar_to, name_key FROM (SELECT DISTINCT name_key, {SIMILARITY_SQL} AS "
        "similar_to FROM customers) JOIN batch_keys USING (similar_to)"
    ).pl()


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


SIMILARITY_SQL = (  # `names.similarity_keys` of name_key, in DuckDB
    f"nullif(regexp_replace(trim(regexp_replace(regexp_replace(name_key, {_sql_text(PUNCTUATION)}, "
    f"'', 'g'), ' {{2,}}', ' ', 'g'), ' '), {_sql_text(LEGAL_SUFFIX)}, ''), '')"
)


def committed_batch(con: duckdb.DuckDBPyConnection, sha256: str, reseller: str) -> int | None:
    """The first batch of `reseller` that committed a file with this content, if any."""
    rows = con.execute(
        "SELECT min(batch_id) FROM batches WHERE sha256 = ? AND status = 'committed' "
        "AND retry_of IS NULL AND reseller = ?",
        [sha256, reseller],
    ).fetchall()
    return rows[0][0]


@dataclass(frozen=True)
class Chunk:
    """Part of a batch, ready for `BatchWriter.add` (see `BatchWriter.prepare`)."""

    customers: "pa.Table | None"  # Arrow tables: what DuckDB scans
    rejections: "pa.Table | None"
    replaces: pl.Series | None
    fields: tuple[str, ...] = ()  # the custom fields, columns CUSTOM_0, ... of `customers`
    warnings: "pa.Table | None" = None


class BatchWriter:
    """One batch's transaction: add its chunks, then `finish` (commit) or `abort` (roll back).

    A batch's customers, rejections and `batches` row commit together or not at all.
    """

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        retry_of: int | None = None,
        reseller: str = DEFAULT_RESELLER,
    ):
        self.con = con
        self.retry_of = retry_of
        self.reseller = reseller  # whose customers it adds, and may update
        con.begin()
        [(self.batch_id,)] = con.execute("SELECT nextval('batch_ids')").fetchall()

    def prepare(
        self,
        customers: pl.DataFrame | None = None,
        rejections: pl.DataFrame | None = None,
        replaces: pl.Series | None = None,
        fields: tuple[str, ...] = (),
        warnings: pl.DataFrame | None = None,
    ) -> Chunk:
        """A chunk as DuckDB scans it (Arrow, the stored columns, batch_id set). It touches no
        database, so it can be made on another thread than the one that `add`s it. `fields`:
        the custom fields `customers` has columns for (their `__value`s, null where not stored),
        which `add` makes the MAP `custom_data`."""
        values = [pl.col(value_column(f)).alias(f"{_CUSTOM}{n}") for n, f in enumerate(fields)]
        return Chunk(
            _scannable(customers, _CUSTOMER_FRAME, self.batch_id, values),
            _scannable(rejections, REJECTION_COLUMNS, self.batch_id),
            replaces if replaces is not None and replaces.len() else None,
            fields,
            _scannable(warnings, WARNING_COLUMNS, self.batch_id),
        )

    def add(self, chunk: Chunk) -> None:
        """Store a prepared chunk. `replaces`: name keys of stored customers that its customers
        update (of the writer's reseller: no other's); their rows move to customer_history. A
        retry batch marks the rejections of the rows it admits as resolved."""
        con, batch_id, reseller = self.con, self.batch_id, self.reseller
        if chunk.replaces is not None:
            replaced = pl.DataFrame({"name_key": chunk.replaces})  # noqa: F841 (scanned)
            con.execute(
                "INSERT INTO customer_history BY NAME SELECT c.*, ? AS replaced_by_batch, "
                "current_timestamp AS replaced_at "
                "FROM customers c JOIN replaced USING (name_key) WHERE c.reseller = ?",
                [batch_id, reseller],
            )
            con.execute(
                "DELETE FROM customers WHERE reseller = ? "
                "AND name_key IN (SELECT name_key FROM replaced)",
                [reseller],
            )
        if chunk.customers is not None:
            new_customers = chunk.customers  # noqa: F841 (scanned)
            made = {"custom_data": _custom_data(chunk.fields), "reseller": "$reseller"}
            selected = ", ".join(made.get(c, f'"{c}"') for c in CUSTOMER_COLUMNS)
            con.execute(
                f"INSERT INTO customers ({_names(CUSTOMER_COLUMNS)}) "
                f"SELECT {selected} FROM new_customers",
                {"reseller": reseller},
            )
            if self.retry_of is not None:
                con.execute(
                    "UPDATE rejections SET resolved_by_batch = ? WHERE batch_id = ? "
                    "AND resolved_by_batch IS NULL "
                    "AND source_row IN (SELECT source_row FROM new_customers)",
                    [batch_id, self.retry_of],
                )
        if chunk.rejections is not None:
            new_rejections = chunk.rejections  # noqa: F841 (scanned)
            con.execute(
                f"INSERT INTO rejections ({_names(REJECTION_COLUMNS)}) "
                f"SELECT {_names(REJECTION_COLUMNS)} FROM new_rejections"
            )
        if chunk.warnings is not None:
            new_warnings = chunk.warnings  # noqa: F841 (scanned)
            con.execute(
                f"INSERT INTO warnings ({_names(WARNING_COLUMNS)}) "
                f"SELECT {_names(WARNING_COLUMNS)} FROM new_warnings"
            )

    def finish(self, batch: BatchRow) -> int:
        """Record the batch and commit. A refused batch keeps its rejections but no customer:
        the customers it added are removed and those it replaced restored."""
        con, batch_id = self.con, self.batch_id
        if batch.status == "refused":
            con.execute("DELETE FROM customers WHERE batch_id = ?", [batch_id])
            con.execute("DELETE FROM warnings WHERE batch_id = ?", [batch_id])  # of no customer
            con.execute(
                "INSERT INTO customers BY NAME SELECT * EXCLUDE (replaced_by_batch, replaced_at) "
                "FROM customer_history WHERE replaced_by_batch = ?",
                [batch_id],
            )
            con.execute("DELETE FROM customer_history WHERE replaced_by_batch = ?", [batch_id])
        con.execute(
            f"INSERT INTO batches ({_names(_BATCH_COLUMNS)}) "
            f"VALUES ({', '.join('?' for _ in _BATCH_COLUMNS)})",
            [batch_id, *(_batch_value(batch, c) for c in _BATCH_COLUMNS[1:])],
        )
        con.commit()
        return batch_id

    def abort(self) -> None:
        """Roll back, if DuckDB has not already (a failed commit rolls back by itself)."""
        with contextlib.suppress(duckdb.TransactionException):
            self.con.rollback()


def write_batch(con: duckdb.DuckDBPyConnection, batch: BatchRow) -> int:
    """Record a batch that stored no rows (skipped, failed); returns its batch_id."""
    writer = BatchWriter(con, batch.retry_of, batch.reseller)
    try:
        return writer.finish(batch)
    except BaseException:
        writer.abort()
        raise


_BATCH_COLUMNS = (
    "batch_id",
    "source",
    "sha256",
    "status",
    "as_of",
    "started_at",
    "finished_at",
    "rows_read",
    "rows_accepted",
    "rows_rejected",
    "rows_skipped",
    "blank_rows",
    "retry_of",
    "reason",
    "headers",
    "options",
    "timings",
    "reseller",
    "reference_version",
)


def _scannable(
    frame: pl.DataFrame | None,
    columns: tuple[str, ...],
    batch_id: int,
    more: list[pl.Expr] | None = None,
):
    """The `columns` a table stores of `frame` (and `more`), with batch_id set, as Arrow (None
    if empty); no other column is handed to DuckDB."""
    if frame is None or not frame.height:
        return None
    kept = (c for c in columns if c != "batch_id")
    return _arrow(frame.select(*kept, *(more or []), batch_id=pl.lit(batch_id, pl.Int64)))


def _custom_data(fields: tuple[str, ...]) -> str:
    """The SQL of `custom_data`: the fields with a value, from columns CUSTOM_0, ... Made by
    DuckDB as it inserts (polars took ten times as long to build the pairs)."""
    if not fields:
        return "MAP {}::MAP(VARCHAR, VARCHAR)"
    pairs = ", ".join(f"{{'key': '{f}', 'value': \"{_CUSTOM}{n}\"}}" for n, f in enumerate(fields))
    return f"map_from_entries(list_filter([{pairs}], lambda pair: pair.value IS NOT NULL))"


def _arrow(frame: pl.DataFrame):
    """The frame for DuckDB to scan: plain Arrow strings, which it reads about twice as fast as
    polars' string views (measured with bench/)."""
    return frame.to_arrow(compat_level=pl.CompatLevel.oldest())


def _batch_value(batch: BatchRow, column: str):
    value = getattr(batch, column)
    return json.dumps(value) if column in ("headers", "options", "timings") else value


def save_reference(
    con: duckdb.DuckDBPyConnection, reseller: str, source: str, content: str
) -> tuple[int, bool]:
    """Store `content` as the reseller's current reference: its next version, unless it is
    the content of its current one. Returns the version, and whether it was stored now."""
    con.begin()
    try:
        current = stored_reference(con, reseller)
        if current is not None and current.content == content:
            con.rollback()
            return current.version, False
        version = 1 if current is None else current.version + 1
        con.execute(
            "INSERT INTO reference (reseller, version, loaded_at, source, content) "
            "VALUES (?, ?, current_timestamp, ?, ?)",
            [reseller, version, source, content],
        )
        con.commit()
    except BaseException:
        with contextlib.suppress(duckdb.Error):
            con.rollback()
        raise
    return version, True


def stored_reference(
    con: duckdb.DuckDBPyConnection, reseller: str, version: int | None = None
) -> StoredReference | None:
    """A version of the reseller's reference (None: its current one, the highest), if stored."""
    rows = con.execute(
        "SELECT reseller, version, loaded_at, source, content, "
        "version = max(version) OVER () AS current FROM reference WHERE reseller = ? "
        "QUALIFY version = coalesce(?, max(version) OVER ())",
        [reseller, version],
    ).fetchall()
    return StoredReference(*rows[0]) if rows else None


def stored_resellers(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The resellers with a stored reference, by name."""
    found = con.execute("SELECT DISTINCT reseller FROM reference ORDER BY reseller").fetchall()
    return [reseller for (reseller,) in found]


def resellers(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Every reseller with its current reference version, customers and batches."""
    return con.sql(
        "WITH r AS (SELECT reseller, max(version) AS reference_version FROM reference "
        "GROUP BY ALL), c AS (SELECT reseller, count(*) AS customers FROM customers GROUP BY "
        "ALL), b AS (SELECT reseller, count(*) AS batches FROM batches GROUP BY ALL) "
        "SELECT reseller, reference_version, coalesce(customers, 0) AS customers, "
        "coalesce(batches, 0) AS batches "
        "FROM r FULL JOIN c USING (reseller) FULL JOIN b USING (reseller) ORDER BY reseller"
    ).pl()


def batches(con: duckdb.DuckDBPyConnection, reseller: str | None = None) -> pl.DataFrame:
    """Every batch (of `reseller`, if given) with its status, counts and how long it took."""
    return con.sql(
        "SELECT batch_id, source, status, as_of, reseller, reference_version, rows_read, "
        "rows_accepted, rows_rejected, rows_skipped, blank_rows, retry_of, "
        "round(epoch(finished_at) - epoch(started_at), 3) AS seconds, started_at, reason "
        "FROM batches WHERE reseller = coalesce(?, reseller) ORDER BY batch_id",
        params=[reseller],
    ).pl()


def batch(con: duckdb.DuckDBPyConnection, batch_id: int) -> dict:
    """One batch's row, with its options, headers and timings decoded."""
    found = con.sql("SELECT * FROM batches WHERE batch_id = ?", params=[batch_id]).pl()
    if not found.height:
        raise UsageError(f"no batch {batch_id}; `onboard batches` lists them")
    row = found.row(0, named=True)
    for column in ("headers", "options", "timings"):
        row[column] = json.loads(row[column]) if row[column] else None
    return row


def dependent_batches(con: duckdb.DuckDBPyConnection, batch_id: int) -> list[int]:
    """The committed batches that changed customers `batch_id` stored (an update moved its
    version to customer_history) or retried its rejections."""
    found = con.execute(
        "SELECT later FROM (SELECT replaced_by_batch AS later FROM customer_history "
        "WHERE batch_id = $1 UNION SELECT batch_id FROM batches WHERE retry_of = $1) "
        "WHERE later IN (SELECT batch_id FROM batches WHERE status = 'committed') ORDER BY 1",
        [batch_id],
    ).fetchall()
    return [b for (b,) in found]


def revert_batch(con: duckdb.DuckDBPyConnection, batch_id: int, by: str) -> dict[str, int]:
    """Undo a committed batch (in the caller's transaction): delete the customers it stored,
    restore those it replaced from customer_history, reopen the rejections it resolved (a
    retry), mark it `reverted`. Its rejections stay. The counts of what changed."""
    [(removed,)] = con.execute(
        "SELECT count(*) FROM customers WHERE batch_id = ?", [batch_id]
    ).fetchall()
    con.execute("DELETE FROM customers WHERE batch_id = ?", [batch_id])
    [(restored,)] = con.execute(
        "SELECT count(*) FROM customer_history WHERE replaced_by_batch = ?", [batch_id]
    ).fetchall()
    con.execute(
        "INSERT INTO customers BY NAME SELECT * EXCLUDE (replaced_by_batch, replaced_at) "
        "FROM customer_history WHERE replaced_by_batch = ?",
        [batch_id],
    )
    con.execute("DELETE FROM customer_history WHERE replaced_by_batch = ?", [batch_id])
    [(reopened,)] = con.execute(
        "SELECT count(*) FROM rejections WHERE resolved_by_batch = ?", [batch_id]
    ).fetchall()
    con.execute(
        "UPDATE rejections SET resolved_by_batch = NULL WHERE resolved_by_batch = ?", [batch_id]
    )
    con.execute(
        "UPDATE batches SET status = 'reverted', reverted_at = current_timestamp, "
        "reverted_by = ? WHERE batch_id = ?",
        [by, batch_id],
    )
    return {"removed": removed, "restored": restored, "reopened": reopened}


def rule_counts(con: duckdb.DuckDBPyConnection, batch_id: int) -> list[tuple[str, int]]:
    """A batch's rejections by rule, the most frequent first."""
    return con.execute(
        "SELECT rule, count(*) FROM rejections WHERE batch_id = ? GROUP BY rule ORDER BY 2 DESC, 1",
        [batch_id],
    ).fetchall()


def warning_counts(con: duckdb.DuckDBPyConnection, batch_id: int) -> list[tuple[str, int]]:
    """A batch's warnings by rule, the most frequent first."""
    return con.execute(
        "SELECT rule, count(*) FROM warnings WHERE batch_id = ? GROUP BY rule ORDER BY 2 DESC, 1",
        [batch_id],
    ).fetchall()


def warnings(con: duckdb.DuckDBPyConnection, batch_id: int) -> pl.DataFrame:
    """A batch's warnings, one row per warning of a stored row."""
    found = con.sql(
        f"SELECT {_names(WARNING_COLUMNS)} FROM warnings "
        'WHERE batch_id = ? ORDER BY source_row, "column", rule',
        params=[batch_id],
    ).pl()
    if not found.height:
        batch(con, batch_id)  # none: refuses an unknown batch
    return found


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    """The layout version of the open database (see SCHEMA_VERSION)."""
    [(version,)] = con.execute("SELECT max(version) FROM schema_version").fetchall()
    return version


def batch_report_data(con: duckdb.DuckDBPyConnection, batch_id: int, cells: int) -> dict:
    """What a batch's report shows (`pipeline/report.py`): its row, rejections by rule and by
    column, its rows in at most `cells` runs (first, last, rejected, accepted), its accepted
    customers by period, currency and zone, and how many current periods close on each day."""
    batch_row = batch(con, batch_id)

    def counted(sql: str) -> list[tuple]:
        return con.execute(sql, [batch_id]).fetchall()

    customers = (
        "(SELECT * EXCLUDE (replaced_by_batch, replaced_at) FROM customer_history "
        "WHERE batch_id = $1 UNION ALL SELECT * FROM customers WHERE batch_id = $1)"
    )
    by = "SELECT {0}, count(*) FROM " + customers + " GROUP BY 1 ORDER BY 2 DESC, 1"
    rows = con.sql(
        "WITH r AS (SELECT source_row, max(rejected) AS rejected FROM ("
        "SELECT source_row, 1 AS rejected FROM rejections WHERE batch_id = $1 "
        f"UNION ALL SELECT source_row, 0 FROM {customers}) GROUP BY 1), "
        "span AS (SELECT min(source_row) AS lo, max(source_row) - min(source_row) + 1 AS n FROM r) "
        "SELECT floor((source_row - lo) * least($2, n) / n)::BIGINT AS bin, min(source_row), "
        "max(source_row), sum(rejected)::BIGINT, (count(*) - sum(rejected))::BIGINT "
        "FROM r, span GROUP BY 1 ORDER BY 1",
        params=[batch_id, cells],
    ).pl()
    return {
        "batch": batch_row,
        "rules": rule_counts(con, batch_id),
        "columns": counted(
            "SELECT coalesce(\"column\", '(the row)'), count(*) FROM rejections "
            "WHERE batch_id = $1 GROUP BY 1 ORDER BY 2 DESC, 1"
        ),
        "rows": rows,
        "periods": counted(by.format("billing_period")),
        "currencies": counted(by.format("currency")),
        "zones": counted(by.format("billing_period_timezone")),
        "closing": counted(by.format("current_period_closes_at::DATE")),
    }


def backlog_data(con: duckdb.DuckDBPyConnection, today: date, reseller: str | None = None) -> dict:
    """The rejections still open (not resolved by a retry) across batches (of `reseller`, or
    of all): by rule, by age (days since their batch started) and by batch."""
    open_ = (
        "SELECT r.*, b.started_at FROM rejections r JOIN batches b USING (batch_id) "
        "WHERE r.resolved_by_batch IS NULL AND b.status IN ('committed', 'refused') "
        "AND b.reseller = coalesce($reseller, b.reseller)"
    )
    age = (
        "CASE WHEN days <= 1 THEN '0-1 days' WHEN days <= 7 THEN '2-7 days' "
        "WHEN days <= 30 THEN '8-30 days' ELSE 'over 30 days' END"
    )

    def rows(sql: str, **more) -> list[tuple]:
        return con.execute(sql.format(open=open_), {"reseller": reseller, **more}).fetchall()

    [(total, rejected_rows)] = rows(
        "SELECT count(*), count(DISTINCT (batch_id, source_row)) FROM ({open})"
    )
    return {
        "open": total,
        "rows": rejected_rows,
        "rules": rows("SELECT rule, count(*) FROM ({open}) GROUP BY 1 ORDER BY 2 DESC, 1"),
        "ages": rows(
            f"SELECT {age}, count(*) FROM (SELECT $today - started_at::DATE AS days "
            "FROM ({open})) GROUP BY 1 ORDER BY min(days)",
            today=today,
        ),
        "batches": rows(
            "SELECT 'batch ' || batch_id, count(*) FROM ({open}) GROUP BY batch_id "
            "ORDER BY batch_id"
        ),
    }


def rejections(
    con: duckdb.DuckDBPyConnection, batch_id: int, open_only: bool = False
) -> pl.DataFrame:
    """A batch's rejections, one row per failed rule (`open_only`: not resolved by a retry)."""
    where = " AND resolved_by_batch IS NULL" if open_only else ""
    found = con.sql(
        f"SELECT {_names(REJECTION_COLUMNS)}, resolved_by_batch FROM rejections "
        f'WHERE batch_id = ?{where} ORDER BY source_row, "column", rule',
        params=[batch_id],
    ).pl()
    if not found.height:
        batch(con, batch_id)  # none: refuses an unknown batch
    return found


def _names(columns) -> str:
    return ", ".join(f'"{c}"' for c in columns)


def _has_table(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    found = con.execute(
        "SELECT 1 FROM information_schema.tables WHERE table_name = ?", [table]
    ).fetchall()
    return bool(found)


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
