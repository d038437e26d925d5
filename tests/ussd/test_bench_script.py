"""The spike bench's phones read today's Arabic screens (a reworded prompt broke it once).

bench/ussd_sessions.lua answers each screen by a phrase on it; when "الغائبون؟" became
"الغياب:" it answered "1" to the absent prompt for good, and the capacity bench measured an
error screen instead of registers being confirmed. Every phrase it answers on must still be
in the Arabic catalog (one of each branch's alternatives).
"""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]


def _arabic() -> list[str]:
    with (ROOT / "locales/ar/LC_MESSAGES/messages.po").open("rb") as fh:
        out = []
        for m in read_po(fh):
            out += list(m.string) if isinstance(m.string, tuple) else [m.string or ""]
        return out


def test_every_screen_the_bench_answers_is_still_on_a_screen() -> None:
    catalog = _arabic()
    lines = (ROOT / "bench/ussd_sessions.lua").read_text().splitlines()
    branches = [line for line in lines if re.match(r"\s*(else)?if has\(body", line)]
    assert len(branches) >= 6
    for line in branches:
        if "CON hello" in line:  # the bare hop's own screen
            continue
        needles = [re.sub(r"^\d ", "", n) for n in re.findall(r'has\(body, "([^"]+)"\)', line)]
        assert any(any(n in s for s in catalog) for n in needles), f"no screen says {needles}: {line}"
