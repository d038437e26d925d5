"""The `sandbox` click group: run the sandbox SIS from the command line."""

import click

from sandbox.app import create_sandbox_app
from sandbox.district import District
from sandbox.server import serve


def build_district(kind: str, seed: int, schools: int | None, students: int | None,
                   teachers: int | None) -> District:
    """Return the demo or national district, with any size overrides applied."""
    base = District.demo(seed) if kind == "demo" else District.national(seed)
    return District(
        seed,
        schools=schools if schools is not None else len(base.infos),
        students_per_school=students if students is not None else base.students_per_school,
        teachers_per_school=teachers if teachers is not None else base.teachers_per_school,
    )


@click.group()
def sandbox() -> None:
    """Sandbox SIS: a synthetic upstream student information system."""


@sandbox.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", default=5050, show_default=True, type=int, help="Port to bind.")
@click.option("--district", "kind", type=click.Choice(["demo", "national"]), default="demo",
              show_default=True, help="demo: 5 schools; national: 1000 schools, 820,000 people.")
@click.option("--seed", default=1, show_default=True, type=int, help="Generation seed.")
@click.option("--schools", type=click.IntRange(min=1), help="Override the number of schools.")
@click.option("--students", type=click.IntRange(min=1), help="Override students per school.")
@click.option("--teachers", type=click.IntRange(min=1), help="Override staff per school.")
@click.option("--token", default=None, help="Require this bearer token.")
@click.option("--quiet/--log-requests", default=True, show_default=True,
              help="Suppress the per-request access log.")
def serve_command(host: str, port: int, kind: str, seed: int, schools: int | None,
                  students: int | None, teachers: int | None, token: str | None,
                  quiet: bool) -> None:
    """Serve a synthetic district over the upstream contract until interrupted."""
    district = build_district(kind, seed, schools, students, teachers)
    app = create_sandbox_app(district, token=token)
    people = district.base_population
    schools = len(district.infos)
    click.echo(f"sandbox SIS: {schools} schools, {people} people at http://{host}:{port}")
    try:
        serve(app, host, port, quiet=quiet)
    except KeyboardInterrupt:
        pass
