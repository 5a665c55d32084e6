"""The domain's words: the form's columns and the values they take, the limits a value has, and
the names the pipeline gives its own columns. Imports nothing of onboard's, so every other
module can build on it (see `../shared/domain.md`).
"""

import functools
import importlib.resources
import re

import iso4217

# The form's columns
REQUIRED = (
    "name",
    "business_model",
    "customer_class",
    "billing_period",
    "billing_period_timezone",
    "balance_control",
    "currency",
)
AMOUNTS = ("credit_limit", "available_funds")
OPTIONAL = (*AMOUNTS, "created_on")
STANDARD = REQUIRED + OPTIONAL

# The values they take
PERIOD_KINDS = ("daily", "weekly", "semimonthly", "monthly", "monthly_anniversary", "30_days")
PERIOD_NAMES = "Daily, Weekly, Semimonthly, Monthly, Monthly (anniversary), 30 days"
BALANCE_CONTROLS = ("prepaid", "postpaid")
DATE_ORDERS = {"dmy": True, "mdy": False}  # --date-format dmy|mdy: is the day first?

# The limits a value has
NAME_MAX = 100  # characters of a name
MAX_CELL = 32_767  # characters of any cell: Excel's own limit
AMOUNT_SCALE = 4  # decimal places kept for amounts: the most any ISO 4217 currency has
AMOUNT_DIGITS = 38 - AMOUNT_SCALE  # integer digits an amount may have: DECIMAL(38, 4) holds 34
CELL_ERRORS = (  # what a spreadsheet's error cell reads as
    "#NULL!",
    "#DIV/0!",
    "#VALUE!",
    "#REF!",
    "#NAME?",
    "#NUM!",
    "#N/A",
    "#GETTING_DATA",
    "#SPILL!",
    "#CALC!",
    "#FIELD!",
    "#BLOCKED!",
)

# What text may not hold. Bidi embeddings, overrides and isolates reorder how a name displays
# ("Acme \u202eproC" shows as "Acme Corp"); control characters drive terminals.
BIDI_CONTROLS = "\u202a-\u202e\u2066-\u2069"
CONTROL_CHARACTERS = f"[\\x00-\\x1f\\x7f-\\x9f\u2028\u2029{BIDI_CONTROLS}]"
# A word mixing Latin, Greek and Cyrillic letters: "Аcme" with a Cyrillic А passes for "Acme".
_SCRIPTS = (r"\p{Latin}", r"\p{Greek}", r"\p{Cyrillic}")
MIXED_SCRIPTS = "|".join(f"{a}[\\p{{L}}\\p{{M}}]*{b}" for a in _SCRIPTS for b in _SCRIPTS if a != b)

# Legal forms a company name may end with, as they compare once lower-cased and without
# punctuation ("Ltd." is ltd, "s.r.o." sro, "sp. z o.o." sp z oo): names that differ only by
# these and punctuation are worth a look (rule name_similar).
LEGAL_FORMS = (
    "ltd", "limited", "inc", "incorporated", "corp", "corporation", "co", "company", "llc",
    "llp", "lp", "plc", "pllc", "gmbh", "mbh", "ag", "kg", "kgaa", "ohg", "ug", "ev", "eg",
    "sro", "s ro", "spol", "as", "a s", "sa", "sas", "sarl", "sàrl", "srl", "spa", "sl", "slu",
    "bv", "nv", "vof", "oy", "oyj", "ab", "aps", "asa", "kft", "zrt", "nyrt", "doo", "dd", "ooo",
    "oao", "zao", "pao", "pty", "pte", "bhd", "sdn", "kk", "sp zoo", "spzoo", "se", "wll", "bsc",
    "lda", "ltda", "cv", "sc",
)  # fmt: skip

# The pipeline's own columns
SOURCE_ROW = "source_row"  # the row number a person sees in the file
TEXT = "__text"  # suffix of the column that keeps a cell's text as the sender wrote it
VALUE = "__value"  # suffix of the column that keeps a custom field's value as stored
# Names the pipeline gives its own columns (in frames and tables): a custom field may not take
# one, or it would overwrite it. One list, checked by the tests against every frame and table.
RESERVED = frozenset(
    {
        SOURCE_ROW, "name_key", "custom_data", "extra_fields", "name_repeated", "all_rows",
        "name_similar", "similar_rows", "similar_stored", "similar_to",
        "other_rows", "column", "rule", "message", "value", "original", "errors", "batch_id",
        "resolved_by_batch", "replaced_by_batch", "replaced_at", "purged_at", "stored_created_on",
        "first_period_start", "first_period_end", "current_period_start", "current_period_end",
        "current_period_closes_at", "billing_change_on", "reseller",
        *(f"{amount}_{part}" for amount in AMOUNTS for part in ("given", "decimals", "plain")),
    }
)  # fmt: skip
_HEADER_NOISE = re.compile(r"[\s_\-()]+")


def text_column(column: str) -> str:
    """The column holding `column`'s cells as the sender wrote them."""
    return column + TEXT


def header_key(header: str) -> str:
    """How headers (and labels such as billing periods) compare: ignoring case, spaces,
    underscores, hyphens and parentheses."""
    return _HEADER_NOISE.sub("", header).casefold()


def value_column(field: str) -> str:
    """The column holding a custom field's value as custom_data stores it (its canonical text)."""
    return field + VALUE


def is_reserved(name: str) -> bool:
    """Is `name` (compared as headers are) one of the pipeline's own column names?"""
    return name.lower().endswith((TEXT, VALUE)) or header_key(name) in _RESERVED_KEYS


_RESERVED_KEYS = frozenset(header_key(r) for r in RESERVED)

# A billing period as written, header_key'd: its code; 1-6 as the billing system's API has them
PERIOD_LABELS = {
    **{header_key(kind): kind for kind in PERIOD_KINDS},
    **{str(n): kind for n, kind in enumerate(PERIOD_KINDS, start=1)},
}


@functools.cache
def iso_currencies() -> frozenset[str]:
    """Every ISO 4217 currency code."""
    return frozenset(c.code for c in iso4217.Currency)


def minor_units(code: str) -> int | None:
    """The decimal places of an ISO 4217 currency (JPY 0, USD 2, BHD 3); None for a code
    without them (XAU) or not ISO 4217."""
    try:
        return iso4217.Currency(code).exponent
    except ValueError:
        return None


@functools.cache
def time_zones() -> dict[str, str]:
    """Every IANA zone name, backward links included (`US/Eastern`, `Europe/Kiev`, `GMT`), by
    its lower-case spelling: the canonical name it is stored under (`America/New_York`,
    `Europe/Kyiv`, `Etc/GMT`). A link that zone.tab lists as its country's zone
    (`Europe/Amsterdam`) stays itself; `UTC` and its links are `UTC`. From the tzdata package,
    so the list does not depend on the machine."""
    data = importlib.resources.files("tzdata") / "zoneinfo"
    zones, links = [], {}
    for line in (data / "tzdata.zi").read_text(encoding="utf-8").splitlines():
        if line.startswith("Z "):
            zones.append(line.split()[1])
        elif line.startswith("L "):
            _, target, link = line.split()
            links[link] = target
    listed = {
        line.split("\t")[2]
        for line in (data / "zone.tab").read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    }

    def canonical(zone: str) -> str:
        while zone in links and zone not in listed:
            zone = links[zone]
        return "UTC" if zone == "Etc/UTC" else zone

    names = {*zones, *links} - {"Factory"}  # Factory: a placeholder, no zone
    return {z.lower(): canonical(z) for z in names}
