# One image for the Rasa server, the action server and the staff console (docker-compose.yml
# chooses the command of each). Nothing is trained at build time: run `make train` first, so that
# models/ holds a trained model; the build fails with a clear message when there is none.
#
#   make train && docker compose build
#
# No secret is copied into the image (.dockerignore leaves out .env, var/, deploy/certs/ ...):
# every secret comes from the environment at run time.

# ---- stage 1: the project files, with only the newest trained model
FROM python:3.10-slim AS source
WORKDIR /src
COPY . .
# Rasa names models <YYYYMMDD-HHMMSS>-<words>.tar.gz, so the newest sorts last; `rasa run` would
# pick it too (newest file). Only that one goes into the image.
RUN set -eu; \
    latest=$(find models -maxdepth 1 -name '*.tar.gz' 2>/dev/null | sort | tail -n 1); \
    if [ -z "$latest" ]; then \
      echo "No trained model in models/. Run 'make train' before 'docker build' / 'docker compose build'." >&2; \
      exit 1; \
    fi; \
    mkdir /model; \
    mv "$latest" /model/; \
    rm -rf models; \
    chmod -R a+rX,go-w /src /model

# ---- stage 2: the runtime image
FROM python:3.10-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TF_CPP_MIN_LOG_LEVEL=2 \
    SQLALCHEMY_SILENCE_UBER_WARNING=1 \
    RASA_TELEMETRY_ENABLED=false \
    DATA_DIR=/app/var

# An unprivileged user runs every process; the code stays owned by root (read-only for it).
RUN groupadd --system --gid 10001 clinic \
 && useradd --system --uid 10001 --gid clinic --create-home --home-dir /home/clinic --shell /usr/sbin/nologin clinic

WORKDIR /app

# Production's pinned packages only (requirements.lock, a complete freeze, so no resolving); the
# development ones (requirements-dev.lock: pytest, selenium, ruff ...) stay out of the image.
COPY requirements.lock requirements-nodeps.txt ./
RUN python -m pip install --quiet --upgrade "pip==26.3" \
 && python -m pip install --quiet --no-deps -r requirements.lock -r requirements-nodeps.txt

COPY --from=source /src/ /app/
COPY --from=source /model/ /app/models/

# DATA_DIR: the booking spool (action server; a volume in docker-compose.yml) and run-time files.
RUN mkdir -p /app/var && chown clinic:clinic /app/var && chmod 0700 /app/var

USER clinic

# 5005 Rasa server, 5055 action server, 8090 staff console: for the container network only;
# docker-compose.yml publishes none of them (only the nginx proxy publishes 80/443).
EXPOSE 5005 5055 8090

# Every container starts through the entry point: `alembic upgrade head` on the clinic database
# (when the container has DATABASE_URL: the action server, the console, their one-off commands),
# then the command (deploy/docker-entrypoint.sh).
ENTRYPOINT ["sh", "deploy/docker-entrypoint.sh"]

# docker-compose.yml sets the command of each service; by default the action server (loopback only
# unless SANIC_HOST says otherwise, see clinic/settings.py). Every command starts through
# scripts/with_env.py or scripts/rasa_run.py: umask 077, so what it writes in /app/var is private,
# and no secret on a command line.
CMD ["python", "scripts/with_env.py", "rasa", "run", "actions", "--port", "5055"]
