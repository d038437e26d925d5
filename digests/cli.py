"""Command-line tools for SMS texts; the lead engineer mounts ``digests.cli:sms``."""

from __future__ import annotations

import json
import sys
from typing import BinaryIO

import click

from core.gsm import EncodingError, segment_count

EXIT_STDIN_UNREADABLE = 74  # EX_IOERR from sysexits.h


class NotAJsonString(ValueError):
    """Signal an input line that does not hold exactly one JSON string."""


def _parse_line(raw: bytes) -> str:
    """Return the string a raw input line holds as JSON."""
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotAJsonString(f"line is not UTF-8: {exc.reason}") from exc
    try:
        value = json.loads(line)
    except json.JSONDecodeError as exc:
        raise NotAJsonString(f"not JSON: {exc.msg}") from exc
    if not isinstance(value, str):
        raise NotAJsonString(f"expected a JSON string, got {type(value).__name__}")
    return value


def _report(raw: bytes) -> dict[str, object]:
    """Return the JSON object that answers one input line."""
    try:
        info = segment_count(_parse_line(raw))
    except (NotAJsonString, EncodingError) as exc:
        return {"error": str(exc)}
    return {"encoding": info.encoding.value, "segments": info.segments}


@click.group()
def sms() -> None:
    """Inspect SMS texts."""


@sms.command()
def segments() -> None:
    """Print the encoding and segment count of each JSON string read from stdin."""
    # sys.stdin is looked up at call time so click's CliRunner can swap it;
    # click.get_binary_stream is deprecated in recent click releases.
    stdin: BinaryIO | None = getattr(sys.stdin, "buffer", None)
    if stdin is None:
        click.echo("cannot read stdin: no binary stdin", err=True)
        sys.exit(EXIT_STDIN_UNREADABLE)
    # One answer per line, so output lines pair with input lines; a bad line
    # gets an error object instead of stopping the whole batch.
    while True:
        try:
            raw = stdin.readline()
        except OSError as exc:
            # Only a failing read is fatal: a write error is not "unreadable stdin".
            click.echo(f"cannot read stdin: {exc}", err=True)
            sys.exit(EXIT_STDIN_UNREADABLE)
        if not raw:
            return
        click.echo(json.dumps(_report(raw.rstrip(b"\r\n")), ensure_ascii=False))
