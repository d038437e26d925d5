"""Read every setting from the environment, in one place."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from datetime import time
from pathlib import Path
from typing import Any, Callable, Mapping, TypeVar

ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")


class ConfigError(RuntimeError):
    """A setting is missing or malformed."""


def _read(env: Mapping[str, str], name: str, default: T, parse: Callable[[str], T],
          kind: str) -> T:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        return parse(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be {kind}, got {raw!r}") from exc


def _yes_no(raw: str) -> bool:
    word = raw.lower()
    if word in ("1", "true", "yes", "on"):
        return True
    if word in ("0", "false", "no", "off"):
        return False
    raise ValueError(raw)


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    return _read(env, name, default, int, "an integer")


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    return _read(env, name, default, float, "a number")


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    return _read(env, name, default, _yes_no, "true or false")


@dataclass(frozen=True)
class Config:
    """Hudoor's settings; build with `Config.from_env()`."""

    env: str = "development"
    var_dir: Path = ROOT / "var"
    database_url: str = ""
    replica_url: str = ""
    redis_url: str = ""
    upstream_url: str = "http://127.0.0.1:5050"
    upstream_token: str = ""
    upstream_page_size: int = 2000
    upstream_timeout: float = 30.0
    upstream_retries: int = 4
    sync_interval_seconds: int = 300
    secret_key: str = "dev-only-secret"
    callback_token: str = "dev-callback-token"
    timezone: str = "Africa/Cairo"
    # SMS pipeline (issue 4)
    sms_provider: str = "console"  # "console" or "africastalking"
    at_username: str = "sandbox"
    at_api_key: str = "dev-at-key"
    at_base_url: str = ""  # empty: the SDK's own URL; set to the simulator for tests and demos
    at_sender_id: str = ""
    at_keepalive: bool = True  # keep-alive pool under the SDK; false: the SDK's own requests.post
    operator_caps: str = "vodafone=200,orange=150,etisalat=100,we=50"
    sms_max_attempts: int = 4
    shaper_guard_ms: int = 10  # extra span of the sliding second for arrival jitter (decision 8)
    sms_urgent_share: float = 0.2  # share of each operator's cap kept free for urgent SMS
    sms_retry_base_seconds: int = 60
    sms_unknown_grace_seconds: int = 6 * 3600  # in-doubt messages wait this long for a DLR
    digest_cutoff: str = "15:30"  # Cairo time; late arrivals are in by then
    quiet_start_hour: int = 21
    quiet_end_hour: int = 7
    # USSD (issue 3)
    ussd_session_seconds: int = 600
    ussd_resume_seconds: int = 900  # a dropped marking session can be resumed this long
    ussd_max_gsm7: int = 182  # 160 octets as GSM-7 characters
    ussd_max_ucs2: int = 80  # 160 octets as UCS-2 characters (any Arabic on the screen)
    ussd_ip_allowlist: str = ""  # comma-separated; empty allows any source address
    code_ttl_days: int = 14
    # Attendance write-back and reconciliation (issue 9)
    writeback_timeout: float = 10.0  # seconds per upstream write or read
    writeback_max_attempts: int = 8  # then the dead-letter list
    writeback_retry_base_seconds: int = 30  # doubles per attempt, capped at an hour
    writeback_batch: int = 200  # outbox rows one job sends before yielding
    writeback_window_days: int = 45  # class-days this recent are swept into the outbox
    reconcile_rounds: int = 5  # re-send and re-read rounds before a school-day stays differing
    reconcile_workers: int = 4  # school-days reconciled at once (PostgreSQL; SQLite: one)
    fake_now: str = ""  # ISO time to run the clock from (drills, demos, benchmarks); never in production
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Config":
        """Build the config from HUDOOR_* environment variables."""
        env = os.environ if env is None else env
        mode = env.get("HUDOOR_ENV", "development")
        var_dir = Path(env.get("HUDOOR_VAR_DIR", str(ROOT / "var")))
        cfg = cls(
            env=mode,
            var_dir=var_dir,
            database_url=env.get("HUDOOR_DATABASE_URL", ""),
            replica_url=env.get("HUDOOR_REPLICA_URL", ""),
            redis_url=env.get("HUDOOR_REDIS_URL", ""),
            upstream_url=env.get("HUDOOR_UPSTREAM_URL", cls.upstream_url),
            upstream_token=env.get("HUDOOR_UPSTREAM_TOKEN", ""),
            upstream_page_size=_int(env, "HUDOOR_UPSTREAM_PAGE_SIZE", cls.upstream_page_size),
            upstream_retries=_int(env, "HUDOOR_UPSTREAM_RETRIES", cls.upstream_retries),
            sync_interval_seconds=_int(
                env, "HUDOOR_SYNC_INTERVAL_SECONDS", cls.sync_interval_seconds
            ),
            secret_key=env.get("HUDOOR_SECRET_KEY", cls.secret_key),
            callback_token=env.get("HUDOOR_CALLBACK_TOKEN", cls.callback_token),
            ussd_session_seconds=_int(env, "HUDOOR_USSD_SESSION_SECONDS", cls.ussd_session_seconds),
            ussd_resume_seconds=_int(env, "HUDOOR_USSD_RESUME_SECONDS", cls.ussd_resume_seconds),
            ussd_max_gsm7=_int(env, "HUDOOR_USSD_MAX_GSM7", cls.ussd_max_gsm7),
            ussd_max_ucs2=_int(env, "HUDOOR_USSD_MAX_UCS2", cls.ussd_max_ucs2),
            ussd_ip_allowlist=env.get("HUDOOR_USSD_IP_ALLOWLIST", cls.ussd_ip_allowlist),
            code_ttl_days=_int(env, "HUDOOR_CODE_TTL_DAYS", cls.code_ttl_days),
            writeback_timeout=_float(env, "HUDOOR_WRITEBACK_TIMEOUT", cls.writeback_timeout),
            writeback_max_attempts=_int(env, "HUDOOR_WRITEBACK_MAX_ATTEMPTS",
                                        cls.writeback_max_attempts),
            writeback_retry_base_seconds=_int(env, "HUDOOR_WRITEBACK_RETRY_BASE_SECONDS",
                                              cls.writeback_retry_base_seconds),
            writeback_batch=_int(env, "HUDOOR_WRITEBACK_BATCH", cls.writeback_batch),
            writeback_window_days=_int(env, "HUDOOR_WRITEBACK_WINDOW_DAYS",
                                       cls.writeback_window_days),
            reconcile_rounds=_int(env, "HUDOOR_RECONCILE_ROUNDS", cls.reconcile_rounds),
            reconcile_workers=_int(env, "HUDOOR_RECONCILE_WORKERS", cls.reconcile_workers),
            fake_now=env.get("HUDOOR_FAKE_NOW", ""),
            sms_provider=env.get("HUDOOR_SMS_PROVIDER", cls.sms_provider),
            at_username=env.get("HUDOOR_AT_USERNAME", cls.at_username),
            at_api_key=env.get("HUDOOR_AT_API_KEY", cls.at_api_key),
            at_base_url=env.get("HUDOOR_AT_BASE_URL", cls.at_base_url),
            at_sender_id=env.get("HUDOOR_AT_SENDER_ID", cls.at_sender_id),
            at_keepalive=_bool(env, "HUDOOR_AT_KEEPALIVE", cls.at_keepalive),
            operator_caps=env.get("HUDOOR_OPERATOR_CAPS", cls.operator_caps),
            sms_max_attempts=_int(env, "HUDOOR_SMS_MAX_ATTEMPTS", cls.sms_max_attempts),
            shaper_guard_ms=_int(env, "HUDOOR_SHAPER_GUARD_MS", cls.shaper_guard_ms),
            sms_urgent_share=_float(env, "HUDOOR_SMS_URGENT_SHARE", cls.sms_urgent_share),
            sms_retry_base_seconds=_int(
                env, "HUDOOR_SMS_RETRY_BASE_SECONDS", cls.sms_retry_base_seconds
            ),
            sms_unknown_grace_seconds=_int(
                env, "HUDOOR_SMS_UNKNOWN_GRACE_SECONDS", cls.sms_unknown_grace_seconds
            ),
            digest_cutoff=env.get("HUDOOR_DIGEST_CUTOFF", cls.digest_cutoff),
            quiet_start_hour=_int(env, "HUDOOR_QUIET_START_HOUR", cls.quiet_start_hour),
            quiet_end_hour=_int(env, "HUDOOR_QUIET_END_HOUR", cls.quiet_end_hour),
        )
        cfg.check()
        return cfg

    def with_overrides(self, **changes: Any) -> "Config":
        """Return a copy with some settings replaced (tests use this)."""
        return replace(self, **changes)

    def check(self) -> None:
        """Fail fast on settings production cannot run without."""
        if self.env != "production":
            return
        if self.fake_now:
            raise ConfigError("HUDOOR_FAKE_NOW is for drills and benchmarks, never production")
        missing = [
            name
            for name, value in (
                ("HUDOOR_DATABASE_URL", self.database_url),
                ("HUDOOR_REDIS_URL", self.redis_url),
                ("HUDOOR_SECRET_KEY", "" if self.secret_key == Config.secret_key else "x"),
                ("HUDOOR_CALLBACK_TOKEN", "" if self.callback_token == Config.callback_token else "x"),
            )
            if not value
        ]
        if self.sms_provider == "africastalking" and self.at_api_key == Config.at_api_key:
            missing.append("HUDOOR_AT_API_KEY")
        if missing:
            raise ConfigError("production needs " + ", ".join(missing))
        if self.sync_interval_seconds > 1800:  # see core.schedule
            raise ConfigError("HUDOOR_SYNC_INTERVAL_SECONDS above 1800 breaks the 1-hour revocation promise")

    @property
    def digest_cutoff_time(self) -> time:
        """Return HUDOOR_DIGEST_CUTOFF ("HH:MM", Cairo) as a time of day."""
        hour, minute = (int(x) for x in self.digest_cutoff.split(":"))
        return time(hour, minute)

    @property
    def effective_database_url(self) -> str:
        """Return the database URL, defaulting to an SQLite file under var/."""
        return self.database_url or f"sqlite:///{self.var_dir / 'hudoor.db'}"
