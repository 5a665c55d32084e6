"""Undoing committed batches: `onboard revert`.

A batch is undone in one transaction, like an import: the customers it stored are deleted,
those it replaced (`--on-existing update`) are restored from customer_history, the rejections
it resolved (a retry) are open again, and its status becomes `reverted`. Its rejections stay,
for the audit, and its file counts as committed no more (it can be imported again).

A batch whose customers a later batch changed, or whose rejections a later batch retried, is
not undone alone: `cascade` undoes those first, newest first.
"""

import getpass
import os
from dataclasses import dataclass

import duckdb

from pipeline import store
from pipeline.errors import OnboardError, UsageError


@dataclass(frozen=True)
class Reverted:
    """What undoing one batch changed (or, on a dry run, would)."""

    batch_id: int
    removed: int  # customers it had stored
    restored: int  # customers restored as they were before it
    reopened: int  # rejections of the batch it retried, open again


def revert(
    con: duckdb.DuckDBPyConnection, batch_id: int, cascade: bool = False, dry_run: bool = False
) -> list[Reverted]:
    """Undo `batch_id` (with `cascade`, the later batches that build on it first, newest
    first), in one transaction; a dry run rolls it back. What each undoing changed."""
    order = _order(con, batch_id, cascade)
    by = _user()
    con.begin()
    try:
        done = [Reverted(b, **store.revert_batch(con, b, by)) for b in order]
    except BaseException:
        con.rollback()
        raise
    if dry_run:
        con.rollback()
    else:
        con.commit()
    return done


def _order(con: duckdb.DuckDBPyConnection, batch_id: int, cascade: bool) -> list[int]:
    """The batches to undo, newest first: `batch_id` and (with `cascade`) every committed batch
    that changed its customers or retried it, and so on."""
    status = store.batch(con, batch_id)["status"]
    if status != "committed":
        raise UsageError(f"batch {batch_id} is {status}: only a committed batch can be reverted")
    found, waiting = {batch_id}, [batch_id]
    while waiting:
        later = store.dependent_batches(con, waiting.pop())
        if later and not cascade:
            names = ", ".join(str(b) for b in later)
            raise OnboardError(
                f"batch {batch_id}: later batches changed or retried its customers ({names}); "
                "revert them first, or pass --cascade to revert them too, newest first"
            )
        waiting += [b for b in later if b not in found]
        found |= set(later)
    return sorted(found, reverse=True)


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name for this process (a container): its number
        return str(os.getuid())
