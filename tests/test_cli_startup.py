"""The command starts fast: the heavy libraries load only when a command needs them."""

import subprocess
import sys

from conftest import ROOT

HEAVY = ("polars", "duckdb", "pandera", "fastexcel")


def _loaded_after(code: str) -> set[str]:
    probe = f"import sys; {code}; print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return set(out.stdout.split())


def test_help_and_version_load_no_heavy_library():
    assert _loaded_after("import pipeline.cli") == set()
    code = (
        "from click.testing import CliRunner; from pipeline.cli import cli; "
        "r = CliRunner().invoke(cli, ['--help']); assert r.exit_code == 0; "
        "r = CliRunner().invoke(cli, ['import', '--help']); assert r.exit_code == 0; "
        "r = CliRunner().invoke(cli, ['--version']); assert 'onboard' in r.output"
    )
    assert _loaded_after(code) == set()


def test_version_is_printed():
    out = subprocess.run(
        [sys.executable, "-m", "pipeline", "--version"], cwd=ROOT, capture_output=True, text=True
    )
    assert out.returncode == 0
    assert out.stdout.startswith("onboard, version ")


def test_profile_prints_seconds_per_stage(onboard, batch, reference_path):
    path = batch("Ann Co,Internet access,Retail,Daily,UTC,prepaid,USD,,,")
    result = onboard("import", str(path), "--reference", str(reference_path), "--profile")
    assert result.exit_code == 0
    [line] = result.stderr.splitlines()
    assert line.startswith(f"onboard: profile: {path}: read ")
    for stage in ("parse", "validate", "periods", "write"):
        assert f"{stage} " in line
