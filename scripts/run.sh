#!/usr/bin/env bash
# Starts the whole assistant on this machine and opens a chat in the terminal:
#   action server :5055, Rasa server :5005 (REST, socket.io, HTTP API with a token),
#   demo website with the chat widget :8080, staff console :8090.
# Ports: ACTION_PORT, RASA_PORT, WEB_PORT, CONSOLE_PORT. Each must be free: if another program
# listens on one, this says which and stops. Ctrl-C or /quit stops everything.
# Logs are in $DATA_DIR/logs/ (default var/logs/).
set -euo pipefail
cd "$(dirname "$0")/.."
# Conversations, bookings, staff accounts and logs: readable by this user alone.
umask 077
PY=.venv/bin/python
WITH_ENV="$PY scripts/with_env.py"

# .env and the defaults (clinic/settings.py), every setting checked (a wrong one stops here, named);
# this also makes the data folder 0700. No secret passes through this script: each service reads its
# own from the environment or the data folder.
defaults=$($PY - <<'PYTHON'
from clinic import settings
settings.apply_defaults()
import os, shlex
for name in ("ALLOWED_ORIGINS", "DATA_DIR", "SANIC_HOST", "SANIC_WORKERS"):
    print(f"{name}={shlex.quote(os.environ[name])}")
PYTHON
) || exit 1
eval "$defaults"
LOG_DIR="$DATA_DIR/logs"
mkdir -p "$LOG_DIR"
chmod 700 "$LOG_DIR"
RASA_PORT=${RASA_PORT:-5005}; ACTION_PORT=${ACTION_PORT:-5055}; WEB_PORT=${WEB_PORT:-8080}; CONSOLE_PORT=${CONSOLE_PORT:-8090}
export ACTION_ENDPOINT_URL=${ACTION_ENDPOINT_URL:-http://127.0.0.1:$ACTION_PORT/webhook}
export RASA_URL="http://127.0.0.1:$RASA_PORT"

# A program already listening on one of the ports would be taken for ours: stop before starting.
check_free() {  # port, bind address, label, variable
  $PY scripts/port_check.py free "$@" || exit 1
}
check_free "$ACTION_PORT" "$SANIC_HOST" "action server" ACTION_PORT
check_free "$RASA_PORT" 127.0.0.1 "Rasa server" RASA_PORT
check_free "$WEB_PORT" 127.0.0.1 "demo website" WEB_PORT
if [ -d console ]; then
  check_free "$CONSOLE_PORT" 127.0.0.1 "staff console" CONSOLE_PORT
fi

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

start() {  # name, label, port, health URL, command...
  local name=$1 label=$2 port=$3 url=$4; shift 4
  "$@" > "$LOG_DIR/$name.log" 2>&1 &
  local pid=$!; pids+=("$pid")
  for _ in $(seq 1 180); do
    kill -0 "$pid" 2>/dev/null || { echo "The $label did not start; see $LOG_DIR/$name.log"; tail -20 "$LOG_DIR/$name.log"; exit 1; }
    if $PY -c "import sys,urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)" "$url" 2>/dev/null; then
      # Something answers: it must be the process started here, still running, not another program.
      kill -0 "$pid" 2>/dev/null || { echo "The $label stopped; see $LOG_DIR/$name.log"; tail -20 "$LOG_DIR/$name.log"; exit 1; }
      $PY scripts/port_check.py held "$port" "$pid" "$label" || exit 1
      echo "  $name is up"; return 0
    fi
    sleep 1
  done
  echo "The $label did not answer in time; see $LOG_DIR/$name.log"; exit 1
}

echo "Starting the assistant (first start loads the model, ~30 s)..."
start actions "action server" "$ACTION_PORT" "http://127.0.0.1:$ACTION_PORT/health" \
  $WITH_ENV .venv/bin/rasa run actions --port "$ACTION_PORT"
# Several Rasa processes behind the one port (SANIC_WORKERS, checked above to come with PostgreSQL and
# Redis) share conversations and locks through the production endpoints; one process keeps SQLite.
ENDPOINTS=endpoints.env.yml
if [ "$SANIC_WORKERS" -gt 1 ]; then ENDPOINTS=endpoints.production.yml; fi
# The API token is handed to Rasa inside its own process (scripts/rasa_run.py), never on a command line.
start rasa "Rasa server" "$RASA_PORT" "http://127.0.0.1:$RASA_PORT/" \
  $PY scripts/rasa_run.py --interface 127.0.0.1 --port "$RASA_PORT" --cors $(echo "$ALLOWED_ORIGINS" | tr ',' ' ') \
  --endpoints "$ENDPOINTS" --credentials credentials.env.yml
start web "demo website" "$WEB_PORT" "http://127.0.0.1:$WEB_PORT/" \
  env WEB_PORT="$WEB_PORT" RASA_PUBLIC_URL="http://127.0.0.1:$RASA_PORT" $WITH_ENV $PY scripts/serve_web.py
if [ -d console ]; then
  start console "staff console" "$CONSOLE_PORT" "http://127.0.0.1:$CONSOLE_PORT/login" \
    env CONSOLE_PORT="$CONSOLE_PORT" $WITH_ENV $PY -m console run
fi

cat <<INFO

  Demo website with the chat widget:  http://127.0.0.1:$WEB_PORT/
  Staff console:                      http://127.0.0.1:$CONSOLE_PORT/  (create a login: make staff-user)
  Rasa server (REST, socket.io, API): http://127.0.0.1:$RASA_PORT/

INFO
if [ -t 0 ]; then
  $PY scripts/chat.py --url "http://127.0.0.1:$RASA_PORT"
else
  echo "No terminal attached: serving until stopped."; wait
fi
