"""Evidence takes the log lines that name someone from the newest part of each log."""

from __future__ import annotations

from pathlib import Path

import pytest

from core import evidence


def test_log_lines_come_from_the_newest_part_with_their_offsets(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "worker.log"
    lines = [f"{i:02d} sent to STU-1 via +201012345678\n" if i % 2 else f"{i:02d} other\n"
             for i in range(10)]
    log.write_text("".join(lines), encoding="utf-8")
    (tmp_path / "notes.txt").write_text("STU-1\n", encoding="utf-8")  # not a log
    monkeypatch.setattr(evidence, "MAX_LOG_BYTES", sum(len(x) for x in lines[-4:]) + 3)
    found = evidence._log_lines(tmp_path, ["STU-1"])
    assert [f["text"] for f in found] == ["07 sent to STU-1 via [removed: phone number]",
                                          "09 sent to STU-1 via [removed: phone number]"]
    raw = log.read_bytes()
    assert all(raw[f["offset"]:].startswith(f["text"][:2].encode()) for f in found)
    assert evidence._log_lines(tmp_path / "missing", ["STU-1"]) == []
