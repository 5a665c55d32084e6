"""Crash safety and concurrent writers, with real `onboard import` processes.

A process killed with SIGKILL at any moment of an import leaves all of its batch or none of it,
and the next run just works; two imports into one database take turns and store each name
once; an import that cannot get the database within --lock-timeout exits 1.
"""

import hashlib
import json
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import polars as pl
import pytest

from helpers import query

REPO = Path(__file__).resolve().parent.parent
AS_OF = "2026-11-26"
ROWS = 200_000  # an import of this many rows takes a second or two
BAD_EVERY = 10  # row i with i % 10 == 0 has a currency the reference does not enable
KILLS = 14
SEED = 20261126


def big_batch(path: Path, tag: str, rows: int = ROWS, shared_every: int = 100) -> Path:
    """`rows` customers named `{tag} {i}`; rows with i % shared_every == 1 have a name every
    batch shares (`Shared {i}`), rows with i % BAD_EVERY == 0 are rejected (GBP)."""
    i = pl.col("i")
    frame = pl.DataFrame({"i": pl.int_range(0, rows, eager=True)}).select(
        name=pl.when(i % shared_every == 1)
        .then(pl.concat_str(pl.lit("Shared "), i.cast(pl.String)))
        .otherwise(pl.concat_str(pl.lit(f"{tag} "), i.cast(pl.String))),
        business_model=pl.lit("Internet access"),
        customer_class=pl.lit("Retail"),
        billing_period=pl.lit("Monthly"),
        billing_period_timezone=pl.lit("Europe/Prague"),
        balance_control=pl.lit("prepaid"),
        currency=pl.when(i % BAD_EVERY == 0).then(pl.lit("GBP")).otherwise(pl.lit("EUR")),
        credit_limit=pl.lit(""),
        available_funds=pl.lit("10.50"),
        created_on=pl.lit("2026-11-01"),
    )
    frame.write_csv(path)
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def start(db) -> Callable[..., subprocess.Popen]:
    """Start `python -m pipeline ARGS --db DB` from the repository root; leftovers are killed."""
    started: list[subprocess.Popen] = []

    def run(*args: str, stderr=subprocess.PIPE) -> subprocess.Popen:
        process = subprocess.Popen(
            [sys.executable, "-m", "pipeline", *args, "--db", str(db)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
        started.append(process)
        return process

    yield run
    for process in started:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=60)


def finish(process: subprocess.Popen, timeout: float = 300) -> tuple[str, str]:
    out, err = process.communicate(timeout=timeout)
    return out, err or ""


def check_consistent(db) -> dict[str, tuple]:
    """Every batch is whole, nothing is stored without its batch, no name is stored twice.

    A committed batch's accepted rows are its customers, or the versions of them that a later
    `--on-existing update` moved to customer_history. Returns, by sha256, each batch's
    (status, rows_read, rows_accepted, rows_rejected, customers it replaced).
    """
    con = duckdb.connect(str(db), read_only=True)
    try:
        batches = con.execute(
            "SELECT b.batch_id, b.sha256, b.status, b.rows_read, b.rows_accepted, "
            "b.rows_rejected, b.rows_skipped, "
            "(SELECT count(*) FROM customers c WHERE c.batch_id = b.batch_id) "
            "  + (SELECT count(*) FROM customer_history h WHERE h.batch_id = b.batch_id), "
            "(SELECT count(DISTINCT source_row) FROM rejections r WHERE r.batch_id = b.batch_id), "
            "(SELECT count(*) FROM customer_history h WHERE h.replaced_by_batch = b.batch_id) "
            "FROM batches b ORDER BY b.batch_id"
        ).fetchall()
        strays = con.execute(
            "WITH known AS (SELECT batch_id FROM batches), "
            "done AS (SELECT batch_id FROM batches WHERE status = 'committed') "
            "SELECT (SELECT count(*) FROM customers WHERE batch_id NOT IN (FROM done)), "
            "(SELECT count(*) FROM customer_history WHERE batch_id NOT IN (FROM done) "
            "  OR replaced_by_batch NOT IN (FROM done)), "
            "(SELECT count(*) FROM rejections WHERE batch_id NOT IN (FROM known)), "
            "(SELECT count(*) - count(DISTINCT name_key) FROM customers)"
        ).fetchone()
    finally:
        con.close()
    found = {}
    for batch_id, digest, status, read, accepted, rejected, skipped, *stored in batches:
        customers, rejected_rows, replaced = stored
        assert read == accepted + rejected + skipped, f"batch {batch_id}"
        whole = (accepted, rejected) if status == "committed" else (0, rejected)
        assert (customers, rejected_rows) == whole, f"batch {batch_id} is not whole"
        assert digest not in found or status != "committed", f"{digest} committed twice"
        found.setdefault(digest, (status, read, accepted, rejected, replaced))
    assert strays == (0, 0, 0, 0), "stray customers, history or rejections, or a name twice"
    return found


def _on_disk(db: Path) -> tuple[int | None, ...]:
    """When the database file and its WAL last changed (None: no such file)."""
    times = []
    for path in (db, db.with_name(db.name + ".wal")):
        try:
            times.append(path.stat().st_mtime_ns)
        except FileNotFoundError:
            times.append(None)
    return tuple(times)


def wait_for_write(db: Path, process: subprocess.Popen, timeout: float) -> None:
    """Return once the process writes the database (its file or its WAL changes), or ends."""
    before = _on_disk(db)
    deadline = time.monotonic() + timeout
    while process.poll() is None and time.monotonic() < deadline:
        if _on_disk(db) != before:
            return
        time.sleep(0.005)


def test_kill_9_at_random_moments_leaves_all_of_a_batch_or_none(
    tmp_path, db, onboard, reference_path, start
):
    assert onboard("reference", "load", str(reference_path)).exit_code == 0
    rng = random.Random(SEED)
    good = ROWS - ROWS // BAD_EVERY
    shared = ROWS // 100

    # a whole run first: it stores the shared names and tells how long an import takes
    began = time.monotonic()
    first = start("import", str(big_batch(tmp_path / "batch-00.csv", "First")), "--as-of", AS_OF)
    out, err = finish(first)
    duration = time.monotonic() - began
    assert first.returncode == 0, err
    batches = check_consistent(db)
    assert list(batches.values()) == [("committed", ROWS, good, ROWS - good, 0)]

    whole = {  # what a batch of the loop holds if it committed, by --on-existing
        "reject": ("committed", ROWS, good - shared, ROWS - good + shared, 0),
        "update": ("committed", ROWS, good, ROWS - good, shared),
    }
    killed = []
    for n in range(1, KILLS + 1):
        path = big_batch(tmp_path / f"batch-{n:02}.csv", f"Kill{n}")
        policy = rng.choice(list(whole))
        process = start("import", str(path), "--as-of", AS_OF, "--on-existing", policy)
        if n % 2:  # any moment of the run: start-up, reading, checking, writing
            time.sleep(rng.uniform(0.05, 0.9) * duration)
        else:  # a moment once it writes: inserting, committing, checkpointing, closing
            wait_for_write(db, process, timeout=10 * duration)
            time.sleep(rng.uniform(0, 0.4))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            killed.append(n)
        finish(process, timeout=60)
        assert process.returncode in (0, -signal.SIGKILL), process.returncode

        batches = check_consistent(db)
        if process.returncode == 0:
            assert sha256(path) in batches
        if sha256(path) in batches:  # all of it, then: every row a customer or a rejection
            assert batches[sha256(path)] == whole[policy]

    assert len(killed) >= KILLS // 3, f"only runs {killed} were killed before they ended"

    # nothing is left to clean up: the last file imports, or is skipped if it had committed
    last = tmp_path / f"batch-{KILLS:02}.csv"
    had_committed = sha256(last) in batches
    rerun = start("import", str(last), "--as-of", AS_OF, "--json")
    out, err = finish(rerun)
    assert rerun.returncode == 0, err
    assert json.loads(out)["status"] == ("skipped" if had_committed else "committed")
    # and so does a new one
    fresh = big_batch(tmp_path / "fresh.csv", "Fresh")
    run = start("import", str(fresh), "--as-of", AS_OF, "--json")
    out, err = finish(run)
    assert run.returncode == 0, err
    assert json.loads(out)["status"] == "committed"
    batches = check_consistent(db)
    assert batches[sha256(last)][0] == "committed"
    assert batches[sha256(fresh)] == whole["reject"]


def test_two_imports_at_once_take_turns_and_store_each_name_once(
    tmp_path, db, onboard, reference_path, start
):
    assert onboard("reference", "load", str(reference_path)).exit_code == 0
    rows, overlap = 20_000, 5_000  # every 4th row's name is in both files
    files = [big_batch(tmp_path / f"{tag}.csv", tag, rows, shared_every=4) for tag in "AB"]
    notes = [tmp_path / f"{tag}.stderr" for tag in "AB"]

    # both start while the database is held, so both wait, then race for it
    holder = duckdb.connect(str(db))
    try:
        processes = []
        for path, note in zip(files, notes, strict=True):
            with note.open("w") as stderr:
                processes.append(start("import", str(path), "--json", stderr=stderr))
        deadline = time.monotonic() + 120
        while not all("waiting up to 600 s" in n.read_text() for n in notes):
            assert time.monotonic() < deadline, [n.read_text() for n in notes]
            assert all(p.poll() is None for p in processes), [n.read_text() for n in notes]
            time.sleep(0.05)
    finally:
        holder.close()
    summaries = []
    for process, note in zip(processes, notes, strict=True):
        out, _ = finish(process)
        assert process.returncode == 0, note.read_text()
        assert f"{db}: in use by another process; waiting up to 600 s" in note.read_text()
        summaries.append(json.loads(out))

    first, second = sorted(summaries, key=lambda s: s["batch_id"])
    bad = rows // BAD_EVERY
    assert (first["status"], second["status"]) == ("committed", "committed")
    assert (first["rows_accepted"], first["rows_rejected"]) == (rows - bad, bad)
    assert first["rules"] == {"currency_not_enabled": bad}
    assert (second["rows_accepted"], second["rows_rejected"]) == (
        rows - bad - overlap,
        bad + overlap,
    )
    assert second["rules"] == {"currency_not_enabled": bad, "name_exists": overlap}
    check_consistent(db)
    con = duckdb.connect(str(db), read_only=True)
    try:
        stored = con.execute(
            "SELECT count(*), count(DISTINCT name_key), "
            "count(*) FILTER (WHERE name LIKE 'Shared %') FROM customers"
        ).fetchone()
        shared_by = con.execute(
            "SELECT DISTINCT batch_id FROM customers WHERE name LIKE 'Shared %'"
        ).fetchall()
        [(took_turns,)] = con.execute(
            "SELECT (SELECT started_at FROM batches WHERE batch_id = ?) "
            ">= (SELECT finished_at FROM batches WHERE batch_id = ?)",
            [second["batch_id"], first["batch_id"]],
        ).fetchall()
    finally:
        con.close()
    union = 2 * (rows - bad) - overlap
    assert stored == (union, union, overlap)  # every name once, the shared ones included
    assert shared_by == [(first["batch_id"],)]
    assert took_turns  # the second began its batch once the first had finished


def test_a_database_held_past_lock_timeout_exits_1_with_one_line(
    tmp_path, db, onboard, reference_path, start, batch
):
    assert onboard("reference", "load", str(reference_path)).exit_code == 0
    path = batch("Ann Co,Internet access,Retail,Daily,UTC,prepaid,USD,,,,")

    holder = duckdb.connect(str(db))  # another process writing, as far as the import can tell
    try:
        began = time.monotonic()
        process = start("import", str(path), "--lock-timeout", "1")
        out, err = finish(process, timeout=60)
        elapsed = time.monotonic() - began
    finally:
        holder.close()

    assert process.returncode == 1
    assert 1 <= elapsed < 15
    assert out == ""
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("onboard: error:")]
    assert errors == [
        f"onboard: error: {db}: the database is in use by another process (waited 1 s); "
        "try again later or raise --lock-timeout"
    ]
    assert f"onboard: note: {db}: in use by another process; waiting up to 1 s" in err
    # nothing was written, and once the database is free the same import goes through
    result = onboard("import", str(path))
    assert result.exit_code == 0
    assert "batch 1 committed" in result.stdout


def test_kill_9_during_a_revert_leaves_the_batch_whole_or_wholly_undone(
    tmp_path, db, onboard, reference_path, start
):
    assert onboard("reference", "load", str(reference_path)).exit_code == 0
    for n, policy in ((1, "reject"), (2, "update")):  # batch 2 updates batch 1's shared names
        path = big_batch(tmp_path / f"batch-{n}.csv", f"Batch{n}", shared_every=4)
        process = start("import", str(path), "--as-of", AS_OF, "--on-existing", policy)
        assert finish(process)[0] and process.returncode == 0
    whole = check_consistent(db)
    rng = random.Random(SEED)

    def stored() -> tuple:
        con = duckdb.connect(str(db), read_only=True)
        try:
            return con.execute(
                "SELECT (SELECT status FROM batches WHERE batch_id = 2), "
                "(SELECT count(*) FROM customers WHERE batch_id = 2), "
                "(SELECT count(*) FROM customer_history)"
            ).fetchone()
        finally:
            con.close()

    committed = stored()
    assert committed[0] == "committed" and committed[1] > 0 and committed[2] > 0
    for _ in range(4):
        process = start("revert", "2")
        wait_for_write(db, process, timeout=60)
        time.sleep(rng.uniform(0, 0.3))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        finish(process, timeout=60)
        state = stored()
        assert state in (committed, ("reverted", 0, 0)), state
        check_consistent(db)
        if state[0] == "reverted":
            break
    if stored()[0] == "committed":
        process = start("revert", "2")
        finish(process)
        assert process.returncode == 0
    assert stored() == ("reverted", 0, 0)
    assert (
        check_consistent(db)[sha256(tmp_path / "batch-1.csv")]
        == whole[sha256(tmp_path / "batch-1.csv")]
    )


@pytest.mark.parametrize(
    ("sent", "status", "said"), [("SIGTERM", 143, "terminated"), ("SIGINT", 130, "interrupted")]
)
def test_a_stopped_command_says_so_in_one_line(
    tmp_path, db, onboard, reference_path, start, batch, sent, status, said
):
    assert onboard("reference", "load", str(reference_path)).exit_code == 0
    path = batch("Ann Co,Internet access,Retail,Daily,UTC,prepaid,USD,,,,")
    holder = duckdb.connect(str(db))  # the import waits for it: stopped there, for certain
    try:
        process = start("import", str(path), "--lock-timeout", "60")
        assert process.stderr is not None
        assert "waiting up to 60 s" in process.stderr.readline()
        process.send_signal(getattr(signal, sent))
        out, err = finish(process, timeout=60)
    finally:
        holder.close()

    assert process.returncode == status
    assert err == (
        f"onboard: error: {said}; a batch or a change is stored whole or not at all: "
        "`onboard batches` shows which\n"
    )
    assert check_consistent(db) == {}  # nothing stored: it had not begun


def test_reference_load_waits_for_the_database_as_an_import_does(
    tmp_path, db, onboard, reference_path, start
):
    assert onboard("reference", "load", str(reference_path)).exit_code == 0
    holder = duckdb.connect(str(db))
    try:
        process = start("reference", "load", str(reference_path), "--lock-timeout", "1")
        out, err = finish(process, timeout=60)
    finally:
        holder.close()
    assert process.returncode == 1
    assert f"onboard: note: {db}: in use by another process; waiting up to 1 s" in err
    assert err.endswith("(waited 1 s); try again later or raise --lock-timeout\n")


def test_a_lock_timeout_that_is_not_a_number_is_refused(onboard, db, batch):
    result = onboard("import", str(batch()), "--lock-timeout", "nan")
    assert result.exit_code == 2
    assert "'nan' is not a number of seconds" in result.stderr


def test_a_database_that_fails_a_change_is_one_line_and_nothing_changed(
    onboard, db, batch, reference_path, monkeypatch
):
    from pipeline import store

    sent = batch("Ann Co,Internet access,Retail,Daily,UTC,prepaid,USD,,,,")
    assert onboard("import", str(sent), "--reference", str(reference_path)).exit_code == 0

    def full(*args, **kwargs):
        raise duckdb.IOException("Could not write file: No space left on device")

    monkeypatch.setattr(store, "revert_batch", full)
    result = onboard("revert", "1")
    assert result.exit_code == 1
    assert result.stderr == (
        "onboard: error: the database failed, nothing was changed: Could not write file: No "
        "space left on device\n"
    )
    assert query(db, "SELECT status FROM batches") == [("committed",)]


def test_a_failed_commit_is_told_not_the_rollback_that_follows_it(
    onboard, db, batch, reference_path, monkeypatch
):
    from pipeline import store

    def full(self, row):
        raise duckdb.IOException("No space left on device")

    def invalidated(self):
        raise duckdb.FatalException("FATAL Error: database has been invalidated")

    monkeypatch.setattr(store.BatchWriter, "finish", full)
    monkeypatch.setattr(store.BatchWriter, "abort", invalidated)
    sent = batch("Ann Co,Internet access,Retail,Daily,UTC,prepaid,USD,,,,")
    result = onboard("import", str(sent), "--reference", str(reference_path))
    assert result.exit_code == 1
    assert result.stderr == (
        f"onboard: error: {sent}: writing the batch failed, nothing was written: No space left "
        "on device\n"
    )
    assert "FATAL" not in result.stderr


def test_ctrl_c_while_duckdb_runs_a_query_is_an_interruption(
    onboard, db, reference_path, monkeypatch
):
    from pipeline import purge

    def interrupted(*args, **kwargs):
        raise RuntimeError("Query interrupted")

    assert onboard("reference", "load", str(reference_path)).exit_code == 0
    monkeypatch.setattr(purge, "purge", interrupted)
    result = onboard("purge", "--before", "2026-11-01")
    assert result.exit_code == 130
    assert result.stderr.startswith("onboard: error: interrupted; a batch or a change is stored")


def test_a_database_in_a_missing_folder_is_a_usage_error(onboard, tmp_path, batch, reference_path):
    where = tmp_path / "no-such-folder" / "x.duckdb"
    sent = ["import", str(batch()), "--reference", str(reference_path)]
    result = onboard(*sent, "--db", str(where), with_db=False)
    assert result.exit_code == 2
    assert f"{where}: no such folder for the database; create it or pass --db" in result.stderr
