"""A template per reseller: the input file a clerk should fill, made from its stored reference.

In .xlsx: a `Customers` sheet with the form's labels and the reseller's custom fields as its
header row, each cell formatted as text (so Excel keeps `00789`, `1500.50` and `2026-11-26` as
typed, never `789`, `1.5E+10` or a serial number), drop-down lists (data validation) for every
column with a fixed set of values, fed from a hidden `Lists` sheet; and an `Instructions` sheet
saying, for each column, whether it is required, what it takes and an example. In .csv: the
header row alone. Either imports as it is (no rows) and, filled with valid rows, with no
rejection (tests/test_cli_template.py reads it back with onboard's own reader).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import UsageError
from schemas.reference import Reference
from schemas.vocabulary import BALANCE_CONTROLS, PERIOD_NAMES, time_zones

ROWS = 5_000  # rows of the Customers sheet that have the drop-down lists
LISTS = "Lists"


@dataclass(frozen=True)
class Column:
    """A column of the template: its header, what it takes, and its list of values if any."""

    header: str
    required: str  # "yes", "no", or when
    takes: str
    example: str
    values: Sequence[str] = ()


def columns(reference: Reference) -> list[Column]:
    """The template's columns: the form's, then the reseller's custom fields."""
    periods = [p.strip() for p in PERIOD_NAMES.split(",")]
    zones = sorted(set(time_zones().values()))
    classes = reference.customer_classes

    def unless_fixed(fixed: str) -> str:
        fixing = [c.name for c in classes if getattr(c, fixed)]
        return f"yes, unless the class fixes it ({', '.join(fixing)} do)" if fixing else "yes"

    form = [
        Column(
            "Name", "yes", "the customer's name, unique across the billing system", "Acme s.r.o."
        ),
        Column(
            "Business model",
            unless_fixed("business_model"),
            "one of the list",
            reference.business_models[0],
            reference.business_models,
        ),
        Column("Customer class", "yes", "one of the list", classes[0].name, reference.class_names),
        Column("Billing period", "yes", "one of the list", "Monthly", periods),
        Column("Billing period time zone", "yes", "an IANA zone name", "Europe/Prague", zones),
        Column("Balance control", "yes", "prepaid or postpaid", "postpaid", BALANCE_CONTROLS),
        Column(
            "Currency",
            unless_fixed("currency"),
            "an enabled ISO 4217 code",
            reference.currencies[0],
            reference.currencies,
        ),
        Column(
            "Credit limit",
            "no",
            "postpaid only: a plain decimal with a point, e.g. 1500.50",
            "1500.50",
        ),
        Column(
            "Available funds", "no", "prepaid only: a plain decimal with a point; empty is 0", ""
        ),
        Column("Created on", "no", "the creation date, YYYY-MM-DD; empty is the import's date", ""),
    ]
    custom = []
    for name, use in reference.field_uses.items():
        whose = ", ".join(use.classes)
        required = f"for class {', '.join(use.mandatory)}" if use.mandatory else "no"
        takes = {
            "text": "text",
            "number": "a plain decimal with a point",
            "date": "a date, YYYY-MM-DD",
            "datetime": "a date and time, YYYY-MM-DD HH:MM (with an offset, or local time)",
            "list": "one of the list",
        }[use.type]
        if use.patterns:
            takes += " matching " + " or ".join(use.patterns)
        if use.personal:
            takes += " (personal data)"
        example = use.values[0] if use.values else ""
        custom.append(Column(name, required, f"{takes}; for class {whose}", example, use.values))
    return form + custom


def write(reference: Reference, path: Path, rows: Sequence[Sequence[str]] = ()) -> None:
    """Write the template to `path` (.xlsx or .csv); `rows`, if any, filled in (as a clerk
    would, for the tests)."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        _write_csv(columns(reference), path, rows)
    elif suffix == ".xlsx":
        _write_xlsx(columns(reference), path, rows)
    else:
        raise UsageError(f"{path}: a template is a .xlsx or a .csv file")


def _write_csv(cols: list[Column], path: Path, rows: Sequence[Sequence[str]]) -> None:
    import csv

    try:
        with path.open("w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f, lineterminator="\r\n")
            writer.writerows([[c.header for c in cols], *rows])
    except OSError as e:
        raise UsageError(f"{path}: cannot write the template: {e.strerror}") from None


def _write_xlsx(cols: list[Column], path: Path, rows: Sequence[Sequence[str]]) -> None:
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path))
    text = book.add_format({"num_format": 49})  # text (@): nothing typed is turned into a number
    bold = book.add_format({"bold": True, "num_format": 49, "bg_color": "#DDEBF7"})
    sheet = book.add_worksheet("Customers")
    guide = book.add_worksheet("Instructions")
    lists = book.add_worksheet(LISTS)
    for n, column in enumerate(cols):
        sheet.set_column(n, n, max(14, len(column.header) + 2), text)
        sheet.write_string(0, n, column.header, bold)
        if column.values:
            lists.write_string(0, n, column.header)
            for m, value in enumerate(column.values, start=1):
                lists.write_string(m, n, value)
            letter = xlsxwriter.utility.xl_col_to_name(n)
            source = f"={LISTS}!${letter}$2:${letter}${len(column.values) + 1}"
            sheet.data_validation(
                1,
                n,
                ROWS,
                n,
                {
                    "validate": "list",
                    "source": source,
                    "error_title": column.header,
                    "error_message": f"{column.header}: choose one of the list",
                },
            )
    for r, row in enumerate(rows, start=1):
        for n, cell in enumerate(row):
            sheet.write_string(r, n, cell, text)
    sheet.freeze_panes(1, 0)
    lists.hide()
    _write_guide(book, guide, cols)
    try:
        book.close()
    except (OSError, xlsxwriter.exceptions.FileCreateError) as e:
        raise UsageError(f"{path}: cannot write the template: {e}") from None


def _write_guide(book, guide, cols: list[Column]) -> None:
    bold = book.add_format({"bold": True})
    wrap = book.add_format({"text_wrap": True, "valign": "top", "num_format": 49})
    guide.write_string(0, 0, "Fill one row per new customer on the Customers sheet.", bold)
    guide.write_string(
        1, 0, "Every cell is text: type dates as YYYY-MM-DD and amounts with a point."
    )
    headings = ["column", "required", "what it takes", "example", "allowed values"]
    for n, heading in enumerate(headings):
        guide.write_string(3, n, heading, bold)
    for r, column in enumerate(cols, start=4):
        values = column.values
        shown = ", ".join(values[:20]) + (
            f" and {len(values) - 20} more" if len(values) > 20 else ""
        )
        for n, cell in enumerate(
            [column.header, column.required, column.takes, column.example, shown]
        ):
            guide.write_string(r, n, cell, wrap)
    guide.set_column(0, 0, 26)
    guide.set_column(1, 1, 24)
    guide.set_column(2, 2, 50)
    guide.set_column(3, 3, 18)
    guide.set_column(4, 4, 60)
