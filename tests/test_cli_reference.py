"""`onboard reference load|show`: a checked reference stored in the database as its reseller's
current one, every version kept."""

from helpers import query


def test_load_stores_the_reference_and_show_prints_it(onboard, db, reference_path):
    loaded = onboard("reference", "load", str(reference_path))
    assert loaded.exit_code == 0
    assert loaded.stdout.strip() == (
        f"reference {reference_path} stored in {db} as reseller default's reference version 1: "
        "5 currencies, 2 business models, 3 customer classes"
    )
    shown = onboard("reference", "show")
    assert shown.exit_code == 0
    first = shown.stdout.splitlines()[0]
    assert first.startswith("# reseller default, reference version 1 (the current one), ")
    assert f"loaded from {reference_path} at " in first and first.endswith(" UTC")
    assert shown.stdout.split("\n", 1)[1].rstrip() == reference_path.read_text().rstrip()


def test_load_stores_a_new_version_and_keeps_the_old(onboard, db, reference_path, tmp_path):
    onboard("reference", "load", str(reference_path))
    other = tmp_path / "other.toml"
    other.write_text(
        'currencies = ["EUR"]\nbusiness_models = ["Cable"]\n\n[[customer_classes]]\nname = "Home"\n'
    )
    loaded = onboard("reference", "load", str(other))
    assert loaded.exit_code == 0
    assert "as reseller default's reference version 2" in loaded.stdout
    assert query(db, "SELECT reseller, version, source FROM reference ORDER BY version") == [
        ("default", 1, str(reference_path)),
        ("default", 2, str(other)),
    ]
    assert 'business_models = ["Cable"]' in onboard("reference", "show").stdout
    first = onboard("reference", "show", "--version", "1").stdout
    assert "reference version 1 (not the current one)" in first.splitlines()[0]
    assert first.split("\n", 1)[1].rstrip() == reference_path.read_text().rstrip()


def test_loading_the_current_content_again_stores_no_version(onboard, db, reference_path, tmp_path):
    onboard("reference", "load", str(reference_path))
    copy = tmp_path / "copy.toml"
    copy.write_text(reference_path.read_text())
    again = onboard("reference", "load", str(copy))
    assert again.exit_code == 0
    assert again.stdout.strip() == (
        f"reference {copy} the same as reseller default's reference version 1, current in "
        f"{db}; nothing new stored: 5 currencies, 2 business models, 3 customer classes"
    )
    assert query(db, "SELECT version, source FROM reference") == [(1, str(reference_path))]


def test_an_unknown_version_is_a_usage_error(onboard, db, reference_path):
    onboard("reference", "load", str(reference_path))
    result = onboard("reference", "show", "--version", "2")
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "onboard: error: --version 2: reseller 'default' has reference version 1 only"
    )


def test_import_with_reference_makes_it_the_current_one(
    onboard, db, batch, reference_path, tmp_path
):
    onboard("reference", "load", str(reference_path))
    other = tmp_path / "other.toml"
    other.write_text(
        'currencies = ["EUR"]\nbusiness_models = ["Cable"]\n\n[[customer_classes]]\nname = "Home"\n'
    )
    path = batch("Ann Co,Cable,Home,Daily,UTC,prepaid,EUR,,,")
    assert onboard("import", str(path), "--reference", str(other)).exit_code == 0
    assert query(db, "SELECT version, source FROM reference ORDER BY version") == [
        (1, str(reference_path)),
        (2, str(other)),
    ]
    assert query(db, "SELECT name, business_model FROM customers") == [("Ann Co", "Cable")]
    assert query(db, "SELECT reseller, reference_version FROM batches") == [("default", 2)]


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


def test_show_escapes_what_would_drive_a_terminal_and_a_pattern_loads_without_noise(
    onboard, db, tmp_path
):
    path = tmp_path / "odd.toml"
    path.write_text(
        '# see \u202eevil\ncurrencies = ["EUR"]\nbusiness_models = ["Cable"]\n\n'
        '[[customer_classes]]\nname = "Home"\n[[customer_classes.custom_fields]]\n'
        'name = "code"\npattern = "[[:digit:]]+"\n',
        encoding="utf-8",
    )
    loaded = onboard("reference", "load", str(path))
    assert loaded.exit_code == 0 and loaded.stderr == ""  # no warning of Python's re
    shown = onboard("reference", "show").stdout
    assert "\u202e" not in shown  # TOML allows no other control character, but a tab
    assert "# see \\u202eevil\n" in shown
    assert 'pattern = "[[:digit:]]+"\n' in shown
