"""The production set-up, for real, on loopback: PostgreSQL, Redis, one action server and two Rasa
server replicas with endpoints.production.yml (SQL tracker store on PostgreSQL, Redis lock store,
the clinic's own tables in the same database).

PostgreSQL and Redis come from Debian's packages (scripts/setup.sh installs them); each test
session makes its own database cluster in a temporary folder on free ports and removes it after.
The action server reaches PostgreSQL through a FaultyLink, which a test can cut to make the
database unreachable for the action server alone.
"""
import glob
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

from scripts.live_stack import PROJECT_DIR, VENV_BIN, free_port, wait_until_up

PYTHON = str(VENV_BIN / "python")
WITH_ENV = [PYTHON, str(PROJECT_DIR / "scripts" / "with_env.py")]


def wait_for(condition, seconds: float, what: str, interval: float = 0.2):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"timed out after {seconds:g} s waiting for {what}")


def port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


class PostgresServer:
    """A throw-away PostgreSQL cluster; as root its processes run as the `postgres` user."""

    def __init__(self, root: Path) -> None:
        binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
        if not binaries:
            raise RuntimeError("PostgreSQL is not installed: run `make install` (apt-get install postgresql).")
        self.bin = Path(binaries[-1]).parent
        self.data = root / "pgdata"
        self.port = free_port()
        self.user, self.password, self.db = "clinic", secrets.token_hex(12), "clinic"
        self.as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        root.mkdir(parents=True, exist_ok=True)
        if self.as_postgres:
            shutil.chown(root, "postgres")
        password_file = root / "pwfile"
        password_file.write_text(self.password)
        if self.as_postgres:
            shutil.chown(password_file, "postgres")
        self._run("initdb", "-D", str(self.data), "-U", self.user, "--pwfile", str(password_file),
                  "-A", "scram-sha-256", "-E", "UTF8")
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(f"listen_addresses = '127.0.0.1'\nport = {self.port}\nunix_socket_directories = '{root}'\n"
                       "fsync = off\nmax_connections = 200\n")
        self.start()
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, self.db,
                  env={"PGPASSWORD": self.password})

    def _run(self, tool: str, *args: str, env: Optional[Dict[str, str]] = None) -> None:
        subprocess.run(self.as_postgres + [str(self.bin / tool), *args], check=True, capture_output=True,
                       env={**os.environ, **(env or {})}, cwd="/")

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.data / "server.log"), "-w", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def url(self, port: Optional[int] = None) -> str:
        return f"postgresql+psycopg2://{self.user}:{self.password}@127.0.0.1:{port or self.port}/{self.db}"


class RedisServer:
    def __init__(self, root: Path) -> None:
        self.port, self.password, self.root = free_port(), secrets.token_hex(12), root
        self.process: Optional[subprocess.Popen] = None
        self.start()

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--requirepass", self.password,
             "--save", "", "--appendonly", "no", "--dir", str(self.root)],
            stdout=(self.root / "redis.log").open("a"), stderr=subprocess.STDOUT,
        )
        wait_for(lambda: port_open(self.port), 20, "Redis to listen")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=20)


class FaultyLink:
    """A TCP relay from a local port to a target port that a test can cut and restore.

    While cut, open connections are closed and new ones are closed at once: to the client it is
    a database that has gone away.
    """

    def __init__(self, target_port: int) -> None:
        self.target_port, self.port = target_port, free_port()
        self._cut = threading.Event()
        self._connections: List[socket.socket] = []
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, daemon=True).start()

    def cut(self) -> None:
        self._cut.set()
        with self._lock:
            for connection in self._connections:
                connection.close()
            self._connections.clear()

    def restore(self) -> None:
        self._cut.clear()

    def _accept(self) -> None:
        while True:
            client, _ = self._listener.accept()
            if self._cut.is_set():
                client.close()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._connections += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                try:
                    end.close()
                except OSError:
                    pass


@dataclass
class ProductionStack:
    root: Path
    postgres: PostgresServer
    redis: RedisServer
    database_link: FaultyLink
    token: str = field(repr=False)  # secrets stay out of the repr, which error messages show
    env: Dict[str, str] = field(repr=False)
    actions_port: int = 0
    rasa_ports: List[int] = field(default_factory=list)
    processes: Dict[str, subprocess.Popen] = field(default_factory=dict)

    # ---- the processes
    def start_actions(self) -> None:
        log = self.root / "actions.log"
        self.processes["actions"] = subprocess.Popen(
            WITH_ENV + [str(VENV_BIN / "rasa"), "run", "actions", "--port", str(self.actions_port)],
            cwd=PROJECT_DIR, env=self.env, stdout=log.open("a"), stderr=subprocess.STDOUT,
        )
        wait_until_up(f"http://127.0.0.1:{self.actions_port}/health", self.processes["actions"], log)

    def launch_rasa(self, replica: int, workers: int = 1) -> None:
        log = self.root / f"rasa{replica}.log"
        # As docker-compose.yml starts it: the API token from RASA_AUTH_TOKEN, never on the command line;
        # SANIC_WORKERS: Rasa's own setting for several server processes behind the one port.
        self.processes[f"rasa{replica}"] = subprocess.Popen(
            [PYTHON, str(PROJECT_DIR / "scripts" / "rasa_run.py"),
             "--interface", "127.0.0.1", "--port", str(self.rasa_ports[replica]),
             "--endpoints", "endpoints.production.yml", "--credentials", "credentials.env.yml"],
            cwd=PROJECT_DIR, env={**self.env, "SANIC_WORKERS": str(workers)}, stdout=log.open("a"),
            stderr=subprocess.STDOUT,
        )

    def add_rasa(self, workers: int) -> int:
        """One more Rasa server on the same database and Redis, with `workers` processes; its replica number."""
        self.rasa_ports.append(free_port())
        replica = len(self.rasa_ports) - 1
        self.launch_rasa(replica, workers)
        self.wait_for_rasa(replica)
        return replica

    def wait_for_rasa(self, replica: int) -> None:
        wait_until_up(self.api(replica, "/status"), self.processes[f"rasa{replica}"], self.root / f"rasa{replica}.log")

    def stop(self, name: str, kill: bool = False) -> None:
        process = self.processes.pop(name)
        process.kill() if kill else process.terminate()
        process.wait(timeout=30)

    def shutdown(self) -> None:
        for name in list(self.processes):
            self.stop(name)
        for stop in (self.redis.stop, self.postgres.stop):
            try:
                stop()
            except Exception:  # already stopped by a test that failed half-way
                pass
        shutil.rmtree(self.root, ignore_errors=True)

    # ---- addresses
    def url(self, replica: int) -> str:
        return f"http://127.0.0.1:{self.rasa_ports[replica]}"

    def api(self, replica: int, path: str) -> str:
        separator = "&" if "?" in path else "?"
        return f"{self.url(replica)}{path}{separator}token={self.token}"

    def log(self, name: str) -> str:
        return (self.root / f"{name}.log").read_text(errors="replace")


def start(replicas: int = 2, extra_env: Optional[Dict[str, str]] = None) -> ProductionStack:
    root = Path(tempfile.mkdtemp(prefix="clinic-production-"))
    os.chmod(root, 0o755)  # PostgreSQL runs as another user and needs to reach its folder inside
    postgres = PostgresServer(root / "postgres")
    redis = RedisServer(root)
    link = FaultyLink(postgres.port)
    token = secrets.token_hex(24)
    actions_port, rasa_ports = free_port(), [free_port() for _ in range(replicas)]
    data_dir = root / "data"
    data_dir.mkdir()
    env = {
        **os.environ,
        "DATA_DIR": str(data_dir),
        "POSTGRES_HOST": "127.0.0.1", "POSTGRES_PORT": str(postgres.port), "POSTGRES_DB": postgres.db,
        "POSTGRES_USER": postgres.user, "POSTGRES_PASSWORD": postgres.password,
        "REDIS_HOST": "127.0.0.1", "REDIS_PORT": str(redis.port), "REDIS_PASSWORD": redis.password,
        "SOCKETIO_MESSAGE_QUEUE_URL": f"redis://:{redis.password}@127.0.0.1:{redis.port}/2",
        # The clinic's tables live in the same database; the action server reaches it through the link.
        "DATABASE_URL": postgres.url(link.port),
        "BOOKING_SPOOL_PATH": str(data_dir / "booking_spool.jsonl"),
        "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{actions_port}/webhook",
        "RASA_AUTH_TOKEN": token,
        "ACTION_SERVER_TOKEN": secrets.token_hex(32),
        "RASA_URL": f"http://127.0.0.1:{rasa_ports[0]}",  # the action server's handoff calls
        "BOOKING_SPOOL_RETRY_SECONDS": "2",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
        **(extra_env or {}),
    }
    stack = ProductionStack(root, postgres, redis, link, token, env, actions_port, rasa_ports)
    try:
        stack.start_actions()
        for replica in range(replicas):
            stack.launch_rasa(replica)
        for replica in range(replicas):
            stack.wait_for_rasa(replica)
    except Exception:
        stack.shutdown()
        raise
    return stack
