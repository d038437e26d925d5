"""Health, status and metrics: the honest pages (R1)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, render_template, request
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from core import banner, calendar, capture_load, probes, status, ticket_sla, wall
from core.models import utcnow
from core.runtime import runtime_of
from core.writeback import outbox

bp = Blueprint("status", __name__)


@bp.app_template_filter("cairo")
def cairo_time(iso: str) -> str:
    """Show an ISO timestamp as Cairo local time, to the second."""
    from datetime import datetime

    return calendar.to_cairo(datetime.fromisoformat(iso)).strftime("%Y-%m-%d %H:%M:%S")


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    """Answer 200 when the database and Redis both answer, 503 otherwise."""
    rt = runtime_of(current_app)
    checks: dict[str, str] = {}
    try:
        with rt.sessions() as session:
            session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except SQLAlchemyError as exc:
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        rt.redis.ping()
        checks["redis"] = "ok"
    except RedisError as exc:
        checks["redis"] = f"error: {type(exc).__name__}"
    ok = all(v == "ok" for v in checks.values())
    return jsonify(status="ok" if ok else "degraded", **checks), (200 if ok else 503)


def _collect() -> dict[str, Any]:
    from digests.outbox import doubt_summary
    from digests.report_day import progress

    rt = runtime_of(current_app)
    with rt.replica_sessions() as session:
        data = status.collect(session, rt.redis, utcnow())
        data["writeback"] = outbox.lag(session, rt.clock())  # the runtime's clock: drills move it
        batch = progress(session)
        doubt = doubt_summary(session)
    data["report_day"] = batch.__dict__ if batch else None
    data["replica"] = rt.replicas.state().as_json()
    data["ussd"] = _hops(rt)
    pressure = capture_load.Signal(rt.redis).reason()
    data["shedding"] = {"holding": pressure is not None, "reason": pressure}
    with rt.sessions() as session:  # the primary: a banner just set shows at once
        data["banner"] = banner.as_json(banner.current(session))
        data["probes"] = {op: {kind: r.as_json() for kind, r in kinds.items()} for op, kinds in
                          probes.latest(session, list(rt.config.probe_sims)).items()}
        data["tickets"] = {"sla_overdue": ticket_sla.overdue_count(session, rt.clock())}
    data["sms"] = {**_sms(rt), **doubt}  # the pipeline's figures, then what is in doubt
    rules = wall.thresholds(rt.config.wall_thresholds_file or str(wall.DEFAULT))
    tiles = wall.tiles(data, rules)
    data["wall"] = [t.as_json() for t in tiles]
    data["overall"] = wall.overall(tiles)
    return data


def _hops(rt: Any) -> dict[str, Any]:
    """USSD hops of the last five minutes, every process's (this one's flushed first)."""
    from gateway.ussd import HOPS
    from ussd.hop_metrics import summary

    try:
        HOPS.flush(rt.redis)
        return summary(rt.redis, rt.clock()).as_json()
    except RedisError:
        return {"minutes": 5, "hops": None, "errors": None, "error_rate": None, "p99_ms": None}


def _sms(rt: Any) -> dict[str, Any]:
    """The SMS section: outbox, DLQ, per-operator rate vs cap, delivery ratio (digests.status)."""
    from digests.services import build_shaper
    from digests.status import sms_status
    from shaping.policy import OperatorCaps

    with rt.replica_sessions() as session:
        return sms_status(session, build_shaper(rt), OperatorCaps.parse(rt.config.operator_caps),
                          rt.clock())


DB_DOWN = ("The database is unreachable. Taking attendance over USSD answers \"busy, nothing "
           "saved\" until it is back; SMS, sync and write-back wait. Nothing needs doing by hand "
           "when it returns.")


def _database_down(as_json: bool) -> tuple[Any, int]:
    """The plain answer while the database is down (every figure on the wall needs it)."""
    rt = runtime_of(current_app)
    try:
        rt.redis.ping()
        redis_state = "ok"
    except RedisError as exc:
        redis_state = f"unreachable: {type(exc).__name__}"
    if as_json:
        return jsonify(status="database unreachable", overall="red", message=DB_DOWN,
                       redis=redis_state), 503
    now = calendar.now_cairo(rt.clock).strftime("%Y-%m-%d %H:%M")
    return render_template("status_down.html", message=DB_DOWN, redis=redis_state, now=now), 503


@bp.get("/status")
def status_page() -> Any:
    """Show last syncs, counts, revocation lag and queue lag (HTML, or JSON if asked)."""
    as_json = request.accept_mimetypes.best == "application/json" or request.args.get("format") == "json"
    try:
        data = _collect()
    except SQLAlchemyError:
        return _database_down(as_json)
    if as_json:
        return jsonify(data)
    return render_template("status.html", s=data, cairo_now=calendar.now_cairo(runtime_of(current_app).clock))


@bp.get("/status.json")
def status_json() -> Any:
    """Return the status data as JSON."""
    try:
        return jsonify(_collect())
    except SQLAlchemyError:
        return _database_down(True)


@bp.get("/metrics")
def metrics() -> Response:
    """Expose the key gauges in Prometheus text format."""
    try:
        data = _collect()
    except SQLAlchemyError:  # the one gauge that can be told: the database is down
        return Response("# TYPE hudoor_database_up gauge\nhudoor_database_up 0\n",
                        mimetype="text/plain", status=503)
    lines = ["# TYPE hudoor_database_up gauge", "hudoor_database_up 1", "# TYPE hudoor_people gauge"]
    for role, n in sorted(data["people"].items()):
        lines.append(f'hudoor_people{{role="{role}",state="active"}} {n["active"]}')
        lines.append(f'hudoor_people{{role="{role}",state="inactive"}} {n["inactive"]}')
    lag = data["revocation_lag_24h"]
    lines += ["# TYPE hudoor_revocation_lag_max_seconds gauge",
              f"hudoor_revocation_lag_max_seconds {lag['max_seconds'] or 0}",
              "# TYPE hudoor_seconds_since_delta_sync gauge",
              f"hudoor_seconds_since_delta_sync {data['seconds_since_delta_sync'] or -1}",
              "# TYPE hudoor_quarantine_open gauge", f"hudoor_quarantine_open {data['quarantine_open']}"]
    full = data["last_full_sync"] or {}
    lines.append("# TYPE hudoor_sync_dropped_fields_total counter")
    lines.append(f"hudoor_sync_dropped_fields_total {full.get('counts', {}).get('dropped_fields', 0)}")
    wb = data["writeback"]
    lines += ["# TYPE hudoor_writeback_lag_seconds gauge",
              f"hudoor_writeback_lag_seconds {wb['oldest_unacked_seconds']}",
              "# TYPE hudoor_writeback_pending gauge", f"hudoor_writeback_pending {wb['pending']}",
              "# TYPE hudoor_writeback_dead gauge", f"hudoor_writeback_dead {wb['dead']}"]
    hops = data["ussd"]
    lines += ["# TYPE hudoor_ussd_hop_p99_ms gauge",
              f"hudoor_ussd_hop_p99_ms {hops['p99_ms'] if hops['p99_ms'] is not None else -1}",
              "# TYPE hudoor_ussd_hop_error_ratio gauge",
              f"hudoor_ussd_hop_error_ratio {hops['error_rate'] if hops['error_rate'] is not None else 0}",
              "# TYPE hudoor_ussd_hops_5m gauge", f"hudoor_ussd_hops_5m {hops['hops'] or 0}",
              "# TYPE hudoor_wall_grade gauge"]
    lines += [f'hudoor_wall_grade{{tile="{t["key"]}"}} {wall.GRADES.index(t["grade"])}'
              for t in data["wall"]]
    lines.append(f"hudoor_incident_banner {0 if data['banner'] is None else 1}")
    lines += ["# TYPE hudoor_tickets_sla_overdue gauge",
              f"hudoor_tickets_sla_overdue {data['tickets']['sla_overdue']}"]
    probed = [(f'operator="{op}",kind="{kind}"', r) for op, kinds in data["probes"].items()
              for kind, r in kinds.items()]
    lines.append("# TYPE hudoor_probe_alert gauge")
    lines += [f"hudoor_probe_alert{{{labels}}} {int(r['alert'])}" for labels, r in probed]
    lines.append("# TYPE hudoor_probe_latency_ms gauge")
    lines += [f"hudoor_probe_latency_ms{{{labels}}} "
              f"{r['latency_ms'] if r['latency_ms'] is not None else -1}" for labels, r in probed]
    replica = data["replica"]
    lines += ["# TYPE hudoor_replica_serving_reads gauge",
              f"hudoor_replica_serving_reads {int(replica['serving_reads'])}",
              "# TYPE hudoor_replica_lag_seconds gauge",
              f"hudoor_replica_lag_seconds {replica['lag_seconds'] if replica['lag_seconds'] is not None else -1}"]
    lines.append("# TYPE hudoor_queue_oldest_age_seconds gauge")
    for name, q in data.get("queues", {}).items():
        lines.append(f'hudoor_queue_oldest_age_seconds{{queue="{name}"}} {q["oldest_age_seconds"] or 0}')
    return Response("\n".join(lines) + "\n", mimetype="text/plain")
