"""The options of a run: one frozen value passed to every stage that needs it."""

from dataclasses import asdict, dataclass, field
from datetime import date

ON_EXISTING = ("reject", "skip", "update")
DELIMITERS = (",", ";", "\t", "|")  # of text files, detected in this order of preference


@dataclass(frozen=True)
class RunOptions:
    """How a run imports; the same for every file of the run."""

    as_of: date
    dry_run: bool = False
    encoding: str | None = None  # text files: None detects UTF-8/UTF-16/Windows-1252
    delimiter: str | None = None  # text files: one of DELIMITERS; None detects it
    decimal_comma: bool | None = None  # None: a comma in `;`-separated files, else a point
    sheet: str | int | None = None  # workbooks: None takes the first sheet with a header row
    renames: dict[str, str] = field(default_factory=dict)  # sender's header -> column
    date_format: str | None = None  # strftime layout of created_on besides ISO dates
    on_existing: str = "reject"  # a row naming a stored customer: reject | skip | update
    force: bool = False  # import a file whose content was committed before
    max_rejected: str | None = None  # "N" rows or "P%" of rows: more refuses the batch
    warnings_as_errors: bool = False  # a warning rejects its row, as an error does
    show_personal: bool = False  # the summary shows personal fields' values (else ***)

    def to_dict(self) -> dict:
        """The options as recorded with a batch, so that a run can be reproduced."""
        recorded = asdict(self)
        del recorded["dry_run"]  # a dry run records nothing
        del recorded["show_personal"]  # how the summary is shown, not how the batch ran
        return {**recorded, "as_of": self.as_of.isoformat()}

    def rejected_limit(self, rows: int) -> int | None:
        """The most rejected rows a batch of `rows` may have, or None for no limit."""
        if self.max_rejected is None:
            return None
        if self.max_rejected.endswith("%"):
            return int(rows * float(self.max_rejected[:-1]) / 100)
        return int(self.max_rejected)
