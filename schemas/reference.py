"""What a reseller's reference holds: the currencies, business models and customer classes it
enables, and each class's custom fields (loaded and checked by `pipeline/reference.py`)."""

import functools
from dataclasses import dataclass

from schemas.vocabulary import minor_units


@dataclass(frozen=True)
class CustomField:
    name: str
    mandatory: bool = False
    pattern: str | None = None


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
    """Which classes have a custom field, and what each asks of it."""

    classes: tuple[str, ...]  # the classes that have the field
    mandatory: tuple[str, ...]  # those that make it mandatory
    patterns: dict[str, tuple[str, ...]]  # pattern -> the classes that ask for it


@dataclass(frozen=True)
class Reference:
    currencies: tuple[str, ...]
    business_models: tuple[str, ...]
    customer_classes: tuple[CustomerClass, ...]
    text: str  # the TOML as written, kept so `reference show` gives back what was loaded

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
        for klass in self.customer_classes:
            for field in klass.custom_fields:
                classes.setdefault(field.name, []).append(klass.name)
                if field.mandatory:
                    mandatory.setdefault(field.name, []).append(klass.name)
                if field.pattern:
                    by_pattern = patterns.setdefault(field.name, {})
                    by_pattern.setdefault(field.pattern, []).append(klass.name)
        return {
            name: FieldUse(
                tuple(used),
                tuple(mandatory.get(name, ())),
                {p: tuple(c) for p, c in patterns.get(name, {}).items()},
            )
            for name, used in classes.items()
        }

    def minor_units(self) -> dict[str, int | None]:
        """Decimal places of each enabled currency (JPY 0, USD 2, BHD 3)."""
        return {code: minor_units(code) for code in self.currencies}


def whole_value(pattern: str) -> str:
    """A custom field's pattern as the import applies it: to the whole value."""
    return f"^(?:{pattern})$"
