"""`onboard report`: one self-contained HTML page, checked as text and in a real browser."""

import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from helpers import AS_OF, ROOT, SAMPLE, customer, png_pixels, query, reference_with

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
BROWSER_FLAGS = [  # headless, as root, with nothing fetched from the network
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOT = os.environ.get("ONBOARD_REPORT_SCREENSHOT")  # `make screenshot` keeps one here


class Page(HTMLParser):
    """The bars and cells of a report page, and everything that would fetch something."""

    def __init__(self, text: str):
        super().__init__()
        self.bars: dict[str, list[tuple[str, float]]] = {}
        self.cells: list[dict] = []
        self.counts: dict[str, str] = {}
        self.fetches: list[str] = []
        self._count: str | None = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "rect" and "data-chart" in a:
            self.bars.setdefault(a["data-chart"], []).append(
                (a["data-label"], float(a["data-value"]))
            )
        if tag == "rect" and "data-first" in a:
            self.cells.append(a)
        if tag in ("script", "link", "img", "iframe") or any(k in ("src", "href") for k in a):
            self.fetches.append(tag)
        self._count = a.get("data-count")

    def handle_data(self, data):
        if self._count:
            self.counts[self._count] = data
            self._count = None


@pytest.fixture
def imported(onboard, db, tmp_path, reference_path):
    """The sample batches imported, then a file with rows rejected and accepted in runs."""
    onboard("import", str(SAMPLE), "--reference", str(reference_path), "--as-of", AS_OF)
    rows = [customer(f"Good {n}", period="Monthly") for n in range(40)]
    rows += [customer(f"Bad {n}", currency="GBP") for n in range(20)]
    rows += [customer(f"Later {n}", period="Daily", zone="Asia/Tokyo") for n in range(15)]
    path = tmp_path / "runs.csv"
    path.write_text(
        "\n".join([(SAMPLE / "customers.csv").read_text().splitlines()[0], *rows]) + "\n"
    )
    path.write_text(
        "\n".join(
            [
                "name,business_model,customer_class,billing_period,billing_period_timezone,"
                "balance_control,currency,credit_limit,available_funds,created_on,tax_id",
                *rows,
            ]
        )
        + "\n"
    )
    result = onboard("import", str(path), "--as-of", AS_OF)
    assert "batch 4 committed" in result.stdout, result.output
    return 4


def report(onboard, tmp_path, *args) -> Path:
    out = tmp_path / "report.html"
    result = onboard("report", *args, "--output", str(out))
    assert result.exit_code == 0, result.output
    assert result.stderr == f"onboard: note: {out}: report written\n"
    return out


def test_a_batch_report_holds_its_counts_and_charts(onboard, db, tmp_path, imported):
    page = Page(report(onboard, tmp_path, str(imported)).read_text(encoding="utf-8"))

    assert page.fetches == []  # self-contained: nothing to load
    assert page.counts == {
        "rows read": "75",
        "accepted": "55",
        "rejected": "20",
        "skipped": "0",
        "blank rows": "0",
    }
    assert page.bars["rules"] == [("currency_not_enabled", 20.0)]
    assert page.bars["columns"] == [("currency", 20.0)]
    assert page.bars["periods"] == [("monthly", 40.0), ("daily", 15.0)]
    assert page.bars["zones"] == [("UTC", 40.0), ("Asia/Tokyo", 15.0)]
    assert page.bars["currencies"] == query(
        db, "SELECT currency, count(*)::DOUBLE FROM customers WHERE batch_id = 4 GROUP BY 1"
    )
    assert {label for label, _ in page.bars["timings"]} >= {"read", "parse", "validate"}
    # closing days, in UTC: the daily ones in Tokyo close at its midnight, 15:00 UTC on the
    # as-of date; the monthly ones in UTC when November ends
    closing = {label: value for label, value in page.bars["closing"] if value}
    stored = query(
        db,
        "SELECT current_period_closes_at::DATE::VARCHAR, count(*) FROM customers "
        "WHERE batch_id = 4 GROUP BY 1",
    )
    assert closing == {day: float(n) for day, n in stored} == {"2026-11-26": 15, "2026-12-01": 40}
    assert len(page.bars["closing"]) == 42
    # the row map: rows 2-41 accepted, 42-61 rejected, 62-76 accepted, in order
    assert sum(int(c["data-rejected"]) for c in page.cells) == 20
    assert sum(int(c["data-accepted"]) for c in page.cells) == 55
    rejected = [int(c["data-first"]) for c in page.cells if int(c["data-rejected"])]
    assert min(rejected) == 42 and max(rejected) == 61


def test_a_report_shows_no_value_of_a_customer_personal_ones_included(onboard, db, tmp_path):
    acme = SAMPLE / "acme-telecom"
    sent = onboard("import", str(acme), "--reference", str(acme / "reference.toml"))
    assert sent.exit_code == 0, sent.output
    page = report(onboard, tmp_path, "1").read_text(encoding="utf-8")
    # what a customer wrote: names and custom field values (the report shows counts by
    # currency, period, zone... but nothing a customer is or holds)
    names = query(db, "SELECT name FROM customers UNION SELECT name FROM rejections")
    values = query(
        db,
        "SELECT DISTINCT v FROM (SELECT unnest(map_values(custom_data)) AS v FROM customers "
        "UNION ALL SELECT value FROM rejections WHERE \"column\" IN ('date_of_birth', "
        "'contract', 'vat_number', 'employees', 'contract_signed')) WHERE v IS NOT NULL",
    )
    assert ("1984-05-17",) in values and names  # a personal date of birth among them
    # (short numbers, such as 42 employees, stand in any page's counts: left out)
    assert not [text for (text,) in [*names, *values] if len(text) > 3 and text in page]


def test_the_open_rejections_report_counts_what_retries_left(onboard, db, tmp_path, imported):
    onboard("reference", "load", str(reference_with(tmp_path, currencies=["GBP"])))
    assert onboard("retry", "4", "--as-of", AS_OF).exit_code == 0
    page = Page(report(onboard, tmp_path).read_text(encoding="utf-8"))

    [(open_total,)] = query(db, "SELECT count(*) FROM rejections WHERE resolved_by_batch IS NULL")
    assert page.counts["open rejections"] == str(open_total)
    assert ("batch 4", 20.0) not in page.bars["batches"]  # the retry resolved them all
    by_rule = query(
        db,
        "SELECT rule, count(*) FROM rejections WHERE resolved_by_batch IS NULL "
        "GROUP BY 1 ORDER BY 2 DESC, 1",
    )
    assert page.bars["rules"] == [(rule, float(n)) for rule, n in by_rule]
    assert [label for label, _ in page.bars["ages"]] == ["0-1 days"]


def test_a_report_of_an_unknown_batch_or_to_a_bad_path_is_one_line(onboard, db, tmp_path, imported):
    unknown = onboard("report", "99", "--output", str(tmp_path / "r.html"))
    assert unknown.exit_code == 2
    assert unknown.stderr == "onboard: error: no batch 99; `onboard batches` lists them\n"
    bad = onboard("report", "4", "--output", str(tmp_path / "missing" / "r.html"))
    assert bad.exit_code == 2
    assert bad.stderr.startswith("onboard: error: ") and "cannot write the report" in bad.stderr


@pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium: `apt-get install chromium` (.ci/run does)"
)
def test_the_report_renders_in_a_real_browser(onboard, db, tmp_path, imported):
    out = report(onboard, tmp_path, str(imported))
    profile = tmp_path / "profile"

    def browse(*args: str) -> subprocess.CompletedProcess:
        command = [CHROMIUM, *BROWSER_FLAGS, f"--user-data-dir={profile}", *args, out.as_uri()]
        return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)

    dom = Page(browse("--dump-dom").stdout)  # the page as the browser parsed it
    assert dom.bars["rules"] == [("currency_not_enabled", 20.0)]
    assert len(dom.cells) == 75 and sum(1 for c in dom.cells if int(c["data-rejected"])) == 20

    shot = tmp_path / "report.png"
    browse(f"--screenshot={shot}", "--window-size=900,1800", "--hide-scrollbars")
    width, height, rows = png_pixels(shot)
    assert (width, height) == (900, 1800)
    step = len(rows[0]) // width
    pixels = [row[x : x + 3] for row in rows[::4] for x in range(0, len(row), step * 4)]
    white = sum(p == b"\xff\xff\xff" for p in pixels)
    assert 0.05 < 1 - white / len(pixels) < 0.9  # drawn, not blank, not a solid block
    blue, red = bytes.fromhex("0969da"), bytes.fromhex("cf222e")
    assert sum(p == blue for p in pixels) > 50  # the bars
    assert sum(p == red for p in pixels) > 5  # the rejected rows in the row map
    if SCREENSHOT:
        shutil.copy(shot, ROOT / SCREENSHOT)


def test_the_open_rejections_report_of_one_reseller(onboard, db, tmp_path, batch, imported):
    acme = tmp_path / "acme.toml"
    acme.write_text('reseller = "acme"\n' + (SAMPLE / "reference.toml").read_text(), "utf-8")
    sent = batch(customer("Acme One", currency="GBP"), name="acme.csv")
    assert onboard("import", str(sent), "--reference", str(acme), "--as-of", AS_OF).exit_code == 0

    page = Page(report(onboard, tmp_path, "--reseller", "acme").read_text(encoding="utf-8"))
    assert page.bars["rules"] == [("currency_not_enabled", 1.0)]
    assert page.bars["batches"] == [("batch 5", 1.0)]
    everyone = Page(report(onboard, tmp_path).read_text(encoding="utf-8"))
    assert ("batch 5", 1.0) in everyone.bars["batches"] and len(everyone.bars["batches"]) > 1
    unknown = onboard("report", "--reseller", "nobody", "--output", str(tmp_path / "x.html"))
    assert unknown.exit_code == 2
    assert "no reseller 'nobody' is stored" in unknown.stderr
    not_its = onboard("report", "1", "--reseller", "acme", "--output", str(tmp_path / "y.html"))
    assert not_its.stderr == "onboard: error: batch 1 is not a batch of reseller 'acme'\n"
    assert not (tmp_path / "y.html").exists()
    own = onboard("report", "5", "--reseller", "acme", "--output", str(tmp_path / "y.html"))
    assert own.exit_code == 0 and (tmp_path / "y.html").exists()
