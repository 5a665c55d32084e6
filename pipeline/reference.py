"""Loading the reseller's reference (`schemas/reference.py` says what it holds).

Written by hand as TOML (see README); checked here so that a wrong reference is refused with
the line to fix, before any batch is judged against it.
"""

import bisect
import datetime as dt
import functools
import math
import re
import tomllib
import warnings
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import NoReturn

import polars as pl

from pipeline.errors import ReferenceFileError
from pipeline.names import clean_names, name_keys
from pipeline.parse import Conventions, field_values
from schemas.reference import (
    DEFAULT_RESELLER,
    FIELD_TYPES,
    CustomerClass,
    CustomField,
    Reference,
    whole_value,
)
from schemas.vocabulary import (
    CONTROL_CHARACTERS,
    MAX_CELL,
    STANDARD,
    header_key,
    is_reserved,
    minor_units,
    text_column,
)

_KEYS = {"reseller", "currencies", "business_models", "customer_classes"}
_RESELLER = re.compile(r"[A-Za-z0-9_-]{1,64}")  # an identifier, e.g. acme-telecom
_CLASS_KEYS = {"name", "custom_fields", "currency", "business_model"}
_FIELD_KEYS = {"name", "mandatory", "pattern", "type", "values", "default", "personal"}
_CLASS_HEADER = re.compile(r"^\s*\[\[\s*customer_classes\s*\]\]")
_STANDARD_KEYS = frozenset(header_key(c) for c in STANDARD)
_FIELD_HEADER = re.compile(r"^\s*\[\[\s*customer_classes\s*\.\s*custom_fields\s*\]\]")


def load_reference(path: str | Path) -> Reference:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as e:
        raise ReferenceFileError(f"{path}: cannot read the reference file: {e.strerror}") from e
    except UnicodeDecodeError as e:
        raise ReferenceFileError(f"{path}: the reference file is not UTF-8 text") from e
    return parse_reference(text, str(path))


def parse_reference(text: str, source: str = "reference") -> Reference:
    """Parse and check a reference; errors name `source` and the line to fix."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        at = re.search(r"\(at line (\d+), column \d+\)", str(e))
        where = f"{source}:{at[1]}" if at else source
        raise ReferenceFileError(f"{where}: not valid TOML: {e}") from e
    except RecursionError:
        raise ReferenceFileError(
            f"{source}: arrays or tables nested too deeply to read; a reference needs two levels"
        ) from None

    def fail(
        message: str,
        needle: re.Pattern | None = None,
        occurrence: int = 1,
        start: int = 1,
        near: re.Pattern | None = None,
    ) -> NoReturn:
        """Refuse, at the line of `needle` (else of `near`: a value written with escapes is
        not found as it reads)."""
        line = _line_of(text, needle, occurrence, start) if needle else None
        if line is None and near:
            line = _line_of(text, near, 1, start)
        where = f"{source}:{line}" if line else (f"{source}:{start}" if near else source)
        raise ReferenceFileError(f"{where}: {message}")

    for key in sorted(data.keys() - _KEYS):
        fail(f"unknown key {key!r} (expected {', '.join(sorted(_KEYS))})", _key(key))
    reseller = data.get("reseller", DEFAULT_RESELLER)
    if not isinstance(reseller, str) or not _RESELLER.fullmatch(reseller):
        fail(
            f"reseller {reseller!r} must be an identifier: ASCII letters, digits, '-' and '_', "
            'at most 64 characters, e.g. "acme-telecom"',
            _key("reseller"),
        )
    for key in ("currencies", "business_models"):
        if not isinstance(data.get(key), list) or not data[key]:
            fail(f"{key!r} must be a non-empty list of strings", _key(key))

    currencies = []
    start = _line_of(text, _key("currencies")) or 1
    for code in data["currencies"]:
        if not isinstance(code, str) or not _is_iso4217(code.upper()):
            needle = _quoted(code) if isinstance(code, str) else _key("currencies")
            fail(f"currency {code!r} is not an ISO 4217 code with minor units", needle, 1, start)
        if code.upper() in currencies:
            fail(f"currency {code!r} is listed twice", _quoted(code), 2, start)
        currencies.append(code.upper())

    models: dict[str, str] = {}  # by casefold
    start = _line_of(text, _key("business_models")) or 1
    for model in data["business_models"]:
        if not isinstance(model, str) or not model.strip():
            fail("business models must be non-empty strings", _key("business_models"))
    near = _key("business_models")
    labels = _labels(data["business_models"])
    for model, (earlier, problem) in zip(data["business_models"], labels, strict=True):
        if problem:
            fail(f"business model {model!r} {problem}", _quoted(model), 1, start, near)
        if earlier is not None:  # a name a clerk cannot tell apart from an earlier one
            fail(
                f"business model {model!r} is listed twice (as {earlier!r})",
                _quoted(model),
                1 + (model.casefold() == earlier.casefold()),  # _quoted ignores case
                start,
                near,
            )
        models[model.strip().casefold()] = model.strip()

    classes = data.get("customer_classes")
    if (
        not isinstance(classes, list)
        or not classes
        or not all(isinstance(c, dict) for c in classes)
    ):
        fail(
            "at least one [[customer_classes]] table with a name is needed",
            _key("customer_classes"),
        )
    lines = text.split("\n")
    found = [n for n, line in enumerate(lines, 1) if _CLASS_HEADER.match(line)]
    field_starts = [n for n, line in enumerate(lines, 1) if _FIELD_HEADER.match(line)]
    # None: not all written as [[customer_classes]] tables, so their lines are not known
    class_starts: list[int | None] = [*found]
    if len(found) != len(classes):
        class_starts = [None] * len(classes)
    known: dict[str, tuple[CustomField, str]] = {}  # each custom field, as first met
    parsed = []
    for n, entry in enumerate(classes):
        if not isinstance(entry.get("name"), str) or not entry["name"].strip():
            fail("every customer class needs a name", _CLASS_HEADER, n + 1)
    labels = _labels([entry["name"] for entry in classes])
    for n, (entry, class_start) in enumerate(zip(classes, class_starts, strict=True)):
        name, (earlier, problem) = entry["name"], labels[n]
        for key in sorted(entry.keys() - _CLASS_KEYS):
            fail(f"customer class {name!r}: unknown key {key!r}", _key(key), 1, class_start or 1)
        if problem:
            fail(
                f"customer class {name!r} {problem}",
                _quoted(name),
                1,
                class_start or 1,
                _key("name"),
            )
        if earlier is not None:  # its own table's line when known, else the second spelling's
            fail(
                f"customer class {name!r} is named twice (or like another class)",
                _quoted(name),
                1 if class_start else 2,
                class_start or 1,
                _key("name"),
            )
        end = found[n + 1] if class_start and n + 1 < len(classes) else len(lines) + 1
        headers = (
            field_starts[
                bisect.bisect_right(field_starts, class_start) : bisect.bisect_left(
                    field_starts, end
                )
            ]
            if class_start
            else []
        )
        fixed = _fixed_values(entry, name, currencies, models, fail, class_start)
        parsed.append(
            CustomerClass(
                name.strip(),
                _custom_fields(entry, name, fail, class_start, headers, known),
                *fixed,
            )
        )
    return Reference(tuple(currencies), tuple(models.values()), tuple(parsed), text, reseller)


def _fixed_values(
    entry: dict,
    class_name: str,
    currencies: list[str],
    models: dict[str, str],
    fail: Callable[..., NoReturn],
    class_start: int | None,
) -> tuple[str | None, str | None]:
    """The currency and business model a class fixes, if any: each must be enabled in the
    reference (a currency as its code, a business model in the reference's spelling)."""
    currency, model = entry.get("currency"), entry.get("business_model")
    if currency is not None:
        if not isinstance(currency, str) or currency.strip().upper() not in currencies:
            fail(
                f"customer class {class_name!r}: currency {currency!r} is not one of the "
                "reference's currencies; add it to currencies or fix the class",
                _key("currency"),
                1,
                class_start or 1,
            )
        currency = currency.strip().upper()
    if model is not None:
        if not isinstance(model, str) or model.strip().casefold() not in models:
            fail(
                f"customer class {class_name!r}: business model {model!r} is not one of the "
                "reference's business models; add it to business_models or fix the class",
                _key("business_model"),
                1,
                class_start or 1,
            )
        model = models[model.strip().casefold()]
    return currency, model


def _custom_fields(
    entry: dict,
    class_name: str,
    fail: Callable[..., NoReturn],
    class_start: int | None,
    headers: list[int],
    known: dict[str, tuple[CustomField, str]],
) -> tuple[CustomField, ...]:
    """The class's custom fields; `headers` are the lines of its [[...custom_fields]] tables."""
    given = entry.get("custom_fields", [])
    if not isinstance(given, list) or not all(isinstance(f, dict) for f in given):
        fail(
            f"customer class {class_name!r}: custom_fields must be "
            "[[customer_classes.custom_fields]] tables",
            _key("custom_fields"),
            1,
            class_start or 1,
        )
    starts = headers if len(headers) == len(given) else [class_start or 1] * len(given)
    fields: list[CustomField] = []
    for field, start in zip(given, starts, strict=True):
        name = field.get("name")
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name):
            fail(
                f"customer class {class_name!r}: custom field name {name!r} must be letters, "
                "digits and underscores, starting with a letter",
                _key("name") if "name" in field else _FIELD_HEADER,
                1,
                start,
            )
        for key in sorted(field.keys() - _FIELD_KEYS):
            fail(f"custom field {name!r}: unknown key {key!r}", _key(key), 1, start)
        if header_key(name) in _STANDARD_KEYS:
            fail(f"custom field {name!r} has the name of a standard column", _key("name"), 1, start)
        if is_reserved(name):
            fail(
                f"custom field {name!r}: the name is one onboard uses for itself; choose another",
                _key("name"),
                1,
                start,
            )
        if header_key(name) in (header_key(f.name) for f in fields):
            fail(
                f"customer class {class_name!r}: custom field {name!r} twice (columns are "
                "matched ignoring case and underscores)",
                _key("name"),
                1,
                start,
            )
        mandatory = field.get("mandatory", False)
        if not isinstance(mandatory, bool):
            fail(
                f"custom field {name!r}: mandatory must be true or false",
                _key("mandatory"),
                1,
                start,
            )
        pattern = field.get("pattern")
        if pattern is not None:
            problem = _pattern_problem(pattern)
            if problem:
                fail(
                    f"custom field {name!r}: bad pattern {pattern!r}: {problem}",
                    _key("pattern"),
                    1,
                    start,
                )
        typed = _typed(field, name, pattern, fail, start)
        _same_everywhere(typed, field, class_name, known, fail, start)
        fields.append(typed)
    return tuple(fields)


def _typed(
    field: dict, name: str, pattern: str | None, fail: Callable[..., NoReturn], start: int
) -> CustomField:
    """A custom field with its type, values, default (checked, as its canonical text) and
    whether it is personal; `pattern` is checked already."""

    def refuse(message: str, key: str) -> NoReturn:
        needle = _key(key) if key in field else _FIELD_HEADER  # the field's table, then
        fail(f"custom field {name!r}: {message}", needle, 1, start)

    kind = field.get("type", "text")
    if kind not in FIELD_TYPES:
        refuse(f"type {kind!r} is not one of {', '.join(FIELD_TYPES)}", "type")
    if pattern is not None and kind != "text":
        refuse(f"a pattern is for text fields; a {kind} field is checked by its type", "pattern")
    values = field.get("values")
    if kind != "list" and values is not None:
        refuse('values are for list fields (type = "list")', "values")
    if kind == "list":
        if not isinstance(values, list) or not values:
            refuse("a list field needs values = [...], the values it allows", "values")
        for value in values:
            if not isinstance(value, str) or not value.strip():
                refuse("values must be non-empty strings", "values")
        for value, (earlier, problem) in zip(values, _labels(values), strict=True):
            if problem:
                refuse(f"value {value!r} {problem}", "values")
            if earlier is not None:
                refuse(f"value {value!r} is listed twice (or like another value)", "values")
        values = tuple(v.strip() for v in values)
    personal = field.get("personal", False)
    if not isinstance(personal, bool):
        refuse("personal must be true or false", "personal")
    given = field.get("default")
    default = None
    if given is not None:
        default, problem = _default(kind, given, values or (), pattern)
        if problem:
            refuse(f"default {given!r} {problem}", "default")
    return CustomField(
        name, field.get("mandatory", False), pattern, kind, values or (), default, personal
    )


def _default(kind: str, given, values: tuple[str, ...], pattern: str | None):
    """(the canonical text of a default, why it cannot be one): read as a cell of the field is
    (numbers with a decimal point, dates ISO), and as the import would store it."""
    if isinstance(given, bool) or not isinstance(given, str | int | float | dt.date):
        return None, f"is not a {kind} value"
    if isinstance(given, float):
        text = format(Decimal(repr(given)), "f") if math.isfinite(given) else repr(given)
    elif isinstance(given, dt.date):
        text = given.isoformat()  # a TOML date or date-time (with its offset, if it has one)
    else:
        text = str(given).strip()
    if kind == "text" and not isinstance(given, str):
        return None, "is not text; write it in quotes"
    if not text:
        return None, "is empty; leave the default out instead"
    frame = pl.DataFrame({text_column("default"): [text], "billing_period_timezone": ["UTC"]})

    def value(zone: str = "UTC") -> str | None:
        at = frame.with_columns(billing_period_timezone=pl.lit(zone))
        return at.select(field_values(at, "default", kind, values, Conventions())).item()

    canonical = value()
    if kind == "text":
        if re.search(CONTROL_CHARACTERS, text):
            return None, "holds a control character"
        if len(text) > MAX_CELL:
            return None, _TOO_LONG
        if pattern and not pl.select(pl.lit(text).str.contains(whole_value(pattern))).item():
            return None, f"does not match the field's pattern {pattern!r}"
    elif canonical is None:
        return None, {
            "number": "is not a number; write it as 1500.50 or 1500",
            "date": "is not a date; write it as YYYY-MM-DD",
            "datetime": "is not a date and time; write it as 2026-01-01T09:00:00+01:00",
            "list": f"is not one of the field's values ({', '.join(values)})",
        }[kind]
    elif kind == "datetime" and value("Asia/Tokyo") != canonical:  # no offset: no one instant
        return None, "has no offset, so it is no one instant; add one, e.g. +00:00 or Z"
    return canonical, None


def _same_everywhere(
    typed: CustomField,
    written: dict,
    class_name: str,
    known: dict[str, tuple[CustomField, str]],
    fail: Callable[..., NoReturn],
    start: int,
) -> None:
    """A field has one type (and list of values), and is personal or not, in every class that
    has it: it is checked, stored and shown by field, not by class. `written`: its table."""
    first, first_class = known.setdefault(header_key(typed.name), (typed, class_name))
    if first.name != typed.name:
        fail(
            f"custom field {typed.name!r} is {first.name!r} in customer class {first_class!r}: "
            "the same column (matched ignoring case and underscores); spell it one way",
            _key("name"),
            1,
            start,
        )
    for what in ("type", "values", "personal"):
        if getattr(first, what) != getattr(typed, what):
            fail(
                f"custom field {typed.name!r}: {what} differs from the field of the same name in "
                f"customer class {first_class!r}; a field has the same type, values and "
                "personal mark in every class",
                _key(what) if what in written else _FIELD_HEADER,
                1,
                start,
            )


_TOO_LONG = f"is longer than a cell holds ({MAX_CELL:,} characters)"


def _is_iso4217(code: str) -> bool:
    return minor_units(code) is not None


def _labels(texts: list[str]) -> list[tuple[str | None, str | None]]:
    """For names a clerk picks from a list (business models, classes, a list field's values):
    the earlier one that looks the same (as customer names compare), if any, and why it cannot
    be one, if so: too long for a cell, a control character, an invisible one."""
    given = pl.Series(texts, dtype=pl.String)
    cleaned = clean_names(given)
    hidden = (cleaned != given.str.strip_chars().str.normalize("NFC")).fill_null(True)
    first: dict[str | None, str] = {}  # by key: the first text with it
    found = []
    for text, key, invisible in zip(texts, name_keys(cleaned), hidden, strict=True):
        problem = None
        if len(text) > MAX_CELL:
            problem = _TOO_LONG
        elif re.search(CONTROL_CHARACTERS, text):
            problem = "holds a tab, line break, escape, bidi override or other control character"
        elif invisible:
            problem = "holds invisible characters (a zero-width space, a soft hyphen...)"
        found.append((first.get(key), problem))
        first.setdefault(key, text)
    return found


def _pattern_problem(pattern) -> str | None:
    """Why a pattern cannot be used, or None. It must work for Python and for polars, on its
    own (so that wrapping it cannot change its meaning: `[0-9]{3})|(.*` is not one pattern) and
    exactly as the import applies it (`whole_value`)."""
    if not isinstance(pattern, str) or not pattern:
        return "must be a non-empty string"
    return _regex_problem(pattern)


@functools.cache  # a reference often gives many fields the same pattern
def _regex_problem(pattern: str) -> str | None:
    try:
        with warnings.catch_warnings():  # Python's FutureWarnings of sets it may read otherwise
            warnings.simplefilter("ignore")
            re.compile(pattern)
        pl.select(pl.lit("").str.contains(pattern))
        pl.select(pl.lit("").str.contains(whole_value(pattern)))
    except re.error as e:
        return str(e)
    except pl.exceptions.ComputeError as e:
        lines = [ln.strip() for ln in str(e).splitlines() if ln.strip().startswith("error:")]
        return lines[0].removeprefix("error:").strip() if lines else "not supported by polars"
    return None


def _key(key: str) -> re.Pattern:
    """A line that sets `key` (`key =`, `"key" =`, `key.sub =`) or opens a table `[...key]`."""
    return re.compile(
        rf"""(?:^|[{{,\[])\s*(?:[\w"'-]+\s*\.\s*)*["']?{re.escape(key)}["']?\s*[=.\]]"""
    )


def _quoted(value: str) -> re.Pattern:
    """`value` as a TOML string, in either quotes, ignoring case."""
    return re.compile(rf"""["']{re.escape(value)}["']""", re.IGNORECASE)


def _line_of(text: str, needle: re.Pattern, occurrence: int = 1, start: int = 1) -> int | None:
    """The number of the `occurrence`-th line from line `start` on that holds `needle`, if any."""
    hits = [n for n, line in enumerate(text.split("\n"), 1) if n >= start and needle.search(line)]
    if not hits:
        return None
    return hits[min(occurrence, len(hits)) - 1]
