"""A session: a database opened for a run, with the reseller and its reference resolved.

`onboard import` and `onboard retry` work through one, and so can a scheduler's Python task:

    with Session.open("customers.duckdb", reference_file=Path("reseller.toml")) as session:
        for result in session.import_files([Path("incoming/")], RunOptions(as_of=today)):
            print(result.status, result.rows_accepted)

It decides what the command line used to: what a missing database means (created, or for a
dry run a database in memory), which reseller a run is for and where its reference comes from
(the file given, stored as that reseller's current reference before the batches are checked;
else the current one stored for the reseller named, or for the only reseller stored), whether
`--map` names known columns.
"""

from collections.abc import Callable, Iterable, Iterator
from datetime import date
from pathlib import Path
from types import TracebackType

import duckdb

from pipeline import database, run, store
from pipeline.columns import check_renames
from pipeline.errors import UsageError
from pipeline.options import RunOptions
from pipeline.read import expand_paths
from pipeline.reference import load_reference, parse_reference
from schemas.reference import Reference

Notify = Callable[[str], None]  # hears of a wait for the database, of an upgrade
FileProgress = Callable[[Path, str, int | None], None]  # (file, stage starting, rows so far)


class Session:
    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        reference: Reference | None,
        reference_version: int | None = None,
    ):
        self.con = con
        # what imports check against (its reseller is theirs); None: a session for retries,
        # each checked against the current reference of its batch's reseller
        self.reference = reference
        self.reference_version = reference_version  # as stored; None: not stored (a dry run)

    @classmethod
    def open(
        cls,
        db: str | Path,
        *,
        reference_file: Path | None = None,
        reseller: str | None = None,
        dry_run: bool = False,
        lock_timeout: float = 600,
        notify: Notify | None = None,
    ) -> "Session":
        """Open `db` for importing into it: created when missing, unless this is a dry run,
        which opens an existing file read-only (writing nothing, not even the reference) and
        a missing one as a database in memory.

        The reference is `reference_file`, stored as its reseller's current one (a new
        version, unless the same as the current one), or the current one stored for
        `reseller`; with neither, that of the one reseller stored. UsageError when the file
        and `reseller` disagree, when `reseller` has no reference stored, or when several
        resellers have and none is named: each names the resellers stored."""
        exists = Path(db).exists()
        if reference_file is None and not exists:
            raise UsageError(
                f"{db}: no such database, so no stored reference: pass --reference FILE (the "
                "reseller's TOML configuration)"
            )
        reference = load_reference(reference_file) if reference_file is not None else None
        if reference is not None and reseller is not None and reseller != reference.reseller:
            raise UsageError(
                f"--reseller {reseller} but {reference_file} is the reference of reseller "
                f"{reference.reseller!r}; pass the reseller's own reference, or only one of them"
            )
        if dry_run and not exists:
            con = database.connect(None)
        else:
            con = database.connect(db, read_only=dry_run, lock_timeout=lock_timeout, notify=notify)
        try:
            if reference is None:
                return cls(con, *current_reference(con, which_reseller(con, reseller)))
            if dry_run:  # nothing stored: its version only if it is the current one
                stored = store.stored_reference(con, reference.reseller)
                same = stored and stored.content == reference.text
                return cls(con, reference, stored.version if stored and same else None)
            version, _ = store.save_reference(
                con, reference.reseller, str(reference_file), reference.text
            )
            return cls(con, reference, version)
        except BaseException:
            con.close()
            raise

    @classmethod
    def open_existing(
        cls, db: str | Path, lock_timeout: float = 600, notify: Notify | None = None
    ) -> "Session":
        """Open a database that must exist already, for retries: each batch is checked
        against the current reference of its own reseller."""
        return cls(database.open_to_change(db, lock_timeout, notify), None)

    @property
    def reseller(self) -> str | None:
        return None if self.reference is None else self.reference.reseller

    def import_files(
        self, paths: Iterable[str | Path], options: RunOptions, progress: FileProgress | None = None
    ) -> Iterator[run.BatchResult]:
        """Import each file (a folder: each supported file in it, by name) as its own batch;
        yields each one's result as it ends. They are batches of the session's reseller."""
        reference, version = self.reference, self.reference_version
        if reference is None:
            raise UsageError("a session for retries imports no file; open one with Session.open")
        check_renames(options.renames, reference.custom_field_names)
        for path in expand_paths(paths):
            shown = (lambda stage, rows, p=path: progress(p, stage, rows)) if progress else None
            yield run.import_file(path, reference, options, self.con, shown, version)

    def retry(
        self,
        batch_id: int,
        as_of: date | None = None,
        *,
        warnings_as_errors: bool = False,
        show_personal: bool = False,
    ) -> run.BatchResult:
        """Re-check a batch's open rejections against the current reference of the batch's
        reseller (whichever reseller's was stored last); import the rows that pass now
        (`show_personal`: the summary's examples show personal values)."""
        reseller = store.batch(self.con, batch_id)["reseller"]
        reference, version = current_reference(self.con, reseller)
        return run.retry_batch(
            batch_id,
            reference,
            as_of,
            self.con,
            version,
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


def which_reseller(con: duckdb.DuckDBPyConnection, reseller: str | None) -> str:
    """The reseller a command is for: `reseller` if it has a reference stored, else the one
    reseller that has. UsageError naming the resellers stored when that is not one."""
    stored = store.stored_resellers(con)
    if reseller is None and not stored:
        raise UsageError(
            "no reference in the database: pass --reference FILE (the reseller's TOML "
            "configuration) or run `onboard reference load FILE` first"
        )
    if reseller is None and len(stored) > 1:
        raise UsageError(
            f"the database holds the references of {len(stored)} resellers "
            f"({listed(stored)}); pass --reseller ID"
        )
    if reseller is None:
        return stored[0]
    if reseller not in stored:
        known = f"stored: {listed(stored)}" if stored else "none is stored"
        raise UsageError(
            f"no reference stored for reseller {reseller!r} ({known}); load its reference "
            "first (`onboard reference load FILE`)"
        )
    return reseller


def known_reseller(con: duckdb.DuckDBPyConnection, reseller: str) -> str:
    """`reseller`, if the database holds it; UsageError otherwise (for commands over what is
    stored: purge, report)."""
    if reseller not in store.stored_resellers(con):
        raise UsageError(f"no reseller {reseller!r} is stored; `onboard resellers` lists them")
    return reseller


def current_reference(con: duckdb.DuckDBPyConnection, reseller: str) -> tuple[Reference, int]:
    """The reseller's current reference, and its version."""
    stored = store.stored_reference(con, reseller)
    if stored is None:
        which_reseller(con, reseller)  # raises, naming the resellers stored
    assert stored is not None
    where = f"stored reference of {reseller}, version {stored.version} (from {stored.source})"
    return parse_reference(stored.content, where), stored.version


def listed(resellers: list[str], shown: int = 10) -> str:
    """Resellers named in a message: the first ten, the rest counted."""
    more = len(resellers) - shown
    return ", ".join(resellers[:shown]) + (
        f" and {more:,} more; see onboard resellers" if more > 0 else ""
    )
