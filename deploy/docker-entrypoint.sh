#!/bin/sh
# The image's entry point (Dockerfile): the clinic database's migrations, then the container's command.
# Containers with the clinic database (DATABASE_URL: the action server, the staff console, and one-off
# commands such as `docker compose run --rm console python -m console create-user NAME`) run
# `alembic upgrade head` first (alembic.ini, migrations/); the Rasa servers have no DATABASE_URL and
# start at once. Several containers starting together are safe: the upgrade holds a PostgreSQL advisory
# lock, and whoever comes second finds it done (clinic/schema.py). A database made before the migrations
# is adopted as the baseline, its rows kept. A wrong setting stops the container here, named
# (clinic/settings.py), before anything starts.
set -eu
if [ -n "${DATABASE_URL:-}" ]; then
  python scripts/with_env.py alembic upgrade head
fi
exec "$@"
