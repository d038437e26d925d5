# Sourced by scripts/run.sh: start the stack's processes by name, write var/stack.env so that
# `hudoor` in another terminal finds this stack, and when one process stops say which and why,
# then stop the rest cleanly.
names=() pids=() logs=()
STOPPING=""

# start NAME LOG COMMAND...: run COMMAND in the background, its output in LOG ("-": this terminal).
start() {
  local name=$1 log=$2
  shift 2
  if [ "$log" = "-" ]; then "$@" & else "$@" >"$log" 2>&1 & fi
  names+=("$name") pids+=($!) logs+=("$log")
}

# write_stack_file FILE: the settings a second terminal's `hudoor` needs, and who wrote them.
write_stack_file() {
  local file=$1 name
  {
    echo "# Written by make run (pid $$); removed when it stops. core/config.py reads it."
    echo "HUDOOR_STACK_PID=$$"
    for name in HUDOOR_REDIS_URL HUDOOR_DATABASE_URL HUDOOR_UPSTREAM_URL HUDOOR_SMS_PROVIDER \
                HUDOOR_AT_BASE_URL HUDOOR_PROBE_NUMBERS HUDOOR_PROBE_USSD_URL; do
      if [ -n "${!name:-}" ]; then echo "$name=${!name}"; fi
    done
  } >"$file.tmp"
  mv "$file.tmp" "$file"
  STACK_FILE=$file
}

stop_all() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -n "${STACK_FILE:-}" ]; then rm -f "$STACK_FILE"; fi
}

on_signal() { STOPPING=1; echo "make run: stopping (${#pids[@]} processes)" >&2; stop_all; exit 0; }

# why STATUS: an exit status in words.
why() {
  if [ "$1" -gt 128 ]; then echo "killed by SIG$(kill -l $(($1 - 128)) 2>/dev/null || echo $(($1 - 128)))"
  else echo "exit status $1"; fi
}

# supervise: wait until any process stops; name it, show its log's tail, stop the rest.
supervise() {
  local status=0 i dead=""
  # Poll rather than `wait -n`: a process that stopped before this point (during the sync)
  # is no longer a job `wait -n` can see, but `wait PID` still knows its status.
  while [ -z "$dead" ]; do
    for i in "${!pids[@]}"; do
      if ! kill -0 "${pids[$i]}" 2>/dev/null; then dead=$i; break; fi
    done
    if [ -z "$dead" ]; then sleep 0.5 & wait $! || true; fi
  done
  # Ctrl-C reaches every process of the group at once, and one (Redis) may stop before this
  # shell's trap has run: give the trap a moment before naming that process as the cause.
  if [ -z "$STOPPING" ]; then sleep 1 & wait $! || true; fi
  [ -n "$STOPPING" ] && return 0
  wait "${pids[$dead]}" || status=$?
  echo "make run: the ${names[$dead]} (pid ${pids[$dead]}) stopped: $(why "$status"); stopping the rest." >&2
  if [ "${logs[$dead]}" != "-" ] && [ -s "${logs[$dead]}" ]; then
    echo "make run: last lines of ${logs[$dead]}:" >&2
    tail -n 8 "${logs[$dead]}" | sed 's/^/  | /' >&2
  fi
  stop_all
  return 1
}
