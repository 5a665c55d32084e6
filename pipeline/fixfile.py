"""What makes a fix file a fix file: its mark, and the guard it puts on formula-like cells.

A fix file (`onboard rejections N --export`) carries a batch's rejected rows back to the sender,
with the reasons in a last column headed `errors (fix file of batch N)`. That header is the
mark: a file that has it is read as batch N was read (its decimal mark, date layout and column
mapping, unless options say otherwise), and in a CSV fix file the `'` that the export put
before formula-like cells is taken off again. A file without the mark keeps every `'` as sent.
"""

import re

import polars as pl

# What a spreadsheet would run as a formula, first in a cell: = + - @, tab, carriage return,
# and their full-width forms, which some spreadsheets take for the same.
FORMULA_START = "[=+\\-@\\t\\r\uff1d\uff0b\uff0d\uff20\ufe6b]"
# What a fix file guards with a `'`: formula-like text, and text that starts with a `'` itself
# (the sender's, which taking the guard off again would otherwise lose)
_GUARD_START = FORMULA_START.replace("[", "['", 1)
_GUARDED = f"^'({_GUARD_START})"  # the `'` a fix file puts before such text
_MARK = re.compile(r"errors \(fix file of batch (\d+)\)", re.IGNORECASE)


def mark(batch_id: int) -> str:
    """The header of the reasons column of batch `batch_id`'s fix file."""
    return f"errors (fix file of batch {batch_id})"


def is_reasons(header: str | None) -> bool:
    """A fix file's column of reasons, never data. A column headed only `errors` (as fix
    files of onboard 0.1 were) may be the sender's own: it is a column like any other."""
    return bool(_MARK.fullmatch((header or "").strip()))


def marked_batch(headers: list[str]) -> int | None:
    """The batch whose fix file has these headers, or None: not a fix file."""
    for header in headers:
        found = _MARK.fullmatch((header or "").strip())
        if found:
            return int(found[1])
    return None


def guarded(cell: pl.Expr) -> pl.Expr:
    """A cell as a CSV fix file writes it: `'` before formula-like text and before a `'`."""
    return cell.str.replace(f"^({_GUARD_START})", "'${1}")


def unguarded(cell: pl.Expr) -> pl.Expr:
    """A cell of a CSV fix file as it was before the export guarded it."""
    return (
        pl.when(cell.str.starts_with("'")).then(cell.str.replace(_GUARDED, "${1}")).otherwise(cell)
    )


def unguard_text(text: str) -> str:
    """A header of a CSV fix file as it was before the export guarded it."""
    return re.sub(_GUARDED, r"\1", text)
