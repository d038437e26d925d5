"""`hudoor audit`: verify the hash-chained audit log."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from gateway.cli_common import rt

audit = AppGroup("audit", help="The keyed, hash-chained audit log and its anchors.")


@audit.command("verify")
@click.option("--expect-head", default=None, help="A head hash recorded elsewhere, checked too.")
def audit_verify(expect_head: str | None) -> None:
    """Check every link of the audit chain and every anchor; exit 1 on any break."""
    from core import audit_anchor

    runtime = rt()
    path = runtime.config.audit_anchor_path
    with runtime.sessions() as session:
        result = audit_anchor.verify(session, path, expect_head=expect_head)
    if not path.exists():
        click.echo(f"warning: no anchors at {path}: removed newest rows would not show", err=True)
    for problem in result.problems:
        click.echo(f"BROKEN: {problem}", err=True)
    click.echo(f"{'ok' if result.ok else 'FAILED'}: {result.checked} entries checked, "
               f"head seq {result.head_seq} hash {result.head_hash}")
    sys.exit(0 if result.ok else 1)


@audit.command("anchor")
def audit_anchor_now() -> None:
    """Check the entries since the newest anchor and append the head to the anchor file."""
    click.echo(anchor_line())


def anchor_line() -> str:
    """Anchor the audit head now; return what was anchored (a broken chain is not anchored)."""
    from core import audit_anchor

    runtime = rt()
    with runtime.sessions() as session:
        try:
            made = audit_anchor.anchor_now(session, runtime.config.audit_anchor_path, runtime.clock())
        except audit_anchor.AuditBroken as exc:
            raise click.ClickException(f"not anchored, the chain is broken: {exc}") from exc
    return f"anchored {made.count} entries, head {made.head}" if made else "nothing new to anchor"
