"""`hudoor banner`: the public incident banner on /status (audited)."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from gateway.cli_common import rt

group = AppGroup("banner", help="The plain-language incident banner on the public status page.")


@group.command("set")
@click.option("--severity", type=click.Choice(["info", "degraded", "outage"]), default="degraded",
              show_default=True)
@click.option("--ar", "message_ar", required=True, help="The message in Arabic (shown first).")
@click.option("--en", "message_en", required=True, help="The same message in English.")
@click.option("--by", "actor", required=True, help="Who sets it.")
@click.option("--reason", required=True, help="Why (audited).")
def banner_set(severity: str, message_ar: str, message_en: str, actor: str, reason: str) -> None:
    """Put up a banner on /status, replacing the current one."""
    from core import banner

    runtime = rt()
    try:
        with runtime.sessions() as session, session.begin():
            row = banner.put_up(session, severity=banner.Severity(severity), message_ar=message_ar,
                                message_en=message_en, actor=actor, reason=reason,
                                now=runtime.clock())
            shown = row.id
    except banner.BannerRefused as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    click.echo(f"banner {shown} ({severity}) is on /status")


@group.command("clear")
@click.option("--by", "actor", required=True)
@click.option("--reason", required=True)
def banner_clear(actor: str, reason: str) -> None:
    """Take the current banner down."""
    from core import banner

    runtime = rt()
    try:
        with runtime.sessions() as session, session.begin():
            row = banner.take_down(session, actor=actor, reason=reason, now=runtime.clock())
            cleared = row.id
    except banner.BannerRefused as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    click.echo(f"banner {cleared} cleared")


@group.command("show")
def banner_show() -> None:
    """Print the banner shown now, if any."""
    from core import banner

    with rt().sessions() as session:
        row = banner.current(session)
        click.echo("no banner" if row is None else
                   f"{row.id} {row.severity} since {row.set_at.isoformat()}: {row.message_en}")
