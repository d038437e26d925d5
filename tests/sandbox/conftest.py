"""Fixtures for the sandbox SIS tests: the contract schema, districts and Flask clients."""

import json
import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator, FormatChecker

from sandbox.app import create_sandbox_app
from sandbox.district import District

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_PATH = ROOT / "core" / "contract" / "v1" / "upstream.schema.json"
DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
KINDS = ("schools_page", "classes_page", "roster_page", "changes_page", "person", "change")

Validate = Callable[[str, Any], None]
Errors = Callable[[str, Any], list[str]]


def _date_time(value: object) -> bool:
    """Check RFC 3339 date-time strictly (jsonschema skips it without rfc3339-validator)."""
    if not isinstance(value, str):
        return True
    if not DATE_TIME.match(value):
        return False
    datetime.fromisoformat(value.replace("Z", "+00:00"))
    return True


def _validators() -> dict[str, Draft202012Validator]:
    """Return one validator per $def used by the tests, plus the root schema."""
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    checker = FormatChecker()
    checker.checks("date-time", raises=ValueError)(_date_time)
    out = {"root": Draft202012Validator(schema, format_checker=checker)}
    for kind in KINDS:
        sub = {"$ref": f"#/$defs/{kind}", "$defs": schema["$defs"]}
        out[kind] = Draft202012Validator(sub, format_checker=checker)
    return out


@pytest.fixture(scope="session")
def validators() -> dict[str, Draft202012Validator]:
    """Return the contract validators."""
    return _validators()


@pytest.fixture(scope="session")
def validate(validators: dict[str, Draft202012Validator]) -> Validate:
    """Return a function asserting a body is a valid $def instance (and root, for pages)."""

    def check(kind: str, body: Any) -> None:
        validators[kind].validate(body)
        if kind.endswith("_page"):
            validators["root"].validate(body)

    return check


@pytest.fixture(scope="session")
def errors(validators: dict[str, Draft202012Validator]) -> Errors:
    """Return a function listing validation errors of a body against a $def."""

    def collect(kind: str, body: Any) -> list[str]:
        return [e.message for e in validators[kind].iter_errors(body)]

    return collect


@pytest.fixture()
def district() -> District:
    """Return a fresh demo district."""
    return District.demo(seed=7)


@pytest.fixture()
def client(district: District) -> FlaskClient:
    """Return a test client for a sandbox app over the demo district."""
    return create_sandbox_app(district).test_client()


def fetch_roster(client: FlaskClient, school_id: str, page_size: int = 100) -> list[dict[str, Any]]:
    """Return every page body of a school's roster, following next_page_token."""
    pages, token = [], None
    while True:
        url = f"/v1/schools/{school_id}/roster?page_size={page_size}"
        if token is not None:
            url += f"&page_token={token}"
        response = client.get(url)
        assert response.status_code == 200, response.get_data(as_text=True)
        pages.append(response.get_json())
        token = pages[-1]["next_page_token"]
        if token is None:
            return pages


@pytest.fixture(scope="session")
def roster_pages() -> Callable[[FlaskClient, str, int], list[dict[str, Any]]]:
    """Return the roster-walking helper."""
    return fetch_roster
