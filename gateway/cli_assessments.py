"""`hudoor assessments`: quiz results per class, as aggregates only (R8)."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup

from gateway.cli_common import rt

group = AppGroup("assessments", help="USSD quiz results per class (aggregates, small cells suppressed).")


@group.command("results")
@click.option("--class", "klass", required=True, help="Upstream class id.")
@click.option("--quiz", default=None, help="Quiz id (default: the current one).")
def results_cmd(klass: str, quiz: str | None) -> None:
    """Show one class's results per question; cells of fewer than 5 children are suppressed."""
    from core import assessments

    with rt().replica_sessions() as session:
        try:
            out = assessments.results(session, klass, quiz)
        except LookupError as exc:
            raise click.ClickException(str(exc.args[0])) from exc
    click.echo(json.dumps(out, ensure_ascii=False))


@group.command("quizzes")
def quizzes_cmd() -> None:
    """List the quizzes, their questions and when the feature opens (answer keys are not shown)."""
    from core import cohorts
    from core.quiz_bank import CURRENT, QUIZZES

    start = cohorts.rules().start_of("assessments")
    for quiz in QUIZZES.values():
        click.echo(json.dumps({"quiz": quiz.id, "current": quiz.id == CURRENT,
                               "questions": [q.id for q in quiz.questions],
                               "opens": start.isoformat() if start else None}))
