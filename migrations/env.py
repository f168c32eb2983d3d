"""Alembic's environment for the clinic database: the project's tables, and the database from the typed
settings (DATABASE_URL, clinic/settings.py), or the connection clinic/schema.py hands over.

Only the project's own tables are compared and migrated: the clinic's (clinic/storage.py,
clinic/handoff_store.py) and the console's (console/models.py). Rasa's `events` table, in the same
database in production, is Rasa's: it creates it, and it is never touched or reported here.
"""
from logging.config import fileConfig

from alembic import context

import clinic.handoff_store  # noqa: F401  (handoff_tickets, on clinic.storage's Base)
from clinic import schema, settings
from clinic.storage import Base, create_engine_for
from console.models import ConsoleBase

config = context.config
target_metadata = [Base.metadata, ConsoleBase.metadata]
PROJECT_TABLES = {name for metadata in target_metadata for name in metadata.tables}


def include_name(name, type_, parent_names) -> bool:
    """Tables of this project only (not Rasa's events table, nor anything else sharing the database)."""
    return name in PROJECT_TABLES if type_ == "table" else True


def configure(connection) -> None:
    context.configure(
        connection=connection, target_metadata=target_metadata, include_name=include_name,
        compare_type=True, render_as_batch=connection.dialect.name == "sqlite",
    )


def run_migrations_offline() -> None:
    """`alembic upgrade head --sql`: the SQL for DATABASE_URL's dialect, printed, nothing run."""
    context.configure(url=settings.checked().DATABASE_URL, target_metadata=target_metadata,
                      include_name=include_name, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    given = config.attributes.get("connection")
    if given is not None:  # clinic/schema.py: a service or a test, in its locked transaction
        configure(given)
        with context.begin_transaction():
            context.run_migrations()
        return
    # The alembic command line: its logging, and the database of the settings.
    if config.config_file_name is not None:
        fileConfig(config.config_file_name, disable_existing_loggers=False)
    engine = create_engine_for(config.get_main_option("sqlalchemy.url") or settings.checked().DATABASE_URL)
    try:
        with schema.locked_transaction(engine) as connection:  # one upgrade at a time, across processes
            configure(connection)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
