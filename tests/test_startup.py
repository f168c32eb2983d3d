"""Starting the assistant: its secrets, its ports, its files, and the action server's own door.

What an outside check broke (issue 11): a generated API token starting with "-" that `rasa run`
took for an option (the assistant never started again), the token visible in `ps`, `make run`
trusting a foreign program on its ports, data files readable by every local user, an action server
that anything on the machine could call, and oversized requests answered with 500 or 400.
"""
import json
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Dict, Tuple

import pytest

from clinic import settings
from scripts.live_stack import PROJECT_DIR, free_port

WITH_ENV = [sys.executable, str(PROJECT_DIR / "scripts" / "with_env.py")]
REFERENCE_CODE = re.compile(r"TC-[0-9A-Z]{6}")
BOOKING = ["book a consultation", "Maria Lopez", "509-555-0142", "weekday mornings",
           '/inform{"help_with": "anxiety"}', "yes", "yes"]


def say(assistant, sender: str, text: str) -> str:
    request = urllib.request.Request(
        f"{assistant.url}/webhooks/rest/webhook", data=json.dumps({"sender": sender, "message": text}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        return " ".join(reply.get("text", "") for reply in json.loads(response.read()))


def post(url: str, body: bytes, headers: Dict[str, str] = None, method: str = "POST") -> Tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, method=method,
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def raw_status(url: str, head: bytes, body: bytes = b"") -> int:
    """The status of a hand-made request; the server may answer and close before reading all of it."""
    host, port = url.split("//")[1].split(":")
    with socket.create_connection((host, int(port)), timeout=60) as connection:
        try:
            connection.sendall(head + body)
        except OSError:
            pass
        answer = b""
        while b"\r\n" not in answer:
            chunk = connection.recv(4096)
            if not chunk:
                break
            answer += chunk
    return int(answer.split(b" ", 2)[1])


@pytest.fixture(scope="module")
def booked(live_assistant) -> str:
    """A visitor's greeting and a whole booking, through the live assistant: the confirmation."""
    say(live_assistant, "startup-hello", "hello")
    return [say(live_assistant, "startup-booking", text) for text in BOOKING][-1]


# ---- secrets that cannot look like options, and stay out of the process list

def test_generated_secrets_never_look_like_a_command_line_option(tmp_path):
    made = [settings.generated_secret(tmp_path / f"secret{number}") for number in range(1000)]
    assert [secret for secret in made if secret.startswith("-")] == []
    assert all(re.fullmatch(r"[A-Za-z0-9]{32,}", secret) for secret in made)


def test_a_token_file_starting_with_a_dash_reaches_rasa_intact(tmp_path):
    """An install whose data folder kept a token from before: Rasa's own parser gets it whole."""
    (tmp_path / "rasa_auth_token").write_text("-kept-from-an-older-install\n")
    env = {key: value for key, value in os.environ.items() if key != "RASA_AUTH_TOKEN"}
    check = (
        "import sys; sys.path.insert(0, '.'); from scripts import rasa_run; "
        "from rasa.__main__ import create_argument_parser; "
        "args = create_argument_parser().parse_args(rasa_run.rasa_argv(['--port', '5005'])[1:]); "
        "print(args.auth_token, args.enable_api)"
    )
    result = subprocess.run([sys.executable, "-c", check], cwd=PROJECT_DIR, capture_output=True, text=True,
                            env={**env, "DATA_DIR": str(tmp_path)}, timeout=120)
    assert result.stdout.split() == ["-kept-from-an-older-install", "True"], result.stderr[-2000:]


def test_an_api_token_starting_with_a_dash_still_starts_the_assistant(live_assistant):
    assert live_assistant.token.startswith("-")  # scripts/live_stack.py chooses one on purpose
    with urllib.request.urlopen(live_assistant.api("/status"), timeout=60) as response:
        assert response.status == 200


def test_no_secret_is_in_the_process_list(live_assistant):
    listing = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, timeout=30).stdout
    rasa_server = Path(f"/proc/{live_assistant.processes[1].pid}/cmdline").read_bytes().decode()
    assert "run" in rasa_server  # it is the Rasa server
    for secret in (live_assistant.token, live_assistant.action_token):
        assert secret not in rasa_server
        assert secret not in listing


# ---- a secret between the Rasa server and the action server

def test_the_action_server_refuses_calls_without_the_shared_secret(live_assistant):
    call = json.dumps({"next_action": "action_drop_tables", "tracker": {"sender_id": "x", "events": []},
                       "domain": {}}).encode()
    webhook = f"{live_assistant.actions_url}/webhook"
    assert post(webhook, call)[0] == 401
    assert post(webhook, call, {"Authorization": "Bearer not-the-secret"})[0] == 401
    assert post(webhook, call, {"Authorization": live_assistant.action_token})[0] == 401
    assert post(f"{live_assistant.actions_url}/actions", None, method="GET")[0] == 401
    # With the secret the call reaches the actions (an unknown one: 404); health stays open.
    assert post(webhook, call, live_assistant.action_headers)[0] == 404
    assert post(f"{live_assistant.actions_url}/health", None, method="GET")[0] == 200


def test_the_assistants_own_action_calls_still_work(booked):
    assert REFERENCE_CODE.search(booked), booked


# ---- oversized requests to the action server

def test_the_action_server_answers_an_oversized_header_with_431(live_assistant):
    head = (b"POST /webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"X-Padding: " + b"a" * 100_000 + b"\r\nContent-Length: 2\r\n\r\n")
    assert raw_status(live_assistant.actions_url, head, b"{}") == 431


@pytest.mark.parametrize("with_secret", [True, False])
def test_the_action_server_answers_an_oversized_body_with_413_or_401(live_assistant, with_secret):
    size = 5 * 1024 * 1024
    secret = f"Authorization: {live_assistant.action_headers['Authorization']}\r\n".encode() if with_secret else b""
    head = (b"POST /webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" + secret +
            b"Content-Length: %d\r\n\r\n" % size)
    assert raw_status(live_assistant.actions_url, head, b'{"x": "' + b"a" * 65536) == (413 if with_secret else 401)


# ---- private data files

def test_the_data_folder_and_every_file_in_it_are_private(live_assistant, booked):
    assert REFERENCE_CODE.search(booked)
    data_dir = live_assistant.data_dir
    assert (data_dir / "tracker.db").exists() and (data_dir / "clinic.db").exists()
    loose = []
    for path in [data_dir, *data_dir.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        if (path.is_dir() and mode != 0o700) or (not path.is_dir() and mode & 0o077):
            loose.append(f"{path.relative_to(data_dir)} {mode:o}")
    assert loose == []


def test_an_existing_data_folder_is_made_private_at_start(tmp_path):
    data_dir = tmp_path / "var"
    (data_dir / "logs").mkdir(parents=True)
    for path in (data_dir, data_dir / "logs"):
        path.chmod(0o755)
    for name in ("tracker.db", "logs/rasa.log"):
        (data_dir / name).write_text("x")
        (data_dir / name).chmod(0o644)
    env = {key: value for key, value in os.environ.items() if key != "ACTION_SERVER_TOKEN"}
    result = subprocess.run(WITH_ENV + ["sh", "-c", "umask; touch \"$DATA_DIR/new.db\""], cwd=PROJECT_DIR,
                            capture_output=True, text=True, env={**env, "DATA_DIR": str(data_dir)}, timeout=120)
    assert result.stdout.strip() == "0077", result.stderr[-2000:]
    modes = {path.relative_to(data_dir).as_posix(): stat.S_IMODE(path.stat().st_mode) for path in data_dir.rglob("*")}
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    assert modes == {"logs": 0o700, "logs/rasa.log": 0o600, "tracker.db": 0o600, "new.db": 0o600,
                     "action_server_token": 0o600}


def test_the_generated_action_server_secret_is_shared_by_every_process_on_the_machine(tmp_path):
    env = {key: value for key, value in os.environ.items() if key != "ACTION_SERVER_TOKEN"}
    env["DATA_DIR"] = str(tmp_path)
    seen = {
        subprocess.run(WITH_ENV + ["sh", "-c", "printf %s \"$ACTION_SERVER_TOKEN\""], cwd=PROJECT_DIR, env=env,
                       capture_output=True, text=True, timeout=120).stdout
        for _ in range(2)
    }
    assert seen == {(tmp_path / "action_server_token").read_text().strip()}
    assert len(next(iter(seen))) >= 32


# ---- make run and its ports

def test_the_port_check_tells_our_own_listener_from_another_program():
    from scripts import port_check

    other = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        with socket.create_server(("127.0.0.1", 0)) as listener:
            port = listener.getsockname()[1]
            assert port_check.in_use(port, "127.0.0.1")
            assert port_check.in_use(port, "0.0.0.0")
            assert port_check.listening_pids(port) == {os.getpid()}
            assert port_check.held_by(port, os.getpid())
            assert not port_check.held_by(port, other.pid)
    finally:
        other.communicate(b"", timeout=30)


def test_run_refuses_to_start_when_a_port_is_taken_and_names_it(tmp_path):
    with socket.create_server(("127.0.0.1", 0)) as foreign:
        port = foreign.getsockname()[1]
        env = {**os.environ, "DATA_DIR": str(tmp_path / "data"), "ACTION_PORT": str(port),
               "RASA_PORT": str(free_port()), "WEB_PORT": str(free_port()), "CONSOLE_PORT": str(free_port())}
        result = subprocess.run(["bash", "scripts/run.sh"], cwd=PROJECT_DIR, env=env, stdin=subprocess.DEVNULL,
                                capture_output=True, text=True, timeout=240)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert f"Port {port} (action server) is already in use" in output, output[-3000:]
    if shutil.which("ss"):
        assert f"pid={os.getpid()}," in output  # which program holds it
    assert "is up" not in output


# ---- a wrong setting stops each service at start, named, with what it expects (clinic/settings.py)

def refused(command, bad: Dict[str, str], data_dir: Path, timeout: int = 300) -> str:
    """Runs a start command with wrong settings: it must stop, and say which and what is expected."""
    env = {key: value for key, value in os.environ.items() if key not in settings.Settings.__fields__}
    env.update(bad, DATA_DIR=str(data_dir))
    result = subprocess.run(command, cwd=PROJECT_DIR, env=env, stdin=subprocess.DEVNULL,
                            capture_output=True, text=True, timeout=timeout)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
    for name in bad:
        assert f"{name}={bad[name]!r}: expected" in output, output[-3000:]
    assert "Not started." in output
    return output


BAD_SETTINGS = [{"HANDOFF_TIMEOUT_MINUTES": "abc"}, {"CONSOLE_PORT": "70000"}]


@pytest.mark.parametrize("bad", BAD_SETTINGS)
def test_the_action_server_refuses_a_wrong_setting(tmp_path, bad):
    output = refused(WITH_ENV + [str(PROJECT_DIR / ".venv" / "bin" / "rasa"), "run", "actions", "--port",
                                 str(free_port())], bad, tmp_path)
    assert "HANDOFF_TIMEOUT_MINUTES='abc': expected a whole number (minutes), more than 0" in output or \
        "CONSOLE_PORT='70000': expected a TCP port, 1 to 65535" in output


def test_the_action_servers_own_start_hook_refuses_a_wrong_setting(tmp_path):
    """Plain `rasa run actions` (no scripts/with_env.py): the rasa_sdk plugin checks the settings first."""
    check = ("from sanic import Sanic; from rasa_sdk_plugins import ActionServerInputChecks; "
             "ActionServerInputChecks().attach_sanic_app_extensions(Sanic('actions'))")
    refused([sys.executable, "-c", check], {"HANDOFF_TIMEOUT_MINUTES": "abc"}, tmp_path)


@pytest.mark.parametrize("bad", BAD_SETTINGS)
def test_the_rasa_server_refuses_a_wrong_setting(tmp_path, bad):
    refused([sys.executable, "scripts/rasa_run.py", "--port", str(free_port())], bad, tmp_path)


def test_plain_rasa_run_refuses_a_wrong_setting_through_the_channels(tmp_path):
    """Without scripts/rasa_run.py: the channels' message guard reads the settings when Rasa sets them up."""
    refused([str(PROJECT_DIR / ".venv" / "bin" / "rasa"), "run", "--port", str(free_port()),
             "--credentials", "credentials.yml"], {"CONSOLE_PORT": "70000"}, tmp_path)


@pytest.mark.parametrize("bad", BAD_SETTINGS)
def test_the_console_refuses_a_wrong_setting(tmp_path, bad):
    refused([sys.executable, "-m", "console", "run"], bad, tmp_path)


def test_the_console_in_docker_refuses_a_wrong_setting(tmp_path):
    """docker-compose.yml's console: waitress through scripts/with_env.py."""
    refused(WITH_ENV + ["waitress-serve", "--listen=127.0.0.1:1", "--call", "console:create_app"],
            {"CONSOLE_MAX_REQUEST_KB": "lots"}, tmp_path)


def test_make_run_refuses_a_wrong_setting(tmp_path):
    refused(["bash", "scripts/run.sh"], {"HANDOFF_TIMEOUT_MINUTES": "abc"}, tmp_path / "data")


@pytest.mark.parametrize("preset, expected", [(None, 1), ("2", 2)])
def test_the_rasa_server_multiplies_on_one_blas_thread_unless_told_otherwise(preset, expected):
    """One OpenBLAS thread: with one per core, the NLU's small products wait for the busy cores."""
    env = {key: value for key, value in os.environ.items() if key != "OPENBLAS_NUM_THREADS"}
    if preset:
        env["OPENBLAS_NUM_THREADS"] = preset
    check = (
        "import sys; sys.path.insert(0, '.'); from scripts import rasa_run; rasa_run.one_blas_thread(); "
        "import numpy; from threadpoolctl import threadpool_info; "
        "print(max(pool['num_threads'] for pool in threadpool_info() if pool['user_api'] == 'blas'))"
    )
    result = subprocess.run([sys.executable, "-c", check], cwd=PROJECT_DIR, capture_output=True, text=True,
                            env=env, timeout=120)
    assert result.stdout.split() == [str(min(expected, os.cpu_count()))], result.stderr[-2000:]


def test_a_started_stack_shown_in_an_error_message_does_not_show_its_secrets(tmp_path):
    """The test and bench harnesses hold the API token, the action server's secret and the environment
    with every other secret; an assertion or a traceback that prints the harness must show none of them."""
    from scripts.live_stack import LiveAssistant
    from scripts.production_stack import ProductionStack

    secrets = {"token": "api-token-1", "action": "action-secret-2", "env": "smtp-password-3"}
    assistant = LiveAssistant("http://127.0.0.1:1", "http://127.0.0.1:2", secrets["token"], tmp_path,
                              {"SMTP_PASSWORD": secrets["env"]}, [], secrets["action"])
    stack = ProductionStack(tmp_path, None, None, None, secrets["token"], {"SMTP_PASSWORD": secrets["env"]})
    for shown in (repr(assistant), repr(stack)):
        assert not any(secret in shown for secret in secrets.values()), shown
    assert secrets["token"] in assistant.api("/status")  # still there for the harness's own requests
