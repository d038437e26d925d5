"""What a newcomer reads in the terminal: empty lists say so, slips and codes say what to dial."""

from __future__ import annotations

import pytest

from core.config import Config
from gateway.cli import cli


def test_an_empty_dead_letter_queue_says_it_is_empty(runner) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(cli, ["dlq", "list"])
    assert result.exit_code == 0
    assert result.stdout == ""  # stdout stays JSON lines for scripts
    assert "the dead-letter queue is empty" in result.stderr


@pytest.mark.parametrize("args, says", [
    (["adjustments", "list"], "no pending adjustments"),
    (["adjustments", "list", "--state", "all", "--school", "SCH-0001"], "no adjustments at SCH-0001"),
    (["writeback", "dlq", "list"], "the dead-letter list is empty"),
])
def test_other_empty_lists_say_so(runner, args, says) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert says in result.output


def test_contract_list_is_never_a_blank_line(runner) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(cli, ["contract", "list"])
    assert result.exit_code == 0 and result.stdout.strip()


def test_slips_print_the_service_code_to_dial(synced, sandbox, runner, tmp_path) -> None:  # type: ignore[no-untyped-def]
    synced.config = synced.config.with_overrides(ussd_code="*384*777#")
    class_id = sandbox.district.classes(sandbox.district.schools()[0]["id"])[0]["id"]
    out = tmp_path / "slips.html"
    result = runner.invoke(cli, ["codes", "slips", "--class", class_id, "--out", str(out)])
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert html.count("*384*777#") == 2 * html.count('class="slip"') > 0  # Arabic and English
    listed = runner.invoke(cli, ["codes", "slips", "--class", class_id, "--reissue"])
    assert "Guardians dial *384*777#, choose 2" in listed.stderr


def test_the_service_code_is_a_setting() -> None:
    assert Config.from_env({}).ussd_code == "*384*1234#"
    assert Config.from_env({"HUDOOR_USSD_CODE": "*100*5#"}).ussd_code == "*100*5#"
