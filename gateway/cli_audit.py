"""`hudoor audit`: verify the hash-chained audit log."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from gateway.cli_common import rt

audit = AppGroup("audit", help="The hash-chained audit log.")


@audit.command("verify")
@click.option("--expect-head", default=None, help="Head hash recorded elsewhere, to catch truncation.")
def audit_verify(expect_head: str | None) -> None:
    """Check every link of the audit chain; exit 1 on any break."""
    from core import audit as audit_log

    with rt().sessions() as session:
        result = audit_log.verify(session, expect_head=expect_head)
    for problem in result.problems:
        click.echo(f"BROKEN: {problem}", err=True)
    click.echo(f"{'ok' if result.ok else 'FAILED'}: {result.checked} entries checked, "
               f"head seq {result.head_seq} hash {result.head_hash}")
    sys.exit(0 if result.ok else 1)
