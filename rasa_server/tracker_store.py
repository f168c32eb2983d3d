"""Conversation storage in the Rasa server: fail loudly, and survive a database restart."""
from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import FailSafeTrackerStore, SQLTrackerStore, create_engine_kwargs


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


def _raise_instead_of_falling_back(self: FailSafeTrackerStore, error: Exception) -> None:
    raise error


def install() -> None:
    """Makes the tracker store's errors reach rasa_server.message_guard instead of being hidden.

    Rasa wraps every tracker store in a FailSafeTrackerStore that, when the database fails, carries
    on with an empty in-memory conversation: a visitor in the middle of a booking silently starts
    over, and whatever is said meanwhile lives in one replica's memory and is lost. Here the error
    is raised instead; the visitor is asked to try again and the stored conversation stays whole.
    """
    FailSafeTrackerStore.on_tracker_store_error = _raise_instead_of_falling_back
    FailSafeTrackerStore.on_tracker_store_retrieve_error = _raise_instead_of_falling_back
