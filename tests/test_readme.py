"""The README's option tables agree with the commands' `--help`: every option a command takes is in its
table, every option in a table is one the command takes, and a default the table states is the option's."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from mnistvec.cli import cli

README = Path(__file__).resolve().parents[1] / "README.md"
COMMANDS = ("train", "encode", "sample", "eval", "render")


def option_table(command: str) -> list[tuple[list[str], str]]:
    """(the options a row names, its default cell) for each row of the README's table of `command`."""
    text = README.read_text()
    start = re.search(rf"^### `mnistvec {command}\b.*$", text, re.M)
    assert start, f"README has no section for {command}"
    ends = [i for i in (text.find("\n### ", start.end()), text.find("\n## ", start.end())) if i != -1]
    section = text[start.end() : min(ends) if ends else len(text)]
    rows = []
    for line in section.splitlines():
        if line.startswith("| `--"):
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
            rows.append((re.findall(r"`(--[a-z][a-z-]*)", cells[0]), cells[1]))
    return rows


def options_of(command: str) -> dict[str, click.Option]:
    """Every option of the command by each of its names (`--coords` and `--no-coords` alike)."""
    found = {}
    for param in cli.commands[command].params:
        if isinstance(param, click.Option):
            for name in param.opts + param.secondary_opts:
                if name.startswith("--") and name != "--help":
                    found[name] = param
    return found


@pytest.mark.parametrize("command", COMMANDS)
def test_the_readme_table_names_every_option_and_no_other(command):
    documented = {name for names, _ in option_table(command) for name in names}
    options = options_of(command)
    primary = {param.opts[-1] if param.opts[-1].startswith("--") else param.opts[0] for param in options.values()}
    assert sorted(documented - set(options)) == [], "in the README but not an option"
    assert sorted(name for name in primary if not ({name} | set(options[name].secondary_opts)) & documented) == [], (
        "an option the README does not document"
    )


@pytest.mark.parametrize("command", COMMANDS)
def test_the_defaults_the_readme_states_are_the_options_defaults(command):
    options = options_of(command)
    for names, cell in option_table(command):
        if len(names) != 1:
            continue
        param = options[names[0]]
        if param.is_flag or param.default is None or not param.show_default:
            continue
        shown = f"{param.default:g}" if isinstance(param.default, float) else str(param.default)
        assert shown in cell.replace("`", ""), f"{names[0]}: README says {cell!r}, the option's default is {shown}"


def test_every_train_option_is_a_setting_or_says_where_to_run():
    """`train` builds its config from the options named like TrainConfig's fields: an option that is
    neither such a field nor one of the run's own (where and how it runs) would be silently ignored."""
    from dataclasses import fields

    from mnistvec.config import TrainConfig

    run_options = {"run_dir", "device", "resume", "overwrite", "mirror"}
    settings = {f.name for f in fields(TrainConfig)}
    names = {param.name for param in cli.commands["train"].params}
    assert sorted(names - settings - run_options) == []
    assert sorted(settings - names) == ["channels", "hidden"]  # the network's sizes: settings, not options
