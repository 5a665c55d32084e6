"""Shared fixtures: the sample reference, a temporary database, a CLI runner."""

from pathlib import Path

import pytest
from click.testing import CliRunner

from helpers import AS_OF, HEADER, SAMPLE, customer
from pipeline.cli import cli
from pipeline.reference import load_reference


@pytest.fixture
def reference_path() -> Path:
    return SAMPLE / "reference.toml"


@pytest.fixture
def reference(reference_path):
    return load_reference(reference_path)


@pytest.fixture
def db(tmp_path) -> Path:
    return tmp_path / "test.duckdb"


@pytest.fixture
def onboard(db, reference_path):
    """Run the CLI against the temporary database; returns click's Result."""

    def run(*args: str, with_db: bool = True):
        extra = ["--db", str(db)] if with_db else []
        return CliRunner().invoke(cli, [*args, *extra], catch_exceptions=False)

    return run


@pytest.fixture
def batch(tmp_path):
    """Write a CSV batch from data lines under the standard header; returns its path."""

    def write(*lines: str, name: str = "batch.csv", header: str = HEADER) -> Path:
        path = tmp_path / name
        path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
        return path

    return write


@pytest.fixture
def with_reference(onboard, reference_path):
    """The sample reference stored in the test database."""
    assert onboard("reference", "load", str(reference_path)).exit_code == 0


@pytest.fixture
def retry_batch(onboard, batch, reference_path):
    """Batch 1: one good row, and rows blocked by GBP, by a business model, by both."""
    path = batch(
        customer("Ann Co"),
        customer("Bob Co", currency="GBP", balance="postpaid", credit="100"),
        customer("Cid Co", model="Satellite TV"),
        customer("Dan Co", currency="GBP", period="Fortnightly"),
        name="blocked.csv",
    )
    result = onboard("import", str(path), "--reference", str(reference_path), "--as-of", AS_OF)
    assert "rows read 4: accepted 1, rejected 3" in result.stdout
    return path


@pytest.fixture
def three_of_five_bad(batch):
    return batch(
        customer("Ann Co"),
        customer("Bob Co", currency="GBP"),
        customer("Cid Co"),
        customer("Dan Co", model="Satellite TV"),
        customer("Eve Co", period="Fortnightly", currency="GBP"),
        name="mixed.csv",
    )
