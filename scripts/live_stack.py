"""A real assistant for end-to-end tests and benchmarks (tests/, bench/): action server + Rasa server
on loopback, free ports.

Started once per test session (model loading takes ~30 s) with its own data folder, the
project's endpoints.env.yml and credentials.env.yml (as make run), the HTTP API behind a random token (starting with
"-"), a random secret between the Rasa server and the action server, and the trained model in
models/.
"""
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List

PROJECT_DIR = Path(__file__).resolve().parent.parent
VENV_BIN = PROJECT_DIR / ".venv" / "bin"
# Generous: on a busy 2-core machine two replicas loading their models at once took over 3 minutes.
STARTUP_SECONDS = 480


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class LiveAssistant:
    url: str          # the Rasa server, e.g. http://127.0.0.1:PORT
    actions_url: str  # the action server
    # Secrets (and the environment that holds them) stay out of the repr, which error messages show.
    token: str = field(repr=False)  # the Rasa HTTP API token
    data_dir: Path
    env: Dict[str, str] = field(repr=False)
    processes: List[subprocess.Popen]
    action_token: str = field(default="", repr=False)  # the secret the Rasa server sends the action server

    @property
    def action_headers(self) -> Dict[str, str]:
        return {"Authorization": f"Bearer {self.action_token}"}

    def api(self, path: str) -> str:
        """A Rasa HTTP API URL with the token."""
        separator = "&" if "?" in path else "?"
        return f"{self.url}{path}{separator}token={self.token}"

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def wait_until_up(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited early:\n{log.read_text()[-3000:]}")
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(1)
    raise RuntimeError(f"{url} did not start in {STARTUP_SECONDS}s:\n{log.read_text()[-3000:]}")


def private_log(path: Path):
    """A log file only this user can read, like every file in the assistant's data folder."""
    return open(path, "w", opener=lambda name, flags: os.open(name, flags, 0o600))


def start(data_dir: Path, extra_env: Dict[str, str] = None) -> LiveAssistant:
    rasa_port, actions_port = free_port(), free_port()
    env = {
        **os.environ,
        "DATA_DIR": str(data_dir),
        "TRACKER_DB_PATH": str(data_dir / "tracker.db"),
        "DATABASE_URL": f"sqlite:///{data_dir / 'clinic.db'}",
        "BOOKING_SPOOL_PATH": str(data_dir / "booking_spool.jsonl"),
        "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{actions_port}/webhook",
        # The API token starts with "-" on purpose: `rasa run` must never take it for an option.
        "RASA_AUTH_TOKEN": "-" + secrets.token_hex(24),
        "ACTION_SERVER_TOKEN": secrets.token_hex(32),
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
        # Every test client shares 127.0.0.1: the per-IP limit is tested by the tests that set it.
        "RATE_LIMIT_IP_PER_MINUTE": "0",
        **(extra_env or {}),
    }
    with_env = [sys.executable, str(PROJECT_DIR / "scripts" / "with_env.py")]
    processes = []
    actions_log, rasa_log = data_dir / "actions.log", data_dir / "rasa.log"
    processes.append(
        subprocess.Popen(
            with_env + [str(VENV_BIN / "rasa"), "run", "actions", "--port", str(actions_port)],
            cwd=PROJECT_DIR, env=env, stdout=private_log(actions_log), stderr=subprocess.STDOUT,
        )
    )
    # As scripts/run.sh starts it: the API token from RASA_AUTH_TOKEN, never on the command line.
    processes.append(
        subprocess.Popen(
            [sys.executable, str(PROJECT_DIR / "scripts" / "rasa_run.py"),
             "--interface", "127.0.0.1", "--port", str(rasa_port),
             "--endpoints", "endpoints.env.yml", "--credentials", "credentials.env.yml"],
            cwd=PROJECT_DIR, env=env, stdout=private_log(rasa_log), stderr=subprocess.STDOUT,
        )
    )
    assistant = LiveAssistant(
        f"http://127.0.0.1:{rasa_port}", f"http://127.0.0.1:{actions_port}", env["RASA_AUTH_TOKEN"], data_dir, env,
        processes, env["ACTION_SERVER_TOKEN"],
    )
    try:
        wait_until_up(f"{assistant.actions_url}/health", processes[0], actions_log)
        wait_until_up(assistant.api("/status"), processes[1], rasa_log)
    except Exception:
        assistant.stop()
        raise
    return assistant
