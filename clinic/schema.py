"""The clinic database's schema: made and upgraded by the Alembic migrations (migrations/, alembic.ini at
the project root), never by create_all.

Where the migrations run (`alembic upgrade head`, or `upgrade()` here):
- the install (scripts/setup.sh, `make migrate`) and the Docker image's entry point
  (deploy/docker-entrypoint.sh, before the action server and the console start);
- the start of the action server (rasa_sdk_plugins) and of the console (ConsoleDb);
- once per process and database, the first use of a store (`ensure_schema`): one query finds the
  database at the newest revision, and only a database that is not (a new SQLite file in a test, a
  database that was down when the service started) is upgraded then.

A database made before the migrations existed (tables from create_all, no alembic_version) is adopted
by the baseline revision: it keeps the tables it finds with their rows, creates the missing ones, adds
the columns older releases lacked, and is recorded as the baseline (as `alembic stamp` would), so that
every later revision applies as usual.

Several processes may start at once: the upgrade holds a lock (PostgreSQL: an advisory lock for the
transaction; SQLite: a file lock beside the database file), and whoever comes second finds it done.
"""
import fcntl
import logging
import threading
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Iterator, Optional, Set, Union

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine

PROJECT_DIR = Path(__file__).resolve().parent.parent
ALEMBIC_INI = PROJECT_DIR / "alembic.ini"
# Any fixed number: the key of the PostgreSQL advisory lock that one upgrade at a time holds.
ADVISORY_LOCK_KEY = 727_114_05

logger = logging.getLogger(__name__)
_current: Set[str] = set()  # databases found (or brought) at the newest revision by this process
_lock = threading.Lock()


def alembic_config(connection: Optional[Connection] = None) -> Config:
    """alembic.ini's configuration; with a connection, the migrations run on it (migrations/env.py)."""
    config = Config(str(ALEMBIC_INI))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@lru_cache(maxsize=None)
def head() -> str:
    """The newest revision in migrations/versions."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


@lru_cache(maxsize=None)
def known_revisions() -> frozenset:
    return frozenset(script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions())


def current_revision(connection: Connection) -> Optional[str]:
    """The database's revision; None for a new database or one made before the migrations."""
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(database: Union[str, Engine]) -> None:
    """`alembic upgrade head` on a database (URL or engine), in one transaction where the database allows."""
    engine = _engine(database) if isinstance(database, str) else database
    try:
        with locked_transaction(engine) as connection:
            command.upgrade(alembic_config(connection), "head")
    finally:
        if isinstance(database, str):
            engine.dispose()


def ensure_schema(engine: Engine) -> None:
    """The database at the newest revision: checked once per process (one query), upgraded if it is not.

    Raises what the database raises when it cannot be reached (SQLAlchemy's OperationalError ...):
    the caller decides (the request store spools, and checks again next time)."""
    key = engine.url.render_as_string(hide_password=False)
    if key in _current:
        return
    with _lock:
        if key in _current:
            return
        with engine.connect() as connection:
            found = current_revision(connection)
        if found is not None and found not in known_revisions():
            # A newer release migrated it (a rolling deploy, or a rollback of the code): left as it is.
            logger.warning("Database at revision %s, which this code does not know (newest here: %s): not upgraded",
                           found, head())
        elif found != head():
            logger.info("Database at revision %s, upgrading to %s", found or "none", head())
            upgrade(engine)
        _current.add(key)


def upgrade_at_start(database_url: str, service: str) -> bool:
    """A service's start: the database upgraded to the newest revision now, or, when it cannot be
    reached, a warning and a later try (ensure_schema, at the first use of a store). True when done."""
    engine = _engine(database_url)
    try:
        ensure_schema(engine)
        return True
    except Exception as error:  # the service still starts: a database down at start is not fatal
        logger.warning("%s: the clinic database could not be upgraded at start (%s); it will be when first used.",
                       service, type(error).__name__)
        return False
    finally:
        engine.dispose()


def _engine(database_url: str) -> Engine:
    from clinic.storage import create_engine_for  # the stores' engine (SQLite busy timeout); it imports this

    return create_engine_for(database_url)


@contextmanager
def locked_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction for an upgrade, held by one process at a time until it is committed (see the
    module's docstring): PostgreSQL's advisory lock ends with the transaction; SQLite's file lock is
    taken before it begins and let go after the commit, so that the next one sees the upgrade done."""
    with _sqlite_file_lock(engine):
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({ADVISORY_LOCK_KEY})")
            yield connection


@contextmanager
def _sqlite_file_lock(engine: Engine) -> Iterator[None]:
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:" or database.startswith("file:"):
        yield
        return
    lock_path = Path(database).with_name(Path(database).name + ".migrations-lock")
    try:
        handle = open(lock_path, "a")
    except OSError:  # a folder that is not there or not ours: the database itself will say what is wrong
        yield
        return
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
