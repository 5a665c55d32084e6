"""Customer classes that fix a currency and a business model, end to end: what is stored."""

from helpers import AS_OF, customer, query, refused_reference

FIXING = """\
currencies = ["USD", "EUR"]
business_models = ["Hosted IP PBX", "Internet access"]

[[customer_classes]]
name = "Retail"

[[customer_classes]]
name = "Hosted EU"
currency = "EUR"
business_model = "Hosted IP PBX"
"""


def test_an_empty_cell_takes_the_class_value_and_another_value_is_rejected(
    onboard, db, batch, tmp_path
):
    reference = tmp_path / "fixing.toml"
    reference.write_text(FIXING, encoding="utf-8")
    sent = batch(
        customer("Ann Co", klass="Hosted EU", currency="", model=""),
        customer("Bob Co", klass="hosted eu", currency="eur", model="hosted ip pbx"),
        customer("Cid Co", klass="Hosted EU", currency="USD", model=""),
        customer("Dan Co", klass="Hosted EU", currency="", model="Internet access"),
        customer("Eve Co", klass="Retail", currency=""),
    )
    result = onboard("import", str(sent), "--reference", str(reference), "--as-of", AS_OF)

    assert result.exit_code == 0, result.output
    assert "rows read 5: accepted 2, rejected 3" in result.stdout
    assert query(db, "SELECT name, currency, business_model FROM customers ORDER BY name") == [
        ("Ann Co", "EUR", "Hosted IP PBX"),
        ("Bob Co", "EUR", "Hosted IP PBX"),
    ]
    rejected = 'SELECT source_row, "column", rule, value, message FROM rejections ORDER BY 1'
    assert query(db, rejected) == [
        (
            4,
            "currency",
            "currency_class_mismatch",
            "USD",
            "customer class 'Hosted EU' charges every customer in EUR, not 'USD'; leave the "
            "cell empty or write EUR",
        ),
        (
            5,
            "business_model",
            "business_model_class_mismatch",
            "Internet access",
            "customer class 'Hosted EU' gives every customer the business model Hosted IP PBX, "
            "not 'Internet access'; leave the cell empty or write Hosted IP PBX",
        ),
        (
            6,
            "currency",
            "currency_required",
            None,
            "the currency is empty; give an ISO 4217 code such as USD",
        ),
    ]


def test_a_file_without_the_currency_column_is_still_refused(onboard, db, batch, tmp_path):
    reference = tmp_path / "fixing.toml"
    reference.write_text(FIXING, encoding="utf-8")
    header = "name,business_model,customer_class,billing_period,billing_period_timezone," + (
        "balance_control"
    )
    sent = batch("Ann Co,,Hosted EU,Daily,UTC,prepaid", header=header)
    result = onboard("import", str(sent), "--reference", str(reference), "--as-of", AS_OF)
    assert result.exit_code == 2
    assert "missing required column(s) currency" in result.stderr
    assert query(db, "SELECT count(*) FROM customers") == [(0,)]


def test_reference_load_refuses_a_class_currency_not_enabled_at_its_line(onboard, db, tmp_path):
    reference = tmp_path / "wrong.toml"
    wrong = FIXING.replace('currency = "EUR"', 'currency = "GBP"')
    assert refused_reference(onboard, db, reference, wrong) == (
        f"onboard: error: {reference}:9: customer class 'Hosted EU': currency 'GBP' is not one "
        "of the reference's currencies; add it to currencies or fix the class"
    )


def test_reference_load_refuses_a_class_business_model_not_enabled_at_its_line(
    onboard, db, tmp_path
):
    reference = tmp_path / "wrong.toml"
    wrong = FIXING.replace('= "Hosted IP PBX"', '= "Satellite TV"')
    assert f"{reference}:10: customer class 'Hosted EU': business model 'Satellite TV'" in (
        refused_reference(onboard, db, reference, wrong)
    )
