"""The `onboard` command line: parses options, calls the library, prints results.

stdout carries results (summaries, --json, tables); stderr carries warnings and errors.
"""

import json
import math
import os
import signal
import sys
from contextlib import closing
from datetime import date, timedelta
from pathlib import Path

import click

from pipeline import __version__, render
from pipeline.errors import OnboardError, UsageError, first_line
from pipeline.options import DELIMITERS, ON_EXISTING, RunOptions

DEFAULT_DB = "onboarding.duckdb"


def _as_of(ctx, param, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date; write it as YYYY-MM-DD") from None


db_option = click.option(
    "--db",
    type=click.Path(dir_okay=False),
    default=DEFAULT_DB,
    envvar="ONBOARD_DB",
    show_default=True,
    show_envvar=True,
    help="The DuckDB database file (import and reference load create it when missing).",
)
format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
    help="How to print: a readable table, CSV, or JSON.",
)


class _Failure(click.ClickException):
    """An error shown as one line, with exit status 1."""

    def show(self, file=None) -> None:
        _warn(self.message, "error")


class _UsageFailure(_Failure):
    """An error shown as one line, with exit status 2."""

    exit_code = 2


def _failure(message: str, exit_code: int) -> _Failure:
    return _UsageFailure(message) if exit_code == 2 else _Failure(message)


class _Group(click.Group):
    """Turns domain errors into one-line messages; `--debug` shows the traceback instead."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except OnboardError as e:
            if ctx.params.get("debug"):
                raise
            raise _failure(str(e), e.exit_code) from e
        except click.UsageError as e:
            where = f" (see {e.ctx.command_path} --help)" if e.ctx else ""
            raise _failure(e.format_message() + where, e.exit_code) from e
        except (click.ClickException, click.exceptions.Exit, click.Abort, SystemExit):
            raise
        except BrokenPipeError:
            raise  # the reader stopped early: main() ends quietly
        except (KeyboardInterrupt, _Terminated) as e:
            raise _stopped(e) from e
        except duckdb_error() as e:
            if ctx.params.get("debug"):
                raise
            message = f"the database failed, nothing was changed: {first_line(e)[:300]}"
            raise _Failure(message) from e
        except Exception as e:
            if ctx.params.get("debug"):
                raise
            if isinstance(e, RuntimeError) and str(e) == "Query interrupted":  # Ctrl-C in DuckDB
                raise _stopped(KeyboardInterrupt()) from e
            message = f"unexpected {type(e).__name__}: {e} (rerun with --debug for details)"
            raise _Failure(message) from e


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="onboard")
@click.option("--debug", is_flag=True, help="Show the full traceback of an error.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Import a reseller's new customers from CSV batches into a DuckDB billing database.

    Every row becomes a customer, with its billing periods computed, or a rejection with the
    reasons a clerk can act on. Start with `onboard import --help`.
    """
    ctx.obj = {"debug": debug}


def _delimiter(ctx, param, value: str | None) -> str | None:
    if value is None:
        return None
    named = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}
    value = named.get(value.lower(), value)
    if value not in DELIMITERS:
        raise click.BadParameter("use one of , ; tab |")
    return value


def _renames(ctx, param, values: tuple[str, ...]) -> dict[str, str]:
    renames = {}
    for value in values:
        header, sep, column = value.rpartition("=")
        if not sep or not header.strip() or not column.strip():
            raise click.BadParameter(f'{value!r}: write it as "SOURCE HEADER=column"')
        renames[header.strip()] = column.strip()
    return renames


def _date_format(ctx, param, value: str | None) -> str | None:
    if value is not None and value.lower() in ("dmy", "mdy"):
        return value.lower()
    if value is not None and "%" not in value:
        raise click.BadParameter(f"{value!r}: give a strftime layout like %d/%m/%Y, or dmy / mdy")
    return value


def _max_rejected(ctx, param, value: str | None) -> str | None:
    if value is None:
        return None
    number = value.removesuffix("%")
    if value.endswith("%"):
        try:
            ok = 0 <= float(number) <= 100  # neither nan nor inf is
        except ValueError:
            ok = False
    else:
        ok = number.isascii() and number.isdigit()
    if not ok:
        raise click.BadParameter(
            f"{value!r}: give a number of rows (10) or a percentage from 0% to 100% (5%)"
        )
    return value


def reseller_option(help: str):
    return click.option("--reseller", metavar="ID", help=help)


class _Seconds(click.FloatRange):
    """Seconds, 0 or more (`inf`: for ever); not NaN, which no wait would ever reach."""

    def convert(self, value, param, ctx):
        seconds = super().convert(value, param, ctx)
        if math.isnan(seconds):
            self.fail(f"{value!r} is not a number of seconds", param, ctx)
        return seconds


lock_timeout_option = click.option(
    "--lock-timeout",
    type=_Seconds(min=0),
    default=600,
    show_default=True,
    metavar="SECONDS",
    help="How long to wait while another import holds the database (DuckDB lets one process "
    "write at a time); then exit 1.",
)


show_personal_option = click.option(
    "--show-personal",
    is_flag=True,
    help="Show the values of personal custom fields (personal = true in the reference) instead "
    "of ***.",
)
warnings_as_errors_option = click.option(
    "--warnings-as-errors",
    is_flag=True,
    help="Reject a row with a warning (credit_limit_missing, name_similar, ...) as if it were "
    "an error, under the same rule code.  [default: such a row is stored, its warnings kept]",
)


@cli.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@db_option
@click.option(
    "--reference",
    "reference_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The reseller's reference (TOML); stored in the database as its reseller's current "
    "reference (a new version when changed) before the files are checked, and the files are "
    "imported for that reseller.",
)
@reseller_option(
    "Import for this reseller, checking against its stored current reference.  [default: "
    "the reseller of --reference, else the only reseller stored]"
)
@click.option(
    "--as-of",
    callback=_as_of,
    metavar="YYYY-MM-DD",
    help="The date the import is for: rows without created_on are created on it, and the "
    "current billing period holds it.  [default: today's date in UTC]",
)
@click.option(
    "--dry-run", is_flag=True, help="Check everything and print the summary; write nothing."
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print the summary as JSON (one object per file)."
)
@click.option(
    "--sheet",
    metavar="NAME|NUMBER",
    help="Workbooks: the sheet to read, by name or number (1 is the first).  [default: the "
    "first sheet whose header row holds the required columns]",
)
@click.option(
    "--encoding",
    metavar="NAME",
    help="Text files: the encoding, e.g. utf-8, utf-16, windows-1252.  [default: detected]",
)
@click.option(
    "--delimiter",
    callback=_delimiter,
    metavar="CHAR",
    help="Text files: the field delimiter: , ; tab or |.  [default: detected]",
)
@click.option(
    "--decimal-comma/--decimal-point",
    "decimal_comma",
    default=None,
    help="How amounts mark decimals.  [default: a comma in ;-separated files, else a point]",
)
@click.option(
    "--map",
    "renames",
    multiple=True,
    callback=_renames,
    metavar='"HEADER=column"',
    help='Read the sender\'s column HEADER as a column (repeatable), e.g. --map "Client=name".',
)
@click.option(
    "--date-format",
    callback=_date_format,
    metavar="LAYOUT",
    help="created_on layout besides ISO dates, in strftime terms, e.g. %d/%m/%Y; or dmy / "
    "mdy: any common layout (3.4.2026, 03/04/26, 3 April 2026) with the day or the month "
    "first.  [default: ISO dates only; other text dates are rejected, never guessed]",
)
@click.option(
    "--on-existing",
    type=click.Choice(ON_EXISTING),
    default="reject",
    show_default=True,
    help="A row naming a stored customer: reject it (rule name_exists), skip it (counted as "
    "skipped), or update the customer (its old values go to customer_history).",
)
@click.option(
    "--force",
    is_flag=True,
    help="Import a file even if the same content was committed before (as a new batch).",
)
@click.option(
    "--max-rejected",
    callback=_max_rejected,
    metavar="N|P%",
    help="Refuse a batch with more rejected rows than N, or than P% of its rows: no customer "
    "is written, its rejections are kept for export; exit status 1.",
)
@warnings_as_errors_option
@show_personal_option
@lock_timeout_option
@click.option(
    "--quiet", "-q", is_flag=True, help="No progress on stderr (shown only on a terminal)."
)
@click.option("--profile", is_flag=True, help="Print each file's seconds per stage on stderr.")
def import_command(
    paths,
    db,
    reference_file,
    reseller,
    as_of,
    dry_run,
    as_json,
    sheet,
    encoding,
    delimiter,
    decimal_comma,
    renames,
    date_format,
    on_existing,
    force,
    max_rejected,
    warnings_as_errors,
    show_personal,
    lock_timeout,
    quiet,
    profile,
):
    """Import customer batches: CSV/text files (also gzip) and Excel/OpenDocument workbooks.

    Each file is one batch; a folder imports every supported file in it, by name. The format is
    detected from the content. Every row becomes a customer or a rejection with its reasons.

    The batches are the reseller's whose reference they are checked against: the one
    --reference names, or --reseller's stored one, or the only reseller's stored.

    A file whose content was committed before for the same reseller is skipped (exit 0),
    unless --force.

    Exit status: 0 when every file's batch was committed or skipped (rejected rows do not fail
    a batch), 2 for usage errors and files that cannot be read or lack required columns, 1 for
    anything else that stopped a batch (a batch over --max-rejected, a database busy beyond
    --lock-timeout). With several files, the highest status of them.
    """
    from pipeline.run import today_utc
    from pipeline.session import Session

    options = RunOptions(
        as_of=as_of or today_utc(),
        dry_run=dry_run,
        encoding=_encoding(encoding),
        delimiter=delimiter,
        decimal_comma=decimal_comma,
        sheet=int(sheet) if sheet and sheet.isdigit() else sheet,
        renames=renames,
        date_format=date_format,
        on_existing=on_existing,
        force=force,
        max_rejected=max_rejected,
        warnings_as_errors=warnings_as_errors,
        show_personal=show_personal,
    )
    progress = None if quiet or not sys.stderr.isatty() else _progress
    results = []
    with Session.open(
        db,
        reference_file=reference_file,
        reseller=reseller,
        dry_run=dry_run,
        lock_timeout=lock_timeout,
        notify=_note,
    ) as session:
        for result in session.import_files(paths, options, progress):
            if progress:
                click.echo("\r\033[K", err=True, nl=False)
            if profile:
                _warn(f"{result.source}: {render.stages(result.timings)}", "profile")
            results.append(result)
    _report(results, as_json)


def _progress(path: Path, stage: str, rows: int | None) -> None:
    """Shows the stage of the import on one terminal line of stderr."""
    counted = f" {rows:,} rows" if rows is not None else ""
    click.echo(f"\r\033[K{render.printable(str(path))}: {stage}{counted}...", err=True, nl=False)


def _report(results, as_json: bool) -> None:
    """Warnings and errors on stderr; the summaries on stdout; exit with the worst status."""
    for result in results:
        if result.ignored_columns:
            _warn(f"{result.source}: {render.ignored_columns(result.ignored_columns)}")
        if result.error:
            _warn(result.error, "error")
    if as_json:
        payload = [r.to_dict() for r in results]
        click.echo(json.dumps(payload[0] if len(payload) == 1 else payload, indent=2, default=str))
    else:
        for result in results:
            click.echo(render.summary(result))
    sys.exit(max(r.exit_code for r in results))


@cli.command("retry")
@click.argument("batch_id", type=int)
@db_option
@click.option(
    "--as-of",
    callback=_as_of,
    metavar="YYYY-MM-DD",
    help="The date the retry is for.  [default: today's date in UTC]",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@warnings_as_errors_option
@show_personal_option
@lock_timeout_option
def retry_command(batch_id, db, as_of, as_json, warnings_as_errors, show_personal, lock_timeout):
    """Re-check BATCH_ID's open rejections against the current reference and database.

    The reference is the current one of the batch's reseller, whichever reseller's reference
    was loaded last.

    Rows that pass now are imported as a new batch linked to BATCH_ID, and their rejections
    are marked resolved; rows that still fail stay open. A second retry admits nothing twice.
    """
    from pipeline.session import Session

    with Session.open_existing(db, lock_timeout, notify=_note) as session:
        _note_purged(session.con, batch_id, "retried")
        result = session.retry(
            batch_id, as_of, warnings_as_errors=warnings_as_errors, show_personal=show_personal
        )
    _report([result], as_json)


@cli.command("revert")
@click.argument("batch_id", type=int)
@db_option
@click.option(
    "--cascade",
    is_flag=True,
    help="Also revert the later batches that changed BATCH_ID's customers or retried it, "
    "newest first.  [default: refuse, naming them]",
)
@click.option("--dry-run", is_flag=True, help="Say what would change; change nothing.")
@lock_timeout_option
def revert_command(batch_id, db, cascade, dry_run, lock_timeout):
    """Undo a committed batch, in one transaction: delete the customers it stored, restore the
    ones it updated as they were, reopen the rejections it resolved (a retry); its status
    becomes reverted, its rejections stay. Its file can then be imported again.

    Exit status 1, naming them, when later batches changed its customers or retried it
    (unless --cascade); 2 for a batch that is not committed.
    """
    from pipeline import database
    from pipeline.revert import revert

    with closing(database.open_to_change(db, lock_timeout, _note)) as con:
        done = revert(con, batch_id, cascade=cascade, dry_run=dry_run)
    click.echo(render.reverted(done, dry_run))


@cli.command("show")
@click.argument("batch_id", type=int)
@db_option
def show_command(batch_id, db):
    """Show one batch: status, counts, timings and the options it ran with (to reproduce it)."""
    from pipeline import database, store

    with closing(database.open_existing(db)) as con:
        batch, rules = store.batch(con, batch_id), store.rule_counts(con, batch_id)
        warned = store.warning_counts(con, batch_id)
    click.echo(render.batch_details(batch, rules, warned))


@cli.command("upgrade")
@db_option
@lock_timeout_option
def upgrade_command(db, lock_timeout):
    """Upgrade a database written by an earlier onboard in place, and say what changed.

    Any import does the same on its way; this is for a database only read from (a dry run, a
    read-only file's owner). Names that the upgrade finds to be the same customer are kept
    both and listed in table name_collisions.
    """
    from pipeline import database

    with closing(database.open_to_change(db, lock_timeout, _note)) as con:
        version = database.schema_version(con)
    click.echo(f"{db}: schema version {version} (current: {database.SCHEMA_VERSION})")


@cli.group()
def reference():
    """Load or show a reseller's reference (currencies, business models, classes)."""


@reference.command("load")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@db_option
@lock_timeout_option
def reference_load(file, db, lock_timeout):
    """Check FILE and store it as its reseller's current reference.

    The reseller is the one FILE names (`reseller = "..."`), else `default`. Every version
    loaded is kept; a FILE the same as the reseller's current reference stores nothing new.
    """
    from pipeline import database, store
    from pipeline.reference import load_reference

    loaded = load_reference(file)
    with closing(database.connect(db, lock_timeout=lock_timeout, notify=_note)) as con:
        version, new = store.save_reference(con, loaded.reseller, str(file), loaded.text)
    click.echo(render.reference_stored(loaded, file, db, version, new))


@reference.command("show")
@db_option
@reseller_option(
    "Whose reference to print.  [default: the only reseller stored; with several, exit 2]"
)
@click.option(
    "--version",
    "version",
    type=click.IntRange(min=1),
    metavar="N",
    help="Which version to print (1 is the first loaded).  [default: the current one]",
)
def reference_show(db, reseller, version):
    """Print a reseller's stored reference, as it was loaded."""
    from pipeline import database, store
    from pipeline.session import which_reseller

    with closing(database.open_existing(db)) as con:
        if not store.stored_resellers(con):
            raise UsageError(f"{db}: no reference stored; run `onboard reference load FILE`")
        reseller = which_reseller(con, reseller)
        current = store.stored_reference(con, reseller)
        stored = store.stored_reference(con, reseller, version)
    if stored is None:
        assert current is not None
        versions = "version 1 only" if current.version == 1 else f"versions 1 to {current.version}"
        raise UsageError(f"--version {version}: reseller {reseller!r} has reference {versions}")
    click.echo(render.reference_header(stored))
    click.echo(render.printable_text(stored.content.rstrip("\n")))


@cli.command("resellers")
@db_option
@format_option
def resellers_command(db, fmt):
    """List the resellers: current reference version, customers and batches of each."""
    from pipeline import database, store

    with closing(database.open_existing(db)) as con:
        _print_frame(store.resellers(con), fmt)


@cli.command("purge")
@click.option(
    "--before",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    required=True,
    metavar="DATE",
    help="Purge what is older than this day (YYYY-MM-DD, 00:00 UTC); tomorrow at the latest.",
)
@db_option
@reseller_option("Purge one reseller's data.  [default: every one]")
@click.option("--dry-run", is_flag=True, help="Count what would be removed; remove nothing.")
@lock_timeout_option
def purge_command(before, db, reseller, dry_run, lock_timeout):
    """Remove personal data older than DATE: the cells of rejected rows as the sender wrote
    them, and the values of personal custom fields that rejections, warnings and earlier
    customer versions hold, from batches started (versions replaced) before DATE. Rules,
    columns, messages, counts and batches are kept, so the audit stays whole; each purge is
    recorded (table purges). Purged rows cannot be retried or exported again.

    Run it on a schedule to keep error data only as long as it is needed, e.g. 90 days:

    \b
        onboard purge --before "$(date -u -d '90 days ago' +%F)"
    """
    from pipeline import database
    from pipeline.purge import purge
    from pipeline.run import today_utc
    from pipeline.session import known_reseller

    day, tomorrow = before.date(), today_utc() + timedelta(days=1)
    if day > tomorrow:
        raise UsageError(
            f"--before {day}: a day still to come; pass a day up to {tomorrow} (tomorrow: "
            "everything stored so far)"
        )
    with closing(database.open_to_change(db, lock_timeout, _note)) as con:
        if reseller is not None:
            known_reseller(con, reseller)
        done = purge(con, day, reseller, dry_run=dry_run)
    click.echo(render.purged(done, dry_run))


@cli.command("template")
@db_option
@reseller_option(
    "Whose template: its stored reference's classes, custom fields and lists.  "
    "[default: the only reseller stored]"
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    metavar="FILE.xlsx|FILE.csv",
    help="The file to write: a workbook with drop-down lists and instructions, or a CSV header.",
)
def template_command(db, reseller, output):
    """Write the input file a reseller's clerk should fill: the form's columns and the
    reseller's custom fields. In .xlsx, cells formatted as text, drop-down lists for every
    column with fixed values, and an Instructions sheet; in .csv, the header row. It imports as
    it is, and filled with valid rows, without a rejection.
    """
    from pipeline import database, template
    from pipeline.session import current_reference, which_reseller

    with closing(database.open_existing(db)) as con:
        reference, version = current_reference(con, which_reseller(con, reseller))
    template.write(reference, output)
    _note(f"{output}: template of reseller {reference.reseller}, reference version {version}")


@cli.command("report")
@click.argument("batch_id", type=int, required=False)
@db_option
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    metavar="FILE.html",
    help="The HTML file to write: one self-contained page (inline CSS and SVG, no script).",
)
@reseller_option(
    "Without BATCH_ID: the open rejections of this reseller's batches only; with it, "
    "the batch must be this reseller's.  [default: every reseller's]"
)
def report_command(batch_id, db, output, reseller):
    """Write a report a person can look at: BATCH_ID's counts, timings, rejections by rule and
    column, which rows were rejected, its customers by period, currency and zone, and the
    days their current periods close; without BATCH_ID, the rejections still open across
    batches, by rule, age and batch.
    """
    from pipeline import database, report, store
    from pipeline.run import today_utc
    from pipeline.session import known_reseller

    with closing(database.open_existing(db)) as con:
        if reseller is not None:
            known_reseller(con, reseller)
        if batch_id is None:
            data = store.backlog_data(con, today_utc(), reseller)
            page = report.backlog_report(data, today_utc(), reseller)
        else:
            data = store.batch_report_data(con, batch_id, report.MAP_CELLS)
            if reseller is not None and data["batch"]["reseller"] != reseller:
                raise UsageError(f"batch {batch_id} is not a batch of reseller {reseller!r}")
            page = report.batch_report(data)
    try:
        output.write_text(page, encoding="utf-8")
    except OSError as e:
        raise UsageError(f"{output}: cannot write the report: {e.strerror}") from None
    _note(f"{output}: report written")


@cli.command("batches")
@db_option
@format_option
@reseller_option("Only the batches of this reseller.  [default: every reseller's]")
def batches_command(db, fmt, reseller):
    """List the stored batches with their reseller, status and counts."""
    from pipeline import database, store
    from pipeline.session import listed

    with closing(database.open_existing(db)) as con:
        known = store.resellers(con)["reseller"].to_list()
        if reseller is not None and reseller not in known:
            named = f"known: {listed(known)}" if known else "none is known yet"
            raise UsageError(f"--reseller: no reseller {reseller!r} ({named})")
        _print_frame(store.batches(con, reseller), fmt)


@cli.command("rejections")
@click.argument("batch_id", type=int)
@db_option
@format_option
@click.option(
    "--export",
    "export_to",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE.csv|FILE.xlsx",
    help="Write a fix file instead: the rows with open rejections as the sender wrote them, "
    "plus an `errors` column; in .xlsx the offending cells are highlighted with their reason "
    "as a comment. It imports directly once fixed. It keeps personal values: it goes back to "
    "the sender.",
)
@show_personal_option
def rejections_command(batch_id, db, fmt, export_to, show_personal):
    """List the rejected rows of BATCH_ID: one line per failed rule, with its message.

    Values of personal custom fields are shown as *** (in values, messages and original cells)
    unless --show-personal.
    """
    from pipeline import database, personal

    with closing(database.open_existing(db)) as con:
        if export_to is not None:
            from pipeline.export import export_rejections

            _note_purged(con, batch_id, "exported")
            written = export_rejections(con, batch_id, export_to)
            _warn(f"{export_to}: {written} rejected row(s) of batch {batch_id} written", "note")
            return
        frame = personal.rejections(con, batch_id, show_personal)
    if fmt == "table":
        frame = frame.drop("original")
    _print_frame(frame, fmt)


@cli.command("warnings")
@click.argument("batch_id", type=int)
@db_option
@format_option
@show_personal_option
def warnings_command(batch_id, db, fmt, show_personal):
    """List the warnings of BATCH_ID: rows stored, but worth a look (one line per warning).

    A warning is a rule the billing system recommends rather than requires, such as a credit
    limit for a postpaid customer; `import --warnings-as-errors` rejects such rows instead.
    """
    from pipeline import database, personal

    with closing(database.open_existing(db)) as con:
        frame = personal.warnings(con, batch_id, show_personal)
    _print_frame(frame, fmt)


def _note_purged(con, batch_id: int, what: str) -> None:
    """Say that rows of the batch cannot be `what` (retried, exported): purged."""
    from pipeline import store

    rows, when = store.purged_rows(con, batch_id)
    if rows:
        on = f" on {when:%Y-%m-%d}" if when else ""
        _note(
            f"batch {batch_id}: {rows:,} rejected row(s) lost their cells to a purge{on} and "
            f"are not {what}; ask the sender for them again"
        )


def _print_frame(frame, fmt: str) -> None:
    if fmt == "csv":
        click.echo(render.csv_text(frame), nl=False)
    elif fmt == "json":
        click.echo(json.dumps(frame.to_dicts(), indent=2, default=str))
    else:
        click.echo(render.table(frame))


def _warn(message: str, level: str = "warning") -> None:
    click.echo(f"onboard: {level}: {render.printable(message)}", err=True)


def _note(message: str) -> None:
    _warn(message, "note")


# Text codecs of Python that no file is written in: names of hosts, Python literals, none.
_NOT_FILE_ENCODINGS = {"idna", "punycode", "unicode-escape", "raw-unicode-escape", "undefined"}


def _encoding(name: str | None) -> str | None:
    """A text encoding's canonical name (rot13, base64, zlib... are not text encodings)."""
    import codecs

    if name is None:
        return None
    try:
        "".encode(name)
        canonical = codecs.lookup(name).name
    except (LookupError, UnicodeError):
        canonical = None
    if canonical is None or canonical.replace("_", "-") in _NOT_FILE_ENCODINGS:
        raise UsageError(
            f"--encoding: {name!r} is not an encoding of text files; e.g. utf-8, utf-16, "
            "windows-1252"
        )
    return canonical


def duckdb_error() -> type[BaseException] | tuple[()]:
    """DuckDB's base error, when DuckDB is loaded (`onboard --help` does not load it)."""
    module = sys.modules.get("duckdb")
    return module.Error if module else ()


class _Terminated(BaseException):
    """SIGTERM: a scheduler stops the job."""


def _terminate(signum, frame) -> None:
    raise _Terminated


class _Stopped(_Failure):
    """Ctrl-C (exit status 130, as a shell gives it)."""

    exit_code = 130


class _StoppedByTerm(_Failure):
    """SIGTERM (exit status 143)."""

    exit_code = 143


def _stopped(reason: BaseException) -> _Failure:
    """Ctrl-C or SIGTERM, said in one line. What was being written was rolled back, unless its
    commit was done: the batches say which."""
    said = "a batch or a change is stored whole or not at all: `onboard batches` shows which"
    if isinstance(reason, _Terminated):
        return _StoppedByTerm(f"terminated; {said}")
    return _Stopped(f"interrupted; {said}")


def main() -> None:
    signal.signal(signal.SIGTERM, _terminate)
    try:
        cli(prog_name="onboard")
    except BrokenPipeError:
        # stdout's reader stopped early (`onboard batches | head`): stop quietly, as Unix tools
        # do, with the status a shell gives a command ended by SIGPIPE
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(141)
