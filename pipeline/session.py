"""A session: a database opened for a run, with the reseller's reference resolved.

`onboard import` and `onboard retry` work through one, and so can a scheduler's Python task:

    with Session.open("customers.duckdb", reference_file=Path("reseller.toml")) as session:
        for result in session.import_files([Path("incoming/")], RunOptions(as_of=today)):
            print(result.status, result.rows_accepted)

It decides what the command line used to: what a missing database means (created, or for a
dry run a database in memory), where the reference comes from (the file given, stored before
the batches are checked; else the stored one), whether `--map` names known columns.
"""

from collections.abc import Callable, Iterable, Iterator
from datetime import date
from pathlib import Path
from types import TracebackType

import duckdb

from pipeline import run, store
from pipeline.columns import check_renames
from pipeline.errors import UsageError
from pipeline.options import RunOptions
from pipeline.read import expand_paths
from pipeline.reference import load_reference, parse_reference
from schemas.reference import Reference

Notify = Callable[[str], None]  # hears of a wait for the database, of an upgrade
FileProgress = Callable[[Path, str, int | None], None]  # (file, stage starting, rows so far)


class Session:
    def __init__(self, con: duckdb.DuckDBPyConnection, reference: Reference):
        self.con = con
        self.reference = reference

    @classmethod
    def open(
        cls,
        db: str | Path,
        *,
        reference_file: Path | None = None,
        dry_run: bool = False,
        lock_timeout: float = 600,
        notify: Notify | None = None,
    ) -> "Session":
        """Open `db` for importing into it: created when missing, unless this is a dry run,
        which opens an existing file read-only (writing nothing, not even the reference) and
        a missing one as a database in memory. The reference is `reference_file`, or the one
        stored in `db`."""
        exists = Path(db).exists()
        if reference_file is None and not exists:
            raise UsageError(
                f"{db}: no such database, so no stored reference: pass --reference FILE (the "
                "reseller's TOML configuration)"
            )
        reference = load_reference(reference_file) if reference_file is not None else None
        if dry_run and not exists:
            con = store.connect(None)
        else:
            con = store.connect(db, read_only=dry_run, lock_timeout=lock_timeout, notify=notify)
        try:
            if reference is not None and not dry_run:
                store.save_reference(con, str(reference_file), reference.text)
            return cls(con, reference or _stored_reference(con))
        except BaseException:
            con.close()
            raise

    @classmethod
    def open_existing(
        cls, db: str | Path, lock_timeout: float = 600, notify: Notify | None = None
    ) -> "Session":
        """Open a database that must exist already, with its stored reference (a retry)."""
        if not Path(db).exists():
            raise UsageError(f"{db}: no such database; pass --db")
        con = store.connect(db, lock_timeout=lock_timeout, notify=notify)
        try:
            return cls(con, _stored_reference(con))
        except BaseException:
            con.close()
            raise

    def import_files(
        self, paths: Iterable[str | Path], options: RunOptions, progress: FileProgress | None = None
    ) -> Iterator[run.BatchResult]:
        """Import each file (a folder: each supported file in it, by name) as its own batch;
        yields each one's result as it ends."""
        check_renames(options.renames, self.reference.custom_field_names)
        for path in expand_paths(paths):
            shown = (lambda stage, rows, p=path: progress(p, stage, rows)) if progress else None
            yield run.import_file(path, self.reference, options, self.con, shown)

    def retry(
        self,
        batch_id: int,
        as_of: date | None = None,
        *,
        warnings_as_errors: bool = False,
        show_personal: bool = False,
    ) -> run.BatchResult:
        """Re-check a batch's open rejections; import the rows that pass now (`show_personal`:
        the summary's examples show personal values)."""
        return run.retry_batch(
            batch_id,
            self.reference,
            as_of,
            self.con,
            warnings_as_errors=warnings_as_errors,
            show_personal=show_personal,
        )

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> "Session":
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def _stored_reference(con: duckdb.DuckDBPyConnection) -> Reference:
    stored = store.stored_reference(con)
    if stored is None:
        raise UsageError(
            "no reference in the database: pass --reference FILE (the reseller's TOML "
            "configuration) or run `onboard reference load FILE` first"
        )
    source, content = stored
    return parse_reference(content, f"stored reference (from {source})")
