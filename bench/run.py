"""`make bench`: onboard import against DuckDB's own CSV load of the same file, in one run.

Generates a batch (bench/generate.py), then alternates three times: (a) DuckDB's raw load
`CREATE TABLE t AS SELECT * FROM read_csv(...)` in a fresh Python process, (b) `onboard import`
of the same file into a fresh database, (c) `onboard import --dry-run` of it: every check, no
write. Prints each time, the median ratios b/a and c/a, b's peak memory (RSS) and rows per
second, and writes the figures as JSON (bench/out/results.json) so runs can be compared over
time. Ratios, not absolute times, are what to compare: the machine is shared.

    python bench/run.py [--rows N] [--repeat K] [--out DIR]
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
RAW_LOAD = (
    "import duckdb, sys; con = duckdb.connect(sys.argv[2]); "
    'con.execute("CREATE TABLE t AS SELECT * FROM read_csv(\'" + sys.argv[1] + "\')"); '
    "con.close()"
)


def timed(command: list[str]) -> tuple[float, int, str]:
    """Wall seconds, peak RSS in bytes of the child, and its stdout."""
    with tempfile.TemporaryFile() as stderr:  # a file: a chatty child cannot block on a pipe
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr)
        stdout = process.stdout.read()
        _, status, usage = os.wait4(process.pid, 0)  # also its peak memory, unlike wait()
        seconds = time.perf_counter() - start
        if os.waitstatus_to_exitcode(status) != 0:
            stderr.seek(0)
            sys.exit(f"failed: {' '.join(command)}\n{stderr.read().decode()}")
    return seconds, usage.ru_maxrss * 1024, stdout.decode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=HERE / "out")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    batch = args.out / f"batch-{args.rows}.csv"
    if not batch.exists():
        print(f"generating {args.rows:,} rows -> {batch}", file=sys.stderr)
        subprocess.run(
            [sys.executable, str(HERE / "generate.py"), str(batch), "--rows", str(args.rows)],
            check=True,
        )
    reference = batch.with_name("reference.toml")
    onboard = [
        sys.executable,
        "-m",
        "pipeline",
        "import",
        str(batch),
        "--reference",
        str(reference),
        "--as-of",
        "2026-11-26",
        "--json",
        "--quiet",
    ]
    runs = []
    for n in range(1, args.repeat + 1):
        raw_db, import_db = args.out / "raw.duckdb", args.out / "import.duckdb"
        no_db = args.out / "dry-run.duckdb"  # absent: a dry run checks against an empty database
        for db in (raw_db, import_db, no_db):
            db.unlink(missing_ok=True)
            Path(f"{db}.wal").unlink(missing_ok=True)
        raw_s, raw_rss, _ = timed([sys.executable, "-c", RAW_LOAD, str(batch), str(raw_db)])
        import_s, import_rss, out = timed([*onboard, "--db", str(import_db)])
        checks_s, _, _ = timed([*onboard, "--db", str(no_db), "--dry-run"])
        summary = json.loads(out)
        runs.append(
            {
                "raw_s": raw_s,
                "raw_rss": raw_rss,
                "import_s": import_s,
                "import_rss": import_rss,
                "ratio": import_s / raw_s,
                "checks_only_s": checks_s,
                "checks_only_ratio": checks_s / raw_s,
                "stages": summary["timings"],
                "rows_read": summary["rows_read"],
                "rows_rejected": summary["rows_rejected"],
            }
        )
        print(
            f"run {n}: duckdb raw load {raw_s:6.2f} s   onboard import {import_s:6.2f} s   "
            f"ratio {import_s / raw_s:4.2f}   import peak RSS {import_rss / 2**20:7.0f} MiB   "
            f"checks only (--dry-run) {checks_s:6.2f} s ratio {checks_s / raw_s:4.2f}   "
            f"stages {summary['timings']}"
        )
    ratio = statistics.median(r["ratio"] for r in runs)
    checks_ratio = statistics.median(r["checks_only_ratio"] for r in runs)
    import_s = statistics.median(r["import_s"] for r in runs)
    peak = max(r["import_rss"] for r in runs)
    result = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "rows": args.rows,
        "median_ratio": round(ratio, 3),
        "median_checks_only_ratio": round(checks_ratio, 3),
        "median_import_s": round(import_s, 3),
        "rows_per_s": round(args.rows / import_s),
        "peak_rss_mib": round(peak / 2**20),
        "runs": runs,
    }
    print(
        f"median ratio onboard/duckdb: {ratio:.2f} (checks only: {checks_ratio:.2f})   "
        f"rows/s: {args.rows / import_s:,.0f}   "
        f"peak RSS: {peak / 2**20:,.0f} MiB"
    )
    history = args.out / "results.json"
    previous = json.loads(history.read_text()) if history.exists() else []
    history.write_text(json.dumps([*previous, result], indent=2))
    print(f"figures appended to {history}", file=sys.stderr)


if __name__ == "__main__":
    main()
