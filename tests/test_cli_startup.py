"""The command starts fast: the heavy libraries load only when a command needs them."""

import subprocess
import sys

from helpers import ROOT

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


def test_progress_shows_on_a_terminal_and_quiet_silences_it(tmp_path, batch, reference_path):
    import os
    import pty

    path = batch("Ann Co,Internet access,Retail,Daily,UTC,prepaid,USD,,,")

    def stderr_on_a_terminal(*extra: str) -> str:
        main, child = pty.openpty()
        db = tmp_path / f"progress{len(extra)}.duckdb"
        command = [
            sys.executable,
            "-m",
            "pipeline",
            "import",
            str(path),
            "--reference",
            str(reference_path),
            "--db",
            str(db),
            *extra,
        ]
        done = subprocess.run(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=child, timeout=60)
        os.close(child)
        assert done.returncode == 0
        seen = b""
        try:
            while chunk := os.read(main, 4096):
                seen += chunk
        except OSError:  # the terminal is closed once everything was read
            pass
        os.close(main)
        return seen.decode()

    shown = stderr_on_a_terminal()
    assert f"{path}: validate 1 rows..." in shown
    assert f"{path}: write" in shown
    assert stderr_on_a_terminal("--quiet") == ""
