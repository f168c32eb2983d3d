"""Handoff tickets: a visitor waiting for, or talking with, a member of staff.

Status: waiting (nobody has taken it yet) -> active (a staff member took over) -> closed
(handed back, closed by staff, or timed out with nobody free). Shares the clinic database with
the consultation requests (DATABASE_URL).
"""
import threading
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Iterator, List, Optional, Tuple

from sqlalchemy import CheckConstraint, Column, Integer, String, Text, select, update
from sqlalchemy.orm import Session, sessionmaker

from clinic import settings
from clinic.schema import ensure_schema
from clinic.storage import Base, UtcDateTime, create_engine_for, utc_now

TICKET_STATUSES = ("waiting", "active", "closed")
CLOSE_REASONS = ("handed_back", "closed_by_staff", "timed_out")
# The external intents that resume the paused bot: staff handed back (console), or nobody took the
# ticket in time (the action server's watchdog).
ENDED_INTENT = "EXTERNAL_handoff_ended"
TIMEOUT_INTENT = "EXTERNAL_handoff_timeout"


class HandoffTicket(Base):
    __tablename__ = "handoff_tickets"
    __table_args__ = (
        CheckConstraint(
            "status IN (" + ", ".join(f"'{s}'" for s in TICKET_STATUSES) + ")", name="ck_handoff_tickets_status"
        ),
    )

    id = Column(Integer, primary_key=True)
    conversation_id = Column(Text, nullable=False, index=True)
    channel = Column(Text, nullable=False)
    reason = Column(String(32), nullable=False)  # request_human, crisis, clarification_failed, booking_stuck
    created_at = Column(UtcDateTime, nullable=False, index=True)
    updated_at = Column(UtcDateTime, nullable=False)
    status = Column(String(16), nullable=False, default="waiting", index=True)
    assigned_staff = Column(Text)
    close_reason = Column(String(32))


class HandoffStore:
    def __init__(self, database_url: str) -> None:
        self._engine = create_engine_for(database_url)
        self._sessions = sessionmaker(self._engine, expire_on_commit=False, future=True)
        self._schema_ready = False
        self._schema_lock = threading.Lock()

    @contextmanager
    def _session(self) -> Iterator[Session]:
        if not self._schema_ready:
            with self._schema_lock:
                ensure_schema(self._engine)  # the newest migration (clinic/schema.py), checked once
                self._schema_ready = True
        with self._sessions.begin() as session:
            yield session

    def open_ticket(self, conversation_id: str, channel: str, reason: str) -> HandoffTicket:
        """The conversation's waiting or active ticket, or a new waiting one: never two at once."""
        return self.open_ticket_once(conversation_id, channel, reason)[0]

    def open_ticket_once(self, conversation_id: str, channel: str, reason: str) -> Tuple[HandoffTicket, bool]:
        """As open_ticket, and whether the ticket is new (staff are alerted once per waiting visitor)."""
        with self._session() as session:
            existing = self._open(session, conversation_id)
            if existing:
                return existing, False
            now = utc_now()
            ticket = HandoffTicket(
                conversation_id=conversation_id, channel=channel, reason=reason, created_at=now, updated_at=now
            )
            session.add(ticket)
            session.flush()
            return ticket, True

    def open_ticket_for(self, conversation_id: str) -> Optional[HandoffTicket]:
        with self._session() as session:
            return self._open(session, conversation_id)

    def take_over(self, ticket_id: int, staff: str) -> bool:
        """waiting -> active for this staff member; False when it was no longer waiting."""
        return self._move(ticket_id, "waiting", status="active", assigned_staff=staff)

    def close(self, ticket_id: int, close_reason: str) -> bool:
        if close_reason not in CLOSE_REASONS:
            raise ValueError(f"Unknown close reason {close_reason!r}")
        with self._session() as session:
            result = session.execute(
                update(HandoffTicket)
                .where(HandoffTicket.id == ticket_id, HandoffTicket.status != "closed")
                .values(status="closed", close_reason=close_reason, updated_at=utc_now())
            )
            return result.rowcount == 1

    def claim_unanswered(self, older_than: timedelta, now: Optional[datetime] = None) -> List[HandoffTicket]:
        """Closes, as timed out, every ticket still waiting after `older_than`, and returns them.

        The update is conditional on the status, so with several action servers each ticket is
        claimed by exactly one of them.
        """
        cutoff = (now or utc_now()) - older_than
        with self._session() as session:
            stale = session.execute(
                select(HandoffTicket).where(HandoffTicket.status == "waiting", HandoffTicket.created_at <= cutoff)
            ).scalars().all()
        claimed = [t for t in stale if self._move(t.id, "waiting", status="closed", close_reason="timed_out")]
        return claimed

    def reopen(self, ticket_id: int) -> bool:
        """Undoes a timeout claim whose notice could not be delivered, so it is tried again."""
        return self._move(ticket_id, "closed", status="waiting", close_reason=None)

    def list_tickets(self, statuses=TICKET_STATUSES, limit: int = 200) -> List[HandoffTicket]:
        with self._session() as session:
            query = (
                select(HandoffTicket)
                .where(HandoffTicket.status.in_(statuses))
                .order_by(HandoffTicket.created_at.desc())
                .limit(limit)
            )
            return session.execute(query).scalars().all()

    def get(self, ticket_id: int) -> Optional[HandoffTicket]:
        with self._session() as session:
            return session.get(HandoffTicket, ticket_id)

    def close_connections(self) -> None:
        self._engine.dispose()

    @staticmethod
    def _open(session: Session, conversation_id: str) -> Optional[HandoffTicket]:
        query = select(HandoffTicket).where(
            HandoffTicket.conversation_id == conversation_id, HandoffTicket.status.in_(("waiting", "active"))
        )
        return session.execute(query.order_by(HandoffTicket.id.desc())).scalars().first()

    def _move(self, ticket_id: int, from_status: str, **values) -> bool:
        with self._session() as session:
            result = session.execute(
                update(HandoffTicket)
                .where(HandoffTicket.id == ticket_id, HandoffTicket.status == from_status)
                .values(updated_at=utc_now(), **values)
            )
            return result.rowcount == 1


_store: Optional[HandoffStore] = None
_store_lock = threading.Lock()


def get_handoff_store() -> HandoffStore:
    global _store
    with _store_lock:
        if _store is None:
            _store = HandoffStore(settings.get("DATABASE_URL"))
        return _store
