"""The sandbox through werkzeug's real threaded server, and the click command."""

import threading

import pytest
import requests
from click.testing import CliRunner

from sandbox import cli
from sandbox.district import District
from sandbox.faults import Faults
from sandbox.server import SandboxServer


def test_real_server_serves_valid_pages_concurrently(validate) -> None:
    district = District(seed=2, schools=4, students_per_school=250, teachers_per_school=10)
    with SandboxServer(district, token="tok") as server, requests.Session() as http:
        assert server.url.startswith("http://127.0.0.1:") and server.district is district
        http.headers["Authorization"] = "Bearer tok"
        schools = http.get(f"{server.url}/v1/schools", timeout=10)
        assert schools.headers["Content-Type"] == "application/json; charset=utf-8"
        validate("schools_page", schools.json())
        failures: list[BaseException] = []

        def churn() -> None:
            try:
                with requests.Session() as own:
                    own.headers["Authorization"] = "Bearer tok"
                    for seed in range(5):
                        own.post(f"{server.url}/sandbox/changes",
                                 json={"op": "random", "n": 40, "seed": seed}, timeout=10)
            except requests.RequestException as exc:
                failures.append(exc)

        writer = threading.Thread(target=churn)
        writer.start()
        seen: set[str] = set()
        for school in schools.json()["schools"]:
            token = None
            while True:
                params = {"page_size": 37, **({"page_token": token} if token else {})}
                body = http.get(f"{server.url}/v1/schools/{school['id']}/roster",
                                params=params, timeout=10).json()
                validate("roster_page", body)
                seen.update(p["id"] for p in body["people"])
                token = body["next_page_token"]
                if token is None:
                    break
        writer.join()
        assert not failures and len(seen) > 900
        changes = http.get(f"{server.url}/v1/changes?limit=5000", timeout=10).json()
        validate("changes_page", changes)
        assert len(changes["changes"]) == 200
        assert requests.get(f"{server.url}/v1/schools", timeout=10).status_code == 401


def test_real_server_faults_switch_at_runtime(validate) -> None:
    with SandboxServer(District.demo(), Faults(schema_version="2")) as server, \
            requests.Session() as http:
        assert http.get(f"{server.url}/v1/schools", timeout=10).json()["schema_version"] == "2"
        server.faults.set(Faults(error_rate=1.0))
        assert http.get(f"{server.url}/v1/schools", timeout=10).status_code in (500, 503)
        server.faults.clear()
        validate("schools_page", http.get(f"{server.url}/v1/schools", timeout=10).json())


def test_cli_serve_builds_the_district_and_prints_the_url(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    monkeypatch.setattr(cli, "serve",
                        lambda app, host, port, quiet: calls.append((app, host, port)))
    result = CliRunner().invoke(cli.sandbox, ["serve", "--port", "6060", "--schools", "3",
                                              "--students", "90", "--token", "t"])
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines() == [
        "sandbox SIS: 3 schools, 306 people at http://127.0.0.1:6060"]
    app, host, port = calls[0]
    assert (host, port) == ("127.0.0.1", 6060)
    assert app.test_client().get("/v1/schools").status_code == 401


def test_cli_national_district_and_bad_choice() -> None:
    district = cli.build_district("national", 1, None, None, None)
    assert district.base_population == 820_000
    result = CliRunner().invoke(cli.sandbox, ["serve", "--district", "planet"])
    assert result.exit_code != 0
