"""The columns of a batch, and how a file's headers are matched to them."""

import difflib
from dataclasses import dataclass

import polars as pl

from pipeline.errors import FileRefused, UsageError
from pipeline.fixfile import is_reasons, marked_batch
from schemas.vocabulary import REQUIRED, STANDARD, header_key


@dataclass(frozen=True)
class ColumnMap:
    """Which source header feeds which column, and which headers are ignored."""

    columns: dict[str, int]  # column -> position of its header
    custom: dict[str, int]  # custom field name -> position of its header
    ignored: tuple[str, ...]  # headers that feed nothing


def known_columns(custom_fields: tuple[str, ...]) -> dict[str, str]:
    """Every column a batch may have (standard and custom), by its header key."""
    return {header_key(c): c for c in (*STANDARD, *custom_fields)}


def check_renames(renames: dict[str, str], custom_fields: tuple[str, ...]) -> None:
    """Every `--map` target is a column (UsageError otherwise, before any file is read)."""
    known = known_columns(custom_fields)
    for header, column in renames.items():
        if header_key(column) not in known:
            raise UsageError(
                f"--map {header}={column}: unknown column {column!r}; columns are "
                + ", ".join(known.values())
            )


def map_columns(
    source: str,
    headers: list[str],
    custom_fields: tuple[str, ...],
    renames: dict[str, str] | None = None,
) -> ColumnMap:
    """Match `headers` to the standard columns and custom fields.

    `renames` maps a sender's own header to a column name (`--map`). Refuses the file when a
    column is given twice or a required one is missing.
    """
    renames = {header_key(k): v for k, v in (renames or {}).items()}
    wanted = known_columns(custom_fields)
    found: dict[str, int] = {}
    ignored = []
    for position, header in enumerate(headers):
        key = header_key(header)
        target = wanted.get(header_key(renames[key])) if key in renames else wanted.get(key)
        if key in renames and target is None:
            raise FileRefused(source, f"--map names an unknown column {renames[key]!r}")
        if target is None:
            if not is_reasons(header):  # a fix file's reasons: silently ignored
                ignored.append(header or f"(unnamed column {position + 1})")
        elif target in found:
            raise FileRefused(
                source,
                f"column {target!r} is given twice (headers {headers[found[target]]!r} and "
                f"{header!r}); remove one of them",
            )
        else:
            found[target] = position
    missing = [c for c in REQUIRED if c not in found]
    if missing:
        raise FileRefused(source, _missing_message(missing, ignored))
    return ColumnMap(
        columns={c: found[c] for c in STANDARD if c in found},
        custom={f: found[f] for f in custom_fields if f in found},
        ignored=tuple(ignored),
    )


def header_matcher(custom_fields: tuple[str, ...], renames: dict[str, str] | None = None):
    """A test of a row of cells: does it name every required column, or is it a fix file's
    header row (whose columns are mapped as its batch's were)? (finds header rows)"""
    renames = {header_key(k): header_key(v) for k, v in (renames or {}).items()}
    required = {header_key(c) for c in REQUIRED}

    def is_header(cells: list[str]) -> bool:
        keys = {header_key(c or "") for c in cells}
        return required <= {renames.get(k, k) for k in keys} or marked_batch(cells) is not None

    return is_header


def _missing_message(missing: list[str], ignored: list[str]) -> str:
    hints = []
    keys = {header_key(h): h for h in ignored}
    for column in missing:
        close = difflib.get_close_matches(header_key(column), keys, n=1, cutoff=0.6)
        if close:
            hints.append(f"{keys[close[0]]!r} for {column!r}")
    message = "missing required column(s) " + ", ".join(missing)
    if hints:
        message += "; did you mean " + ", ".join(hints) + "? (rename it or use --map)"
    else:
        message += "; the header row must name them (see README, Columns)"
    return message


def blank_to_null(expr: pl.Expr) -> pl.Expr:
    """Trimmed text, with empty cells as null."""
    trimmed = expr.str.strip_chars()
    return pl.when(trimmed.str.len_bytes() > 0).then(trimmed)
