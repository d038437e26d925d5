"""The `hudoor` command: every operation of the service, each loaded only when used.

`hudoor --help` and light commands start fast because a subcommand's module (and with it
SQLAlchemy, RQ, the Flask app) is imported only when that subcommand runs. The table below
is the whole command surface; `tests/gateway/test_cli.py` checks it against the modules.
"""

from __future__ import annotations

import importlib
import sys

import click

# name: (module, attribute, one line of help shown by `hudoor --help`)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "adjustments": ("gateway.cli_adjustments", "group", "Retroactive attendance adjustments."),
    "assessments": ("gateway.cli_assessments", "group", "USSD quiz results per class (aggregates)."),
    "audit": ("gateway.cli_audit", "audit", "The keyed, hash-chained audit log."),
    "banner": ("gateway.cli_banner", "group", "The incident banner on the public status page."),
    "breach": ("gateway.cli_breach", "group", "Suspected breaches: PDPL clocks, sealed evidence."),
    "bulk": ("gateway.cli_bulk", "group", "Reversible bulk operations: list, show, revert (72 h)."),
    "calendar": ("gateway.cli_calendar", "group", "The one calendar: holidays, terms, exceptions."),
    "codes": ("gateway.cli_codes", "group", "One-time codes: staff activation, guardian slips."),
    "cohorts": ("gateway.cli_cohorts", "group", "Staged rollout of features per school."),
    "contract": ("gateway.cli_sync", "contract", "Upstream schema versions and their notice."),
    "db": ("gateway.cli_db", "db", "Database schema."),
    "digests": ("digests.commands", "digests", "Daily SMS digests and their sending."),
    "dlq": ("digests.commands", "dlq", "SMS that were given up on."),
    "drill": ("gateway.cli_drill", "group", "Disaster-recovery drills: a verified restore."),
    "export": ("gateway.cli_export", "export_cmd", "The record as an open Data Package (CSV)."),
    "gate": ("gateway.cli_gate", "group", "The paper-parity gate: uploads, weeks, firing."),
    "import": ("gateway.cli_export", "import_cmd", "Load an open export into an empty instance."),
    "merge": ("gateway.cli_merge", "merge", "Merge a suspected duplicate into a canonical person."),
    "privacy": ("gateway.cli_privacy", "privacy", "Guardians' data requests (PDPL): list, close."),
    "probes": ("gateway.cli_probes", "group", "Operator probes: USSD session and SMS round trip."),
    "reconcile": ("gateway.cli_writeback", "reconcile", "Reconcile attendance with upstream."),
    "release": ("gateway.cli_release", "group", "Release windows, staged rollout, rollback package."),
    "retention": ("gateway.cli_retention", "retention", "Apply the retention schedule (--dry-run)."),
    "sandbox": ("sandbox.cli", "sandbox", "Sandbox SIS: a synthetic upstream (development)."),
    "scheduler": ("gateway.cli_workers", "scheduler", "Enqueue the periodic jobs."),
    "serve": ("gateway.cli_serve", "serve", "Serve the web app (granian; SIGHUP reloads)."),
    "simulator": ("simulator.cli", "simulator", "The local Africa's Talking + operators simulator."),
    "sms": ("digests.cli", "sms", "Inspect SMS texts (encoding, segments)."),
    "staff": ("gateway.cli_tokens", "staff", "Central staff register (ops, desk, security, auditor)."),
    "sync": ("gateway.cli_sync", "sync", "Roster and identity sync from the upstream SIS."),
    "tickets": ("gateway.cli_tickets", "group", "Support tickets on the ladder (Tier 0-3, security)."),
    "tokens": ("gateway.cli_tokens", "group", "Admin API tokens bound to a person."),
    "ussd-warm": ("gateway.cli_workers", "ussd_warm", "Warm the USSD hop caches now."),
    "worker": ("gateway.cli_workers", "worker", "Run an RQ worker (urgent first, digests last)."),
    "writeback": ("gateway.cli_writeback", "writeback", "Attendance write-back to upstream."),
}


def _create_app():  # type: ignore[no-untyped-def]
    from gateway.app import create_app

    return create_app()


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use, with help from the table."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, attribute, _help = COMMANDS[cmd_name]
        command: click.Command = getattr(importlib.import_module(module), attribute)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, COMMANDS[name][2]) for name in self.list_commands(ctx)])


@click.group(cls=LazyGroup)
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Hudoor: SMS/USSD-first messaging for school attendance."""
    if ctx.obj is None:  # a test runner passes its own app in
        from flask.cli import ScriptInfo

        ctx.obj = ScriptInfo(create_app=_create_app, set_debug_flag=False,
                             load_dotenv_defaults=False)


def main() -> None:
    """Entry point of the `hudoor` console script."""
    if sys.argv[1:3] == ["digests", "send"]:
        # The sender is a long-running process of its own: it loads what sending needs,
        # not the app (digests/send_main.py; the same options as the command below).
        from digests.send_main import main as send

        sys.exit(send(sys.argv[3:]))
    cli.main(prog_name="hudoor")
