"""Read every setting from the environment, in one place."""

from __future__ import annotations

import ipaddress
import math
import os
import string
from dataclasses import dataclass, field, replace
from datetime import time
from functools import cached_property
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


# Access and callbacks (security review, issue 8)
ENVIRONMENTS = ("development", "test", "production")  # anything else is refused, typos included
PROBE_OPERATORS = ("vodafone", "orange", "etisalat", "we")  # shaping.operators names
SECRET_BITS = 256
_RENAMED = {"HUDOOR_CALLBACK_TOKEN": "HUDOOR_USSD_CALLBACK_TOKEN, HUDOOR_DLR_CALLBACK_TOKEN and "
                                     "HUDOOR_INBOUND_CALLBACK_TOKEN (one per callback)",
            "HUDOOR_USSD_IP_ALLOWLIST": "HUDOOR_CALLBACK_IP_ALLOWLIST (every /at/* callback)"}
_ALPHABETS = (string.digits, string.hexdigits.lower(), string.hexdigits,
              string.ascii_letters + string.digits + "-_", string.ascii_letters + string.digits + "+/=")


def secret_bits(value: str) -> float:
    """Estimate a secret's entropy in bits, conservatively, as generated randomly would have.

    The alphabet is the smallest common one (digits, hex, base64/url) the secret fits, else
    printable ASCII; repeats and short runs of few characters count as what they are.
    """
    if not value:
        return 0.0
    size = next((len(set(a)) for a in _ALPHABETS if set(value) <= set(a)), len(set(string.printable)))
    # A random secret of n characters uses many distinct ones; "aaaa…" or "abab…" does not.
    distinct = len(set(value))
    if distinct < min(size, len(value)) // 4 or distinct < 8:
        size = distinct
    return len(value) * math.log2(max(size, 1))


STACK_FILE = "stack.env"  # written under HUDOOR_VAR_DIR by `make run` (scripts/stack.sh)


def running_stack(var_dir: Path) -> dict[str, str]:
    """Return the settings `make run` left in var/stack.env, if that stack is still running.

    So `hudoor` in a second terminal uses the running stack's Redis, database and simulator
    instead of starting an embedded Redis of its own. A file whose writer is gone is ignored.
    """
    try:
        lines = (var_dir / STACK_FILE).read_text(encoding="utf-8").splitlines()
    except OSError:
        return {}
    found = dict(line.split("=", 1) for line in lines
                 if "=" in line and line.startswith("HUDOOR_") and not line.startswith("#"))
    try:
        os.kill(int(found.pop("HUDOOR_STACK_PID", "")), 0)
    except (ValueError, ProcessLookupError):
        return {}
    except PermissionError:
        pass  # alive, under another user
    return found


@dataclass(frozen=True)
class Config:
    """Hudoor's settings; build with `Config.from_env()`."""

    env: str = "development"
    var_dir: Path = ROOT / "var"
    database_url: str = ""
    replica_url: str = ""
    replica_max_lag_seconds: float = 5.0  # bulk reads leave a replica further behind than this
    redis_url: str = ""
    upstream_url: str = "http://127.0.0.1:5050"
    upstream_token: str = ""
    upstream_page_size: int = 2000
    upstream_timeout: float = 30.0
    upstream_retries: int = 4
    sync_interval_seconds: int = 300
    secret_key: str = "dev-only-secret"
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
    shaper_schedule: str = "arrival"  # booked moments are arrivals (or "departure"; decision 8)
    sms_urgent_share: float = 0.2  # share of each operator's cap kept free for urgent SMS
    sms_retry_base_seconds: int = 60
    sms_unknown_grace_seconds: int = 1800  # in-doubt messages wait this long for a DLR
    sms_max_in_flight: int = 200  # per sender: claimed, answer not recorded (in doubt if killed)
    digest_cutoff: str = "15:30"  # Cairo time; late arrivals are in by then
    school_start: str = "07:30"  # Cairo time; an ordinary day's start (Ramadan hours are data)
    quiet_start_hour: int = 21
    quiet_end_hour: int = 7
    # USSD (issue 3)
    ussd_session_seconds: int = 600
    ussd_resume_seconds: int = 900  # a dropped marking session can be resumed this long
    ussd_max_gsm7: int = 182  # 160 octets as GSM-7 characters
    ussd_max_ucs2: int = 80  # 160 octets as UCS-2 characters (any Arabic on the screen)
    ussd_code: str = "*384*1234#"  # the service code people dial: printed on slips, on /dev/phone
    # Capture first (R2): hold SMS, digests, report day and write-back past these.
    shed_hops_per_second: int = 300  # all USSD processes together; 0: never on rate
    shed_slow_ms: float = 100.0  # >1 % of a process's hops slower than this: hold too
    # Operator probes (U5): ops-owned SIMs per operator, and where a probe's USSD session goes.
    probe_numbers: str = ""  # "vodafone=+2010…,orange=+2012…"; empty: no probes
    probe_ussd_url: str = "http://127.0.0.1:8000/at/ussd"
    code_ttl_days: int = 14
    privacy_answer_days: int = 6  # working days to answer a data-subject request (PDPL)
    privacy_copy_segments: int = 3  # a guardian's SMS copy of their data is at most this long
    # Audit chain (issue 8): the HMAC key lives outside the database; anchors go where an
    # auditor controls them (decision 3). Empty anchor file: var/audit-anchors.log.
    audit_key: str = "dev-only-audit-key-never-use-in-production"
    audit_anchor_file: str = ""
    wall_thresholds_file: str = ""  # green/amber/red for /status; default core/wall_thresholds.json
    # Attendance write-back and reconciliation (issue 9)
    writeback_timeout: float = 10.0  # seconds per upstream write or read
    writeback_max_attempts: int = 8  # then the dead-letter list
    writeback_retry_base_seconds: int = 30  # doubles per attempt, capped at an hour
    writeback_batch: int = 200  # outbox rows one job sends before yielding
    writeback_window_days: int = 45  # class-days this recent are swept into the outbox
    reconcile_rounds: int = 5  # re-send and re-read rounds before a school-day stays differing
    reconcile_workers: int = 4  # school-days reconciled at once (PostgreSQL; SQLite: one)
    fake_now: str = ""  # ISO time to run the clock from (drills, demos, benchmarks); never in production
    # Access and callbacks (security review, issue 8; docs/SECURITY.md)
    ussd_callback_token: str = "dev-ussd-callback-token"
    dlr_callback_token: str = "dev-dlr-callback-token"
    inbound_callback_token: str = "dev-inbound-callback-token"
    callback_ip_allowlist: str = ""  # comma-separated networks for every /at/*; empty allows any
    trusted_proxies: int = 0  # reverse proxies in front of the web server whose X-Forwarded-For we trust
    # The web server (`hudoor serve`: granian, decision 0034)
    web_workers: int = 3  # processes
    web_threads: int = 4  # blocking threads per process (each runs one request at a time)
    web_access_log: bool = False  # on: method, path and status per request, never the query
    max_body_bytes: int = 64 * 1024  # any request body above this is refused with 413
    api_token_hours: int = 12
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Config":
        """Build the config from HUDOOR_* environment variables."""
        from_process = env is None
        env = os.environ if env is None else env
        mode = env.get("HUDOOR_ENV", "development")
        renamed = [f"{old} is replaced by {new}" for old, new in _RENAMED.items() if old in env]
        if renamed:
            raise ConfigError("; ".join(renamed))
        var_dir = Path(env.get("HUDOOR_VAR_DIR", str(ROOT / "var")))
        if from_process and mode != "production":  # what this shell sets wins over the file
            env = {**running_stack(var_dir), **env}
        cfg = cls(
            env=mode,
            var_dir=var_dir,
            database_url=env.get("HUDOOR_DATABASE_URL", ""),
            replica_url=env.get("HUDOOR_REPLICA_URL", ""),
            replica_max_lag_seconds=_float(env, "HUDOOR_REPLICA_MAX_LAG_SECONDS",
                                           cls.replica_max_lag_seconds),
            redis_url=env.get("HUDOOR_REDIS_URL", ""),
            upstream_url=env.get("HUDOOR_UPSTREAM_URL") or cls.upstream_url,
            upstream_token=env.get("HUDOOR_UPSTREAM_TOKEN", ""),
            upstream_page_size=_int(env, "HUDOOR_UPSTREAM_PAGE_SIZE", cls.upstream_page_size),
            upstream_retries=_int(env, "HUDOOR_UPSTREAM_RETRIES", cls.upstream_retries),
            sync_interval_seconds=_int(
                env, "HUDOOR_SYNC_INTERVAL_SECONDS", cls.sync_interval_seconds
            ),
            secret_key=env.get("HUDOOR_SECRET_KEY", cls.secret_key),
            ussd_session_seconds=_int(env, "HUDOOR_USSD_SESSION_SECONDS", cls.ussd_session_seconds),
            ussd_resume_seconds=_int(env, "HUDOOR_USSD_RESUME_SECONDS", cls.ussd_resume_seconds),
            ussd_max_gsm7=_int(env, "HUDOOR_USSD_MAX_GSM7", cls.ussd_max_gsm7),
            privacy_answer_days=_int(env, "HUDOOR_PRIVACY_ANSWER_DAYS", cls.privacy_answer_days),
            privacy_copy_segments=_int(env, "HUDOOR_PRIVACY_COPY_SEGMENTS",
                                       cls.privacy_copy_segments),
            ussd_max_ucs2=_int(env, "HUDOOR_USSD_MAX_UCS2", cls.ussd_max_ucs2),
            ussd_code=env.get("HUDOOR_USSD_CODE", cls.ussd_code).strip() or cls.ussd_code,
            shed_hops_per_second=_int(env, "HUDOOR_SHED_HOPS_PER_SECOND", cls.shed_hops_per_second),
            shed_slow_ms=_float(env, "HUDOOR_SHED_SLOW_MS", cls.shed_slow_ms),
            probe_numbers=env.get("HUDOOR_PROBE_NUMBERS", cls.probe_numbers),
            probe_ussd_url=env.get("HUDOOR_PROBE_USSD_URL", cls.probe_ussd_url),
            code_ttl_days=_int(env, "HUDOOR_CODE_TTL_DAYS", cls.code_ttl_days),
            audit_key=env.get("HUDOOR_AUDIT_KEY", cls.audit_key),
            audit_anchor_file=env.get("HUDOOR_AUDIT_ANCHOR_FILE", ""),
            wall_thresholds_file=env.get("HUDOOR_WALL_THRESHOLDS", ""),
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
            sms_provider=env.get("HUDOOR_SMS_PROVIDER") or cls.sms_provider,
            at_username=env.get("HUDOOR_AT_USERNAME", cls.at_username),
            at_api_key=env.get("HUDOOR_AT_API_KEY", cls.at_api_key),
            at_base_url=env.get("HUDOOR_AT_BASE_URL", cls.at_base_url),
            at_sender_id=env.get("HUDOOR_AT_SENDER_ID", cls.at_sender_id),
            at_keepalive=_bool(env, "HUDOOR_AT_KEEPALIVE", cls.at_keepalive),
            operator_caps=env.get("HUDOOR_OPERATOR_CAPS", cls.operator_caps),
            sms_max_attempts=_int(env, "HUDOOR_SMS_MAX_ATTEMPTS", cls.sms_max_attempts),
            shaper_guard_ms=_int(env, "HUDOOR_SHAPER_GUARD_MS", cls.shaper_guard_ms),
            shaper_schedule=env.get("HUDOOR_SHAPER_SCHEDULE", cls.shaper_schedule),
            sms_urgent_share=_float(env, "HUDOOR_SMS_URGENT_SHARE", cls.sms_urgent_share),
            sms_retry_base_seconds=_int(
                env, "HUDOOR_SMS_RETRY_BASE_SECONDS", cls.sms_retry_base_seconds
            ),
            sms_unknown_grace_seconds=_int(
                env, "HUDOOR_SMS_UNKNOWN_GRACE_SECONDS", cls.sms_unknown_grace_seconds
            ),
            sms_max_in_flight=_int(env, "HUDOOR_SMS_MAX_IN_FLIGHT", cls.sms_max_in_flight),
            digest_cutoff=env.get("HUDOOR_DIGEST_CUTOFF", cls.digest_cutoff),
            school_start=env.get("HUDOOR_SCHOOL_START", cls.school_start),
            quiet_start_hour=_int(env, "HUDOOR_QUIET_START_HOUR", cls.quiet_start_hour),
            quiet_end_hour=_int(env, "HUDOOR_QUIET_END_HOUR", cls.quiet_end_hour),
            # Access and callbacks (security review, issue 8)
            ussd_callback_token=env.get("HUDOOR_USSD_CALLBACK_TOKEN", cls.ussd_callback_token),
            dlr_callback_token=env.get("HUDOOR_DLR_CALLBACK_TOKEN", cls.dlr_callback_token),
            inbound_callback_token=env.get("HUDOOR_INBOUND_CALLBACK_TOKEN",
                                           cls.inbound_callback_token),
            callback_ip_allowlist=env.get("HUDOOR_CALLBACK_IP_ALLOWLIST", cls.callback_ip_allowlist),
            trusted_proxies=_int(env, "HUDOOR_TRUSTED_PROXIES", cls.trusted_proxies),
            web_workers=_int(env, "HUDOOR_WEB_WORKERS", cls.web_workers),
            web_threads=_int(env, "HUDOOR_WEB_THREADS", cls.web_threads),
            web_access_log=_bool(env, "HUDOOR_WEB_ACCESS_LOG", cls.web_access_log),
            max_body_bytes=_int(env, "HUDOOR_MAX_BODY_BYTES", cls.max_body_bytes),
            api_token_hours=_int(env, "HUDOOR_API_TOKEN_HOURS", cls.api_token_hours),
        )
        cfg.check()
        return cfg

    def with_overrides(self, **changes: Any) -> "Config":
        """Return a copy with some settings replaced (tests use this)."""
        return replace(self, **changes)

    def check(self) -> None:
        """Fail fast on settings no environment can run with, and on what production needs."""
        if self.env not in ENVIRONMENTS:
            raise ConfigError(f"HUDOOR_ENV must be one of {', '.join(ENVIRONMENTS)}, got {self.env!r}")
        self.callback_networks  # noqa: B018 -- parse now: a bad entry fails at start-up
        self.probe_sims  # noqa: B018 -- likewise
        if self.trusted_proxies < 0 or self.max_body_bytes < 1 or not 1 <= self.api_token_hours <= 24:
            raise ConfigError("HUDOOR_TRUSTED_PROXIES ≥ 0, HUDOOR_MAX_BODY_BYTES ≥ 1 and "
                              "HUDOOR_API_TOKEN_HOURS 1–24 are required")
        if self.web_workers < 1 or self.web_threads < 1:
            raise ConfigError("HUDOOR_WEB_WORKERS and HUDOOR_WEB_THREADS must be at least 1")
        if self.shaper_schedule not in ("arrival", "departure"):
            raise ConfigError("HUDOOR_SHAPER_SCHEDULE must be arrival or departure, "
                              f"got {self.shaper_schedule!r}")
        if self.env != "production":
            return
        if self.fake_now:
            raise ConfigError("HUDOOR_FAKE_NOW is for drills and benchmarks, never production")
        missing = [name for name, value in (("HUDOOR_DATABASE_URL", self.database_url),
                                            ("HUDOOR_REDIS_URL", self.redis_url),
                                            ("HUDOOR_UPSTREAM_TOKEN", self.upstream_token.strip()))
                   if not value]
        if self.sms_provider == "africastalking" and self.at_api_key == Config.at_api_key:
            missing.append("HUDOOR_AT_API_KEY")
        if missing:
            raise ConfigError("production needs " + ", ".join(missing))
        if self.upstream_url == Config.upstream_url:
            raise ConfigError("HUDOOR_UPSTREAM_URL is the sandbox default; production needs the real SIS")
        if self.sms_provider == "console":
            raise ConfigError("HUDOOR_SMS_PROVIDER=console only prints messages; production needs "
                              "africastalking")
        self._check_secrets()
        if self.sync_interval_seconds > 1800:  # see gateway.schedule
            raise ConfigError("HUDOOR_SYNC_INTERVAL_SECONDS above 1800 breaks the 1-hour revocation promise")
        self._check_audit()

    def _check_audit(self) -> None:
        """Refuse a short, default or reused audit key (it alone makes the chain unforgeable)."""
        if not self.audit_anchor_file:
            raise ConfigError("production needs HUDOOR_AUDIT_ANCHOR_FILE (a place an auditor holds)")
        if self.audit_key == Config.audit_key or secret_bits(self.audit_key) < SECRET_BITS:
            raise ConfigError("production needs HUDOOR_AUDIT_KEY of at least 32 bytes of entropy")
        others = (self.secret_key, self.ussd_callback_token, self.dlr_callback_token,
                  self.inbound_callback_token, self.at_api_key, self.upstream_token)
        if self.audit_key in others:
            raise ConfigError("HUDOOR_AUDIT_KEY must differ from every other secret")

    @property
    def probe_sims(self) -> dict[str, str]:
        """Return HUDOOR_PROBE_NUMBERS as {operator: E.164 number} (a bad entry fails start-up)."""
        out: dict[str, str] = {}
        for part in filter(None, (p.strip() for p in self.probe_numbers.split(","))):
            name, sep, number = part.partition("=")
            number = number.strip()
            if not sep or name.strip() not in PROBE_OPERATORS or not number.startswith("+20"):
                raise ConfigError(f"HUDOOR_PROBE_NUMBERS: {part!r} is not operator=+20… "
                                  f"(operators: {', '.join(PROBE_OPERATORS)})")
            out[name.strip()] = number
        return out

    @property
    def audit_key_bytes(self) -> bytes:
        """Return HUDOOR_AUDIT_KEY as the HMAC key of the audit chain."""
        return self.audit_key.encode()

    @property
    def audit_anchor_path(self) -> Path:
        """Return where audit anchors are appended (HUDOOR_AUDIT_ANCHOR_FILE)."""
        return Path(self.audit_anchor_file) if self.audit_anchor_file else self.var_dir / "audit-anchors.log"

    def _check_secrets(self) -> None:
        """Refuse weak or shared secrets: each ≥ 32 bytes of entropy, no two alike."""
        ours = {"HUDOOR_SECRET_KEY": self.secret_key,
                "HUDOOR_USSD_CALLBACK_TOKEN": self.ussd_callback_token,
                "HUDOOR_DLR_CALLBACK_TOKEN": self.dlr_callback_token,
                "HUDOOR_INBOUND_CALLBACK_TOKEN": self.inbound_callback_token}
        weak = [name for name, value in ours.items() if secret_bits(value) < SECRET_BITS]
        if weak:
            raise ConfigError(", ".join(weak) + " must carry at least 32 bytes of entropy: generate "
                              "each with `python -c 'import secrets; print(secrets.token_urlsafe(32))'`")
        # The upstream token is issued by the SIS (its strength is theirs) but must not be ours.
        everything = {**ours, "HUDOOR_UPSTREAM_TOKEN": self.upstream_token}
        seen: dict[str, str] = {}
        for name, value in everything.items():
            if value in seen:
                raise ConfigError(f"{name} and {seen[value]} are the same secret; each must differ")
            seen[value] = name

    @cached_property
    def callback_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        """Return HUDOOR_CALLBACK_IP_ALLOWLIST parsed; empty means any source address."""
        nets = []
        for entry in (e.strip() for e in self.callback_ip_allowlist.split(",")):
            if not entry:
                continue
            try:
                nets.append(ipaddress.ip_network(entry, strict=False))
            except ValueError as exc:
                raise ConfigError(f"HUDOOR_CALLBACK_IP_ALLOWLIST entry {entry!r} is not an "
                                  "address or network") from exc
        return tuple(nets)

    def callback_token(self, callback: str) -> str:
        """Return the token Africa's Talking must present on `callback` ("" for none known)."""
        return {"ussd": self.ussd_callback_token, "delivery-reports": self.dlr_callback_token,
                "inbound": self.inbound_callback_token}.get(callback, "")

    @property
    def digest_cutoff_time(self) -> time:
        """Return HUDOOR_DIGEST_CUTOFF ("HH:MM", Cairo) as a time of day."""
        hour, minute = (int(x) for x in self.digest_cutoff.split(":"))
        return time(hour, minute)

    @property
    def effective_database_url(self) -> str:
        """Return the database URL, defaulting to an SQLite file under var/."""
        return self.database_url or f"sqlite:///{self.var_dir / 'hudoor.db'}"
