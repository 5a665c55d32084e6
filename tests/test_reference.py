"""Tests for pipeline.reference: the sample loads; a wrong reference is refused at its line."""

import re

import pytest

from pipeline.errors import ReferenceFileError, UsageError
from pipeline.reference import load_reference, parse_reference
from schemas.reference import CustomerClass, CustomField

# Two classes, each with custom fields; the line numbers below count from `currencies` = line 1.
TWO = """\
currencies = ["USD", "EUR"]
business_models = ["Hosted IP PBX", "Internet access"]

[[customer_classes]]
name = "Retail"
[[customer_classes.custom_fields]]
name = "email"
mandatory = true
pattern = "[^@]+@[^@]+"

[[customer_classes]]
name = "Business"
[[customer_classes.custom_fields]]
name = "tax_id"
mandatory = true
pattern = "[A-Z]{2}[0-9]{6,10}"
[[customer_classes.custom_fields]]
name = "licence"
"""
CURRENCIES = 'currencies = ["USD", "EUR"]\n'


def lines(text: str, **changed: str) -> str:
    """`text` with line N replaced by changed["lN"] (which may hold several lines)."""
    rows = text.split("\n")
    for key, new in changed.items():
        rows[int(key.removeprefix("l")) - 1] = new
    return "\n".join(rows)


def test_the_two_class_reference_loads():
    reference = parse_reference(TWO, "ref.toml")
    assert [c.name for c in reference.customer_classes] == ["Retail", "Business"]
    assert reference.custom_field_names == ("email", "tax_id", "licence")


def test_a_reference_names_its_reseller_or_is_the_default_one():
    assert parse_reference(TWO, "ref.toml").reseller == "default"
    named = parse_reference('reseller = "acme-Telecom_2"\n' + TWO, "ref.toml")
    assert named.reseller == "acme-Telecom_2"
    assert named.text.startswith('reseller = "acme-Telecom_2"')


def test_the_sample_reference_loads(reference_path):
    reference = load_reference(reference_path)
    assert reference.currencies == ("USD", "EUR", "CZK", "JPY", "BHD")
    assert reference.business_models == ("Hosted IP PBX", "Internet access")
    assert reference.customer_classes == (
        CustomerClass("Retail"),
        CustomerClass("Business", (CustomField("tax_id", True, "^[A-Z]{2}[0-9]{6,10}$"),)),
        CustomerClass(
            "Hosted EU",
            (
                CustomField("seats", type="number", default="1"),
                CustomField(
                    "plan", True, type="list", values=("Basic", "Premium"), default="Basic"
                ),
                CustomField("contact_email", pattern="[^@\\s]+@[^@\\s]+", personal=True),
            ),
            currency="EUR",
            business_model="Hosted IP PBX",
        ),
    )
    assert reference.class_currencies == {"Hosted EU": "EUR"}
    assert reference.class_business_models == {"Hosted EU": "Hosted IP PBX"}
    assert reference.custom_field_names == ("tax_id", "seats", "plan", "contact_email")
    assert reference.personal_fields == ("contact_email",)
    assert reference.minor_units() == {"USD": 2, "EUR": 2, "CZK": 2, "JPY": 0, "BHD": 3}
    assert reference.text == reference_path.read_text(encoding="utf-8")


def test_a_class_fixes_an_enabled_currency_and_business_model_in_the_references_spelling():
    reference = parse_reference(
        lines(TWO, l12='name = "Business"\ncurrency = " eur "\nbusiness_model = "HOSTED ip pbx"')
    )
    assert reference.class_currencies == {"Business": "EUR"}
    assert reference.class_business_models == {"Business": "Hosted IP PBX"}
    assert reference.customer_classes[0].currency is None


def test_typed_fields_keep_their_defaults_in_canonical_form():
    reference = parse_reference(
        lines(
            TWO,
            l18='name = "licence"\ntype = "number"\ndefault = "+0010.50"\n'
            '[[customer_classes.custom_fields]]\nname = "since"\ntype = "date"\n'
            "default = 2026-01-05\n"
            '[[customer_classes.custom_fields]]\nname = "signed"\ntype = "datetime"\n'
            'default = "2026-01-05 10:00+01:00"\n'
            '[[customer_classes.custom_fields]]\nname = "plan"\ntype = "list"\n'
            'values = [" Gold ", "Silver"]\ndefault = "GOLD"\n'
            '[[customer_classes.custom_fields]]\nname = "ratio"\ntype = "number"\n'
            "default = 2.5e3\n",
        )
    )
    fields = {f.name: f for f in reference.customer_classes[1].custom_fields}
    assert fields["licence"].default == "10.5"
    assert fields["since"].default == "2026-01-05"
    assert fields["signed"].default == "2026-01-05T09:00:00+00:00"
    assert (fields["plan"].values, fields["plan"].default) == (("Gold", "Silver"), "Gold")
    assert fields["ratio"].default == "2500"
    assert reference.field_uses["plan"].defaults == {"Business": "Gold"}


def test_a_reference_is_normalized():
    reference = parse_reference(
        """\
currencies = ['usd', "Jpy", "bhd"]
business_models = ["  Internet access "]
customer_classes = [
  {name = " Retail ", custom_fields = [{name = "tax_id", pattern = "[0-9]+"}]},
  {name = "Business", custom_fields = [{name = "tax_id", mandatory = true}]},
]
"""
    )
    assert reference.currencies == ("USD", "JPY", "BHD")
    assert reference.minor_units() == {"USD": 2, "JPY": 0, "BHD": 3}
    assert reference.business_models == ("Internet access",)
    assert [c.name for c in reference.customer_classes] == ["Retail", "Business"]
    assert reference.customer_classes[0].custom_fields == (CustomField("tax_id", False, "[0-9]+"),)
    assert reference.customer_classes[1].field_names == ("tax_id",)
    assert reference.custom_field_names == ("tax_id",)  # once, though two classes have it


BAD = [
    # (id, text, line, the message from its start)
    ("TOML: string not closed", lines(TWO, l5='name = "Retail'), 5, "not valid TOML: "),
    ("TOML: key set twice", lines(TWO, l10='name = "Again"'), 10, "not valid TOML: "),
    (
        "TOML: table not closed",
        lines(TWO, l13="[[customer_classes.custom_fields]"),
        13,
        "not valid TOML: ",
    ),
    (
        "currency not ISO 4217",
        lines(TWO, l1='currencies = [\n  "USD",\n  "XYZ",\n]'),
        3,
        "currency 'XYZ' is not an ISO 4217 code with minor units",
    ),
    (
        "currency not ISO 4217, single quotes",
        lines(TWO, l1="currencies = [\n  'USD',\n  'xyz',\n]"),
        3,
        "currency 'xyz' is not an ISO 4217 code",
    ),
    (
        "currency without minor units",
        lines(TWO, l1='currencies = [\n  "USD",\n  "XAU",\n]'),
        3,
        "currency 'XAU' is not an ISO 4217 code with minor units",
    ),
    (
        "currency a number",
        lines(TWO, l1='currencies = ["USD", 840]'),
        1,
        "currency 840 is not an ISO 4217 code",
    ),
    (
        "currency twice",
        lines(TWO, l1='currencies = [\n  "USD",\n  "EUR",\n  "usd",\n]'),
        4,
        "currency 'usd' is listed twice",
    ),
    ("no currencies", lines(TWO, l1="currencies = []"), 1, "'currencies' must be a non-empty"),
    (
        "business model twice",
        lines(TWO, l2='business_models = [\n  "Hosted IP PBX",\n  "hosted ip pbx",\n]'),
        4,
        "business model 'hosted ip pbx' is listed twice",
    ),
    (
        "business model not text",
        lines(TWO, l2='business_models = ["Hosted IP PBX", 3]'),
        2,
        "business models must be non-empty strings",
    ),
    (
        "class named twice",
        lines(TWO, l12='name = "retail"'),
        12,
        "customer class 'retail' is named twice",
    ),
    (
        "class named twice, also a business model",
        lines(TWO, l2='business_models = ["Retail"]', l12='name = "RETAIL"'),
        12,
        "customer class 'RETAIL' is named twice",
    ),
    (
        "class without a name",
        lines(TWO, l12='title = "Business"'),
        11,
        "every customer class needs a name",
    ),
    (
        "classes not tables",
        CURRENCIES + 'business_models = ["x"]\ncustomer_classes = ["Retail"]\n',
        3,
        "at least one [[customer_classes]] table",
    ),
    (
        "bad pattern",
        lines(TWO, l16='pattern = "[A-Z]{2}[0-9]{6,10}("'),
        16,
        "custom field 'tax_id': bad pattern '[A-Z]{2}[0-9]{6,10}(': missing ), unterminated",
    ),
    (
        "bad pattern that is a prefix of other lines",
        lines(TWO, l16='pattern = "["'),
        16,
        "custom field 'tax_id': bad pattern '[': unterminated character set",
    ),
    (
        "pattern polars cannot run",
        lines(TWO, l16='pattern = "(?=CZ)[A-Z]{2}"'),
        16,
        "custom field 'tax_id': bad pattern '(?=CZ)[A-Z]{2}': look-around",
    ),
    (
        "bad pattern with escapes",
        lines(TWO, l16="pattern = '\\d{4}\\'"),
        16,
        "custom field 'tax_id': bad pattern '\\\\d{4}\\\\': ",
    ),
    (
        "empty pattern",
        lines(TWO, l16='pattern = ""'),
        16,
        "custom field 'tax_id': bad pattern '': must be a non-empty string",
    ),
    (
        "class currency not enabled",
        lines(TWO, l12='name = "Business"\ncurrency = "GBP"'),
        13,
        "customer class 'Business': currency 'GBP' is not one of the reference's currencies; "
        "add it to currencies or fix the class",
    ),
    (
        "class currency not a string",
        lines(TWO, l5='name = "Retail"\ncurrency = 978'),
        6,
        "customer class 'Retail': currency 978 is not one of the reference's currencies",
    ),
    (
        "class business model not in the reference",
        lines(TWO, l12='name = "Business"\ncurrency = "eur"\nbusiness_model = "Satellite TV"'),
        14,
        "customer class 'Business': business model 'Satellite TV' is not one of the reference's "
        "business models; add it to business_models or fix the class",
    ),
    (
        "unknown field type",
        lines(TWO, l18='name = "licence"\ntype = "integer"'),
        19,
        "custom field 'licence': type 'integer' is not one of text, number, date, datetime, list",
    ),
    (
        "pattern on a number field",
        lines(TWO, l18='name = "licence"\ntype = "number"\npattern = "[0-9]+"'),
        20,
        "custom field 'licence': a pattern is for text fields; a number field is checked by its "
        "type",
    ),
    (
        "values on a text field",
        lines(TWO, l18='name = "licence"\nvalues = ["A"]'),
        19,
        "custom field 'licence': values are for list fields (type = \"list\")",
    ),
    (
        "list without values",
        lines(TWO, l18='name = "licence"\ntype = "list"'),
        17,
        "custom field 'licence': a list field needs values = [...]",
    ),
    (
        "list value twice",
        lines(TWO, l18='name = "licence"\ntype = "list"\nvalues = ["Gold", "gold"]'),
        20,
        "custom field 'licence': value 'gold' is listed twice",
    ),
    (
        "personal not true or false",
        lines(TWO, l18='name = "licence"\npersonal = "yes"'),
        19,
        "custom field 'licence': personal must be true or false",
    ),
    (
        "number default not a number",
        lines(TWO, l18='name = "licence"\ntype = "number"\ndefault = "1,5"'),
        20,
        "custom field 'licence': default '1,5' is not a number; write it as 1500.50 or 1500",
    ),
    (
        "date default not a date",
        lines(TWO, l18='name = "licence"\ntype = "date"\ndefault = "2026-02-30"'),
        20,
        "custom field 'licence': default '2026-02-30' is not a date; write it as YYYY-MM-DD",
    ),
    (
        "date-time default without an offset",
        lines(TWO, l18='name = "licence"\ntype = "datetime"\ndefault = 2026-01-01T09:00:00'),
        20,
        "custom field 'licence': default datetime.datetime(2026, 1, 1, 9, 0) has no offset",
    ),
    (
        "list default not a value",
        lines(TWO, l18='name = "licence"\ntype = "list"\nvalues = ["A", "B"]\ndefault = "C"'),
        21,
        "custom field 'licence': default 'C' is not one of the field's values (A, B)",
    ),
    (
        "text default not matching the pattern",
        lines(TWO, l16='pattern = "[A-Z]{2}[0-9]{6,10}"\ndefault = "none"'),
        17,
        "custom field 'tax_id': default 'none' does not match the field's pattern",
    ),
    (
        "text default not text",
        lines(TWO, l18='name = "licence"\ndefault = 7'),
        19,
        "custom field 'licence': default 7 is not text; write it in quotes",
    ),
    (
        "empty default",
        lines(TWO, l18='name = "licence"\ndefault = " "'),
        19,
        "custom field 'licence': default ' ' is empty; leave the default out instead",
    ),
    (
        "field typed differently in two classes",
        lines(TWO, l7='name = "licence"\ntype = "date"', l9=""),
        18,
        "custom field 'licence': type differs from the field of the same name in customer class "
        "'Retail'; a field has the same type, values and personal mark in every class",
    ),
    (
        "field personal in one class only",
        lines(TWO, l7='name = "licence"\npersonal = true'),
        18,
        "custom field 'licence': personal differs from the field of the same name in customer "
        "class 'Retail'",
    ),
    (
        "unknown top-level key",
        lines(TWO, l3='timezone = "UTC"'),
        3,
        "unknown key 'timezone' (expected business_models, currencies, customer_classes, reseller)",
    ),
    (
        "reseller with a space",
        lines(TWO, l3='reseller = "acme telecom"'),
        3,
        "reseller 'acme telecom' must be an identifier: ASCII letters, digits, '-' and '_'",
    ),
    (
        "reseller empty",
        lines(TWO, l3='reseller = ""'),
        3,
        "reseller '' must be an identifier",
    ),
    (
        "reseller not a string",
        lines(TWO, l3="reseller = 7"),
        3,
        "reseller 7 must be an identifier",
    ),
    (
        "reseller with a non-ASCII letter",
        lines(TWO, l3='reseller = "télé-acme"'),
        3,
        "reseller 'télé-acme' must be an identifier",
    ),
    (
        "reseller too long",
        lines(TWO, l3=f'reseller = "{"a" * 65}"'),
        3,
        f"reseller '{'a' * 65}' must be an identifier",
    ),
    (
        "unknown top-level key inside another key",
        lines(TWO, l3="models = []"),
        3,
        "unknown key 'models'",
    ),
    (
        "unknown class key",
        lines(TWO, l12='name = "Business"\ngrace_days = 5'),
        13,
        "customer class 'Business': unknown key 'grace_days'",
    ),
    (
        "field key on the class",
        lines(TWO, l12='name = "Business"\nmandatory = true'),
        13,
        "customer class 'Business': unknown key 'mandatory'",
    ),
    (
        "custom_field misspelled",
        lines(TWO, l13="[[customer_classes.custom_field]]"),
        13,
        "customer class 'Business': unknown key 'custom_field'",
    ),
    (
        "custom fields not tables",
        lines(TWO, l6='custom_fields = ["email"]', l7="", l8="", l9=""),
        6,
        "customer class 'Retail': custom_fields must be [[customer_classes.custom_fields]]",
    ),
    (
        "unknown field key",
        lines(TWO, l15="required = true"),
        15,
        "custom field 'tax_id': unknown key 'required'",
    ),
    (
        "mandatory not true or false",
        lines(TWO, l15='mandatory = "yes"'),
        15,
        "custom field 'tax_id': mandatory must be true or false",
    ),
    (
        "field name with a space",
        lines(TWO, l14='name = "tax id"'),
        14,
        "customer class 'Business': custom field name 'tax id' must be letters",
    ),
    (
        "field without a name",
        lines(TWO, l14='label = "tax_id"'),
        13,
        "customer class 'Business': custom field name None must be letters",
    ),
    (
        "field named like a standard column",
        lines(TWO, l14='name = "Credit_Limit"'),
        14,
        "custom field 'Credit_Limit' has the name of a standard column",
    ),
    (
        "field twice in a class",
        lines(TWO, l18='name = "tax_id"'),
        18,
        "customer class 'Business': custom field 'tax_id' twice",
    ),
    (
        "field twice in a class, spelled otherwise: one column",
        lines(TWO, l18='name = "TaxId"'),
        18,
        "customer class 'Business': custom field 'TaxId' twice (columns are matched ignoring",
    ),
    (
        "a field spelled otherwise in another class: one column",
        lines(TWO, l14='name = "EMAIL"'),
        14,
        "custom field 'EMAIL' is 'email' in customer class 'Retail': the same column",
    ),
    (
        "pattern that escapes the whole-value anchors once wrapped",
        lines(TWO, l16='pattern = "[0-9]{3})|(.*"'),
        16,
        "custom field 'tax_id': bad pattern '[0-9]{3})|(.*': ",
    ),
    (
        "business model with a line break",
        lines(TWO, l2='business_models = ["Hosted IP PBX", "Internet\\naccess"]'),
        2,
        "business model 'Internet\\naccess' holds a tab, line break, escape, bidi override",
    ),
    (
        "business model with a zero-width space",
        lines(TWO, l2='business_models = ["Hosted IP PBX", "Inter\\u200bnet access"]'),
        2,
        "business model 'Inter\\u200bnet access' holds invisible characters",
    ),
    (
        "business models that look the same",
        lines(TWO, l2='business_models = ["Hosted IP PBX", "\\uff28osted IP PBX"]'),
        2,
        "business model '\uff28osted IP PBX' is listed twice (as 'Hosted IP PBX')",
    ),
    (
        "class name with a bidi override",
        lines(TWO, l5='name = "Retail\\u202e"'),
        5,
        "customer class 'Retail\\u202e' holds a tab, line break, escape, bidi override",
    ),
    (
        "class name longer than a cell",
        lines(TWO, l5=f'name = "{"R" * 40_000}"'),
        5,
        f"customer class '{'R' * 40_000}' is longer than a cell holds (32,767 characters)",
    ),
    (
        "classes that look the same",
        lines(TWO, l12='name = "Re\\u200ctail"'),
        12,
        "customer class 'Re\\u200ctail' holds invisible characters",
    ),
    (
        "list value with a tab",
        lines(TWO, l16='type = "list"\nvalues = ["Ba\\tsic", "Pro"]'),
        17,
        "custom field 'tax_id': value 'Ba\\tsic' holds a tab, line break, escape, bidi",
    ),
    (
        "list values that look the same",
        lines(TWO, l16='type = "list"\nvalues = ["Straße", "STRASSE"]'),
        17,
        "custom field 'tax_id': value 'STRASSE' is listed twice (or like another value)",
    ),
]


@pytest.mark.parametrize(("text", "line", "message"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_a_wrong_reference_is_refused_at_its_line(text, line, message):
    with pytest.raises(ReferenceFileError, match="^" + re.escape(f"ref.toml:{line}: {message}")):
        parse_reference(text, "ref.toml")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('business_models = ["x"]\n[[customer_classes]]\nname = "A"\n', "'currencies' must be"),
        (CURRENCIES + '[[customer_classes]]\nname = "A"\n', "'business_models' must be"),
        (CURRENCIES + 'business_models = ["x"]\n', "at least one [[customer_classes]] table"),
    ],
    ids=["no currencies", "no business models", "no classes"],
)
def test_a_missing_part_is_refused(text, message):
    with pytest.raises(ReferenceFileError, match="^" + re.escape(f"ref.toml: {message}")):
        parse_reference(text, "ref.toml")


def test_a_wrong_reference_file_names_the_file_and_line(tmp_path):
    path = tmp_path / "reference.toml"
    path.write_text(lines(TWO, l12='name = "retail"'), encoding="utf-8")
    with pytest.raises(ReferenceFileError, match="^" + re.escape(f"{path}:12: customer class")):
        load_reference(path)


def test_a_reference_with_a_byte_order_mark_loads(tmp_path):
    path = tmp_path / "reference.toml"
    path.write_text("\ufeff" + TWO, encoding="utf-8")
    assert load_reference(path).currencies == ("USD", "EUR")


def test_a_missing_reference_file_is_refused(tmp_path):
    path = tmp_path / "nowhere.toml"
    with pytest.raises(ReferenceFileError, match="cannot read the reference file") as refused:
        load_reference(path)
    assert isinstance(refused.value, UsageError)
    assert refused.value.exit_code == 2


def test_a_reference_not_in_utf8_is_refused(tmp_path):
    path = tmp_path / "reference.toml"
    path.write_bytes(TWO.replace("Retail", "Détail").encode("latin-1"))
    with pytest.raises(ReferenceFileError, match="the reference file is not UTF-8 text"):
        load_reference(path)
