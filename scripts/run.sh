#!/usr/bin/env bash
# Starts the action server in the background and chats with the assistant in this terminal.
# Stops the action server again when the chat ends.
set -euo pipefail
cd "$(dirname "$0")/.."
WITH_ENV=".venv/bin/python scripts/with_env.py"
mkdir -p var

$WITH_ENV .venv/bin/rasa run actions --port "${ACTION_PORT:-5055}" > var/actions.log 2>&1 &
actions_pid=$!
trap 'kill $actions_pid 2>/dev/null || true' EXIT

echo "Starting the action server (log: var/actions.log)..."
for _ in $(seq 1 60); do
  if .venv/bin/python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:${ACTION_PORT:-5055}/health', timeout=1)" 2>/dev/null; then
    break
  fi
  kill -0 $actions_pid 2>/dev/null || { echo "The action server did not start; see var/actions.log"; exit 1; }
  sleep 1
done

echo "Type your message; /stop ends the chat."
$WITH_ENV .venv/bin/rasa shell --quiet
