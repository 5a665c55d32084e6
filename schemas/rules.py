"""Every rule a row can fail: its code, the column it concerns, and the message a clerk reads.

Messages are polars expressions over a rejected row: its typed columns, `value` (the text the
sender wrote in the rule's column) and `other_rows` (for duplicates). README's table of rules is
checked against this list by the tests.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import polars as pl

from pipeline.parse import AMOUNT_DIGITS, DATE_ORDERS
from pipeline.reference import Reference
from schemas.customer import MAX_CELL, NAME_MAX, currency_units


@dataclass(frozen=True)
class Context:
    """What a message may quote besides the row: the reference and the run's conventions."""

    reference: Reference
    as_of: date
    decimal_comma: bool = False
    date_format: str | None = None


SHOWN = 200  # characters of a value a message quotes


def _shown(column: str) -> pl.Expr:
    """A value as a message quotes it: whole, or its first SHOWN characters and an ellipsis."""
    value = pl.col(column)
    cut = value.str.slice(0, SHOWN) + "…"
    return pl.when(value.str.len_chars() > SHOWN).then(cut).otherwise(value)


def _date_message(ctx: Context) -> pl.Expr:
    if ctx.date_format in DATE_ORDERS:
        order = "day" if DATE_ORDERS[ctx.date_format] else "month"
        hint = f"write it as YYYY-MM-DD, or as a full date with the {order} first"
    elif ctx.date_format:
        hint = f"write it as YYYY-MM-DD or in the layout {ctx.date_format} given by --date-format"
    else:
        hint = (
            "write it as YYYY-MM-DD (e.g. 2026-11-26), or import with --date-format giving the "
            "file's layout, e.g. --date-format %d/%m/%Y"
        )
    return pl.format(f"created on '{{}}' is not a real date; {hint}", _shown("value"))


Message = Callable[[Context], pl.Expr]


@dataclass(frozen=True)
class Rule:
    code: str
    column: str | None  # None: the rule's column is named per row (custom fields)
    meaning: str
    message: Message


def _text(message: str) -> Message:
    return lambda ctx: pl.lit(message)


def _quoted(template: str) -> Message:
    """A message with the sender's value in place of {}."""
    return lambda ctx: pl.format(template, _shown("value"))


LISTED = 10  # allowed values a message names before "and N more"


def listed(values) -> str:
    """Allowed values for a message: all of a few; the first LISTED of many, and a pointer."""
    values = list(values)
    if len(values) <= LISTED:
        return ", ".join(values)
    shown = ", ".join(values[:LISTED])
    return f"{shown} and {len(values) - LISTED:,} more; see onboard reference show"


def _one_of(what: str, choices: Callable[[Reference], list[str]]) -> Message:
    def message(ctx: Context) -> pl.Expr:
        allowed = listed(choices(ctx.reference))
        return pl.format(f"{what} '{{}}' is not known; use one of: {allowed}", _shown("value"))

    return message


PERIOD_NAMES = "Daily, Weekly, Semimonthly, Monthly, Monthly (anniversary), 30 days"


def _models(reference):
    return list(reference.business_models)


def _classes(reference):
    return list(reference.class_names)


def _amount_rules(column: str, label: str, balance: str, other: str) -> list[Rule]:
    def decimals(ctx: Context) -> pl.Expr:
        units = currency_units(ctx.reference.minor_units())
        return pl.format(
            f"{label} '{{}}' has more decimal places than {{}} allows ({{}})",
            _shown("value"),
            pl.col("currency"),
            units,
        )

    return [
        Rule(
            f"{column}_not_a_number",
            column,
            f"{label} is not a plain decimal number",
            lambda ctx: pl.format(
                f"{label} '{{}}' is not a number; write digits with "
                + (
                    "a comma for decimals (this file uses decimal commas) and no thousands "
                    "separators, e.g. 1500,50"
                    if ctx.decimal_comma
                    else "a point for decimals and no thousands separators, e.g. 1500.50"
                ),
                _shown("value"),
            ),
        ),
        Rule(
            f"{column}_too_large",
            column,
            f"{label} has more than {AMOUNT_DIGITS} digits before the decimal mark, more than "
            "the store holds",
            _quoted(
                f"{label} '{{}}' is too large: it has more than {AMOUNT_DIGITS} digits before "
                "the decimal mark; check the value"
            ),
        ),
        Rule(
            f"{column}_negative",
            column,
            f"{label} is negative",
            _quoted(f"{label} '{{}}' is negative; it must be 0 or more"),
        ),
        Rule(
            f"{column}_too_many_decimals",
            column,
            f"{label} has more decimal places than the currency (JPY 0, USD 2, BHD 3)",
            decimals,
        ),
        Rule(
            f"{column}_{other}",
            column,
            f"{label} given for a {other} customer ({balance} only)",
            _text(
                f"{label} is only for {balance} customers; leave it empty for a {other} customer"
            ),
        ),
    ]


def _pattern_message(ctx: Context) -> pl.Expr:
    patterns = {
        f"{c.name}:{f.name}": f.pattern
        for c in ctx.reference.customer_classes
        for f in c.custom_fields
        if f.pattern
    }
    pattern = pl.concat_str("customer_class", pl.lit(":"), "column").replace_strict(
        patterns, default=None, return_dtype=pl.String
    )
    return pl.format(
        "{} '{}' does not have the form customer class '{}' requires (pattern {})",
        pl.col("column"),
        _shown("value"),
        pl.col("customer_class"),
        pattern,
    )


RULES: dict[str, Rule] = {
    rule.code: rule
    for rule in [
        Rule(
            "name_required",
            "name",
            "the name is empty, or holds only invisible characters (zero-width spaces, ...)",
            _text(
                "the name is empty or holds only invisible characters; every customer needs a name"
            ),
        ),
        Rule(
            "name_control_characters",
            "name",
            "the name holds a tab, line break, other control character or a bidi override "
            "(which makes a name display as another)",
            _text(
                "the name holds a tab, line break, bidi override or other control character; "
                "remove it"
            ),
        ),
        Rule(
            "name_mixed_scripts",
            "name",
            "a word of the name mixes Latin, Greek or Cyrillic letters, as look-alike spellings "
            "do (a Cyrillic а in a Latin word)",
            lambda ctx: pl.format(
                "the name '{}' mixes Latin, Greek or Cyrillic letters in one word, so it can "
                "pass for another name; type it in one alphabet",
                _shown("name"),
            ),
        ),
        Rule(
            "name_too_long",
            "name",
            f"the name is longer than {NAME_MAX} characters",
            lambda ctx: pl.format(
                f"the name is {{}} characters long; at most {NAME_MAX} are allowed",
                pl.col("name").str.len_chars(),
            ),
        ),
        Rule(
            "name_duplicate_in_batch",
            "name",
            "the same name is on other rows of the file "
            "(ignoring case and extra spaces); every such row is rejected",
            lambda ctx: pl.format(
                "the name '{}' is also on row(s) {} of this file; names must be unique",
                _shown("name"),
                pl.col("other_rows"),
            ),
        ),
        Rule(
            "name_exists",
            "name",
            "a customer with this name is already stored",
            lambda ctx: pl.format(
                "a customer named '{}' already exists; use another name", _shown("name")
            ),
        ),
        Rule(
            "name_ambiguous",
            "name",
            "with --on-existing update: several stored customers have names that compare equal "
            "to this one (listed by the upgrade in table name_collisions), so which to update is "
            "not known",
            lambda ctx: pl.format(
                "more than one stored customer has a name equal to '{}' (see table "
                "name_collisions); rename or remove all but one before updating it",
                _shown("name"),
            ),
        ),
        Rule(
            "business_model_required",
            "business_model",
            "the business model is empty",
            _text("the business model is empty; fill it in"),
        ),
        Rule(
            "business_model_unknown",
            "business_model",
            "not a business model of the reference",
            _one_of("business model", _models),
        ),
        Rule(
            "customer_class_required",
            "customer_class",
            "the customer class is empty",
            _text("the customer class is empty; fill it in"),
        ),
        Rule(
            "customer_class_unknown",
            "customer_class",
            "not a customer class of the reference",
            _one_of("customer class", _classes),
        ),
        Rule(
            "billing_period_required",
            "billing_period",
            "the billing period is empty",
            _text(f"the billing period is empty; use one of: {PERIOD_NAMES}"),
        ),
        Rule(
            "billing_period_unknown",
            "billing_period",
            "not one of the six billing periods",
            _quoted(f"billing period '{{}}' is not known; use one of: {PERIOD_NAMES}"),
        ),
        Rule(
            "billing_period_timezone_required",
            "billing_period_timezone",
            "the billing period time zone is empty",
            _text("the billing period time zone is empty; give an IANA name such as Europe/Prague"),
        ),
        Rule(
            "billing_period_timezone_unknown",
            "billing_period_timezone",
            "not an IANA time zone name",
            _quoted(
                "'{}' is not an IANA time zone name; use a name such as Europe/Prague "
                "or America/New_York"
            ),
        ),
        Rule(
            "balance_control_required",
            "balance_control",
            "balance control is empty",
            _text("balance control is empty; use prepaid or postpaid"),
        ),
        Rule(
            "balance_control_unknown",
            "balance_control",
            "neither prepaid nor postpaid",
            _quoted("balance control '{}' is not known; use prepaid or postpaid"),
        ),
        Rule(
            "currency_required",
            "currency",
            "the currency is empty",
            _text("the currency is empty; give an ISO 4217 code such as USD"),
        ),
        Rule(
            "currency_not_iso4217",
            "currency",
            "not an ISO 4217 currency code",
            _quoted("'{}' is not an ISO 4217 currency code; use a code such as USD or EUR"),
        ),
        Rule(
            "currency_not_enabled",
            "currency",
            "a currency not enabled in the reference",
            lambda ctx: pl.format(
                f"currency '{{}}' is not enabled for this reseller; enabled: "
                f"{listed(ctx.reference.currencies)}",
                _shown("value"),
            ),
        ),
        *_amount_rules("credit_limit", "credit limit", "postpaid", "prepaid"),
        *_amount_rules("available_funds", "available funds", "prepaid", "postpaid"),
        Rule(
            "created_on_invalid",
            "created_on",
            "not a real date written YYYY-MM-DD (or in the --date-format layout)",
            _date_message,
        ),
        Rule(
            "created_on_after_as_of",
            "created_on",
            "a creation date after the import's as-of date",
            lambda ctx: pl.format(
                f"created on {{}} is after the import date {ctx.as_of.isoformat()}; a customer "
                "cannot be created in the future",
                pl.col("created_on"),
            ),
        ),
        Rule(
            "malformed_row",
            None,
            "the row has more fields than the header (often an unquoted delimiter in a value)",
            lambda ctx: pl.format(
                "the row has more fields than the header; extra values: {}; quote values that "
                "contain the delimiter",
                pl.col("extra_fields"),
            ),
        ),
        Rule(
            "cell_error",
            None,
            "the cell holds a spreadsheet error such as #N/A or #DIV/0!",
            _quoted("the cell holds the spreadsheet error {}; fix the formula or type the value"),
        ),
        Rule(
            "cell_too_long",
            None,
            f"the cell holds more than {MAX_CELL:,} characters (Excel's own limit)",
            lambda ctx: pl.format(
                f"the cell holds {{}} characters, more than the {MAX_CELL:,} allowed; shorten it",
                pl.col("value").str.len_chars(),
            ),
        ),
        Rule(
            "custom_field_required",
            None,
            "a custom field the row's class makes mandatory is empty",
            lambda ctx: pl.format(
                "{} is mandatory for customer class '{}'; fill it in",
                pl.col("column"),
                pl.col("customer_class"),
            ),
        ),
        Rule(
            "custom_field_control_characters",
            None,
            "a custom field value holds a control character (tab, line break, escape, ...) or "
            "a bidi override",
            lambda ctx: pl.format(
                "{} holds a tab, line break or other control character; remove it",
                pl.col("column"),
            ),
        ),
        Rule(
            "custom_field_pattern",
            None,
            "a custom field value does not have the form its pattern requires",
            _pattern_message,
        ),
    ]
}
