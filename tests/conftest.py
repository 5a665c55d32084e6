"""Shared fixtures: the sample reference, a temporary database, a CLI runner."""

from pathlib import Path

import pytest
from click.testing import CliRunner

from helpers import CORPUS, HEADER, ROOT, SAMPLE, query  # noqa: F401 (tests import them here)
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
