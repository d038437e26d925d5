"""Every contract endpoint of the sandbox serves schema-valid pages with exact paging."""

from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from sandbox.app import create_sandbox_app
from sandbox.district import District

JSON = "application/json; charset=utf-8"
Pages = Callable[[FlaskClient, str, int], list[dict[str, Any]]]


def test_schools_and_classes_validate(client: FlaskClient, district: District, validate) -> None:
    response = client.get("/v1/schools")
    assert response.status_code == 200 and response.content_type == JSON
    body = response.get_json()
    validate("schools_page", body)
    assert body["schema_version"] == "1"
    assert [s["id"] for s in body["schools"]] == [i.id for i in district.infos]
    for school in body["schools"]:
        classes = client.get(f"/v1/schools/{school['id']}/classes")
        assert classes.status_code == 200 and classes.content_type == JSON
        validate("classes_page", classes.get_json())
        assert classes.get_json()["school_id"] == school["id"]


def test_arabic_is_sent_unescaped(client: FlaskClient) -> None:
    raw = client.get("/v1/schools").get_data()
    assert "مدرسة".encode() in raw and b"\\u" not in raw


@pytest.mark.parametrize("page_size", [1, 7, 100, 312, 5000])
def test_paging_covers_everyone_exactly_once(client: FlaskClient, district: District,
                                             validate, roster_pages: Pages,
                                             page_size: int) -> None:
    for info in district.infos:
        pages = roster_pages(client, info.id, page_size)
        ids = []
        for page in pages:
            validate("roster_page", page)
            assert page["school_id"] == info.id
            assert len(page["people"]) <= page_size
            ids += [p["id"] for p in page["people"]]
        assert len(ids) == len(set(ids)) == 312
        assert ids == [p["id"] for p in district.roster(info.id)]
        assert all(len(page["people"]) == page_size for page in pages[:-1])
        assert pages[-1]["next_page_token"] is None


def test_order_is_stable_across_requests(client: FlaskClient, roster_pages: Pages) -> None:
    first = [p for page in roster_pages(client, "SCH-0002", 50) for p in page["people"]]
    again = [p for page in roster_pages(client, "SCH-0002", 50) for p in page["people"]]
    assert first == again


def test_default_page_size_and_last_page(client: FlaskClient, validate) -> None:
    body = client.get("/v1/schools/SCH-0001/roster").get_json()
    validate("roster_page", body)
    assert len(body["people"]) == 312 and body["next_page_token"] is None


def test_unknown_school_is_404_json(client: FlaskClient) -> None:
    for path in ("/v1/schools/SCH-9999/roster", "/v1/schools/SCH-9999/classes",
                 "/v1/schools/nope/roster?page_size=abc"):
        response = client.get(path)
        assert response.status_code == 404 and response.content_type == JSON
        assert response.get_json()["error"] == "unknown_school"


@pytest.mark.parametrize("query", [
    "page_size=0", "page_size=5001", "page_size=-1", "page_size=ten", "page_size=1.5",
    "page_token=abc", "page_token=-3", "page_token=100000", "page_size=١٠",
])
def test_bad_paging_params_are_400_json(client: FlaskClient, query: str) -> None:
    response = client.get(f"/v1/schools/SCH-0001/roster?{query}")
    assert response.status_code == 400 and response.content_type == JSON
    assert response.get_json()["error"] == "bad_request"


@pytest.mark.parametrize("query", ["cursor=x", "cursor=-1", "limit=0", "limit=5001", "cursor=5"])
def test_bad_change_params_are_400_json(client: FlaskClient, query: str) -> None:
    response = client.get(f"/v1/changes?{query}")
    assert response.status_code == 400 and response.get_json()["error"] == "bad_request"


def test_empty_change_feed_keeps_cursor(client: FlaskClient, validate) -> None:
    for url in ("/v1/changes", "/v1/changes?cursor=0&limit=10"):
        body = client.get(url).get_json()
        validate("changes_page", body)
        assert body["changes"] == [] and body["next_cursor"] == "0"


def test_unknown_route_and_method_answer_json(client: FlaskClient) -> None:
    assert client.get("/v1/nothing").status_code == 404
    response = client.post("/v1/schools")
    assert response.status_code == 405 and response.content_type == JSON


def test_bearer_token_is_enforced_when_configured(district: District) -> None:
    client = create_sandbox_app(district, token="s3cret").test_client()
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret"}):
        response = client.get("/v1/schools", headers=headers)
        assert response.status_code == 401 and response.content_type == JSON
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/sandbox/stats").status_code == 401
    ok = client.get("/v1/schools", headers={"Authorization": "Bearer s3cret"})
    assert ok.status_code == 200


def test_stats_count_what_was_served(client: FlaskClient, roster_pages: Pages) -> None:
    roster_pages(client, "SCH-0003", 100)
    client.get("/v1/schools")
    stats = client.get("/sandbox/stats").get_json()
    assert stats["pages"] == 4 and stats["people"] == 312 and stats["requests"] == 5
    assert stats["schools"] == 5 and stats["base_population"] == 1560
