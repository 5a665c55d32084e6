"""The database file: opening it (one writer at a time), telling it is onboard's, and bringing
a file an earlier onboard wrote to this version, in place.

The layout has a version (table `schema_version`): version 1's tables (SCHEMA_V1), then one
step a version (UPGRADES). A new file takes every step, so a new and an upgraded file are the
same; the tables of a file are checked against what those steps make of an empty database.
"""

import contextlib
import functools
import getpass
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import polars as pl

from pipeline.errors import OnboardError, UsageError, first_line
from pipeline.names import clean_names, name_keys, similarity_keys
from schemas.reference import DEFAULT_RESELLER

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

SCHEMA_VERSION = 8  # the layout this onboard writes; older files are upgraded in place
_MAGIC = b"DUCK"  # a DuckDB file holds these bytes at offset 8
_VERSIONS = """
CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL
);
"""
READ_LOCK_TIMEOUT = 30  # seconds a command that only reads waits for an import to finish
DUCKDB_MEMORY = "1GB"  # DuckDB spills a large batch's uncommitted rows to disk beyond this


def user() -> str:
    """Who changes the database (recorded by a revert or a purge): the process's user name."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name for this process (a container): its number
        return str(os.getuid())


@contextlib.contextmanager
def transaction(con: duckdb.DuckDBPyConnection, dry_run: bool = False) -> Iterator[None]:
    """One transaction: committed when the block ends, rolled back when it raises or on a dry
    run (which so says what it would change, and changes nothing)."""
    con.begin()
    try:
        yield
    except BaseException:
        con.rollback()
        raise
    if dry_run:
        con.rollback()
    else:
        con.commit()


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
    elif path is not None and not Path(path).absolute().parent.is_dir():
        raise UsageError(f"{target}: no such folder for the database; create it or pass --db")
    deadline = time.monotonic() + lock_timeout
    while True:
        try:
            con = duckdb.connect(target, read_only=read_only)
            break
        except duckdb.IOException as e:
            if "lock" not in str(e).lower():
                raise OnboardError(f"{target}: cannot open the database: {first_line(e)}") from e
            if time.monotonic() >= deadline:
                more = "" if read_only else " or raise --lock-timeout"  # readers wait as set
                raise OnboardError(
                    f"{target}: the database is in use by another process (waited "
                    f"{lock_timeout:g} s); try again later{more}"
                ) from e
            if notify:
                notify(f"{target}: in use by another process; waiting up to {lock_timeout:g} s")
                notify = None
            time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))
        except duckdb.Error as e:
            raise OnboardError(f"{target}: cannot open the database: {first_line(e)}") from e
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


def open_to_change(
    path: str | Path, lock_timeout: float, notify: Callable[[str], None] | None = None
) -> duckdb.DuckDBPyConnection:
    """Open a database that must already exist, to change it (revert, purge, upgrade, retry)."""
    if not Path(path).exists():
        raise UsageError(f"{path}: no such database; pass --db")
    return connect(path, lock_timeout=lock_timeout, notify=notify)


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
        keys = stored.select("row_id", name_key=pl.coalesce(key, "name_key"))  # noqa: F841
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


def _to_6(con: duckdb.DuckDBPyConnection) -> str | None:
    """A change of billing period or zone applies from a date: `billing_change_on` (null:
    since the customer was created, as for every customer stored before)."""
    for table in ("customers", "customer_history"):
        con.execute(f"ALTER TABLE {table} ADD COLUMN billing_change_on DATE")
    return None


def _to_7(con: duckdb.DuckDBPyConnection) -> str | None:
    """Personal data can be purged (`onboard purge`): when a rejection lost its original
    cells and an earlier customer version its personal values, and a record of each purge."""
    for table in ("rejections", "customer_history"):
        con.execute(f"ALTER TABLE {table} ADD COLUMN purged_at TIMESTAMPTZ")
    con.execute(
        "CREATE TABLE IF NOT EXISTS purges (purged_at TIMESTAMPTZ NOT NULL, "
        "purged_by VARCHAR NOT NULL, before DATE NOT NULL, reseller VARCHAR, "
        "rows_purged BIGINT NOT NULL, rejection_values BIGINT NOT NULL, "
        "warning_values BIGINT NOT NULL, history_values BIGINT NOT NULL)"
    )
    return None


def _to_8(con: duckdb.DuckDBPyConnection) -> str | None:
    """A customer keeps its name's similarity key (`similar_to`, `names.similarity_keys`), so
    an import finds the stored names alike by a join instead of working out every stored
    name's key again: worked out here for the customers and versions stored."""
    for table in ("customers", "customer_history"):
        con.execute(f"ALTER TABLE {table} ADD COLUMN similar_to VARCHAR")
        stored = con.sql(f"SELECT rowid AS row_id, name_key FROM {table}").pl()
        if not stored.height:
            continue
        keys = stored.select("row_id", similar_to=similarity_keys(stored["name_key"]))  # noqa: F841
        con.execute(
            f"UPDATE {table} SET similar_to = k.similar_to FROM keys k "
            f"WHERE {table}.rowid = k.row_id"
        )
    return None


# version -> the step from the version before; returns a note or None
UPGRADES = {2: _to_2, 3: _to_3, 4: _to_4, 5: _to_5, 6: _to_6, 7: _to_7, 8: _to_8}


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


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    """The layout version of the open database (see SCHEMA_VERSION)."""
    [(version,)] = con.execute("SELECT max(version) FROM schema_version").fetchall()
    return version


def _has_table(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    found = con.execute(
        "SELECT 1 FROM information_schema.tables WHERE table_name = ?", [table]
    ).fetchall()
    return bool(found)
