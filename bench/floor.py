"""`make bench-floor`: what the import costs without its checks, against DuckDB's raw load.

For one shape of batch (bench/generate.py; cached in the output folder as `make bench` caches
it) it alternates, `--repeat` times: DuckDB's raw load of the file; `onboard import` and
`onboard import --dry-run` as they are; the same with validation taken out (pandera and every
rule, bench/unchecked.py); and with the batch-wide name stage taken out too. It prints each
ratio to the raw load of its round, then the medians, and appends them as JSON to
bench/out/floor.json. The last pair is the floor under the checks: reading, parsing, periods
and (for the import) writing.

    python bench/floor.py [--shape plain|custom|defective] [--rows N] [--repeat K] [--out DIR]
"""

import argparse
import json
import statistics
import sys
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import (  # noqa: E402
    AS_OF,
    RAW_LOAD,
    SHAPES,
    append_figures,
    batch_of,
    positive,
    remove_database,
    timed,
)

VARIANTS = {  # name: what UNCHECKED leaves out (None: onboard as it is)
    "as is": None,
    "without checks": "checks",
    "without checks or names": "checks,names",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", choices=SHAPES, default="plain")
    parser.add_argument("--rows", type=positive, default=1_000_000)
    parser.add_argument("--repeat", type=positive, default=3)
    parser.add_argument("--out", type=Path, default=HERE / "out")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    batch, reference = batch_of(args.shape, args.rows, args.out)
    db = args.out / "floor.duckdb"
    ratios: dict[str, list[float]] = {}
    for n in range(1, args.repeat + 1):
        remove_database(db)
        raw_s, _, _ = timed([sys.executable, "-c", RAW_LOAD, str(batch), str(db)])
        for variant, left_out in VARIANTS.items():
            for dry_run in (False, True):
                remove_database(db)
                env = None if left_out is None else {"UNCHECKED": left_out}
                seconds = _import(batch, reference, db, dry_run, env)
                name = f"{'dry run' if dry_run else 'import'} {variant}"
                ratios.setdefault(name, []).append(seconds / raw_s)
                print(f"{args.shape} run {n}: {name:<32} {seconds / raw_s:5.2f}x", flush=True)
    remove_database(db)
    medians = {name: round(statistics.median(r), 2) for name, r in ratios.items()}
    print(f"{args.rows:,} rows of {args.shape}, medians of {args.repeat}, each / raw load:")
    for name, ratio in medians.items():
        print(f"  {name:<32} {ratio:5.2f}x")
    result = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "shape": args.shape,
        "rows": args.rows,
        "medians": medians,
        "runs": ratios,
    }
    append_figures(args.out / "floor.json", result)


def _import(batch: Path, reference: Path, db: Path, dry_run: bool, env: dict | None) -> float:
    """Seconds of one import (its checks left out as `env` says), which must commit."""
    program = ["-m", "pipeline"] if env is None else [str(HERE / "unchecked.py")]
    command = [
        *(sys.executable, *program, "import", str(batch), "--reference", str(reference)),
        *("--as-of", AS_OF, "--db", str(db), "--json", "--quiet"),
        *(["--dry-run"] if dry_run else []),
    ]
    seconds, _, out = timed(command, env)
    status = json.loads(out)["status"]
    if status != ("dry_run" if dry_run else "committed"):
        sys.exit(f"{' '.join(command)}: {status}")
    return seconds


if __name__ == "__main__":
    main()
