"""Talk to any upstream SIS that honours the contract in core/contract/."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from core.upstream import versions


class UpstreamError(Exception):
    """Upstream answered, but not in a way the contract allows."""


class UpstreamUnavailable(UpstreamError):
    """Upstream could not be reached or kept failing after retries (transient)."""


class Transport(Protocol):
    def get_json(self, path: str, params: dict[str, Any] | None = None) -> Any: ...


class HttpTransport:
    """GET JSON over HTTP with retries and back-off on 5xx and connection errors."""

    def __init__(self, base_url: str, *, token: str = "", timeout: float = 30.0,
                 retries: int = 4, backoff: float = 0.2, pool_size: int = 10) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        retry = Retry(total=retries, backoff_factor=backoff, status_forcelist=(500, 502, 503, 504),
                      allowed_methods=frozenset({"GET"}), raise_on_status=False)
        self.session.mount("http://", HTTPAdapter(max_retries=retry, pool_maxsize=pool_size))
        self.session.mount("https://", HTTPAdapter(max_retries=retry, pool_maxsize=pool_size))
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def get_json(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """Return the decoded JSON body of GET `path`."""
        try:
            resp = self.session.get(self.base_url + path, params=params, timeout=self.timeout)
        except requests.RequestException as exc:
            raise UpstreamUnavailable(f"GET {path}: {type(exc).__name__}") from exc
        if resp.status_code >= 500:
            raise UpstreamUnavailable(f"GET {path}: HTTP {resp.status_code} after retries")
        if resp.status_code != 200:
            raise UpstreamError(f"GET {path}: HTTP {resp.status_code}")
        try:
            return resp.json()
        except ValueError as exc:
            raise UpstreamError(f"GET {path}: body is not JSON") from exc

    def close(self) -> None:
        self.session.close()


@dataclass(frozen=True)
class RosterPage:
    people: list[Any]
    next_page_token: str | None


@dataclass(frozen=True)
class ChangesPage:
    changes: list[Any]
    next_cursor: str


def _obj(body: Any, what: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise UpstreamError(f"{what}: response is not a JSON object")
    return body


def _list(body: dict[str, Any], key: str, what: str) -> list[Any]:
    value = body.get(key)
    if not isinstance(value, list):
        raise UpstreamError(f"{what}: '{key}' is missing or not a list")
    return value


class UpstreamClient:
    """The contract's four calls; refuses any page whose schema version is not accepted."""

    def __init__(self, transport: Transport, accepted: frozenset[str] = versions.KNOWN_VERSIONS,
                 page_size: int = 2000) -> None:
        self.transport = transport
        self.accepted = accepted
        self.page_size = page_size

    def _get(self, path: str, params: dict[str, Any] | None, what: str) -> dict[str, Any]:
        body = _obj(self.transport.get_json(path, params), what)
        versions.check(body.get("schema_version"), self.accepted)
        return body

    def schools(self) -> list[Any]:
        """Return the raw school objects."""
        return _list(self._get("/v1/schools", None, "schools"), "schools", "schools")

    def classes(self, school_id: str) -> list[Any]:
        """Return the raw class objects of one school."""
        what = f"classes of {school_id}"
        return _list(self._get(f"/v1/schools/{school_id}/classes", None, what), "classes", what)

    def roster_page(self, school_id: str, page_token: str | None) -> RosterPage:
        """Return one page of a school's roster."""
        params: dict[str, Any] = {"page_size": self.page_size}
        if page_token:
            params["page_token"] = page_token
        what = f"roster of {school_id}"
        body = self._get(f"/v1/schools/{school_id}/roster", params, what)
        token = body.get("next_page_token")
        if token is not None and not isinstance(token, str):
            raise UpstreamError(f"{what}: next_page_token is not a string or null")
        return RosterPage(_list(body, "people", what), token or None)

    def changes(self, cursor: str, limit: int | None = None) -> ChangesPage:
        """Return the changes after `cursor`."""
        body = self._get("/v1/changes", {"cursor": cursor, "limit": limit or self.page_size},
                         "changes")
        nxt = body.get("next_cursor")
        if not isinstance(nxt, str) or not nxt:
            raise UpstreamError("changes: next_cursor is missing")
        return ChangesPage(_list(body, "changes", "changes"), nxt)
