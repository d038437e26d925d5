"""The floor: an honest bare USSD hop, served the same way as Hudoor.

Per hop it does the work no USSD service can avoid: one pipelined Redis GET + SET of a
470-byte session. When a session reaches its fifth hop (dial, attendance, class,
absentees, confirm — what bench/ussd_sessions.lua plays) it makes one durable PostgreSQL
commit of a class's marks (a record and two absentees) and answers END. Nothing else: no
menus, no validation, no audit, no caches.

HUDOOR_DATABASE_URL and HUDOOR_REDIS_URL name the same servers the bench gives Hudoor.
"""

from __future__ import annotations

import os
import threading
from urllib.parse import parse_qsl

import psycopg
import redis
from flask import Flask, Response, request
from sqlalchemy.engine import make_url

SESSION_BYTES = 470
HOPS_PER_SESSION = 5

app = Flask(__name__)
_redis = redis.Redis.from_url(os.environ.get("HUDOOR_REDIS_URL") or "redis://127.0.0.1:6379/0")
_local = threading.local()
_PAD = b"x" * SESSION_BYTES


def _dsn() -> str:
    url = make_url(os.environ["HUDOOR_DATABASE_URL"]).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def create_table(dsn: str) -> None:
    """Create the floor's own table (the bench calls this before serving)."""
    with psycopg.connect(dsn) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS floor_marks (id bigserial PRIMARY KEY, "
                     "session text, student int, status text, at timestamptz DEFAULT now())")


def _db() -> psycopg.Connection:
    conn = getattr(_local, "conn", None)
    if conn is None or conn.closed:
        conn = _local.conn = psycopg.connect(_dsn())
    return conn


@app.get("/healthz")
def healthz() -> Response:
    """Answer 200 once the process serves (the bench waits for it)."""
    return Response("ok", mimetype="text/plain")


@app.post("/at/ussd")
def ussd() -> Response:
    form = dict(parse_qsl(request.get_data(cache=False, as_text=True), keep_blank_values=True))
    sid, text = form.get("sessionId", ""), form.get("text", "")
    hops = (text.count("*") + 1) if text else 0
    key = f"floor:s:{sid}"
    pipe = _redis.pipeline(transaction=False)
    pipe.get(key)
    pipe.set(key, _PAD, ex=600)
    pipe.execute()
    if hops + 1 < HOPS_PER_SESSION:
        return Response("CON hello", mimetype="text/plain")
    conn = _db()
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO floor_marks (session, student, status) VALUES (%s, %s, %s)",
                        [(sid, 1, "absent"), (sid, 3, "absent")])
    conn.commit()  # durable: synchronous_commit is on in the bench's cluster
    return Response("END saved", mimetype="text/plain")
