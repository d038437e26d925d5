"""The honest pages: /healthz, /status (HTML and JSON) and /metrics over real HTTP handling."""

from __future__ import annotations

from rq import Queue

from gateway.jobs import sync_delta


def test_healthz_reports_database_and_redis(client) -> None:  # type: ignore[no-untyped-def]
    resp = client.get("/healthz")
    assert resp.status_code == 200
    assert resp.get_json() == {"status": "ok", "database": "ok", "redis": "ok"}


def test_healthz_is_honest_when_redis_is_down(runtime, client, redis_server) -> None:  # type: ignore[no-untyped-def]
    import redis

    runtime._redis = redis.Redis(port=1, socket_connect_timeout=0.2, retry=None)
    resp = client.get("/healthz")
    assert resp.status_code == 503
    assert resp.get_json()["redis"].startswith("error")
    assert "unreachable" in client.get("/status.json").get_json()["redis"]


def test_status_shows_the_synced_district_and_queue_lag(synced, sandbox, client) -> None:  # type: ignore[no-untyped-def]
    Queue("sync", connection=synced.redis).enqueue(sync_delta)
    html = client.get("/status").get_data(as_text=True)
    assert "Last full sync" in html and "done" in html
    data = client.get("/status", headers={"Accept": "application/json"}).get_json()
    people = sum(v["active"] for v in data["people"].values())
    assert people == sandbox.district.base_population
    assert data["schools"] == 2
    assert data["last_full_sync"]["counts"]["added"] == people
    assert data["queues"]["sync"]["waiting"] == 1
    assert data["queues"]["sync"]["oldest_age_seconds"] is not None
    assert data["seconds_since_delta_sync"] is None  # never: shown as a warning, not hidden
    assert 'id="delta-age" class="warn"' in html
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'hudoor_people{role="student",state="active"} ' in metrics


def test_cli_migrates_a_fresh_database(runner, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from core.config import Config
    from gateway.app import create_app
    from gateway.cli import cli

    app = create_app({"HUDOOR_CONFIG": Config(var_dir=tmp_path / "fresh")})
    result = app.test_cli_runner().invoke(cli, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    from alembic.script import ScriptDirectory

    from core.migrate import alembic_config

    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert f"database at revision {head}" in result.output
    assert (tmp_path / "fresh" / "hudoor.db").exists()
