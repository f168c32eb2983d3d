"""Conversation storage in the Rasa server: fail loudly, keep the local file private, survive a
database restart, and read a stored conversation back without walking Rasa's event classes for
each of its events."""
import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Optional, Type

import sqlalchemy as sa
from rasa.core.tracker_store import FailSafeTrackerStore, SQLTrackerStore, create_engine_kwargs
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event

DEFAULT_SQLITE_FILE = "var/tracker.db"  # relative to the project folder, where `rasa` commands run


class ReconnectingSQLTrackerStore(SQLTrackerStore):
    """Rasa's SQL tracker store, with pooled connections tested before use (`pool_pre_ping`).

    Rasa's own keeps connections that died when the database restarted, and fails the first
    message on each of them; this one replaces a dead connection and carries on.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        url = self.engine.url
        self.engine.dispose()
        self.engine = sa.create_engine(url, pool_pre_ping=True, **create_engine_kwargs(url))
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)


class PrivateSQLiteTrackerStore(SQLTrackerStore):
    """Rasa's SQL tracker store on a local SQLite file (endpoints.yml: plain `rasa` commands).

    Its folder is made (0700) and the file created (0600, SQLite gives its journal the same mode)
    before SQLAlchemy opens it: without scripts/with_env.py there is no umask 077, and on a fresh
    checkout no data folder (Rasa's store would retry a file it cannot create every 5 s, forever).
    """

    def __init__(self, domain: Optional[Domain] = None, db: str = DEFAULT_SQLITE_FILE, **kwargs: Any) -> None:
        path = Path(db)
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            pass
        kwargs.pop("dialect", None)
        super().__init__(domain=domain, dialect="sqlite", db=str(path), **kwargs)


def raise_instead_of_falling_back(self: FailSafeTrackerStore, error: Exception) -> None:
    """Replaces FailSafeTrackerStore's error handlers (rasa_server/extensions.py): the tracker store's
    errors reach rasa_server.message_guard instead of being hidden.

    Rasa wraps every tracker store in a FailSafeTrackerStore that, when the database fails, carries
    on with an empty in-memory conversation: a visitor in the middle of a booking silently starts
    over, and whatever is said meanwhile lives in one replica's memory and is lost. Here the error
    is raised instead; the visitor is asked to try again and the stored conversation stays whole.
    """
    raise error


# Rasa's own, captured before rasa_server.extensions replaces it.
_rasa_resolve_event_type = vars(Event)["resolve_by_type"].__func__


@lru_cache(maxsize=None)
def resolve_event_type_once(type_name: str, default: Optional[Type[Event]] = None) -> Optional[Type[Event]]:
    """Event.resolve_by_type, remembered per event name (rasa_server/extensions.py installs it).

    Rasa's walks the whole tree of Event subclasses for every event of a conversation it reads back
    from the tracker store: a conversation of 151 events took 4.9 ms to rebuild, 0.7 ms with this
    (README, "Measured figures").
    The answer only changes if an Event subclass is defined later, and Rasa defines them all in
    rasa.shared.core.events, imported before any conversation is read. An unknown name still raises
    (an error is not remembered)."""
    return _rasa_resolve_event_type(type_name, default)
