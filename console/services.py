"""What the views work with: the console's tables, the tracker store, the clinic's stores, Rasa's API."""
from dataclasses import dataclass

from flask import current_app

from clinic.handoff_store import HandoffStore
from clinic.rasa_api import RasaApi
from clinic.storage import RequestStore
from console.models import ConsoleDb
from console.tracker import TrackerStore


@dataclass
class Services:
    db: ConsoleDb
    tracker: TrackerStore
    handoffs: HandoffStore
    requests: RequestStore
    rasa: RasaApi

    def close(self) -> None:
        for closing in (self.db.close, self.tracker.close, self.handoffs.close_connections, self.requests.close):
            closing()


def services() -> Services:
    return current_app.extensions["console"]
