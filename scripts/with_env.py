"""Run a command with the project's environment: `.env` loaded and every default filled in.

Usage: python scripts/with_env.py rasa run actions ...
Rasa expands ${VARIABLES} in endpoints.env.yml, endpoints.production.yml and credentials.env.yml; this
makes sure they are all set. (endpoints.yml and credentials.yml, for plain `rasa` commands, have none.)
The command runs with umask 077 (its files are its user's alone) and the data folder made 0700.
The Rasa server itself is started with scripts/rasa_run.py, which keeps the API token out of `ps`.
"""
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from clinic import settings  # noqa: E402  (needs the path above)

if len(sys.argv) < 2:
    sys.exit("usage: with_env.py COMMAND [ARGS...]")
settings.apply_defaults()
os.execvp(sys.argv[1], sys.argv[1:])
