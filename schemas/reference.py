"""What a reseller's reference holds: the currencies, business models and customer classes it
enables, and each class's custom fields (loaded and checked by `pipeline/reference.py`)."""

import functools
from dataclasses import dataclass, field

from schemas.vocabulary import minor_units

DEFAULT_RESELLER = "default"  # the reseller of a reference that names none
FIELD_TYPES = ("text", "number", "date", "datetime", "list")  # what a custom field holds


@dataclass(frozen=True)
class CustomField:
    name: str
    mandatory: bool = False
    pattern: str | None = None  # text fields only
    type: str = "text"  # one of FIELD_TYPES
    values: tuple[str, ...] = ()  # a list field's allowed values, in the reference's spelling
    default: str | None = None  # taken by an empty cell: canonical text, as custom_data keeps it
    personal: bool = False  # personal data: shown masked


@dataclass(frozen=True)
class CustomerClass:
    name: str
    custom_fields: tuple[CustomField, ...] = ()
    currency: str | None = None  # every customer of the class is charged in it
    business_model: str | None = None  # every customer of the class has it

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.custom_fields)


@dataclass(frozen=True)
class FieldUse:
    """Which classes have a custom field, and what each asks of it. A field has one type (with
    its values) and is personal or not in every class that has it (the loader sees to it)."""

    classes: tuple[str, ...]  # the classes that have the field
    mandatory: tuple[str, ...]  # those that make it mandatory
    patterns: dict[str, tuple[str, ...]]  # pattern -> the classes that ask for it
    type: str = "text"
    values: tuple[str, ...] = ()
    personal: bool = False
    defaults: dict[str, str] = field(default_factory=dict)  # class -> its default


@dataclass(frozen=True)
class Reference:
    currencies: tuple[str, ...]
    business_models: tuple[str, ...]
    customer_classes: tuple[CustomerClass, ...]
    text: str  # the TOML as written, kept so `reference show` gives back what was loaded
    reseller: str = DEFAULT_RESELLER  # whose reference it is: its customers and batches

    @functools.cached_property
    def class_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.customer_classes)

    @functools.cached_property
    def class_currencies(self) -> dict[str, str]:
        """The currency of each class that fixes one."""
        return {c.name: c.currency for c in self.customer_classes if c.currency}

    @functools.cached_property
    def class_business_models(self) -> dict[str, str]:
        """The business model of each class that fixes one."""
        return {c.name: c.business_model for c in self.customer_classes if c.business_model}

    @functools.cached_property
    def custom_field_names(self) -> tuple[str, ...]:
        return tuple(self.field_uses)

    @functools.cached_property
    def field_uses(self) -> dict[str, FieldUse]:
        """Each custom field (in the order first listed) and the classes that use it."""
        classes: dict[str, list[str]] = {}
        mandatory: dict[str, list[str]] = {}
        patterns: dict[str, dict[str, list[str]]] = {}
        defaults: dict[str, dict[str, str]] = {}
        first: dict[str, CustomField] = {}  # type, values and personal are the same in all
        for klass in self.customer_classes:
            for custom in klass.custom_fields:
                first.setdefault(custom.name, custom)
                classes.setdefault(custom.name, []).append(klass.name)
                if custom.mandatory:
                    mandatory.setdefault(custom.name, []).append(klass.name)
                if custom.pattern:
                    by_pattern = patterns.setdefault(custom.name, {})
                    by_pattern.setdefault(custom.pattern, []).append(klass.name)
                if custom.default is not None:
                    defaults.setdefault(custom.name, {})[klass.name] = custom.default
        return {
            name: FieldUse(
                tuple(used),
                tuple(mandatory.get(name, ())),
                {p: tuple(c) for p, c in patterns.get(name, {}).items()},
                first[name].type,
                first[name].values,
                first[name].personal,
                defaults.get(name, {}),
            )
            for name, used in classes.items()
        }

    @functools.cached_property
    def personal_fields(self) -> tuple[str, ...]:
        """The custom fields that hold personal data."""
        return tuple(name for name, use in self.field_uses.items() if use.personal)

    def minor_units(self) -> dict[str, int | None]:
        """Decimal places of each enabled currency (JPY 0, USD 2, BHD 3)."""
        return {code: minor_units(code) for code in self.currencies}


def whole_value(pattern: str) -> str:
    """A custom field's pattern as the import applies it: to the whole value."""
    return f"^(?:{pattern})$"
