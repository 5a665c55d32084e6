"""`make bench`: onboard import against DuckDB's own CSV load of the same file, per batch shape.

For each shape (bench/generate.py: plain, custom, defective), generates a batch and its
reference (cached by shape and rows in the output folder), then alternates three times:
(a) DuckDB's raw load `CREATE TABLE t AS SELECT * FROM read_csv(...)` in a fresh Python process,
(b) `onboard import` of the same file with the shape's reference into a fresh database,
(c) `onboard import --dry-run` of it: every check, no write. Prints each time, then per shape the
median ratios b/a and c/a, b's peak memory (RSS) and rows per second, and appends the figures
as JSON to bench/out/results.json so runs can be compared over time. Ratios, not absolute
times, are what to compare: the machine is shared.

    python bench/run.py [--shape plain|custom|defective|all] [--rows N] [--repeat K] [--out DIR]
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHAPES = ("plain", "custom", "defective")  # as in generate.py
AS_OF = "2026-11-26"
RAW_LOAD = (
    "import duckdb, sys; con = duckdb.connect(sys.argv[2]); "
    'con.execute("CREATE TABLE t AS SELECT * FROM read_csv(\'" + sys.argv[1] + "\')"); '
    "con.close()"
)


def timed(command: list[str], env: dict[str, str] | None = None) -> tuple[float, int, str]:
    """Wall seconds, peak RSS in bytes of the child, and its stdout; `env`: variables to add."""
    with tempfile.TemporaryFile() as stderr:  # a file: a chatty child cannot block on a pipe
        start = time.perf_counter()
        environment = {**os.environ, **env} if env else None
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr, env=environment)
        stdout = process.stdout.read()
        _, status, usage = os.wait4(process.pid, 0)  # also its peak memory, unlike wait()
        seconds = time.perf_counter() - start
        if os.waitstatus_to_exitcode(status) != 0:
            stderr.seek(0)
            sys.exit(f"failed: {' '.join(command)}\n{stderr.read().decode()}")
    return seconds, usage.ru_maxrss * 1024, stdout.decode()


def positive(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    number = int(text) if text.isdigit() else 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return number


def remove_database(db: Path) -> None:
    """A database file and its write-ahead log, so the next run starts from none."""
    for path in (db, Path(f"{db}.wal")):
        path.unlink(missing_ok=True)


def append_figures(history: Path, figures: dict) -> None:
    """Add a run's figures to the JSON list in `history`, so runs can be compared over time."""
    previous = json.loads(history.read_text()) if history.exists() else []
    history.write_text(json.dumps([*previous, figures], indent=2))
    print(f"figures appended to {history}", file=sys.stderr)


def batch_of(shape: str, rows: int, out: Path) -> tuple[Path, Path]:
    """The shape's batch and its reference (OUT.toml beside it), generated unless cached."""
    batch = out / f"batch-{shape}-{rows}.csv"
    reference = batch.with_suffix(".toml")
    if not (batch.exists() and reference.exists()):
        print(f"generating {shape}, {rows:,} rows -> {batch}", file=sys.stderr)
        generate = [sys.executable, str(HERE / "generate.py"), str(batch)]
        subprocess.run([*generate, "--shape", shape, "--rows", str(rows)], check=True)
    return batch, reference


def measure(shape: str, batch: Path, reference: Path, rows: int, repeat: int, out: Path) -> dict:
    """`repeat` alternating runs of the raw load, the import and the dry run of one batch."""
    onboard = [
        *(sys.executable, "-m", "pipeline", "import", str(batch)),
        *("--reference", str(reference), "--as-of", AS_OF, "--json", "--quiet"),
    ]
    runs = []
    for n in range(1, repeat + 1):
        raw_db, import_db = out / "raw.duckdb", out / "import.duckdb"
        no_db = out / "dry-run.duckdb"  # absent: a dry run checks against an empty database
        for db in (raw_db, import_db, no_db):
            remove_database(db)
        raw_s, raw_rss, _ = timed([sys.executable, "-c", RAW_LOAD, str(batch), str(raw_db)])
        import_s, import_rss, out_json = timed([*onboard, "--db", str(import_db)])
        checks_s, checks_rss, checks_json = timed([*onboard, "--db", str(no_db), "--dry-run"])
        summary, checked = json.loads(out_json), json.loads(checks_json)
        if summary["status"] != "committed" or summary["rows_read"] != rows:
            sys.exit(f"{shape}: the import did not commit {rows} rows: {summary}")
        if checked["rows_rejected"] != summary["rows_rejected"]:
            sys.exit(f"{shape}: the dry run rejected other rows than the import: {checked}")
        runs.append(
            {
                "raw_s": raw_s,
                "raw_rss": raw_rss,
                "import_s": import_s,
                "import_rss": import_rss,
                "ratio": import_s / raw_s,
                "checks_only_s": checks_s,
                "checks_only_rss": checks_rss,
                "checks_only_ratio": checks_s / raw_s,
                "stages": summary["timings"],
                "rows_read": summary["rows_read"],
                "rows_rejected": summary["rows_rejected"],
            }
        )
        print(
            f"{shape} run {n}: duckdb raw load {raw_s:6.2f} s   onboard import {import_s:6.2f} s"
            f"   ratio {import_s / raw_s:4.2f}   import peak RSS {import_rss / 2**20:6.0f} MiB   "
            f"dry run {checks_s:6.2f} s ratio {checks_s / raw_s:4.2f}   "
            f"stages {summary['timings']}",
            flush=True,
        )

    def median(key: str) -> float:
        return round(statistics.median(r[key] for r in runs), 3)

    import_s = statistics.median(r["import_s"] for r in runs)
    return {
        "file_mib": round(batch.stat().st_size / 2**20, 1),
        "rows_rejected": summary["rows_rejected"],
        "rejected_share": round(summary["rows_rejected"] / rows, 4),
        "rules": summary["rules"],
        "median_raw_s": median("raw_s"),
        "median_import_s": median("import_s"),
        "median_checks_only_s": median("checks_only_s"),
        "median_ratio": median("ratio"),
        "median_checks_only_ratio": median("checks_only_ratio"),
        "rows_per_s": round(rows / import_s),
        "peak_rss_mib": round(max(r["import_rss"] for r in runs) / 2**20),
        "checks_only_peak_rss_mib": round(max(r["checks_only_rss"] for r in runs) / 2**20),
        "raw_peak_rss_mib": round(max(r["raw_rss"] for r in runs) / 2**20),
        "runs": runs,
    }


def table(rows: int, shapes: dict[str, dict]) -> str:
    """The per-shape figures, one line each."""
    head = (
        f"{'shape':<10}{'rejected':>9}{'raw s':>8}{'import s':>10}{'dry run s':>11}"
        f"{'import/raw':>12}{'dry run/raw':>13}{'peak RSS':>11}{'rows/s':>10}"
    )
    lines = [f"{rows:,} rows, medians of {len(next(iter(shapes.values()))['runs'])} runs", head]
    for shape, s in shapes.items():
        lines.append(
            f"{shape:<10}{s['rejected_share']:>9.1%}{s['median_raw_s']:>8.2f}"
            f"{s['median_import_s']:>10.2f}{s['median_checks_only_s']:>11.2f}"
            f"{s['median_ratio']:>12.2f}{s['median_checks_only_ratio']:>13.2f}"
            f"{s['peak_rss_mib']:>7,} MiB{s['rows_per_s']:>10,}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", choices=[*SHAPES, "all"], default="all")
    parser.add_argument("--rows", type=positive, default=1_000_000)
    parser.add_argument("--repeat", type=positive, default=3)
    parser.add_argument("--out", type=Path, default=HERE / "out")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    shapes = SHAPES if args.shape == "all" else (args.shape,)
    batches = {shape: batch_of(shape, args.rows, args.out) for shape in shapes}
    figures = {
        shape: measure(shape, batch, reference, args.rows, args.repeat, args.out)
        for shape, (batch, reference) in batches.items()
    }
    result = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "rows": args.rows,
        "shapes": figures,
    }
    print(table(args.rows, figures))
    append_figures(args.out / "results.json", result)


if __name__ == "__main__":
    main()
