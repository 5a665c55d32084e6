"""README tells a newcomer every command, option and rule (sqlite-utils' test_docs habit)."""

import re

import click
import pytest

from helpers import ROOT
from pipeline.cli import cli
from schemas.rules import markdown_table

README = (ROOT / "README.md").read_text(encoding="utf-8")


def _commands(group: click.Group, prefix: str = ""):
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from _commands(command, f"{prefix}{name} ")
        else:
            yield f"{prefix}{name}", command


COMMANDS = dict(_commands(cli))


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_has_help_and_is_in_readme(name):
    command = COMMANDS[name]
    assert command.help and len(command.help.strip()) > 20
    assert f"onboard {name}" in README


@pytest.mark.parametrize(
    ("name", "option"),
    [
        (name, opt)
        for name, command in sorted(COMMANDS.items())
        for param in command.params
        if isinstance(param, click.Option)
        for opt in param.opts + param.secondary_opts
        if opt.startswith("--")
    ],
)
def test_every_option_has_help_and_is_in_readme(name, option):
    [param] = [p for p in COMMANDS[name].params if option in p.opts + p.secondary_opts]
    assert param.help
    assert re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", README)


@pytest.mark.parametrize(
    ("severity", "heading", "end"),
    [("error", "## Rules", "### Warnings"), ("warning", "### Warnings", "\n## ")],
)
def test_readme_rules_tables_are_the_ones_the_rules_make(severity, heading, end):
    """Each rule's code, column and meaning, in order, exactly as `schemas/rules.py` defines
    them: the errors in Rules, the warnings in its Warnings (`python -m schemas.rules` prints
    the tables to paste)."""
    section = README.split(heading, 1)[1].split(end, 1)[0]
    written = [ln for ln in section.splitlines() if ln.startswith("| ")]
    assert written == markdown_table(severity).splitlines()
