"""`hudoor calendar`: show a school's days; central exceptions, feasts, school weeks (audited)."""

from __future__ import annotations

from datetime import date, timedelta

import click
from flask import current_app
from flask.cli import AppGroup

from core import calendar_store
from core.calendar_store import CalendarError
from core.runtime import runtime_of

group = AppGroup("calendar", help="The one calendar: school days, Ramadan hours, exceptions.")
exception = AppGroup("exception", help="Central exceptions (national or governorate; never per school).")
holiday = AppGroup("holiday", help="Feasts: confirm or move the estimated Islamic dates.")
group.add_command(exception)
group.add_command(holiday)
DAY = click.DateTime(["%Y-%m-%d"])


def _days(first: date, last: date | None) -> list[date]:
    last = last or first
    if last < first or (last - first).days > 366:
        raise click.ClickException("--to must be on or after the day, within a year")
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


@group.command("show")
@click.option("--school", default=None, help="Upstream school id (default: the national calendar).")
@click.option("--from", "start", type=DAY, required=True)
@click.option("--to", "end", type=DAY, required=True)
def show(school: str | None, start, end) -> None:  # type: ignore[no-untyped-def]
    """Print each day from --from to --to: school day or not, why, and its hours."""
    rt = runtime_of(current_app)
    if end < start or (end - start).days > 400:
        raise click.ClickException("--to must be on or after --from, within 400 days")
    with rt.sessions() as session:
        sid = calendar_store.school_id(session, school) if school else None
        if school and sid is None:
            raise click.ClickException(f"no school {school!r}")
        cal = calendar_store.load(session, rt.config)
    for d in cal.days(sid, start.date(), end.date()):
        hours = (f"start {d.times.start:%H:%M} cut-off {d.times.cutoff:%H:%M} "
                 f"digest {d.times.digest_at:%H:%M}") if d.times else ""
        click.echo(f"{d.day.isoformat()} {d.day:%a} {'school' if d.school_day else 'closed':6} "
                   f"{d.reason}{'  ' + hours if hours else ''}")


@exception.command("add")
@click.option("--scope", type=click.Choice(calendar_store.SCOPES), required=True)
@click.option("--governorate", default=None, help="Needed with --scope governorate.")
@click.option("--day", type=DAY, required=True)
@click.option("--to", "last", type=DAY, default=None, help="Last day of a range (inclusive).")
@click.option("--open", "open_day", is_flag=True, help="Open the day (a make-up day); default closes it.")
@click.option("--reference", required=True, help="The ministry's reference for the decision.")
@click.option("--by", required=True, help="Who records it.")
@click.option("--reason", required=True)
def exception_add(scope: str, governorate: str | None, day, last, open_day: bool,  # type: ignore[no-untyped-def]
                  reference: str, by: str, reason: str) -> None:
    """Close (or open) days nationally or for one governorate; audited, reversible."""
    rt = runtime_of(current_app)
    try:
        with rt.sessions() as session, session.begin():
            ids = calendar_store.add_exception(
                session, scope=scope, governorate=governorate,
                days=_days(day.date(), last.date() if last else None), open_day=open_day,
                reference=reference, by=by, reason=reason)
    except CalendarError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"exceptions {', '.join(map(str, ids))} recorded")


@exception.command("reverse")
@click.argument("exception_id", type=int)
@click.option("--by", required=True)
@click.option("--reason", required=True)
def exception_reverse(exception_id: int, by: str, reason: str) -> None:
    """Reverse a central exception (kept in the table, marked reversed; audited)."""
    rt = runtime_of(current_app)
    try:
        with rt.sessions() as session, session.begin():
            calendar_store.reverse_exception(session, exception_id, by=by, reason=reason,
                                             now=rt.clock())
    except CalendarError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"exception {exception_id} reversed")


@holiday.command("confirm")
@click.option("--day", type=DAY, required=True, help="The estimated date.")
@click.option("--moved-to", type=DAY, default=None, help="The sighted date, if it differs.")
@click.option("--by", required=True)
@click.option("--reason", required=True)
def holiday_confirm(day, moved_to, by: str, reason: str) -> None:  # type: ignore[no-untyped-def]
    """Confirm an estimated feast, or move it to the sighted date (audited)."""
    rt = runtime_of(current_app)
    try:
        with rt.sessions() as session, session.begin():
            n = calendar_store.confirm_holiday(session, day.date(), by=by, reason=reason,
                                               moved_to=moved_to.date() if moved_to else None)
    except CalendarError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{n} holiday(s) confirmed")


@group.command("seed")
@click.option("--year", type=int, required=True)
@click.option("--by", required=True)
def seed(year: int, by: str) -> None:
    """Add a year's feasts from the `holidays` package (existing rows kept)."""
    rt = runtime_of(current_app)
    with rt.sessions() as session, session.begin():
        n = calendar_store.seed_year(session, year, actor=by)
    click.echo(f"{n} holidays added for {year}")


@group.command("school")
@click.argument("school")
@click.option("--week", type=click.Choice(["sun-thu", "sat-thu"]), default=None)
@click.option("--joined-on", type=DAY, default=None, help="A new school's first day (R9 window).")
@click.option("--by", required=True)
@click.option("--reason", required=True)
def school_set(school: str, week: str | None, joined_on, by: str, reason: str) -> None:  # type: ignore[no-untyped-def]
    """Set a school's week (the ministry's decision) or join date; audited."""
    rt = runtime_of(current_app)
    try:
        with rt.sessions() as session, session.begin():
            calendar_store.set_school(session, school, week=week, by=by, reason=reason,
                                      joined_on=joined_on.date() if joined_on else None)
    except CalendarError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"school {school} set")
