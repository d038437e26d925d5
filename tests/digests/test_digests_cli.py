"""Drive the ``sms segments`` command through click's CliRunner."""

from __future__ import annotations

import io
import json

from click.testing import CliRunner

from digests.cli import EXIT_STDIN_UNREADABLE, sms


def _run(stdin: bytes | io.RawIOBase) -> tuple[int, list[dict[str, object]]]:
    result = CliRunner().invoke(sms, ["segments"], input=stdin)
    return result.exit_code, [json.loads(line) for line in result.stdout.splitlines()]


def test_one_answer_per_line_and_bad_lines_do_not_stop_the_batch() -> None:
    lines = [
        '"hello"',
        '"مرحبا"',
        "42",
        "not json",
        '"' + "a" * 161 + '"',
        "",
        '"\\ud800"',  # valid JSON, but a lone surrogate has no SMS form
        '"€{}"',
    ]
    code, out = _run(("\n".join(lines) + "\n").encode())
    assert code == 0
    assert len(out) == len(lines)
    assert out[0] == {"encoding": "GSM-7", "segments": 1}
    assert out[1] == {"encoding": "UCS-2", "segments": 1}
    assert set(out[2]) == {"error"}
    assert set(out[3]) == {"error"}
    assert out[4] == {"encoding": "GSM-7", "segments": 2}
    assert set(out[5]) == {"error"}
    assert set(out[6]) == {"error"}
    assert out[7] == {"encoding": "GSM-7", "segments": 1}


def test_crlf_and_missing_final_newline() -> None:
    code, out = _run(b'"a"\r\n"\xd9\x85"')
    assert code == 0
    assert out == [{"encoding": "GSM-7", "segments": 1}, {"encoding": "UCS-2", "segments": 1}]


def test_invalid_utf8_line_is_an_error_line() -> None:
    code, out = _run(b'"\xff"\n"ok"\n')
    assert code == 0
    assert set(out[0]) == {"error"}
    assert out[1] == {"encoding": "GSM-7", "segments": 1}


def test_empty_input_prints_nothing() -> None:
    assert _run(b"") == (0, [])


class _BrokenStdin(io.RawIOBase):
    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if len(buffer) == 0:
            return 0  # click probes with read(0) to tell binary from text streams
        raise OSError("device gone")


def test_unreadable_stdin_exits_non_zero() -> None:
    result = CliRunner().invoke(sms, ["segments"], input=_BrokenStdin())
    assert result.exit_code == EXIT_STDIN_UNREADABLE
    assert "cannot read stdin" in result.stderr
