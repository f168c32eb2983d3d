#!/usr/bin/env bash
# Prints the path of a working Python 3.10 interpreter (Rasa 3.6 runs on 3.8-3.10 only), or explains what to install.
set -euo pipefail

works() { [ -n "$1" ] && "$1" -c 'import sys; assert sys.version_info[:2] == (3, 10)' >/dev/null 2>&1; }

candidates=("${PYTHON310:-}" "$(command -v python3.10 2>/dev/null || true)")
if command -v pyenv >/dev/null 2>&1; then
  for p in "$(pyenv root)"/versions/3.10.*/bin/python3.10; do candidates+=("$p"); done
fi
candidates+=(/usr/bin/python3.10 /usr/local/bin/python3.10 "$HOME"/.pyenv/versions/3.10.*/bin/python3.10)

for p in "${candidates[@]}"; do
  if works "$p"; then echo "$p"; exit 0; fi
done

cat >&2 <<'MSG'
No Python 3.10 interpreter found. Rasa 3.6 needs Python 3.8-3.10 (it does not run on 3.11+).
Install one of:
  - pyenv:   pyenv install 3.10.13
  - Debian/Ubuntu with deadsnakes or a distribution that ships it:  apt-get install python3.10 python3.10-venv
  - or point PYTHON310=/path/to/python3.10 at an existing interpreter.
MSG
exit 1
