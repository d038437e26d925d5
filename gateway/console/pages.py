"""Import every module that adds pages to the console, so registering the blueprint registers them."""

from __future__ import annotations

from gateway.console import analytics, bulk_pages, home, signin, support_pages  # noqa: F401
