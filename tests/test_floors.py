"""The house's floors: core at the bottom, features above, the gateway on top.

Read from the code's own imports (every `import`, also inside functions), so a new
upward import or a product module leaning on a stand-in fails here, not in review.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("core", "shaping", "ussd", "digests", "gateway", "sandbox", "simulator")
# What each package may import besides itself. digests sends through the shared shaper
# (S3), so the SMS feature stands on shaping; the stand-ins use the product's operator table.
# No product package imports a stand-in: `hudoor sandbox|simulator` reach them by name
# through the CLI's lazy command table (gateway/cli.py).
ALLOWED = {
    "core": set(),
    "shaping": {"core"},
    "ussd": {"core"},
    "digests": {"core", "shaping"},
    "gateway": {"core", "shaping", "ussd", "digests"},
    "sandbox": {"core"},
    "simulator": {"core", "shaping"},
}


def imports_of(path: Path) -> set[str]:
    """Return the top-level project packages a file imports (absolute imports only)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        else:
            continue
        found.update(n.split(".")[0] for n in names if n.split(".")[0] in PACKAGES)
    return found


def violations() -> list[str]:
    """Return every import that runs up a floor or across to a package it may not use."""
    bad = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            for target in imports_of(path) - {package}:
                if target not in ALLOWED[package]:
                    bad.append(f"{rel} imports {target}")
    return bad


def test_no_import_runs_up_a_floor_or_into_a_stand_in() -> None:
    assert violations() == []


@pytest.mark.parametrize("source, target", [
    ("core/probe.py", "from digests import outbox\n"),
    ("ussd/probe.py", "import gateway.app\n"),
    ("digests/probe.py", "def f():\n    from ussd import machine\n"),
    ("core/probe.py", "from sandbox.district import District\n"),
])
def test_the_check_catches_an_upward_import(tmp_path: Path, source: str, target: str,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "house"
    for package in PACKAGES:
        (fake / package).mkdir(parents=True)
    (fake / source).write_text(target, encoding="utf-8")
    monkeypatch.setitem(globals(), "ROOT", fake)
    assert violations() == [f"{source} imports {imports_of(fake / source).pop()}"]
