"""`onboard reference load|show`: a checked reference stored in the database, replacing the last."""

from helpers import query


def test_load_stores_the_reference_and_show_prints_it(onboard, db, reference_path):
    loaded = onboard("reference", "load", str(reference_path))
    assert loaded.exit_code == 0
    assert "5 currencies, 2 business models, 3 customer classes" in loaded.stdout
    shown = onboard("reference", "show")
    assert shown.exit_code == 0
    assert shown.stdout.splitlines()[0] == f"# loaded from {reference_path}"
    assert shown.stdout.split("\n", 1)[1].rstrip() == reference_path.read_text().rstrip()


def test_load_replaces_the_stored_reference(onboard, db, reference_path, tmp_path):
    onboard("reference", "load", str(reference_path))
    other = tmp_path / "other.toml"
    other.write_text(
        'currencies = ["EUR"]\nbusiness_models = ["Cable"]\n\n[[customer_classes]]\nname = "Home"\n'
    )
    assert onboard("reference", "load", str(other)).exit_code == 0
    assert query(db, "SELECT source FROM reference") == [(str(other),)]
    assert 'business_models = ["Cable"]' in onboard("reference", "show").stdout


def test_import_with_reference_replaces_the_stored_one(
    onboard, db, batch, reference_path, tmp_path
):
    onboard("reference", "load", str(reference_path))
    other = tmp_path / "other.toml"
    other.write_text(
        'currencies = ["EUR"]\nbusiness_models = ["Cable"]\n\n[[customer_classes]]\nname = "Home"\n'
    )
    path = batch("Ann Co,Cable,Home,Daily,UTC,prepaid,EUR,,,")
    assert onboard("import", str(path), "--reference", str(other)).exit_code == 0
    assert query(db, "SELECT source FROM reference") == [(str(other),)]
    assert query(db, "SELECT name, business_model FROM customers") == [("Ann Co", "Cable")]


def test_a_wrong_reference_is_refused_with_its_line_and_nothing_stored(onboard, db, tmp_path):
    wrong = tmp_path / "wrong.toml"
    wrong.write_text('currencies = ["USD", "USX"]\nbusiness_models = ["A"]\n')
    result = onboard("reference", "load", str(wrong))
    assert result.exit_code == 2
    [line] = result.stderr.strip().splitlines()
    assert line == (
        f"onboard: error: {wrong}:1: currency 'USX' is not an ISO 4217 code with minor units"
    )
    assert not db.exists() or query(db, "SELECT count(*) FROM reference") == [(0,)]
