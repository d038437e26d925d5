"""The `hudoor` command surface: every listed command loads, and Flask's own are gone."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from gateway.cli import COMMANDS, cli

FLASK_OWN = ("run", "shell", "routes")


def test_help_lists_exactly_the_table_and_none_of_flasks_own() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    listed = result.output.split("Commands:")[1].split()
    for name in COMMANDS:
        assert name in listed
    for name in FLASK_OWN:
        assert name not in listed
    assert "--env-file" not in result.output and "--app" not in result.output


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_listed_command_loads_under_its_own_name(name: str) -> None:
    command = cli.get_command(click.Context(cli), name)
    assert isinstance(command, click.Command)
    assert command.name == name
    result = CliRunner().invoke(cli, [name, "--help"])
    assert result.exit_code == 0, result.output


def test_an_unknown_command_is_a_clear_error() -> None:
    result = CliRunner().invoke(cli, ["no-such-command"])
    assert result.exit_code == 2
    assert "No such command 'no-such-command'" in result.output
