"""What a person reads: summaries and tables as text, with nothing a sender wrote able to
drive the reader's terminal. No click here: a scheduler or a notebook renders the same way."""

import json
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # polars loads only when a command needs it (`onboard --help` stays quick)
    import polars as pl

    from pipeline.run import BatchResult
    from pipeline.store import StoredReference
    from schemas.reference import Reference

# What a terminal would act on or a reader misread: C0 and C1 controls, DEL, line and paragraph
# separators, bidi embeddings, overrides and isolates.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """`text` with every control character written as an escape (`\\x1b`, `\\u202e`): a
    sender's escape sequences reach no terminal, a value's line break starts no line."""
    return _UNPRINTABLE.sub(_escape, text)


def printable_text(text: str) -> str:
    """A text of several lines (a stored reference) made printable as `printable` does, its
    line breaks (CRLF as LF) and tabs kept."""
    text = text.replace("\r\n", "\n")
    return _UNPRINTABLE.sub(lambda c: c[0] if c[0] in "\n\t" else _escape(c), text)


def _escape(found: re.Match) -> str:
    code = ord(found[0])
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def ignored_columns(columns: list[str], shown: int = 5) -> str:
    """One line for the ignored columns, however many: a few named, the rest counted."""
    named = ", ".join(repr(c) for c in columns[:shown])
    if len(columns) == 1:
        return f"column {named} is not a known column and was ignored"
    more = f" and {len(columns) - shown:,} more" if len(columns) > shown else ""
    return f"columns {named}{more} are not known columns and were ignored"


def stages(timings: dict[str, float]) -> str:
    """Seconds per stage, as --profile prints them."""
    return ", ".join(f"{stage} {seconds:.3f} s" for stage, seconds in timings.items())


def batch_details(
    batch: dict, rules: list[tuple[str, int]], warned: list[tuple[str, int]] | None = None
) -> str:
    """What `onboard show` prints of a batch: its row, its options, its rejections and warnings
    by rule."""
    lines = [
        f"{key + ':':20}{'' if value is None else printable(str(value))}"
        for key, value in batch.items()
        if key not in ("headers", "options", "timings")
    ]
    lines.append(f"{'headers:':20}{json.dumps(batch['headers'])}")
    lines.append(f"{'timings:':20}{json.dumps(batch['timings'])}")
    lines.append("options:")
    options = batch["options"] or {}
    width = max((len(key) for key in options), default=0) + 2  # the values in one column
    lines += [f"  {key + ':':{width}}{json.dumps(value)}" for key, value in options.items()]
    if rules:
        lines.append("rejections by rule:")
        lines += [f"  {rule}: {count}" for rule, count in rules]
    if warned:
        lines.append("warnings by rule:")
        lines += [f"  {rule}: {count}" for rule, count in warned]
    return "\n".join(lines)


def reference_stored(
    reference: "Reference", source: object, db: object, version: int, new: bool
) -> str:
    """What `reference load` says: whose reference, which version, what it holds."""
    where = f"reseller {reference.reseller}'s reference version {version}"
    what = (
        f"stored in {printable(str(db))} as {where}"
        if new
        else f"the same as {where}, current in {printable(str(db))}; nothing new stored"
    )
    return (
        f"reference {printable(str(source))} {what}: "
        f"{len(reference.currencies)} currencies, {len(reference.business_models)} business "
        f"models, {len(reference.customer_classes)} customer classes"
    )


def reference_header(stored: "StoredReference") -> str:
    """The comment line `reference show` prints above a stored reference's TOML."""
    which = "the current one" if stored.current else "not the current one"
    return (
        f"# reseller {stored.reseller}, reference version {stored.version} ({which}), loaded "
        f"from {printable(stored.source)} at {stored.loaded_at:%Y-%m-%d %H:%M:%S %Z}"
    )


def reverted(done: list, dry_run: bool) -> str:
    """What `onboard revert` did (`revert.Reverted`s), a line a batch."""
    verb = "would be reverted" if dry_run else "reverted"
    return "\n".join(
        f"batch {r.batch_id} {verb}: {r.removed:,} customer(s) it added removed, {r.restored:,} it "
        f"changed restored as they were before it, {r.reopened:,} rejection(s) of the batch it "
        "retried open again"
        for r in done
    )


def purged(done, dry_run: bool) -> str:
    """What `onboard purge` removed (a `purge.Purged`)."""
    whose = f"reseller {done.reseller}" if done.reseller else "every reseller"
    verb = "would remove" if dry_run else "removed"
    return (
        f"purge of {whose}'s data from before {done.before} {verb}:\n"
        f"  original cells of {done.rows:,} rejected row(s), in {done.batches:,} batch(es)\n"
        f"  personal values: {done.rejection_values:,} in rejections, {done.warning_values:,} "
        f"in warnings, {done.history_values:,} in earlier customer versions\n"
        "kept: every rejection's and warning's rule, column and message (a personal value "
        "masked), the counts and the batches"
    )


def csv_text(frame: "pl.DataFrame") -> str:
    """A frame as CSV for a spreadsheet or a terminal: text cells that a spreadsheet would run
    as formulas get a `'` first, as in fix files, and control characters are escaped as
    `printable` does (once per distinct character found, then replaced in every cell)."""
    import polars as pl
    import polars.selectors as cs

    from pipeline.fixfile import guarded

    texts = frame.select(cs.string())
    found = pl.concat(
        [texts[c].str.extract_all(_UNPRINTABLE.pattern).explode() for c in texts.columns]
        or [pl.Series([], dtype=pl.String)]
    )
    controls = sorted(found.drop_nulls().unique())
    if controls:
        escaped = [printable(c) for c in controls]
        frame = frame.with_columns(cs.string().str.replace_many(controls, escaped))
    return frame.with_columns(guarded(cs.string())).write_csv()


def summary(result: "BatchResult") -> str:
    """The readable summary of one file's import or a retry (statuses: `run.Status`); every
    value from a file or a database made printable."""
    if result.status == "skipped":
        return (
            f"{printable(result.source)}: skipped, the same content was committed as batch "
            f"{result.earlier_batch} (use --force to import it again)"
        )
    if result.status == "nothing_to_retry":
        return f"batch {result.retry_of}: no open rejections to retry"
    if result.status in ("failed", "file_refused"):
        what = "refused" if result.status == "file_refused" else "failed"
        return f"{printable(result.source)}: {what}, nothing imported"
    what = {
        "committed": f"batch {result.batch_id} committed",
        "refused": f"batch {result.batch_id} refused, no customer written",
        "dry_run": "dry run, nothing written",
        "nothing_passes": "nothing passes yet, nothing written",
    }[result.status]
    if result.retry_of is not None:
        what += f" (retry of batch {result.retry_of})"
    about = [
        *([f"{result.rows_updated} updating stored customers"] if result.rows_updated else []),
        *([f"{result.rows_warned} with warnings"] if result.rows_warned else []),
    ]
    if result.rows_rechecked is not None:  # a retry's rows are those it checked again
        still = result.rows_rechecked - result.rows_accepted - result.rows_skipped
        read, rejected = f"rows re-checked {result.rows_rechecked}", f"still rejected {still}"
    else:
        read, rejected = f"rows read {result.rows_read}", f"rejected {result.rows_rejected}"
    counts = (
        f"  {read}: accepted {result.rows_accepted}"
        + (f" ({', '.join(about)})" if about else "")
        + f", {rejected}"
        + (f", skipped {result.rows_skipped}" if result.rows_skipped else "")
        + (f" (blank rows skipped: {result.blank_rows})" if result.blank_rows else "")
    )
    version = result.reference_version
    checked = (
        f"  reseller {result.reseller}, reference version {version}"
        if version is not None
        else f"  reseller {result.reseller}, a reference not stored (dry run)"
    )
    lines = [f"{printable(result.source)}: {what}", counts, checked]
    if result.notes:
        lines.append(f"  read as: {printable(', '.join(result.notes))}")
    if result.top_reasons:
        title = "still failing" if result.retry_of is not None else "most common rejection reasons"
        lines.append(f"  {title}:")
        for reason in result.top_reasons:
            rows = ", ".join(str(r) for r in reason["rows"])
            lines.append(f"    {reason['rule']} ({reason['count']}): rows {rows}")
            lines.append(f"      e.g. {printable(reason['example'])}")
    if result.warnings:
        counted = ", ".join(f"{rule} ({count})" for rule, count in result.warnings.items())
        where = f"; onboard warnings {result.batch_id}" if result.batch_id else ""
        lines.append(f"  warnings (stored, worth a look): {counted}{where}")
    if result.batch_id and result.rows_rejected:
        lines.append(
            f"  all reasons: onboard rejections {result.batch_id}; a fix file: "
            f"onboard rejections {result.batch_id} --export fix.csv"
        )
    return "\n".join(lines)


def table(frame: "pl.DataFrame") -> str:
    """A plain aligned text table, every value in full (and printable)."""
    if frame.height == 0:
        return "(none)"
    cells = [[("" if v is None else printable(str(v))) for v in row] for row in frame.iter_rows()]
    widths = [
        max(len(name), *(len(row[i]) for row in cells)) for i, name in enumerate(frame.columns)
    ]

    def line(values):
        return "  ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)).rstrip()

    rule = ["-" * w for w in widths]
    return "\n".join([line(frame.columns), line(rule), *(line(row) for row in cells)])
