"""Database migrations (migrations/, alembic.ini, clinic/schema.py): `alembic upgrade head` builds exactly
the schema of the models, on SQLite and on PostgreSQL; a database made by create_all before the
migrations keeps its rows and is adopted as the baseline; nothing but the migrations makes tables."""
import os
import re
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, func, insert, inspect, select, text

import clinic.handoff_store  # noqa: F401  (handoff_tickets on Base)
from clinic import schema
from clinic.notifier import LogNotifier
from clinic.storage import Base, ConsultationRequestRecord, RequestStore
from console.models import ConsoleBase, ConsoleDb, NluLabel, StaffUser
from console.tracker import EVENTS

PROJECT_DIR = Path(__file__).resolve().parent.parent
ALEMBIC = str(PROJECT_DIR / ".venv" / "bin" / "alembic")
METADATA = [Base.metadata, ConsoleBase.metadata]
PROJECT_TABLES = {name for metadata in METADATA for name in metadata.tables}
NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def differences(url: str):
    """What autogenerate would change to make the database match the models (only the project's tables)."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={
                "compare_type": True,
                "include_name": lambda name, kind, parents: name in PROJECT_TABLES if kind == "table" else True,
            })
            return compare_metadata(context, METADATA)
    finally:
        engine.dispose()


def revision(url: str):
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return schema.current_revision(connection)
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def postgres():
    """A throw-away PostgreSQL cluster, as tests/test_production.py makes one (Debian's packages), in a
    folder the server's own user can reach."""
    from scripts.production_stack import PostgresServer

    root = Path(tempfile.mkdtemp(prefix="clinic-migrations-"))
    os.chmod(root, 0o755)
    server = PostgresServer(root / "postgres")
    yield server
    server.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def empty_postgres(postgres):
    """The cluster's database, emptied of every table before each test."""
    engine = create_engine(postgres.url())
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    engine.dispose()
    return postgres.url()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'clinic.db'}"
    return request.getfixturevalue("empty_postgres")


# ---- a new database

def test_upgrade_head_on_an_empty_database_builds_the_models_schema(database_url):
    schema.upgrade(database_url)

    assert differences(database_url) == []
    assert revision(database_url) == schema.head()
    assert PROJECT_TABLES <= set(inspect(create_engine(database_url)).get_table_names())


def test_a_second_upgrade_changes_nothing(database_url):
    schema.upgrade(database_url)
    schema.upgrade(database_url)
    assert differences(database_url) == [] and revision(database_url) == schema.head()


def test_the_alembic_command_line_takes_the_database_from_the_settings(tmp_path):
    """What the install (scripts/setup.sh, make migrate) and the Docker entry point run."""
    url = f"sqlite:///{tmp_path / 'clinic.db'}"
    env = {"DATABASE_URL": url, "DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    with_env = [sys.executable, str(PROJECT_DIR / "scripts" / "with_env.py"), ALEMBIC]
    for command in (["upgrade", "head"], ["check"], ["current"]):
        result = subprocess.run(with_env + command, cwd=PROJECT_DIR, env=env, capture_output=True, text=True,
                                timeout=180)
        assert result.returncode == 0, result.stderr[-3000:]
    assert f"{schema.head()} (head)" in result.stdout
    assert differences(url) == []


def test_a_wrong_database_url_stops_the_migration_with_its_name(tmp_path):
    result = subprocess.run(
        [sys.executable, str(PROJECT_DIR / "scripts" / "with_env.py"), ALEMBIC, "upgrade", "head"], cwd=PROJECT_DIR,
        capture_output=True, text=True, timeout=180,
        env={"DATABASE_URL": "postgres://clinic:hunter2@db/clinic", "DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert result.returncode != 0
    assert "DATABASE_URL=(value not shown): expected an SQLAlchemy database URL" in result.stderr
    assert "hunter2" not in result.stderr + result.stdout


def test_concurrent_first_starts_upgrade_one_sqlite_file_once(tmp_path):
    url = f"sqlite:///{tmp_path / 'clinic.db'}"
    starts = [subprocess.Popen([sys.executable, "-c", f"from clinic import schema; schema.upgrade({url!r})"],
                               cwd=PROJECT_DIR, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
              for _ in range(3)]
    outputs = [start.communicate(timeout=180)[0] for start in starts]
    assert [start.returncode for start in starts] == [0, 0, 0], outputs
    assert differences(url) == [] and revision(url) == schema.head()


# ---- a database made by create_all before the migrations

def make_previous_database(url: str, older: bool) -> None:
    """The tables as create_all made them at each start before the migrations, with rows in them; `older`:
    as an older release left them (no call_list_log, no staff_users.session_generation, no
    nlu_labels.language). Rasa's events table beside them, as in production."""
    engine = create_engine(url)
    Base.metadata.create_all(engine)
    ConsoleBase.metadata.create_all(engine)
    EVENTS.metadata.create_all(engine)
    with engine.begin() as connection:
        if older:
            connection.execute(text("DROP TABLE call_list_log"))
            connection.execute(text("ALTER TABLE staff_users DROP COLUMN session_generation"))
            connection.execute(text("ALTER TABLE nlu_labels DROP COLUMN language"))
        connection.execute(insert(ConsultationRequestRecord.__table__).values(
            reference_code="TC-KEEP23", idempotency_key="conversation-1:booking-1", created_at=NOW, updated_at=NOW,
            conversation_id="conversation-1", channel="socketio", full_name="Jane Q. Visitor", phone="+15095550100",
            preferred_times="weekday mornings", preferred_times_parsed={"weekdays": [0, 1]}, status="contacted",
            staff_notes="left a voicemail", help_with="depression", consent_to_contact=True))
        connection.execute(insert(clinic.handoff_store.HandoffTicket.__table__).values(
            conversation_id="conversation-2", channel="rest", reason="crisis", created_at=NOW, updated_at=NOW,
            status="waiting"))
        connection.execute(text(
            "INSERT INTO staff_users (username, password_hash, failed_attempts, created_at) "
            "VALUES ('old.timer', 'scrypt:hash', 0, :created)"), {"created": NOW})
        connection.execute(text(
            "INSERT INTO nlu_labels (event_id, conversation_id, text, label, labelled_by, labelled_at) "
            "VALUES (7, 'conversation-3', 'what time do you open', 'faq/hours', 'old.timer', :at)"), {"at": NOW})
        connection.execute(insert(EVENTS).values(sender_id="conversation-1", type_name="user", timestamp=1.0,
                                                 data='{"event": "user", "text": "hi"}'))
    engine.dispose()


@pytest.mark.parametrize("older", [False, True], ids=["previous-release", "older-release"])
def test_a_database_made_before_the_migrations_keeps_its_rows_and_is_adopted(database_url, older, caplog):
    make_previous_database(database_url, older)
    assert revision(database_url) is None

    with caplog.at_level("INFO", logger="migrations"):
        schema.upgrade(database_url)

    assert revision(database_url) == schema.head()
    assert differences(database_url) == []
    assert "Baseline on a database made before the migrations: kept" in caplog.text
    engine = create_engine(database_url)
    with engine.connect() as connection:
        request = connection.execute(select(ConsultationRequestRecord.__table__)).one()
        assert (request.reference_code, request.full_name) == ("TC-KEEP23", "Jane Q. Visitor")
        assert request.status == "contacted"
        assert request.preferred_times_parsed == {"weekdays": [0, 1]}
        tickets = clinic.handoff_store.HandoffTicket.__table__
        assert connection.execute(select(func.count()).select_from(tickets)).scalar() == 1
        staff = connection.execute(select(StaffUser.__table__)).one()
        assert (staff.username, staff.session_generation) == ("old.timer", 0)
        label = connection.execute(select(NluLabel.__table__)).one()
        assert (label.label, label.language) == ("faq/hours", None)
        assert connection.execute(select(func.count()).select_from(EVENTS)).scalar() == 1  # Rasa's, untouched
    engine.dispose()
    # The stores read the kept rows.
    store = RequestStore(database_url, Path("/nonexistent/spool.jsonl"), LogNotifier())
    try:
        assert store.get("TC-KEEP23").staff_notes == "left a voicemail"
    finally:
        store.close()
    ConsoleDb(database_url).close()


def test_a_store_brings_a_new_database_to_the_newest_revision(tmp_path):
    """A database that was not there when the service started (or a test's new file): the store's first
    use upgrades it, once per process."""
    url = f"sqlite:///{tmp_path / 'clinic.db'}"
    store = RequestStore(url, tmp_path / "spool.jsonl", LogNotifier())
    try:
        assert store.list_requests() == []
    finally:
        store.close()
    assert revision(url) == schema.head() and differences(url) == []


# ---- nothing else makes tables

def test_no_create_all_outside_the_tests_and_rasas_own_table():
    """The schema is the migrations': no code that serves visitors or staff calls create_all. (The sample
    data script and the tests make Rasa's events table, which Rasa itself creates in production.)"""
    found = []
    for folder in ("clinic", "console", "actions", "rasa_server", "rasa_sdk_plugins", "channels", "nlu_components",
                   "bench"):
        for path in (PROJECT_DIR / folder).rglob("*.py"):
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if re.search(r"\bcreate_all\(", line):
                    found.append(f"{path.relative_to(PROJECT_DIR)}:{number}: {line.strip()}")
    assert found == []


def test_every_model_table_is_in_the_migrations_and_rasas_is_not():
    text_of_migrations = "\n".join(path.read_text() for path in (PROJECT_DIR / "migrations" / "versions").glob("*.py"))
    for table in PROJECT_TABLES:
        assert f'"{table}"' in text_of_migrations, table
    assert '"events"' not in text_of_migrations
