"""Catalogs are code: the committed template matches the source; Arabic is complete."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

from core.i18n import Texts

ROOT = Path(__file__).resolve().parents[2]


def _ids(path: Path) -> set[object]:
    with path.open("rb") as fh:
        return {m.id if isinstance(m.id, str) else tuple(m.id) for m in read_po(fh) if m.id}


def test_committed_template_matches_the_source(tmp_path: Path) -> None:
    out = tmp_path / "messages.pot"
    subprocess.run([str(Path(sys.executable).parent / "pybabel"), "extract", "-F", "babel.cfg",
                    "-k", "_", "-k", "t", "-k", "plural:1,2", "--no-location", "--sort-output",
                    "--omit-header", "-o", str(out), "."], cwd=ROOT, check=True, capture_output=True)
    assert _ids(out) == _ids(ROOT / "locales/messages.pot"), "run `make catalogs` and translate"


def test_arabic_catalog_translates_every_message_with_six_plural_forms() -> None:
    with (ROOT / "locales/ar/LC_MESSAGES/messages.po").open("rb") as fh:
        catalog = read_po(fh, locale="ar")
    assert catalog.num_plurals == 6
    missing = [m.id for m in catalog if m.id and not (m.string if isinstance(m.string, str)
                                                      else all(m.string))]
    assert not missing
    assert _ids(ROOT / "locales/messages.pot") <= {m.id if isinstance(m.id, str) else tuple(m.id)
                                                  for m in catalog if m.id}


def test_arabic_plurals_follow_cldr() -> None:
    t = Texts("ar")
    forms = {n: t.plural("{n} student", "{n} students", n) for n in (0, 1, 2, 3, 11, 100)}
    assert forms[1] == "طالب واحد" and forms[2] == "طالبان"
    assert forms[3] == "3 طلاب" and forms[11] == "11 طالبا" and forms[100] == "100 طالب"
    assert Texts("en").plural("{n} student", "{n} students", 1) == "1 student"


def test_no_fuzzy_entries() -> None:
    """A fuzzy entry passes for translated but is skipped when the catalog is compiled."""
    for lang in ("ar", "en"):
        with (ROOT / f"locales/{lang}/LC_MESSAGES/messages.po").open("rb") as fh:
            assert not [m.id for m in read_po(fh, locale=lang) if m.id and m.fuzzy]
    assert Texts("en").plural("absent {n} day", "absent {n} days", 2) == "absent 2 days"
