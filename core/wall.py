"""The wall: the figures ops look at first, each graded green, amber or red by data.

The thresholds live in core/wall_thresholds.json (HUDOOR_WALL_THRESHOLDS names another
file), not in code: ops tune them without a release. It is the one place for health
thresholds: cohort health and release stages refer to its levels by name (`limit`). `tiles` turns the status data into
the ordered list the page, /status.json and /metrics show — consumer lag first.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

DEFAULT = Path(__file__).with_name("wall_thresholds.json")
GRADES = ("green", "amber", "red")


@dataclass(frozen=True)
class Tile:
    key: str  # e.g. "queue_oldest_seconds:urgent"
    label: str
    value: float | None  # None: nothing to measure yet (shown as "—", graded green)
    unit: str
    grade: str

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


class ThresholdsInvalid(ValueError):
    """The thresholds file cannot be used."""


@lru_cache(maxsize=4)
def thresholds(path: str = str(DEFAULT)) -> dict[str, dict[str, Any]]:
    """Load and check a thresholds file (cached per path)."""
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ThresholdsInvalid(f"{path}: {exc}") from exc
    out = {}
    for key, rule in raw.items():
        if key.startswith("_"):
            continue
        lower = rule.get("worse") == "lower"
        amber, red = rule.get("amber"), rule.get("red")
        if not isinstance(amber, (int, float)) or not isinstance(red, (int, float)) or (
                red > amber if lower else red < amber):
            raise ThresholdsInvalid(f"{path}: {key} needs numbers with red past amber")
        out[key] = {"label": str(rule.get("label", key)), "unit": str(rule.get("unit", "")),
                    "amber": float(amber), "red": float(red), "lower": lower}
    return out


def grade(rules: dict[str, dict[str, Any]], key: str, value: float | None) -> str:
    """Grade `value` by the rule for `key` (or its family, the part before ':')."""
    rule = rules.get(key) or rules[key.split(":")[0]]
    if value is None:
        return "green"
    if rule["lower"]:
        return "red" if value <= rule["red"] else "amber" if value < rule["amber"] else "green"
    return "red" if value >= rule["red"] else "amber" if value >= rule["amber"] else "green"


LEVELS = ("amber", "red")


def limit(rules: dict[str, dict[str, Any]], key: str, level: str) -> tuple[float, bool]:
    """Return the wall's `level` ("amber" or "red") for figure `key`, and whether lower is worse.

    Cohort health (core/cohort_rules.toml) and release stages (core/release_stages.toml) refer
    to these numbers instead of keeping their own: one place for each health threshold.
    """
    if level not in LEVELS:
        raise ThresholdsInvalid(f"level must be one of {', '.join(LEVELS)}, got {level!r}")
    try:
        rule = rules[key]
    except KeyError as exc:
        raise ThresholdsInvalid(f"no figure {key!r} in the thresholds file") from exc
    return rule[level], rule["lower"]


def tile(rules: dict[str, dict[str, Any]], key: str, value: float | None,
         label: str | None = None) -> Tile:
    rule = rules.get(key) or rules[key.split(":")[0]]
    return Tile(key, label or rule["label"], value, rule["unit"], grade(rules, key, value))


def tiles(data: dict[str, Any], rules: dict[str, dict[str, Any]]) -> list[Tile]:
    """Return the wall's tiles from /status data, in the order they are read: lag first."""
    out = [tile(rules, f"queue_oldest_seconds:{name}", q.get("oldest_age_seconds"),
                f"queue {name}: oldest waiting job")
           for name, q in data.get("queues", {}).items()]
    wb = data.get("writeback") or {}
    out += [tile(rules, "writeback_lag_seconds", wb.get("oldest_unacked_seconds")),
            tile(rules, "writeback_dlq", wb.get("dead"))]
    sms = data.get("sms") or {}
    provider = sms.get("provider") or {}
    out.append(tile(rules, "sms_failure_share", provider.get("failure_share"),
                    f"SMS provider: {provider.get('says', 'no sends yet')}"))
    delta = data.get("last_delta_sync") or {}
    failed = 1 if delta.get("status") == "failed" else 0
    out.append(tile(rules, "sync_failed", failed,
                    f"upstream: last delta sync failed ({delta.get('error')})" if failed
                    else "upstream: last delta sync did not fail"))
    out += [tile(rules, "sms_dlq", sms.get("dlq")),
            tile(rules, "sms_delivery_ratio", sms.get("delivery_ratio_24h"))]
    for name, op in (sms.get("operators") or {}).items():
        allowed, cap = op.get("allowed_per_second"), op.get("cap_per_second")
        ratio = None if allowed is None or not cap else round(allowed / cap, 3)
        out.append(tile(rules, f"sms_rate_of_cap:{name}", ratio,
                        f"{name}: allowed rate vs cap ({op.get('throttle')})"))
    shed = data.get("shedding") or {}
    out.append(tile(rules, "shedding", 1 if shed.get("holding") else 0,
                    "capture first: SMS, digests, write-back held" if shed.get("holding")
                    else "capture first: nothing held"))
    hops = data.get("ussd") or {}
    out += [tile(rules, "ussd_p99_ms", hops.get("p99_ms")),
            tile(rules, "ussd_error_rate", hops.get("error_rate")),
            tile(rules, "seconds_since_delta_sync", data.get("seconds_since_delta_sync")),
            tile(rules, "revocation_lag_max_seconds",
                 (data.get("revocation_lag_24h") or {}).get("max_seconds"))]
    for operator, kinds in (data.get("probes") or {}).items():
        for kind, r in kinds.items():
            detail = "ok" if r.get("ok") else r.get("detail", "")
            out.append(tile(rules, f"probe_failures:{operator}:{kind}", r.get("failures_in_a_row"),
                            f"probe {operator} {kind.upper()}: {detail}"))
    if "tickets" in data:
        out.append(tile(rules, "tickets_sla_overdue", (data["tickets"] or {}).get("sla_overdue")))
    replica = data.get("replica") or {}
    if replica.get("configured"):
        out.append(tile(rules, "replica_lag_seconds", replica.get("lag_seconds")))
    return out


def overall(wall: list[Tile]) -> str:
    """The worst grade on the wall."""
    return max((t.grade for t in wall), key=GRADES.index, default="green")
