#!/usr/bin/env bash
# Starts the whole assistant on this machine and opens a chat in the terminal:
#   action server :5055, Rasa server :5005 (REST, socket.io, HTTP API with a token),
#   demo website with the chat widget :8080, staff console :8090.
# Ctrl-C or /quit stops everything. Logs are in var/logs/.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
WITH_ENV="$PY scripts/with_env.py"
mkdir -p var/logs

eval "$($PY - <<'PYTHON'
from actions import settings
settings.apply_defaults()
import os, shlex
for name in ("ALLOWED_ORIGINS",):
    print(f"{name}={shlex.quote(os.environ[name])}")
print(f"RASA_TOKEN={shlex.quote(settings.rasa_auth_token())}")
PYTHON
)"
RASA_PORT=${RASA_PORT:-5005}; ACTION_PORT=${ACTION_PORT:-5055}; WEB_PORT=${WEB_PORT:-8080}; CONSOLE_PORT=${CONSOLE_PORT:-8090}
export ACTION_ENDPOINT_URL=${ACTION_ENDPOINT_URL:-http://127.0.0.1:$ACTION_PORT/webhook}
export RASA_URL="http://127.0.0.1:$RASA_PORT"

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

start() {  # name, health URL, command...
  local name=$1 url=$2; shift 2
  "$@" > "var/logs/$name.log" 2>&1 &
  local pid=$!; pids+=("$pid")
  for _ in $(seq 1 180); do
    if $PY -c "import sys,urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)" "$url" 2>/dev/null; then
      echo "  $name is up"; return 0
    fi
    kill -0 "$pid" 2>/dev/null || { echo "$name did not start; see var/logs/$name.log"; tail -20 "var/logs/$name.log"; exit 1; }
    sleep 1
  done
  echo "$name did not answer in time; see var/logs/$name.log"; exit 1
}

echo "Starting the assistant (first start loads the model, ~30 s)..."
start actions "http://127.0.0.1:$ACTION_PORT/health" $WITH_ENV .venv/bin/rasa run actions --port "$ACTION_PORT"
start rasa "http://127.0.0.1:$RASA_PORT/" $WITH_ENV .venv/bin/rasa run --interface 127.0.0.1 --port "$RASA_PORT" \
  --enable-api --auth-token "$RASA_TOKEN" --cors $(echo "$ALLOWED_ORIGINS" | tr ',' ' ') \
  --endpoints endpoints.yml --credentials credentials.yml
start web "http://127.0.0.1:$WEB_PORT/" env WEB_PORT="$WEB_PORT" RASA_PUBLIC_URL="http://127.0.0.1:$RASA_PORT" $WITH_ENV $PY scripts/serve_web.py
if [ -d console ]; then
  start console "http://127.0.0.1:$CONSOLE_PORT/login" env CONSOLE_PORT="$CONSOLE_PORT" $WITH_ENV $PY -m console run
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
