"""Static checks of the Docker deployment: docker-compose.yml, deploy/nginx/nginx.conf, Dockerfile.

Docker cannot run here, so these read the files and check the properties the security review
relies on (SECURITY.md, README "Deployment"): only the proxy is published, the Rasa HTTP API needs
the token and is never proxied, no secret is written into the files, every variable is documented.
Each checker is a plain function; the `*_flags_*` tests feed it a known-bad input, so a checker that
silently stopped checking would fail too.
"""
import re
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest
import yaml

PROJECT_DIR = Path(__file__).resolve().parent.parent
COMPOSE_PATH = PROJECT_DIR / "docker-compose.yml"
NGINX_PATH = PROJECT_DIR / "deploy" / "nginx" / "nginx.conf"
ENV_EXAMPLE_PATH = PROJECT_DIR / ".env.example"

INTERNAL_SERVICES = ("postgres", "redis", "actions", "rasa", "console")
SECRET_NAME = re.compile(r"PASSWORD|TOKEN|SECRET|KEY")
# ${VAR}, ${VAR:-default}, ${VAR:?message} ... but not $${VAR} (escaped for the container's shell).
VARIABLE = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)")
ONLY_A_REFERENCE = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*(?:(?::?[-?])[^}]*)?\}$")
RASA_API_PATHS = (
    "/", "/status", "/version", "/model", "/model/train", "/model/parse", "/conversations/abc/tracker",
    "/conversations/abc/tracker/events", "/conversations/abc/messages", "/conversations/abc/trigger_intent",
    "/domain", "/webhooks/rest/webhook",
)
RASA_LAUNCHER = "scripts/rasa_run.py"
PUBLIC_RASA_PATHS = (
    "/socket.io/",
    "/webhooks/facebook/webhook",
    "/webhooks/twilio/webhook",
    "/webhooks/telegram/webhook",
)


# ---- loading

@pytest.fixture(scope="module")
def compose() -> Dict[str, Any]:
    return yaml.safe_load(COMPOSE_PATH.read_text())


@pytest.fixture(scope="module")
def services(compose) -> Dict[str, Dict[str, Any]]:
    return compose["services"]


@pytest.fixture(scope="module")
def nginx() -> List["Directive"]:
    return parse_nginx(NGINX_PATH.read_text())


def environment(service: Dict[str, Any]) -> Dict[str, str]:
    """A service's environment as a mapping (compose allows a mapping or a list of KEY=VALUE)."""
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in raw)
    return {key: "" if value is None else str(value) for key, value in raw.items()}


def command(service: Dict[str, Any]) -> List[str]:
    raw = service.get("command") or []
    return raw.split() if isinstance(raw, str) else [str(part) for part in raw]


# ---- checkers

def services_publishing_ports(services: Dict[str, Dict[str, Any]]) -> Dict[str, List[str]]:
    published = {}
    for name, service in services.items():
        if service.get("ports") or service.get("network_mode") == "host":
            published[name] = [str(port) for port in service.get("ports") or ["network_mode: host"]]
    return published


def literal_secrets(services: Dict[str, Dict[str, Any]]) -> List[str]:
    """Environment values of secret-named variables that are not a single ${VAR} reference, and
    passwords written into URLs."""
    problems = []
    for name, service in services.items():
        for key, value in environment(service).items():
            if SECRET_NAME.search(key) and value and not ONLY_A_REFERENCE.match(value):
                problems.append(f"{name}: {key}={value}")
            for password in re.findall(r"://[^:/@\s]*:([^@\s]*)@", value):
                if not ONLY_A_REFERENCE.match(password):
                    problems.append(f"{name}: {key} has a literal password in a URL")
        args = command(service)
        for flag in ("--auth-token", "--password", "--requirepass"):
            if flag in args:
                value = args[args.index(flag) + 1] if args.index(flag) + 1 < len(args) else ""
                if not ONLY_A_REFERENCE.match(value):
                    problems.append(f"{name}: {flag} {value}")
    return problems


def rasa_api_problems(rasa: Dict[str, Any]) -> List[str]:
    """The Rasa server starts through scripts/rasa_run.py, which turns the HTTP API on with the token
    from RASA_AUTH_TOKEN inside the process: a token on the command line would show in `ps`."""
    args = command(rasa)
    problems = []
    if any(arg == "--auth-token" or arg.startswith("--auth-token=") for arg in args):
        problems.append("the API token is on the command line (visible in ps)")
    if RASA_LAUNCHER not in args:
        problems.append(f"not started with {RASA_LAUNCHER} (the API and its token from the environment)")
    # Required (":?"): an unset token must stop compose, never start an open API.
    if not re.fullmatch(r"\$\{RASA_AUTH_TOKEN:\?[^}]*\}", environment(rasa).get("RASA_AUTH_TOKEN", "")):
        problems.append("RASA_AUTH_TOKEN is not the required ${RASA_AUTH_TOKEN:?...}")
    return problems


def undocumented_variables(texts: Dict[str, str], env_example: str) -> Dict[str, List[str]]:
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", env_example, flags=re.MULTILINE))
    missing = {}
    for name, text in texts.items():
        # YAML comments are not configuration.
        text = "\n".join(line.split(" #")[0] for line in text.splitlines() if not line.lstrip().startswith("#"))
        unknown = sorted(set(VARIABLE.findall(text)) - documented)
        if unknown:
            missing[name] = unknown
    return missing


# ---- nginx: a small parser, enough to find which location answers a path

class Directive:
    def __init__(self, name: str, args: List[str], block: Optional[List["Directive"]] = None) -> None:
        self.name, self.args, self.block = name, args, block

    def children(self, name: str) -> List["Directive"]:
        return [child for child in self.block or [] if child.name == name]

    def walk(self) -> Iterator["Directive"]:
        yield self
        for child in self.block or []:
            yield from child.walk()

    def __repr__(self) -> str:
        return f"{self.name} {' '.join(self.args)}"


def parse_nginx(text: str) -> List[Directive]:
    tokens = re.findall(r'"[^"]*"|\'[^\']*\'|[{};]|[^\s{};]+', re.sub(r"#[^\n]*", "", text))
    position = 0

    def block() -> List[Directive]:
        nonlocal position
        directives, words = [], []
        while position < len(tokens):
            token = tokens[position]
            position += 1
            if token == ";":
                directives.append(Directive(words[0], words[1:]))
                words = []
            elif token == "{":
                directives.append(Directive(words[0], words[1:], block()))
                words = []
            elif token == "}":
                assert not words, f"unterminated directive {words}"
                return directives
            else:
                words.append(token.strip("\"'"))
        assert not words, f"unterminated directive {words}"
        return directives

    parsed = block()
    assert position == len(tokens), "unbalanced braces in nginx.conf"
    return parsed


def http_block(config: List[Directive]) -> Directive:
    (http,) = [directive for directive in config if directive.name == "http"]
    return http


def servers(config: List[Directive]) -> List[Directive]:
    return http_block(config).children("server")


def server_names(server: Directive) -> List[str]:
    return [name for directive in server.children("server_name") for name in directive.args]


def proxied_upstream(location: Directive) -> Optional[str]:
    for directive in location.walk():
        if directive.name == "proxy_pass":
            match = re.match(r"https?://([^/:$]+)", directive.args[0])
            return match.group(1) if match else directive.args[0]
    return None


def location_for(server: Directive, path: str) -> Optional[Directive]:
    """nginx's choice for a path among exact and prefix locations (regex locations are refused)."""
    locations = server.children("location")
    assert not [loc for loc in locations if loc.args[0] in ("~", "~*")], (
        "regex locations: the check below is not enough"
    )
    for location in locations:
        if location.args[0] == "=" and location.args[1] == path:
            return location
    prefixes = [(loc.args[-1], loc) for loc in locations if loc.args[0] != "="]
    matching = [(prefix, loc) for prefix, loc in prefixes if path.startswith(prefix)]
    return max(matching, key=lambda pair: len(pair[0]))[1] if matching else None


def public_rasa_routes(config: List[Directive]) -> List[Tuple[str, str]]:
    """(server name, location path) of every location that forwards to the rasa upstream or port."""
    routes = []
    for server in servers(config):
        for location in server.children("location"):
            upstream = proxied_upstream(location)
            if upstream and upstream.startswith("rasa"):
                routes.append((" ".join(server_names(server)), location.args[-1]))
    return routes


def chat_server(config: List[Directive]) -> Directive:
    (server,) = [s for s in servers(config) if "443" in " ".join(a for d in s.children("listen") for a in d.args)
                 and "default_server" in " ".join(a for d in s.children("listen") for a in d.args)]
    return server


# ---- docker-compose.yml

def test_only_the_proxy_publishes_ports(services):
    published = services_publishing_ports(services)
    assert set(published) == {"proxy"}, published
    ports = {port.split(":")[-2] if port.count(":") >= 1 else port for port in published["proxy"]}
    assert ports == {"80", "443"}, published["proxy"]


@pytest.mark.parametrize("name", INTERNAL_SERVICES)
def test_internal_services_publish_nothing(services, name):
    service = services[name]
    assert not service.get("ports"), f"{name} publishes {service.get('ports')}"
    assert service.get("network_mode") != "host"


def test_databases_are_on_an_internal_network_only(compose, services):
    assert compose["networks"]["data"].get("internal") is True
    for name in ("postgres", "redis"):
        assert services[name]["networks"] == ["data"], name
    assert "data" not in (services["proxy"].get("networks") or ["default"])


def test_the_action_server_listens_only_inside_the_container_network(services):
    actions = services["actions"]
    assert command(actions)[-4:] == ["run", "actions", "--port", "5055"]
    assert environment(actions)["SANIC_HOST"] == "0.0.0.0"
    assert [str(port) for port in actions["expose"]] == ["5055"]
    assert environment(services["rasa"])["ACTION_ENDPOINT_URL"] == "http://actions:5055/webhook"


def test_rasa_api_only_with_a_token_from_the_environment(services):
    assert RASA_LAUNCHER in command(services["rasa"])  # always --enable-api, with the token
    assert rasa_api_problems(services["rasa"]) == []


def test_the_action_server_and_the_rasa_servers_share_a_required_secret(services):
    required = re.compile(r"\$\{ACTION_SERVER_TOKEN:\?[^}]*\}")
    for name in ("actions", "rasa"):
        assert required.fullmatch(environment(services[name]).get("ACTION_SERVER_TOKEN", "")), name
    endpoints = yaml.safe_load((PROJECT_DIR / "endpoints.production.yml").read_text())
    assert endpoints["action_endpoint"]["headers"] == {"Authorization": "Bearer ${ACTION_SERVER_TOKEN}"}
    assert "/health" in " ".join(services["actions"]["healthcheck"]["test"])  # the one open path


def test_rasa_uses_the_production_endpoints_and_several_replicas(services):
    rasa = services["rasa"]
    args = command(rasa)
    assert args[args.index("--endpoints") + 1] == "endpoints.production.yml"
    assert args[args.index("--credentials") + 1] == "credentials.env.yml"
    assert rasa["deploy"]["replicas"] >= 2
    assert "container_name" not in rasa  # a fixed name would forbid replicas
    env = environment(rasa)
    assert env["POSTGRES_HOST"] == "postgres" and env["REDIS_HOST"] == "redis"
    assert env["SANIC_PROXIES_COUNT"] == "1"
    assert re.fullmatch(r"redis://:\$\{REDIS_PASSWORD[^}]*\}@redis:6379/2", env["SOCKETIO_MESSAGE_QUEUE_URL"])
    for name in (
        "RATE_LIMIT_IP_PER_MINUTE",
        "RATE_LIMIT_SENDER_PER_MINUTE",
        "MAX_MESSAGE_CHARS",
        "SANIC_REQUEST_MAX_SIZE",
    ):
        assert env[name].startswith("${" + name), name


def test_production_endpoints_share_postgres_and_redis():
    endpoints = yaml.safe_load((PROJECT_DIR / "endpoints.production.yml").read_text())
    tracker_store = endpoints["tracker_store"]
    # Rasa's SQL store or a subclass of it (rasa_server/tracker_store.py), on PostgreSQL.
    assert tracker_store["type"] == "SQL" or tracker_store["type"].endswith("SQLTrackerStore")
    assert tracker_store["dialect"] == "postgresql"
    # Rasa's Redis lock store made atomic across replicas (rasa_server/lock_store.py).
    assert endpoints["lock_store"]["type"] == "rasa_server.lock_store.AtomicRedisLockStore"
    assert endpoints["lock_store"]["url"] == "${REDIS_HOST}"


def test_the_console_reads_the_same_postgres(services):
    env = environment(services["console"])
    assert env["TRACKER_STORE_URL"] == env["DATABASE_URL"]
    assert "@postgres:5432/" in env["DATABASE_URL"]
    assert env["CONSOLE_SECURE_COOKIES"] == "true"
    assert env["RASA_URL"] == "http://rasa:5005"


def test_no_literal_secret_in_any_service(services):
    assert literal_secrets(services) == []


def test_required_secrets_stop_compose_when_missing():
    text = COMPOSE_PATH.read_text()
    for name in ("POSTGRES_PASSWORD", "REDIS_PASSWORD", "RASA_AUTH_TOKEN", "ACTION_SERVER_TOKEN", "CONSOLE_SECRET_KEY"):
        uses = re.findall(r"(?<!\$)\$\{" + name + r"([^}]*)\}", text)
        assert uses and all(use.startswith(":?") for use in uses), (name, uses)


def test_every_variable_is_documented_in_env_example():
    texts = {
        path: (PROJECT_DIR / path).read_text()
        for path in ("docker-compose.yml", "endpoints.production.yml", "endpoints.env.yml", "credentials.env.yml")
    }
    assert undocumented_variables(texts, ENV_EXAMPLE_PATH.read_text()) == {}


def test_services_restart_and_wait_for_healthy_dependencies(services):
    for name, service in services.items():
        assert service.get("restart") == "unless-stopped", name
        for dependency, condition in (service.get("depends_on") or {}).items():
            assert dependency in services
            assert condition["condition"] in ("service_healthy", "service_started"), (name, dependency)
    for name in INTERNAL_SERVICES:
        assert "healthcheck" in services[name], name
    assert services["rasa"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["rasa"]["depends_on"]["redis"]["condition"] == "service_healthy"


# ---- deploy/nginx/nginx.conf

def test_nginx_forwards_only_webhooks_and_socketio_to_rasa(nginx):
    routes = public_rasa_routes(nginx)
    assert routes and {path for _, path in routes} <= {"/webhooks/", "/socket.io/"}, routes


@pytest.mark.parametrize("path", RASA_API_PATHS)
def test_nginx_never_forwards_the_rasa_http_api(nginx, path):
    for server in servers(nginx):
        if any(name.startswith("console.") for name in server_names(server)):
            continue  # the console's own server forwards to the console only (checked below)
        location = location_for(server, path)
        upstream = proxied_upstream(location) if location else None
        assert not (upstream and upstream.startswith("rasa")), f"{path} reaches Rasa through {location}"


@pytest.mark.parametrize("path", PUBLIC_RASA_PATHS)
def test_nginx_forwards_the_public_channels(nginx, path):
    location = location_for(chat_server(nginx), path)
    assert location is not None and proxied_upstream(location) == "rasa", path


def test_nginx_console_server_reaches_only_the_console(nginx):
    (console,) = [s for s in servers(nginx) if any(n.startswith("console.") for n in server_names(s))]
    upstreams = {proxied_upstream(location) for location in console.children("location")}
    assert upstreams == {"console"}


def test_nginx_tls_redirect_and_limits(nginx):
    http = http_block(nginx)
    names = {directive.name: directive.args for directive in http.block}
    assert "ssl_certificate" in names and "ssl_certificate_key" in names
    assert set(names["ssl_protocols"]) <= {"TLSv1.2", "TLSv1.3"}
    assert names["client_max_body_size"] == ["256k"]
    assert names["resolver"][0] == "127.0.0.11"
    assert http.children("limit_req_zone")
    plain = [s for s in servers(nginx) if any(d.args[0] == "80" for d in s.children("listen"))]
    assert plain and all(
        [d.args for d in s.children("return")] == [["301", "https://$host$request_uri"]] and not s.children("location")
        for s in plain
    )
    for server in servers(nginx):
        if server not in plain:
            assert any(
                a.args[0] == "Strict-Transport-Security" for a in server.children("add_header")
            ), server_names(server)
    for location in chat_server(nginx).children("location"):
        if proxied_upstream(location) == "rasa":
            assert location.children("limit_req"), location


def test_nginx_keeps_a_socketio_client_on_one_rasa_replica(nginx):
    (rasa,) = [u for u in http_block(nginx).children("upstream") if u.args == ["rasa"]]
    balancing = [d for d in rasa.block if d.name in ("hash", "ip_hash")]
    assert balancing, "no sticky balancing"
    # `hash ... consistent` hashes the server name; every replica is the name `rasa`: not sticky.
    assert "consistent" not in balancing[0].args
    assert any(d.name == "server" and "resolve" in d.args for d in rasa.block), "replicas found only at start"
    socket = location_for(chat_server(nginx), "/socket.io/")
    headers = {
        tuple(d.args[:1]): d.args[1:]
        for d in http_block(nginx).children("proxy_set_header") + socket.children("proxy_set_header")
    }
    assert headers[("Upgrade",)] == ["$http_upgrade"] and ("Connection",) in headers
    assert headers[("X-Forwarded-For",)] in (["$remote_addr"], ["$proxy_add_x_forwarded_for"])
    assert headers[("X-Forwarded-Proto",)] == ["$scheme"]


# ---- plain `rasa` commands, make run and the tests

def test_plain_rasa_commands_read_their_files_with_no_variable_set():
    """endpoints.yml and credentials.yml, the files `rasa shell`, `rasa run` and `rasa interactive`
    read by default: literal values (the defaults of clinic/settings.py), no secret."""
    from rasa.core.utils import AvailableEndpoints
    from rasa.shared.utils.io import read_config_file

    from clinic import settings

    for name in ("endpoints.yml", "credentials.yml"):
        text = (PROJECT_DIR / name).read_text()
        assert "${" not in "\n".join(line.split("#")[0] for line in text.splitlines()), name
    endpoints = AvailableEndpoints.read_endpoints(str(PROJECT_DIR / "endpoints.yml"))
    assert endpoints.action.url == settings.default_text("ACTION_ENDPOINT_URL")
    assert not endpoints.action.headers  # a plain action server without ACTION_SERVER_TOKEN: loopback only
    assert endpoints.nlg.type == "rasa_server.nlg.FirstMatchResponseGenerator"
    assert endpoints.tracker_store.type == "rasa_server.tracker_store.PrivateSQLiteTrackerStore"
    assert PROJECT_DIR / endpoints.tracker_store.kwargs["db"] == PROJECT_DIR / "var" / "tracker.db"
    credentials = read_config_file(str(PROJECT_DIR / "credentials.yml"))
    socketio = credentials["channels.socketio.OriginCheckedSocketIOInput"]
    assert socketio["allowed_origins"] == settings.default_text("ALLOWED_ORIGINS")
    assert set(credentials) == {"channels.rest.CheckedRestInput", "channels.socketio.OriginCheckedSocketIOInput"}


def test_make_run_docker_and_the_tests_take_every_value_from_the_environment_and_send_the_secret():
    for name in ("endpoints.env.yml", "endpoints.production.yml"):
        endpoints = yaml.safe_load((PROJECT_DIR / name).read_text())
        assert endpoints["action_endpoint"] == {
            "url": "${ACTION_ENDPOINT_URL}", "headers": {"Authorization": "Bearer ${ACTION_SERVER_TOKEN}"},
        }, name
    assert (
        yaml.safe_load((PROJECT_DIR / "endpoints.env.yml").read_text())["tracker_store"]["db"] == "${TRACKER_DB_PATH}"
    )
    everywhere = yaml.safe_load((PROJECT_DIR / "credentials.env.yml").read_text())
    plain = yaml.safe_load((PROJECT_DIR / "credentials.yml").read_text())
    assert set(plain) < set(everywhere)
    assert everywhere["channels.socketio.OriginCheckedSocketIOInput"]["allowed_origins"] == "${ALLOWED_ORIGINS}"
    for script in ("scripts/run.sh", "scripts/live_stack.py"):
        text = (PROJECT_DIR / script).read_text()
        assert "endpoints.env.yml" in text and "credentials.env.yml" in text, script
        assert "endpoints.yml" not in text.replace("endpoints.env.yml", ""), script
    assert "credentials.env.yml" in (PROJECT_DIR / "scripts" / "production_stack.py").read_text()


# ---- Dockerfile and .dockerignore

def test_dockerfile_pinned_install_non_root_no_secrets():
    text = (PROJECT_DIR / "Dockerfile").read_text()
    instructions = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert re.search(r"^FROM python:3\.10-slim\s*$", text, flags=re.MULTILINE)
    assert "pip install --quiet --no-deps -r requirements.lock -r requirements-nodeps.txt" in text
    assert "requirements-dev" not in "\n".join(instructions)  # tests, benchmarks and lint stay out
    users = [line.split()[1] for line in instructions if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")
    assert not re.search(r"^(ENV|ARG)\s+\S*(PASSWORD|TOKEN|SECRET)", text, flags=re.MULTILINE)
    assert "rasa train" not in text


def test_dockerignore_keeps_secrets_and_local_state_out():
    ignored = {line.strip() for line in (PROJECT_DIR / ".dockerignore").read_text().splitlines()}
    for entry in (".env", "var/", ".venv/", ".git/", "deploy/certs/", "results/", "models/*.tmp", "web/node_modules/"):
        assert entry in ignored, entry


# ---- the checkers catch what they are meant to catch

def test_checkers_flag_a_published_rasa_and_literal_secrets():
    bad = {
        "proxy": {"ports": ["443:443"]},
        "rasa": {"ports": ["5005:5005"], "command": ["rasa", "run", "--enable-api", "--auth-token", "hunter2"],
                 "environment": {"POSTGRES_PASSWORD": "hunter2", "DATABASE_URL": "postgresql://u:hunter2@db/x"}},
        "actions": {"network_mode": "host"},
    }
    assert set(services_publishing_ports(bad)) == {"proxy", "rasa", "actions"}
    assert len(literal_secrets(bad)) == 3
    assert "the API token is on the command line (visible in ps)" in rasa_api_problems(bad["rasa"])
    assert len(rasa_api_problems({"command": "rasa run --enable-api"})) == 2
    launched = {"command": ["python", RASA_LAUNCHER], "environment": {"RASA_AUTH_TOKEN": "${RASA_AUTH_TOKEN:?set it}"}}
    assert rasa_api_problems(launched) == []
    assert rasa_api_problems({**launched, "environment": {"RASA_AUTH_TOKEN": "${RASA_AUTH_TOKEN}"}})
    assert rasa_api_problems({**launched, "command": ["python", RASA_LAUNCHER, "--auth-token=${RASA_AUTH_TOKEN:?x}"]})


def test_checker_flags_an_undocumented_variable():
    assert undocumented_variables({"x.yml": "a: ${NEW_SECRET}\nb: $${ESCAPED}\n# c: ${IN_COMMENT}"}, "OTHER=\n") == {
        "x.yml": ["NEW_SECRET"]
    }


def test_checker_flags_nginx_forwarding_the_api():
    config = parse_nginx(
        "http { upstream rasa { server rasa:5005; } server { listen 443 ssl default_server; server_name _;"
        " location / { proxy_pass http://rasa; } location /webhooks/ { proxy_pass http://rasa; } } }"
    )
    assert ("_", "/") in public_rasa_routes(config)
    assert proxied_upstream(location_for(chat_server(config), "/conversations/abc/tracker")) == "rasa"


# ---- database migrations in the image (migrations/, clinic/schema.py)

def test_the_image_migrates_the_clinic_database_before_its_services_start(services):
    dockerfile = (PROJECT_DIR / "Dockerfile").read_text()
    assert re.search(r'^ENTRYPOINT \["sh", "deploy/docker-entrypoint.sh"\]$', dockerfile, flags=re.MULTILINE)
    entrypoint = (PROJECT_DIR / "deploy" / "docker-entrypoint.sh").read_text()
    assert "python scripts/with_env.py alembic upgrade head" in entrypoint and 'exec "$@"' in entrypoint
    assert (PROJECT_DIR / "alembic.ini").exists() and "alembic==" in (PROJECT_DIR / "requirements.lock").read_text()
    # The services with the clinic database migrate it at start; the Rasa servers have none to migrate.
    for name in ("actions", "console"):
        assert "DATABASE_URL" in environment(services[name]), name
    assert "DATABASE_URL" not in environment(services["rasa"])


# ---- production and development requirements apart

def test_production_requirements_hold_no_test_bench_or_lint_package():
    production = (PROJECT_DIR / "requirements.lock").read_text() + (PROJECT_DIR / "requirements.txt").read_text()
    development = (PROJECT_DIR / "requirements-dev.lock").read_text()
    for name in ("pytest", "pytest-asyncio", "hypothesis", "aiosmtpd", "selenium", "pyinstrument", "ruff"):
        assert not re.search(rf"^{re.escape(name)}==", production, flags=re.MULTILINE | re.IGNORECASE), name
        assert re.search(rf"^{re.escape(name)}==", development, flags=re.MULTILINE | re.IGNORECASE), name
    pinned = lambda text: {line.split("==")[0].lower() for line in text.splitlines() if "==" in line}  # noqa: E731
    assert not pinned(production) & pinned(development)  # each package pinned once
    setup = (PROJECT_DIR / "scripts" / "setup.sh").read_text()
    stamp = next(line for line in setup.splitlines() if line.startswith("want_stamp="))
    for name in ("requirements.lock", "requirements-dev.lock"):
        assert name in stamp and f"-r {name}" in setup, name
