"""Undoing committed batches: `onboard revert`.

A batch is undone in one transaction, like an import: the customers it stored are deleted,
those it replaced (`--on-existing update`) are restored from customer_history, the rejections
it resolved (a retry) are open again, and its status becomes `reverted`. Its rejections stay,
for the audit, and its file counts as committed no more (it can be imported again).

A batch whose customers a later batch changed, or whose rejections a later batch retried, is
not undone alone: `cascade` undoes those first, newest first. Nor is one whose replaced
customer versions lost personal values to a purge (`pipeline/purge.py`): it cannot restore them.
"""

from dataclasses import dataclass

import duckdb

from pipeline import database, store
from pipeline.errors import OnboardError, UsageError


@dataclass(frozen=True)
class Reverted:
    """What undoing one batch changed (or, on a dry run, would)."""

    batch_id: int
    removed: int  # customers it had added
    restored: int  # customers restored as they were before it
    reopened: int  # rejections of the batch it retried, open again


def revert(
    con: duckdb.DuckDBPyConnection, batch_id: int, cascade: bool = False, dry_run: bool = False
) -> list[Reverted]:
    """Undo `batch_id` (with `cascade`, the later batches that build on it first, newest
    first), in one transaction; a dry run rolls it back. What each undoing changed."""
    order = _order(con, batch_id, cascade)
    by = database.user()
    with database.transaction(con, dry_run):
        return [Reverted(b, **store.revert_batch(con, b, by)) for b in order]


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
    for b in found:
        if purged := store.purged_versions(con, b):
            raise OnboardError(
                f"batch {b}: {purged:,} customer version(s) it replaced lost their personal "
                "values to a purge; reverting it would restore them without those values. "
                "Correct those customers with an import (--on-existing update) instead"
            )
    return sorted(found, reverse=True)
