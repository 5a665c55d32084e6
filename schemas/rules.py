"""Every rule a row can fail, each defined once: its code, the column its rejections name, what
it means (README's table of rules is made from these: `python -m schemas.rules`), the check that
finds it and the message a clerk reads. `schemas/customer.py` builds the pandera schema from
them; adding a rule is adding one `Rule` here (and a bad case to tests/test_rules.py).

A check is one of three kinds, as frictionless-py's checks declare the errors they raise:
- `Row`: an expression over the typed row, True where the row passes, checked on one column;
- `Cells`: a test of every cell of the row, each breaking cell reported by its column;
- `Fields`: tests of each custom field of the batch, from what the reference asks of it.

Messages are polars expressions over a rejected row: its typed columns, `value` (the text the
sender wrote in the rule's column), `column`, and what the rule's `extra` adds.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

import polars as pl

from schemas.reference import FieldUse, Reference, whole_value
from schemas.vocabulary import (
    AMOUNT_DIGITS,
    BALANCE_CONTROLS,
    CELL_ERRORS,
    CONTROL_CHARACTERS,
    DATE_ORDERS,
    MAX_CELL,
    MIXED_SCRIPTS,
    NAME_MAX,
    PERIOD_KINDS,
    PERIOD_NAMES,
    REQUIRED,
    SOURCE_ROW,
    iso_currencies,
    time_zones,
)

SHOWN = 200  # characters of a value a message quotes
LISTED = 10  # allowed values a message names before "and N more"
MAX_ROWS_NAMED = 10  # rows a repeated name's message lists before "and N more"


def _no_names() -> pl.Series:
    return pl.Series("name_key", [], pl.String)


@dataclass(frozen=True)
class Context:
    """What checks and messages depend on besides the row: the reseller's reference, the run's
    date and conventions, and what the batch meets in the database and in itself."""

    reference: Reference
    as_of: date
    decimal_comma: bool = False
    date_format: str | None = None
    existing: pl.Series = field(default_factory=_no_names)  # name keys a row may not take
    ambiguous: pl.Series = field(default_factory=_no_names)  # keys several stored names share
    repeated: pl.DataFrame | None = None  # name_key, all_rows: names on several rows
    # name_key, similar_rows, similar_stored: names like others of the batch or stored ones
    similar: pl.DataFrame | None = None
    # name_key, currency: the stored customers a row updates (--on-existing update), and theirs
    updated: pl.DataFrame | None = None


Message = Callable[[Context], pl.Expr]


@dataclass(frozen=True)
class Row:
    """True where the row passes (null: cannot be judged, passes); pandera checks it on the
    column `on`, or on the rule's own. None: no row of the batch can fail it (no check)."""

    passes: Callable[[Context], pl.Expr | None]
    on: str | None = None


@dataclass(frozen=True)
class Cells:
    """True where a cell breaks the rule; every cell of the row is tested."""

    breaks: Callable[[pl.Expr], pl.Expr]


@dataclass(frozen=True)
class Fields:
    """For one custom field (what the reference asks of it; its value: the trimmed text or the
    class's default; that value as stored, null where not of the field's type): an expression
    per check, True where the row passes; none where the rule does not concern the field."""

    passes: Callable[[FieldUse, pl.Expr, pl.Expr], list[pl.Expr]]


@dataclass(frozen=True)
class Rule:
    code: str
    column: str | None  # the column its rejections name (Cells, Fields: the cell's, the field's)
    meaning: str  # README's words
    check: Row | Cells | Fields
    message: Message
    extra: Callable[[pl.DataFrame, Context], pl.DataFrame] | None = None  # what `message` needs
    # an error rejects the row; a warning keeps it, recorded beside it (worth a look)
    severity: Literal["error", "warning"] = "error"

    @property
    def column_text(self) -> str:
        """The rule's column as README's table names it."""
        if isinstance(self.check, Cells):
            return "the cell's column"
        if isinstance(self.check, Fields):
            return "the custom field"
        return self.column or ""


# ---------------------------------------------------------------------------------------------
# What messages are made of


def shown(column: str) -> pl.Expr:
    """A value as a message quotes it: whole, or its first SHOWN characters and an ellipsis."""
    value = pl.col(column)
    cut = value.str.slice(0, SHOWN) + "…"
    return pl.when(value.str.len_chars() > SHOWN).then(cut).otherwise(value)


def _text(message: str) -> Message:
    return lambda ctx: pl.lit(message)


def _quoted(template: str) -> Message:
    """A message with the sender's value in place of {}."""
    return lambda ctx: pl.format(template, shown("value"))


def listed(values) -> str:
    """Allowed values for a message: all of a few; the first LISTED of many, and a pointer."""
    values = list(values)
    if len(values) <= LISTED:
        return ", ".join(values)
    shown = ", ".join(values[:LISTED])
    return f"{shown} and {len(values) - LISTED:,} more; see onboard reference show"


def _one_of(what: str, choices: Callable[[Reference], tuple[str, ...]]) -> Message:
    def message(ctx: Context) -> pl.Expr:
        allowed = listed(choices(ctx.reference))
        return pl.format(f"{what} '{{}}' is not known; use one of: {allowed}", shown("value"))

    return message


def _is_in(values) -> pl.Series:
    return pl.Series(list(values), dtype=pl.String).implode()


def currency_units(reference: Reference) -> pl.Expr:
    """The decimal places the row's currency has (null for one not enabled)."""
    units = reference.minor_units()
    return pl.col("currency").replace_strict(units, default=None, return_dtype=pl.Int64)


def _of_class(classes: tuple[str, ...]) -> pl.Expr:
    return pl.col("customer_class").is_in(_is_in(classes))


def by_class(values: dict[str, str]) -> pl.Expr:
    """The value `values` gives the row's customer class (null for the other classes)."""
    return pl.col("customer_class").replace_strict(values, default=None, return_dtype=pl.String)


def _class_fixes(column: str, fixed: Callable[[Reference], dict[str, str]]) -> Row:
    """Passes where the row's class fixes no value of `column`, or the row has that one (an
    empty cell took it in parse)."""

    def passes(ctx: Context) -> pl.Expr | None:
        values = fixed(ctx.reference)
        if not values:
            return None
        return by_class(values).is_null() | (pl.col(column) == by_class(values))

    return Row(passes)


def _mismatch_message(what: str, fixed: Callable[[Reference], dict[str, str]]) -> Message:
    """`what` says what the class does: "charges every customer in"."""

    def message(ctx: Context) -> pl.Expr:
        value = by_class(fixed(ctx.reference))
        return pl.format(
            f"customer class '{{}}' {what} {{}}, not '{{}}'; leave the cell empty or write {{}}",
            pl.col("customer_class"),
            value,
            shown("value"),
            value,
        )

    return message


# ---------------------------------------------------------------------------------------------
# Rules made the same way for several columns


_REQUIRED_HINTS = {
    "name": "every customer needs a name",
    "business_model": "fill it in",
    "customer_class": "fill it in",
    "billing_period": f"use one of: {PERIOD_NAMES}",
    "billing_period_timezone": "give an IANA name such as Europe/Prague",
    "balance_control": "use prepaid or postpaid",
    "currency": "give an ISO 4217 code such as USD",
}
_CLASS_FIXES = ("business_model", "currency")  # columns a customer class may fix
_LABELS = {
    "name": "the name",
    "business_model": "the business model",
    "customer_class": "the customer class",
    "billing_period": "the billing period",
    "billing_period_timezone": "the billing period time zone",
    "balance_control": "balance control",
    "currency": "the currency",
}


def _required(column: str) -> Rule:
    label = _LABELS[column]
    if column == "name":
        return Rule(
            "name_required",
            "name",
            "the name is empty, or holds only invisible characters (zero-width spaces, a blank "
            "Braille pattern, Hangul fillers)",
            Row(lambda ctx: pl.col("name").is_not_null()),
            _text(
                "the name is empty or holds only invisible characters; every customer needs a name"
            ),
        )
    fixable = " and the row's customer class fixes none" if column in _CLASS_FIXES else ""
    return Rule(
        f"{column}_required",
        column,
        f"{label} is empty{fixable}",
        Row(lambda ctx: pl.col(column).is_not_null()),
        _text(f"{label} is empty; {_REQUIRED_HINTS[column]}"),
    )


def _amount_rules(
    amount: str, label: str, phrases: tuple[str, str], balance: str, other: str
) -> list[Rule]:
    """The rules of an amount, `balance` being the balance control it belongs to; `phrases`
    name it in README ("the credit limit is", "a credit limit")."""
    subject, some = phrases
    given, plain, value = pl.col(f"{amount}_given"), pl.col(f"{amount}_plain"), pl.col(amount)

    def not_a_number(ctx: Context) -> pl.Expr:
        return pl.format(
            f"{label} '{{}}' is not a number; write digits with {_number_how(ctx.decimal_comma)}",
            shown("value"),
        )

    def decimals(ctx: Context) -> pl.Expr:
        return pl.format(
            f"{label} '{{}}' has more decimal places than {{}} allows ({{}})",
            shown("value"),
            pl.col("currency"),
            currency_units(ctx.reference),
        )

    def allowed_places(ctx: Context) -> pl.Expr:
        units = currency_units(ctx.reference)
        return pl.when(value.is_not_null()).then(pl.col(f"{amount}_decimals") <= units)

    return [
        Rule(
            f"{amount}_not_a_number",
            amount,
            "not a plain decimal number in the file's decimal convention",
            Row(lambda ctx: ~given | plain),
            not_a_number,
        ),
        Rule(
            f"{amount}_too_large",
            amount,
            f"more than {AMOUNT_DIGITS} digits before the decimal mark, more than the store holds",
            Row(lambda ctx: ~plain | value.is_not_null()),
            _quoted(
                f"{label} '{{}}' is too large: it has more than {AMOUNT_DIGITS} digits before "
                "the decimal mark; check the value"
            ),
        ),
        Rule(
            f"{amount}_negative",
            amount,
            f"{subject} negative",
            Row(lambda ctx: value >= 0),
            _quoted(f"{label} '{{}}' is negative; it must be 0 or more"),
        ),
        Rule(
            f"{amount}_too_many_decimals",
            amount,
            "more decimal places than the currency has (JPY 0, USD 2, BHD 3); trailing zeros "
            "do not count",
            Row(allowed_places),
            decimals,
        ),
        Rule(
            f"{amount}_{other}",
            amount,
            f"{some} given for a {other} customer ({balance} only)",
            Row(lambda ctx: (pl.col("balance_control") != other) | ~given),
            _text(
                f"{label} is only for {balance} customers; leave it empty for a {other} customer"
            ),
        ),
    ]


def _number_how(decimal_comma: bool) -> str:
    if decimal_comma:
        return (
            "a comma for decimals (this file uses decimal commas) and no thousands separators, "
            "e.g. 1500,50"
        )
    return "a point for decimals and no thousands separators, e.g. 1500.50"


def _date_hint(ctx: Context) -> str:
    if ctx.date_format in DATE_ORDERS:
        order = "day" if DATE_ORDERS[ctx.date_format] else "month"
        return f"write it as YYYY-MM-DD, or as a full date with the {order} first"
    if ctx.date_format:
        return f"write it as YYYY-MM-DD or in the layout {ctx.date_format} given by --date-format"
    return (
        "write it as YYYY-MM-DD (e.g. 2026-11-26), or import with --date-format giving the "
        "file's layout, e.g. --date-format %d/%m/%Y"
    )


def _date_message(ctx: Context) -> pl.Expr:
    return pl.format(f"created on '{{}}' is not a real date; {_date_hint(ctx)}", shown("value"))


def _stored_currency(ctx: Context) -> pl.Expr:
    """The currency of the stored customer a row updates (null: it updates none)."""
    assert ctx.updated is not None
    keys, currencies = ctx.updated["name_key"], ctx.updated["currency"]
    return pl.col("name_key").replace_strict(keys, currencies, default=None)


def _same_currency(ctx: Context) -> pl.Expr | None:
    if ctx.updated is None or not ctx.updated.height:
        return None  # the batch updates no stored customer
    stored = _stored_currency(ctx)
    return stored.is_null() | (pl.col("currency") == stored)


def _other_rows(group: pl.DataFrame, ctx: Context) -> pl.DataFrame:
    """The rows other than this one that hold the same name, as text: `3, 7 and 2 more`."""
    assert ctx.repeated is not None
    others = pl.col("all_rows").list.set_difference(pl.concat_list(SOURCE_ROW)).list.sort()
    more = others.list.len().cast(pl.Int64) - MAX_ROWS_NAMED
    text = pl.concat_str(
        others.list.head(MAX_ROWS_NAMED).cast(pl.List(pl.String)).list.join(", "),
        pl.when(more > 0).then(pl.format(" and {} more", more)).otherwise(pl.lit("")),
    )
    return group.join(ctx.repeated, on="name_key", how="left").with_columns(other_rows=text)


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
        shown("value"),
        pl.col("customer_class"),
        pattern,
    )


def _type_hint(use: FieldUse, ctx: Context) -> str:
    """What a value of the field's type is, and how to write one."""
    if use.type == "number":
        return "a number; write digits with " + _number_how(ctx.decimal_comma)
    if use.type == "date":
        return "a real date; " + _date_hint(ctx)
    if use.type == "datetime":
        return (
            "a date and time; write it as YYYY-MM-DD HH:MM[:SS], with an offset such as +01:00 "
            "or Z (without one, it is local time in the row's billing period time zone, and "
            "must exist there)"
        )
    return f"one of: {listed(use.values)}"


def _type_message(ctx: Context) -> pl.Expr:
    hints = {
        name: _type_hint(use, ctx)
        for name, use in ctx.reference.field_uses.items()
        if use.type != "text"
    }
    return pl.format(
        "{} '{}' is not {}",
        pl.col("column"),
        shown("value"),
        pl.col("column").replace_strict(hints, default=None, return_dtype=pl.String),
    )


def _none_alike(ctx: Context) -> bool:
    return ctx.similar is not None and not ctx.similar.height


def _similar_to(group: pl.DataFrame, ctx: Context) -> pl.DataFrame:
    """What a name is like: other rows of the batch, a stored customer (never named: it may
    be another reseller's), or both, as text."""
    assert ctx.similar is not None
    found = group.join(ctx.similar, on="name_key", how="left")
    rows = pl.col("similar_rows")
    more = rows.list.len().cast(pl.Int64) - MAX_ROWS_NAMED
    named = pl.concat_str(
        pl.lit("the name on row(s) "),
        rows.list.head(MAX_ROWS_NAMED).cast(pl.List(pl.String)).list.join(", "),
        pl.when(more > 0).then(pl.format(" and {} more", more)).otherwise(pl.lit("")),
        pl.lit(" of this file"),
    )
    stored = pl.col("similar_stored").fill_null(False)
    text = (
        pl.when(rows.is_not_null() & stored)
        .then(pl.concat_str(pl.lit("a stored customer's name and "), named))
        .when(stored)
        .then(pl.lit("a stored customer's name"))
        .otherwise(named)
    )
    return found.with_columns(similar_to=text)


# ---------------------------------------------------------------------------------------------
# The rules, in README's order


RULES: dict[str, Rule] = {
    rule.code: rule
    for rule in [
        _required("name"),
        Rule(
            "name_control_characters",
            "name",
            "the name holds a tab, line break, other control character, a line or paragraph "
            'separator, or a bidi override or isolate (which make "Acme \\u202eproC" display as '
            '"Acme Corp")',
            Row(lambda ctx: ~pl.col("name").str.contains(CONTROL_CHARACTERS)),
            _text(
                "the name holds a tab, line break, bidi override or other control character; "
                "remove it"
            ),
        ),
        Rule(
            "name_mixed_scripts",
            "name",
            "a word of the name mixes Latin, Greek or Cyrillic letters, as look-alike spellings "
            "do (a Cyrillic `а` in a Latin word)",
            Row(lambda ctx: ~pl.col("name").str.contains(MIXED_SCRIPTS)),
            lambda ctx: pl.format(
                "the name '{}' mixes Latin, Greek or Cyrillic letters in one word, so it can "
                "pass for another name; type it in one alphabet",
                shown("name"),
            ),
        ),
        Rule(
            "name_too_long",
            "name",
            f"the name is longer than {NAME_MAX} characters",
            Row(lambda ctx: pl.col("name").str.len_chars() <= NAME_MAX),
            lambda ctx: pl.format(
                f"the name is {{}} characters long; at most {NAME_MAX} are allowed",
                pl.col("name").str.len_chars(),
            ),
        ),
        Rule(
            "name_duplicate_in_batch",
            "name",
            "the same name (compared as README's Names says) is on other rows of the file; every "
            "such row is rejected, each message naming the other rows",
            # `name_repeated` is worked out over the whole batch, which may be checked in chunks
            Row(lambda ctx: ~pl.col("name_repeated")),
            lambda ctx: pl.format(
                "the name '{}' is also on row(s) {} of this file; names must be unique",
                shown("name"),
                pl.col("other_rows"),
            ),
            extra=_other_rows,
        ),
        Rule(
            "name_exists",
            "name",
            "a customer with this name is already stored",
            Row(lambda ctx: ~pl.col("name_key").is_in(ctx.existing.implode())),
            lambda ctx: pl.format(
                "a customer named '{}' already exists; use another name", shown("name")
            ),
        ),
        Rule(
            "name_ambiguous",
            "name",
            "with `--on-existing update`: several stored customers have names that compare equal "
            "to this one (found by the upgrade of an older database, listed in table "
            "`name_collisions`), so which one to update is not known",
            Row(lambda ctx: ~pl.col("name_key").is_in(ctx.ambiguous.implode())),
            lambda ctx: pl.format(
                "more than one stored customer has a name equal to '{}' (see table "
                "name_collisions); rename or remove all but one before updating it",
                shown("name"),
            ),
        ),
        _required("business_model"),
        Rule(
            "business_model_unknown",
            "business_model",
            "not a business model of the reference",
            Row(lambda ctx: pl.col("business_model").is_in(_is_in(ctx.reference.business_models))),
            _one_of("business model", lambda reference: reference.business_models),
        ),
        Rule(
            "business_model_class_mismatch",
            "business_model",
            "not the business model the row's customer class fixes (an empty cell takes the "
            "class's)",
            _class_fixes("business_model", lambda reference: reference.class_business_models),
            _mismatch_message(
                "gives every customer the business model", lambda r: r.class_business_models
            ),
        ),
        _required("customer_class"),
        Rule(
            "customer_class_unknown",
            "customer_class",
            "not a customer class of the reference",
            Row(lambda ctx: pl.col("customer_class").is_in(_is_in(ctx.reference.class_names))),
            _one_of("customer class", lambda reference: reference.class_names),
        ),
        _required("billing_period"),
        Rule(
            "billing_period_unknown",
            "billing_period",
            "not one of the six billing periods",
            Row(lambda ctx: pl.col("billing_period").is_in(PERIOD_KINDS)),
            _quoted(f"billing period '{{}}' is not known; use one of: {PERIOD_NAMES}"),
        ),
        _required("billing_period_timezone"),
        Rule(
            "billing_period_timezone_unknown",
            "billing_period_timezone",
            "not an IANA time zone name",
            Row(lambda ctx: pl.col("billing_period_timezone").is_in(_is_in(time_zones().values()))),
            _quoted(
                "'{}' is not an IANA time zone name; use a name such as Europe/Prague "
                "or America/New_York"
            ),
        ),
        _required("balance_control"),
        Rule(
            "balance_control_unknown",
            "balance_control",
            "neither prepaid nor postpaid",
            Row(lambda ctx: pl.col("balance_control").is_in(BALANCE_CONTROLS)),
            _quoted("balance control '{}' is not known; use prepaid or postpaid"),
        ),
        _required("currency"),
        Rule(
            "currency_not_iso4217",
            "currency",
            "not an ISO 4217 currency code",
            Row(lambda ctx: pl.col("currency").is_in(_is_in(sorted(iso_currencies())))),
            _quoted("'{}' is not an ISO 4217 currency code; use a code such as USD or EUR"),
        ),
        Rule(
            "currency_not_enabled",
            "currency",
            "an ISO 4217 currency not enabled in the reference",
            # not one of the others: a code that is not ISO is currency_not_iso4217's alone
            Row(
                lambda ctx: (
                    ~pl.col("currency").is_in(
                        _is_in(sorted(iso_currencies() - set(ctx.reference.currencies)))
                    )
                )
            ),
            lambda ctx: pl.format(
                f"currency '{{}}' is not enabled for this reseller; enabled: "
                f"{listed(ctx.reference.currencies)}",
                shown("value"),
            ),
        ),
        Rule(
            "currency_class_mismatch",
            "currency",
            "not the currency the row's customer class fixes (an empty cell takes the class's)",
            _class_fixes("currency", lambda reference: reference.class_currencies),
            _mismatch_message(
                "charges every customer in", lambda reference: reference.class_currencies
            ),
        ),
        Rule(
            "currency_immutable",
            "currency",
            "with `--on-existing update`: another currency than the stored customer's, which "
            "cannot change once the customer is saved",
            Row(_same_currency),
            lambda ctx: pl.format(
                "the customer's currency is {} and cannot change once saved; send {} (or leave "
                "the cell empty if the class fixes it)",
                _stored_currency(ctx),
                _stored_currency(ctx),
            ),
        ),
        *_amount_rules(
            "credit_limit",
            "credit limit",
            ("the credit limit is", "a credit limit"),
            "postpaid",
            "prepaid",
        ),
        *_amount_rules(
            "available_funds",
            "available funds",
            ("available funds are", "available funds"),
            "prepaid",
            "postpaid",
        ),
        Rule(
            "created_on_invalid",
            "created_on",
            "not a real calendar date written YYYY-MM-DD (or in the `--date-format` layout)",
            Row(lambda ctx: pl.col("created_on").is_not_null()),
            _date_message,
        ),
        Rule(
            "created_on_after_as_of",
            "created_on",
            "a creation date after the import's as-of date",
            Row(lambda ctx: pl.col("created_on") <= ctx.as_of),
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
            Row(lambda ctx: pl.col("extra_fields").is_null(), on="extra_fields"),
            lambda ctx: pl.format(
                "the row has more fields than the header; extra values: {}; quote values that "
                "contain the delimiter",
                pl.col("extra_fields"),
            ),
        ),
        Rule(
            "cell_error",
            None,
            "the cell holds a spreadsheet error such as `#N/A` or `#DIV/0!`",
            Cells(lambda cell: cell.is_in(CELL_ERRORS)),
            _quoted("the cell holds the spreadsheet error '{}'; fix the formula or type the value"),
        ),
        Rule(
            "cell_too_long",
            None,
            f"the cell holds more than {MAX_CELL:,} characters (Excel's own limit)",
            Cells(lambda cell: cell.str.len_chars() > MAX_CELL),
            lambda ctx: pl.format(
                f"the cell holds {{}} characters, more than the {MAX_CELL:,} allowed; shorten it",
                pl.col("value").str.len_chars(),
            ),
        ),
        Rule(
            "custom_field_required",
            None,
            "a custom field the row's class makes mandatory is empty",
            Fields(
                lambda use, value, stored: (
                    [~_of_class(use.mandatory) | value.is_not_null()] if use.mandatory else []
                )
            ),
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
            Fields(
                lambda use, value, stored: [
                    ~_of_class(use.classes) | ~value.str.contains(CONTROL_CHARACTERS)
                ]
            ),
            lambda ctx: pl.format(
                "{} holds a tab, line break or other control character; remove it",
                pl.col("column"),
            ),
        ),
        Rule(
            "custom_field_pattern",
            None,
            "a custom field value does not match its pattern (the whole value)",
            Fields(
                lambda use, value, stored: [
                    ~_of_class(classes) | value.is_null() | value.str.contains(whole_value(pattern))
                    for pattern, classes in use.patterns.items()
                ]
            ),
            _pattern_message,
        ),
        Rule(
            "custom_field_type",
            None,
            "a custom field value is not of the field's type: not a number in the file's decimal "
            "convention (as amounts are read), not a date (as created_on is read, "
            "`--date-format` too), not a date and time (ISO 8601), not one of a list's values "
            "(in any case)",
            Fields(
                lambda use, value, stored: (
                    [value.is_null() | stored.is_not_null()] if use.type != "text" else []
                )
            ),
            _type_message,
        ),
        # Warnings: the row is stored, the warning kept beside it (--warnings-as-errors: rejected)
        Rule(
            "credit_limit_missing",
            "credit_limit",
            "a postpaid customer without a credit limit: allowed, but the billing system "
            '"strongly recommends" one against fraud',
            Row(
                lambda ctx: (pl.col("balance_control") != "postpaid") | pl.col("credit_limit_given")
            ),
            _text(
                "a postpaid customer without a credit limit: nothing stops its usage; the billing "
                "system strongly recommends one against fraud"
            ),
            severity="warning",
        ),
        Rule(
            "name_similar",
            "name",
            "the name differs from a stored customer's or another row's only by punctuation or "
            'a legal form (Ltd, Inc., s.r.o., GmbH, ...: "Acme Telecom Ltd" and "ACME Telecom '
            'Ltd."); a name the same once compared is `name_exists` or `name_duplicate_in_batch`',
            Row(lambda ctx: None if _none_alike(ctx) else ~pl.col("name_similar")),
            lambda ctx: pl.format(
                "the name '{}' differs from {} only by punctuation or a legal form; check it is "
                "not the same customer",
                shown("name"),
                pl.col("similar_to"),
            ),
            extra=_similar_to,
            severity="warning",
        ),
    ]
}
WARNINGS = frozenset(code for code, rule in RULES.items() if rule.severity == "warning")
assert {f"{c}_required" for c in REQUIRED} <= set(RULES)


def markdown_table(severity: str = "error") -> str:
    """README's table of the rules of a severity: errors (its Rules), warnings (its Warnings)."""
    lines = ["| rule | column | meaning |", "| --- | --- | --- |"]
    lines += [
        f"| `{r.code}` | {r.column_text} | {r.meaning} |"
        for r in RULES.values()
        if r.severity == severity
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown_table())
    print("\nWarnings:\n")
    print(markdown_table("warning"))
