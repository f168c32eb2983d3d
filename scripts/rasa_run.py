"""Starts the Rasa server (`rasa run`) with its HTTP API on, behind the token, without the token
ever appearing on a command line.

Usage: python scripts/rasa_run.py [rasa run options, e.g. --port 5005 --endpoints endpoints.env.yml]

`rasa run` reads the API token only from `--auth-token`, and a process's arguments are visible to
every local user (`ps`, /proc/<pid>/cmdline). So this loads the environment as scripts/with_env.py
does (.env, defaults, umask 077), takes the token from RASA_AUTH_TOKEN (or the one generated into
the data folder), and hands Rasa its arguments inside this process, as `--auth-token=TOKEN`: one
argument, so a token starting with "-" is still a value, never an option.
"""
import os
import sys
from pathlib import Path
from typing import List

PROJECT_DIR = Path(__file__).resolve().parent.parent
if __name__ == "__main__":
    sys.path[0] = str(PROJECT_DIR)  # run as a script: the project's packages (actions, channels ...), not scripts/
from clinic import settings  # noqa: E402  (needs the path above)
from rasa_server import without_tensorflow  # noqa: E402  (imports no Rasa, must come before it)


def rasa_argv(options: List[str]) -> List[str]:
    """The arguments `rasa` parses: `run`, the given options, the API and its token."""
    for option in options:
        if option == "--auth-token" or option.startswith("--auth-token="):
            sys.exit("scripts/rasa_run.py: set RASA_AUTH_TOKEN instead of --auth-token (arguments show in `ps`).")
    return ["rasa", "run", *options, "--enable-api", f"--auth-token={settings.rasa_auth_token()}"]


def one_blas_thread(environ=os.environ) -> None:
    """The NLU multiplies small matrices, one message at a time. With OpenBLAS's default of a thread
    per core, each product waits for cores that the server's own thread and the action server are
    using: with another process keeping a core busy, a message's MiniLM pass took 65 ms instead of 28
    (README, "Measured figures"). So the Rasa server uses one, unless OPENBLAS_NUM_THREADS is set.
    Must run before NumPy is imported."""
    environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def main() -> None:
    one_blas_thread()
    without_tensorflow.install()
    settings.apply_defaults()
    sys.argv = rasa_argv(sys.argv[1:])
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
