"""A report a person can look at: one self-contained HTML file (inline CSS and SVG, no script,
nothing fetched) about one batch, or about the rejections still open across batches.

Every chart is a list of bars; each bar is an SVG `rect` with `data-label` and `data-value`, so
what a reader sees can also be checked by a program (the tests do, in a real browser). Nothing
a sender wrote is shown but counts and the names of rules, columns, periods, currencies and
zones, all escaped.
"""

import html
from datetime import date, timedelta
from pathlib import Path

import polars as pl

from pipeline.render import printable

WIDTH = 720  # of a chart, in CSS pixels
BAR = 22  # height of a bar and its gap
LABEL = 260  # room for the labels left of the bars
MAP_CELLS = 400  # a row map has at most this many cells, each a run of rows
WEEKS_AHEAD = 6  # the closing days shown: this many weeks from the as-of date
STAGES = ["read", "parse", "validate", "periods", "write"]  # as a batch goes through them

_STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; color: #1b1f24; margin: 24px auto; max-width: 800px;
       background: #fff; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 28px 0 8px; }
.sub { color: #57606a; margin: 0 0 16px; }
table.counts { border-collapse: collapse; } .counts td { padding: 2px 14px 2px 0; }
.counts td.n { text-align: right; font-variant-numeric: tabular-nums; }
svg text { font: 12px system-ui, sans-serif; fill: #1b1f24; }
.none { color: #57606a; font-style: italic; }
.key span { display: inline-block; width: 10px; height: 10px; margin: 0 4px 0 12px; }
"""
_COLOURS = {"rejected": "#cf222e", "accepted": "#2da44e", "bar": "#0969da", "warm": "#bc4c00"}


def batch_report(data: dict) -> str:
    """The HTML report of one batch, from `store.batch_report_data`."""
    batch = data["batch"]
    source = printable(str(batch["source"]))
    title = f"Batch {batch['batch_id']}: {Path(source).name}"
    counts = [
        ("rows read", batch["rows_read"]),
        ("accepted", batch["rows_accepted"]),
        ("rejected", batch["rows_rejected"]),
        ("skipped", batch["rows_skipped"]),
        ("blank rows", batch["blank_rows"]),
    ]
    timings = [(s, t) for s, t in (batch["timings"] or {}).items() if s in STAGES]
    timings.sort(key=lambda stage: STAGES.index(stage[0]))
    as_of = batch["as_of"]
    sections = [
        _counts_table(counts),
        _section("Seconds per stage", _bars("timings", timings, "{:.2f}")),
        _section("Rejections by rule", _bars("rules", data["rules"])),
        _section("Rejections by column", _bars("columns", data["columns"])),
        _section("Which rows were rejected", _row_map(data["rows"], batch["rows_read"])),
        _section("Accepted customers by billing period", _bars("periods", data["periods"])),
        _section("Accepted customers by currency", _bars("currencies", data["currencies"])),
        _section("Accepted customers by time zone", _bars("zones", data["zones"])),
        _section(
            f"Current periods closing each day, {WEEKS_AHEAD} weeks from {as_of}",
            _columns("closing", _days(data["closing"], as_of)),
        ),
    ]
    subtitle = (
        f"status {batch['status']}, as of {as_of}, started {batch['started_at']:%Y-%m-%d %H:%M} UTC"
    )
    return _page(title, subtitle, sections)


def backlog_report(data: dict, today: date, reseller: str | None = None) -> str:
    """The HTML report of the rejections still open, across batches (of `reseller`), from
    `store.backlog_data`."""
    sections = [
        _counts_table([("open rejections", data["open"]), ("rows", data["rows"])]),
        _section("Open rejections by rule", _bars("rules", data["rules"])),
        _section("Open rejections by age (days since their batch)", _bars("ages", data["ages"])),
        _section("Open rejections by batch", _bars("batches", data["batches"])),
    ]
    whose = f", reseller {printable(reseller)}" if reseller else ", every reseller"
    return _page("Open rejections", f"as of {today}{whose}", sections)


def _page(title: str, subtitle: str, sections: list[str]) -> str:
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>"
        f'<h1>{html.escape(title)}</h1><p class="sub">{html.escape(subtitle)}</p>'
        + "".join(sections)
        + "</body></html>\n"
    )


def _section(title: str, body: str) -> str:
    return f"<h2>{html.escape(title)}</h2>{body}"


def _counts_table(counts: list[tuple[str, int]]) -> str:
    rows = "".join(
        f'<tr><td>{html.escape(label)}</td><td class="n" data-count="{html.escape(label)}">'
        f"{value:,}</td></tr>"
        for label, value in counts
    )
    return f'<table class="counts">{rows}</table>'


def _bars(chart: str, items: list[tuple[str, float]], number: str = "{:,}") -> str:
    """A horizontal bar chart; `items` are (label, value)."""
    if not items:
        return '<p class="none">none</p>'
    top = max(value for _, value in items) or 1
    room = WIDTH - LABEL - 60
    parts = []
    for n, (label, value) in enumerate(items):
        y, width = n * BAR, max(1, round(room * value / top)) if value else 0
        shown, text = html.escape(printable(str(label))), number.format(value)
        parts.append(
            f'<text x="{LABEL - 8}" y="{y + 15}" text-anchor="end">{shown}</text>'
            f'<rect class="bar" data-chart="{chart}" data-label="{shown}" '
            f'data-value="{value}" x="{LABEL}" y="{y + 3}" width="{width}" height="16" '
            f'fill="{_COLOURS["bar"]}"/>'
            f'<text x="{LABEL + width + 6}" y="{y + 15}">{text}</text>'
        )
    height = len(items) * BAR + 4
    return (
        f'<svg role="img" aria-label="{html.escape(chart)}" width="{WIDTH}" '
        f'height="{height}" viewBox="0 0 {WIDTH} {height}">{"".join(parts)}</svg>'
    )


def _columns(chart: str, days: list[tuple[date, int]]) -> str:
    """A column chart of counts by day, Mondays labelled: when the billing system is busy."""
    top = max((count for _, count in days), default=0) or 1
    step, height, base = (WIDTH - 40) // max(len(days), 1), 160, 130
    parts = [f'<line x1="30" y1="{base}" x2="{WIDTH}" y2="{base}" stroke="#d0d7de"/>']
    for n, (day, count) in enumerate(days):
        x, tall = 34 + n * step, round((base - 14) * count / top)
        parts.append(
            f'<rect class="bar" data-chart="{chart}" data-label="{day.isoformat()}" '
            f'data-value="{count}" x="{x}" y="{base - tall}" width="{step - 3}" height="{tall}" '
            f'fill="{_COLOURS["warm"]}"><title>{day:%a %Y-%m-%d}: {count:,}</title></rect>'
        )
        if count:
            parts.append(f'<text x="{x}" y="{base - tall - 3}">{count:,}</text>')
        if day.weekday() == 0:  # Monday
            parts.append(f'<text x="{x}" y="{base + 16}">{day:%d %b}</text>')
    return (
        f'<svg role="img" aria-label="{chart}" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}">{"".join(parts)}</svg>'
        '<p class="key">each column a day; the labels are Mondays</p>'
    )


def _row_map(rows: pl.DataFrame, rows_read: int) -> str:
    """The batch's rows in order, as a strip of cells: each cell a run of rows, coloured by the
    share of them rejected. `rows`: (bin, first, last, rejected, accepted) from the store."""
    if not rows.height:
        return '<p class="none">no rows</p>'
    cells = rows.height
    per_line = 50
    size = (WIDTH - 20) // per_line
    parts = []
    for n, (_, first, last, rejected, accepted) in enumerate(rows.iter_rows()):
        share = rejected / max(rejected + accepted, 1)
        colour = _mix(share)
        x, y = (n % per_line) * size, (n // per_line) * size
        label = f"rows {first}-{last}: {rejected:,} rejected, {accepted:,} accepted"
        parts.append(
            f'<rect class="cell" data-first="{first}" data-last="{last}" '
            f'data-rejected="{rejected}" data-accepted="{accepted}" x="{x}" y="{y}" '
            f'width="{size - 2}" height="{size - 2}" fill="{colour}"><title>{label}</title></rect>'
        )
    height = ((cells - 1) // per_line + 1) * size
    key = (
        '<p class="key">each square a run of about '
        f'{max(1, rows_read // cells):,} row(s):<span style="background:{_COLOURS["accepted"]}">'
        f'</span>all accepted<span style="background:{_COLOURS["rejected"]}"></span>'
        "all rejected</p>"
    )
    return (
        f'<svg role="img" aria-label="row map" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}">{"".join(parts)}</svg>{key}'
    )


def _mix(share: float) -> str:
    """Green for no row rejected, red for every row, in between by the share."""
    good, bad = (0x2D, 0xA4, 0x4E), (0xCF, 0x22, 0x2E)
    rgb = (round(g + (b - g) * share) for g, b in zip(good, bad, strict=True))
    return "#" + "".join(f"{c:02x}" for c in rgb)


def _days(closing: list[tuple[date, int]], as_of: date) -> list[tuple[date, int]]:
    """Every day of the coming weeks, the as-of date first, with how many current periods close
    on it (in UTC: a period closing at midnight in Tokyo closes the day before in UTC)."""
    counts = dict(closing)
    days = (as_of + timedelta(days=n) for n in range(WEEKS_AHEAD * 7))
    return [(d, counts.get(d, 0)) for d in days]
