"""Resellers: each has its own references (every version kept), batches and customers; names
are unique across all of them, and nothing one reseller is told names another's data."""

import csv
import io
import json

import pytest

from helpers import AS_OF, counts, customer, query, reference_with

ACME = "acme-telecom"
NAME_EXISTS = "a customer named 'Acme' already exists; use another name"


def reference_of(tmp_path, reseller: str, currencies=()):
    """The sample reference (with `currencies` enabled too), naming `reseller`."""
    text = reference_with(tmp_path, currencies=currencies).read_text(encoding="utf-8")
    path = tmp_path / f"{reseller}{''.join(f'-{c}' for c in currencies)}.toml"
    path.write_text(f'reseller = "{reseller}"\n{text}', encoding="utf-8")
    return path


@pytest.fixture
def acme(tmp_path):
    return reference_of(tmp_path, ACME)


@pytest.fixture
def two_resellers(onboard, reference_path, acme):
    """The sample reference stored for `default`, and for acme-telecom."""
    assert onboard("reference", "load", str(reference_path)).exit_code == 0
    assert onboard("reference", "load", str(acme)).exit_code == 0


def one_line_error(result, exit_code: int = 2) -> str:
    assert result.exit_code == exit_code, result.output
    [line] = result.stderr.splitlines()
    assert line.startswith("onboard: error: ")
    return line.removeprefix("onboard: error: ")


# ---------------------------------------------------------------------------------------------
# A reference names its reseller; an import is for the reseller of its reference


def test_an_import_with_a_reference_is_for_its_reseller(onboard, db, batch, acme):
    result = onboard("import", str(batch(customer("Acme"))), "--reference", str(acme), "--json")

    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["reseller"], summary["reference_version"]) == (ACME, 1)
    assert query(db, "SELECT reseller, version, source FROM reference") == [(ACME, 1, str(acme))]
    assert query(db, "SELECT batch_id, reseller, reference_version FROM batches") == [(1, ACME, 1)]
    assert query(db, "SELECT name, reseller FROM customers") == [("Acme", ACME)]
    shown = onboard("show", "1").stdout.splitlines()
    assert "reseller:           acme-telecom" in shown
    assert "reference_version:  1" in shown


def test_the_readable_summary_names_the_reseller_and_version(onboard, batch, acme):
    result = onboard("import", str(batch(customer("Acme"))), "--reference", str(acme))
    assert result.stdout.splitlines()[2] == "  reseller acme-telecom, reference version 1"


def test_a_wrong_reseller_in_the_reference_writes_nothing(onboard, db, batch, tmp_path):
    wrong = reference_of(tmp_path, "acme telecom")
    result = onboard("import", str(batch(customer("Acme"))), "--reference", str(wrong))
    assert one_line_error(result) == (
        f"{wrong}:1: reseller 'acme telecom' must be an identifier: ASCII letters, digits, "
        "'-' and '_', at most 64 characters, e.g. \"acme-telecom\""
    )
    assert not db.exists()


def test_each_reseller_keeps_its_versions_and_the_same_content_stores_none(
    onboard, db, batch, tmp_path, reference_path, acme
):
    def run(reference, name):
        path = batch(customer(name), name=f"{name}.csv")
        assert onboard("import", str(path), "--reference", str(reference)).exit_code == 0

    run(acme, "Ann")
    copy = tmp_path / "copy.toml"
    copy.write_text(acme.read_text())
    run(copy, "Bob")  # the same content: still version 1
    run(reference_of(tmp_path, ACME, currencies=["GBP"]), "Cid")  # changed: version 2
    run(reference_path, "Dan")  # the default reseller's first

    assert query(db, "SELECT reseller, version, source FROM reference ORDER BY ALL") == [
        (ACME, 1, str(acme)),
        (ACME, 2, str(tmp_path / "acme-telecom-GBP.toml")),
        ("default", 1, str(reference_path)),
    ]
    assert query(db, "SELECT batch_id, reseller, reference_version FROM batches ORDER BY 1") == [
        (1, ACME, 1),
        (2, ACME, 1),
        (3, ACME, 2),
        (4, "default", 1),
    ]


# ---------------------------------------------------------------------------------------------
# Which reseller an import is for: --reference, --reseller, or the only one stored


def test_reseller_imports_against_its_stored_current_reference(onboard, db, batch, two_resellers):
    result = onboard("import", str(batch(customer("Acme"))), "--reseller", ACME, "--json")

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["reseller"] == ACME
    assert query(db, "SELECT reseller, reference_version FROM batches") == [(ACME, 1)]
    assert query(db, "SELECT reseller FROM customers") == [(ACME,)]


def test_with_several_resellers_stored_one_must_be_named(onboard, db, batch, two_resellers):
    result = onboard("import", str(batch(customer("Acme"))))
    assert one_line_error(result) == (
        "the database holds the references of 2 resellers (acme-telecom, default); pass "
        "--reseller ID"
    )
    assert counts(db) == (0, 0, 0)


def test_an_unknown_reseller_is_refused_naming_the_stored_ones(onboard, db, batch, two_resellers):
    result = onboard("import", str(batch(customer("Acme"))), "--reseller", "acme")
    assert one_line_error(result) == (
        "no reference stored for reseller 'acme' (stored: acme-telecom, default); load its "
        "reference first (`onboard reference load FILE`)"
    )
    assert counts(db) == (0, 0, 0)


def test_a_reseller_that_disagrees_with_the_reference_is_refused(
    onboard, db, batch, two_resellers, reference_path, tmp_path
):
    changed = reference_of(tmp_path, ACME, currencies=["GBP"])
    args = ["import", str(batch(customer("Acme"))), "--reference", str(changed)]
    result = onboard(*args, "--reseller", "default")

    assert one_line_error(result) == (
        f"--reseller default but {changed} is the reference of reseller 'acme-telecom'; pass "
        "the reseller's own reference, or only one of them"
    )
    assert query(db, "SELECT count(*) FROM reference") == [(2,)]  # the changed one not stored
    assert counts(db) == (0, 0, 0)
    assert onboard(*args, "--reseller", ACME).exit_code == 0  # agreeing: fine


def test_with_one_reseller_stored_it_is_the_one(onboard, db, batch, acme):
    assert onboard("reference", "load", str(acme)).exit_code == 0
    assert onboard("import", str(batch(customer("Acme")))).exit_code == 0
    assert query(db, "SELECT reseller, reference_version FROM batches") == [(ACME, 1)]


def test_with_no_reference_stored_pass_reference(onboard, db, batch):
    from pipeline import database

    database.connect(db).close()  # a database with its tables and nothing in them
    result = onboard("import", str(batch(customer("Acme"))), "--reseller", ACME)
    assert one_line_error(result) == (
        "no reference stored for reseller 'acme-telecom' (none is stored); load its reference "
        "first (`onboard reference load FILE`)"
    )
    assert "no reference in the database: pass --reference FILE" in one_line_error(
        onboard("import", str(batch(customer("Acme"))))
    )


def test_a_dry_run_for_a_reseller_writes_nothing(onboard, db, batch, two_resellers):
    before = db.read_bytes()
    result = onboard("import", str(batch(customer("A"))), "--reseller", ACME, "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["status"], summary["reseller"], summary["reference_version"]) == (
        "dry_run",
        ACME,
        1,
    )
    assert db.read_bytes() == before


# ---------------------------------------------------------------------------------------------
# reference show, resellers, batches --reseller


def test_reference_show_needs_a_reseller_only_when_several_are_stored(onboard, two_resellers, acme):
    assert one_line_error(onboard("reference", "show")) == (
        "the database holds the references of 2 resellers (acme-telecom, default); pass "
        "--reseller ID"
    )
    shown = onboard("reference", "show", "--reseller", ACME)
    assert shown.exit_code == 0
    assert shown.stdout.startswith("# reseller acme-telecom, reference version 1 (the current")
    assert shown.stdout.split("\n", 1)[1] == acme.read_text()
    unknown = onboard("reference", "show", "--reseller", "nobody")
    assert "no reference stored for reseller 'nobody' (stored: acme-telecom, default)" in (
        one_line_error(unknown)
    )


def test_resellers_lists_versions_customers_and_batches(
    onboard, batch, reference_path, tmp_path, acme
):
    onboard("import", str(batch(customer("Ann"), customer("Bob"))), "--reference", str(acme))
    onboard("reference", "load", str(reference_of(tmp_path, ACME, currencies=["GBP"])))
    onboard("import", str(batch(customer("Cid"), name="c.csv")), "--reseller", ACME)
    onboard("reference", "load", str(reference_path))

    listed = json.loads(onboard("resellers", "--format", "json").stdout)
    assert listed == [
        {"reseller": ACME, "reference_version": 2, "customers": 3, "batches": 2},
        {"reseller": "default", "reference_version": 1, "customers": 0, "batches": 0},
    ]
    rows = list(csv.reader(io.StringIO(onboard("resellers", "--format", "csv").stdout)))
    assert rows == [
        ["reseller", "reference_version", "customers", "batches"],
        [ACME, "2", "3", "2"],
        ["default", "1", "0", "0"],
    ]
    table = onboard("resellers").stdout.splitlines()
    assert table[0].split() == ["reseller", "reference_version", "customers", "batches"]
    assert table[2].split() == [ACME, "2", "3", "2"]


def test_batches_of_one_reseller(onboard, batch, two_resellers):
    onboard("import", str(batch(customer("Ann"), name="a.csv")), "--reseller", ACME)
    onboard("import", str(batch(customer("Bob"), name="b.csv")), "--reseller", "default")
    onboard("import", str(batch(customer("Cid"), name="c.csv")), "--reseller", ACME)

    listed = json.loads(onboard("batches", "--reseller", ACME, "--format", "json").stdout)
    assert [(b["batch_id"], b["reseller"], b["reference_version"]) for b in listed] == [
        (1, ACME, 1),
        (3, ACME, 1),
    ]
    everyone = json.loads(onboard("batches", "--format", "json").stdout)
    assert [b["reseller"] for b in everyone] == [ACME, "default", ACME]
    assert one_line_error(onboard("batches", "--reseller", "nobody")) == (
        "--reseller: no reseller 'nobody' (known: acme-telecom, default)"
    )


# ---------------------------------------------------------------------------------------------
# retry: the batch's own reseller's current reference


def test_retry_checks_against_the_current_reference_of_the_batchs_reseller(
    onboard, db, tmp_path, retry_batch, acme
):
    # batch 1 is default's: GBP blocked two rows. Default's reference now enables GBP, then
    # acme's (without GBP) is the last one loaded.
    onboard("reference", "load", str(reference_with(tmp_path, currencies=["GBP"])))
    onboard("reference", "load", str(acme))

    result = onboard("retry", "1", "--as-of", AS_OF, "--json")

    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["reseller"], summary["reference_version"], summary["rows_accepted"]) == (
        "default",
        2,
        1,
    )
    assert query(db, "SELECT batch_id, reseller, reference_version FROM batches ORDER BY 1") == [
        (1, "default", 1),
        (2, "default", 2),
    ]
    assert query(db, "SELECT name, reseller FROM customers WHERE batch_id = 2") == [
        ("Bob Co", "default")
    ]


# ---------------------------------------------------------------------------------------------
# The same file: skipped only when committed for the same reseller


def test_a_file_committed_for_another_reseller_is_not_skipped(
    onboard, db, batch, reference_path, acme
):
    sent = batch(customer("Ann"), customer("Bob"))
    assert onboard("import", str(sent), "--reference", str(reference_path)).exit_code == 0

    other = onboard("import", str(sent), "--reference", str(acme), "--json")
    summary = json.loads(other.stdout)
    assert (summary["status"], summary["batch_id"], summary["earlier_batch"]) == (
        "committed",
        2,
        None,
    )
    assert summary["rules"] == {"name_exists": 2}  # the names are taken, by whom not said
    assert "batch 1" not in other.stdout + other.stderr

    again = onboard("import", str(sent), "--reseller", ACME)
    assert "skipped, the same content was committed as batch 2" in again.stdout
    assert query(db, "SELECT batch_id, reseller, status FROM batches ORDER BY 1") == [
        (1, "default", "committed"),
        (2, ACME, "committed"),
        (3, ACME, "skipped"),
    ]


# ---------------------------------------------------------------------------------------------
# Names are unique across resellers; a reseller skips or updates only its own customers


@pytest.mark.parametrize("mode", ["reject", "skip", "update"])
def test_a_name_of_another_resellers_customer_is_name_exists_in_every_mode(
    onboard, db, batch, reference_path, acme, mode
):
    first = batch(customer("Acme", currency="USD"), name="first.csv")
    assert onboard("import", str(first), "--reference", str(reference_path)).exit_code == 0
    sent = batch(customer("ACME", currency="EUR"), customer("Zed"), name="second.csv")

    result = onboard("import", str(sent), "--reference", str(acme), "--on-existing", mode, "--json")

    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    counted = ("rows_accepted", "rows_rejected", "rows_skipped", "rows_updated")
    assert [summary[c] for c in counted] == [1, 1, 0, 0]
    assert query(db, "SELECT rule, message FROM rejections") == [
        ("name_exists", "a customer named 'ACME' already exists; use another name")
    ]
    assert "default" not in result.stdout + result.stderr
    assert query(db, "SELECT name, currency, reseller, batch_id FROM customers ORDER BY 1") == [
        ("Acme", "USD", "default", 1),
        ("Zed", "USD", ACME, 2),
    ]
    assert query(db, "SELECT count(*) FROM customer_history") == [(0,)]


def test_skip_and_update_touch_only_the_resellers_own_customers(
    onboard, db, batch, reference_path, acme
):
    taken = batch(customer("Acme"), name="default.csv")
    assert onboard("import", str(taken), "--reference", str(reference_path)).exit_code == 0
    own = batch(customer("Bravo"), name="acme.csv")
    assert onboard("import", str(own), "--reference", str(acme)).exit_code == 0

    rows = (customer("bravo", model="Hosted IP PBX"), customer("acme", model="Hosted IP PBX"))
    skipped = onboard(
        "import", str(batch(*rows, name="skip.csv")), "--reseller", ACME, "--on-existing", "skip"
    )
    assert "rows read 2: accepted 0, rejected 1, skipped 1" in skipped.stdout
    updated = onboard(  # the same content as the skipping batch: --force
        "import",
        str(batch(*rows, name="up.csv")),
        "--reseller",
        ACME,
        "--on-existing",
        "update",
        "--force",
    )
    assert "accepted 1 (1 updating stored customers), rejected 1" in updated.stdout

    stored = "SELECT name, business_model, reseller, batch_id FROM customers ORDER BY 1"
    assert query(db, stored) == [
        ("Acme", "Internet access", "default", 1),
        ("bravo", "Hosted IP PBX", ACME, 4),
    ]
    assert query(db, "SELECT name, reseller, replaced_by_batch FROM customer_history") == [
        ("Bravo", ACME, 4)
    ]
    assert query(db, "SELECT batch_id, rule FROM rejections ORDER BY 1") == [
        (3, "name_exists"),
        (4, "name_exists"),
    ]


def test_a_refused_update_restores_the_resellers_customer(onboard, db, batch, acme):
    assert onboard("import", str(batch(customer("Bravo"))), "--reference", str(acme)).exit_code == 0
    sent = batch(
        customer("Bravo", model="Hosted IP PBX"), customer("Cid", currency="GBP"), name="u.csv"
    )
    result = onboard("import", str(sent), "--on-existing", "update", "--max-rejected", "0")

    assert result.exit_code == 1
    assert query(db, "SELECT name, business_model, reseller, batch_id FROM customers") == [
        ("Bravo", "Internet access", ACME, 1)
    ]
    assert query(db, "SELECT count(*) FROM customer_history") == [(0,)]


def test_a_fix_file_of_another_resellers_batch_is_not_read_as_that_batch(
    onboard, db, batch, tmp_path, reference_path, acme
):
    sent = batch(customer("Ann", currency="GBP"))
    assert onboard("import", str(sent), "--reference", str(reference_path)).exit_code == 0
    fix = tmp_path / "fix.csv"
    assert onboard("rejections", "1", "--export", str(fix)).exit_code == 0

    other = onboard("import", str(fix), "--reference", str(acme), "--json")
    assert (
        "fix file of batch 1, which this database does not hold"
        in json.loads(other.stdout)["notes"]
    )
    own = onboard("import", str(fix), "--reseller", "default", "--force", "--json")
    assert "fix file of batch 1, read as that batch was" in json.loads(own.stdout)["notes"]


def test_the_second_resellers_sample_imports_beside_the_first(onboard, db, reference_path):
    """`make demo`: both resellers' sample files into one database."""
    from helpers import AS_OF, SAMPLE

    acme_dir = SAMPLE / "acme-telecom"
    first = onboard("import", str(SAMPLE), "--reference", str(reference_path), "--as-of", AS_OF)
    second = onboard(
        "import", str(acme_dir), "--reference", str(acme_dir / "reference.toml"), "--as-of", AS_OF
    )
    assert first.exit_code == 0 and second.exit_code == 0, second.output
    assert "rows read 7: accepted 4 (3 with warnings), rejected 3" in second.stdout
    assert "'***' is not a real date" in second.stdout  # a personal value, masked
    stored = query(
        db,
        "SELECT name, currency, business_model, custom_data FROM customers "
        f"WHERE reseller = '{ACME}' ORDER BY name",
    )
    assert stored == [
        ("Brno Logistics s.r.o.", "EUR", "Hosted IP PBX",
         {"vat_number": "CZ12345678", "employees": "42",
          "contract_signed": "2026-11-19T13:30:00+00:00"}),
        ("Brno Logistics sro", "EUR", "Hosted IP PBX",
         {"vat_number": "CZ11223344", "employees": "7"}),
        ("Jana Novakova", "CZK", "SIP trunk",
         {"date_of_birth": "1984-05-17", "contract": "Student"}),
        ("Ostrava Steel a.s.", "EUR", "SIP trunk",
         {"vat_number": "CZ87654321", "employees": "1200",
          "contract_signed": "2026-11-25T08:00:00+00:00"}),
    ]  # fmt: skip
    resellers = onboard("resellers", "--format", "csv").stdout.splitlines()
    assert resellers[1:] == [f"{ACME},1,4,1", "default,1,13,3"]
