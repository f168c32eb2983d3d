#!/usr/bin/env bash
# Installs everything the project needs; does nothing that is already done:
#   - .venv with Python 3.10 and the pinned Python packages: production's (requirements.lock, as the
#     Docker image) and development's (requirements-dev.lock: tests, benchmarks, lint);
#   - Debian's chromium + chromium-driver for the browser tests, and postgresql + redis-server for
#     the production tests (tests/test_production.py starts its own servers on loopback; needs root or sudo);
#   - the web chat widget's npm packages (web/package-lock.json), built into web/dist;
#   - the clinic database at the newest migration (alembic upgrade head).
# Everything comes from the package registries; nothing is downloaded at run time.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv
STAMP="$VENV/.installed"
# Production's pins and development's (tests, benchmarks, lint): a change to either reinstalls.
want_stamp=$(cat requirements.txt requirements.lock requirements-dev.txt requirements-dev.lock requirements-nodeps.txt \
  scripts/setup.sh | sha256sum | cut -d' ' -f1)

if [ -x "$VENV/bin/python" ] && ! "$VENV/bin/python" -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null; then
  echo "Existing $VENV is not Python 3.10: recreating it."
  rm -rf "$VENV"
fi
if [ ! -x "$VENV/bin/python" ]; then
  python310=$(scripts/find_python310.sh)
  echo "Creating $VENV with $python310"
  "$python310" -m venv "$VENV"
fi

if [ "$(cat "$STAMP" 2>/dev/null)" != "$want_stamp" ]; then
  echo "Installing pinned Python packages (first run takes a few minutes)..."
  "$VENV/bin/python" -m pip install --quiet --upgrade "pip==26.3"
  # The locks together are a complete freeze, so nothing else needs resolving. Production's
  # (requirements.lock, all the Docker image installs) and development's (requirements-dev.lock).
  "$VENV/bin/python" -m pip install --quiet --no-deps -r requirements.lock -r requirements-dev.lock \
    -r requirements-nodeps.txt
  echo "$want_stamp" > "$STAMP"
fi

debian_packages=()
command -v chromium >/dev/null 2>&1 || debian_packages+=(chromium)
command -v chromedriver >/dev/null 2>&1 || debian_packages+=(chromium-driver)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || debian_packages+=(postgresql)
command -v redis-server >/dev/null 2>&1 || debian_packages+=(redis-server)
if [ ${#debian_packages[@]} -gt 0 ]; then
  echo "Installing Debian packages: ${debian_packages[*]}"
  if [ "$(id -u)" -eq 0 ]; then sudo=""; elif command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
    echo "Please install these Debian packages as root: apt-get install ${debian_packages[*]}" >&2; exit 1
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${debian_packages[@]}" >/dev/null
fi

bash scripts/build_web.sh

# The clinic database (DATABASE_URL; default var/clinic.db) at the newest migration (alembic.ini,
# migrations/): made on a first install, upgraded after a pull, adopted (rows kept) when create_all made it.
if ! migrated=$("$VENV/bin/python" scripts/with_env.py "$VENV/bin/alembic" upgrade head 2>&1); then
  echo "$migrated" >&2
  echo "The database migrations failed (make migrate runs them again)." >&2
  exit 1
fi
grep -F "Running upgrade" <<<"$migrated" || true
