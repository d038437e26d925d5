"""Import every module of this package, so that registering `console_bp` registers all its pages.

A branch adding pages puts its module in gateway/console/ (e.g. `tickets.py`) and touches no
list here: parallel branches merge without conflicts in this file.
"""

from __future__ import annotations

import importlib
import pkgutil

import gateway.console as _package

for _info in sorted(pkgutil.iter_modules(_package.__path__), key=lambda m: m.name):
    importlib.import_module(f"{_package.__name__}.{_info.name}")
