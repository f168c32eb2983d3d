"""Retention: conversations whose last event is older than N days are deleted with their handoff tickets."""
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Dict, Optional

from sqlalchemy import delete

from clinic.handoff_store import HandoffTicket
from clinic.storage import utc_now
from console.models import ConsoleDb
from console.tracker import CHUNK, TrackerStore


@dataclass(frozen=True)
class PurgeReport:
    cutoff: datetime
    events_by_conversation: Dict[str, int]
    events_deleted: int
    tickets_deleted: int


def purge(tracker: TrackerStore, db: ConsoleDb, older_than_days: float, now: Optional[datetime] = None) -> PurgeReport:
    cutoff = (now or utc_now()) - timedelta(days=older_than_days)
    stale = tracker.stale_conversations(cutoff.timestamp())
    conversation_ids = list(stale)
    events_deleted = tracker.delete_events_before(conversation_ids, cutoff.timestamp())
    tickets_deleted = 0
    with db.session() as session:
        for start in range(0, len(conversation_ids), CHUNK):
            chunk = conversation_ids[start:start + CHUNK]
            tickets_deleted += session.execute(
                delete(HandoffTicket).where(HandoffTicket.conversation_id.in_(chunk), HandoffTicket.created_at < cutoff)
            ).rowcount
    return PurgeReport(cutoff, stale, events_deleted, tickets_deleted)
