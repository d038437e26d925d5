"""What every `hudoor` subcommand module shares: the runtime and progress lines."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from core.runtime import Runtime


def rt() -> "Runtime":
    """Return the runtime of the app the command runs in (imported late: start-up stays fast)."""
    from flask import current_app

    from core.runtime import runtime_of

    return runtime_of(current_app)


def progress(msg: str) -> None:
    """Print a progress line on stderr (stdout stays machine-readable)."""
    click.echo(msg, err=True)
