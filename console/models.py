"""The console's own tables, in the clinic database (DATABASE_URL), created on startup."""
from contextlib import contextmanager
from typing import Iterator

from flask_login import UserMixin
from sqlalchemy import Column, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Session, declarative_base, sessionmaker

from actions.handoff_store import HandoffTicket
from actions.storage import Base, ConsultationRequestRecord, UtcDateTime, create_engine_for

ConsoleBase = declarative_base()


class StaffUser(UserMixin, ConsoleBase):
    __tablename__ = "staff_users"

    id = Column(Integer, primary_key=True)
    username = Column(String(64), nullable=False, unique=True)
    password_hash = Column(Text, nullable=False)  # werkzeug scrypt
    failed_attempts = Column(Integer, nullable=False, default=0)
    locked_until = Column(UtcDateTime)
    created_at = Column(UtcDateTime, nullable=False)


class RevealLog(ConsoleBase):
    """Who saw a conversation's phone numbers and email addresses, and when."""

    __tablename__ = "reveal_log"

    id = Column(Integer, primary_key=True)
    staff_username = Column(String(64), nullable=False)
    conversation_id = Column(Text, nullable=False, index=True)
    revealed_at = Column(UtcDateTime, nullable=False, index=True)


class CrisisReview(ConsoleBase):
    __tablename__ = "crisis_reviews"

    id = Column(Integer, primary_key=True)
    conversation_id = Column(Text, nullable=False)
    reviewed_by = Column(String(64), nullable=False)
    reviewed_at = Column(UtcDateTime, nullable=False)
    __table_args__ = (UniqueConstraint("conversation_id", name="uq_crisis_reviews_conversation"),)


class NluLabel(ConsoleBase):
    """The intent or FAQ topic staff chose for a visitor message the assistant did not recognise."""

    __tablename__ = "nlu_labels"

    id = Column(Integer, primary_key=True)
    event_id = Column(Integer, nullable=False, unique=True)  # the message's row in the tracker store
    conversation_id = Column(Text, nullable=False, index=True)
    text = Column(Text, nullable=False)  # as shown to staff: phone numbers and emails masked
    label = Column(String(128), nullable=False)  # an intent, or faq/<topic>
    labelled_by = Column(String(64), nullable=False)
    labelled_at = Column(UtcDateTime, nullable=False)


class ConsoleDb:
    def __init__(self, database_url: str) -> None:
        self.engine = create_engine_for(database_url)
        ConsoleBase.metadata.create_all(self.engine)
        # The clinic's tables the console queries directly, as their own stores would create them.
        Base.metadata.create_all(self.engine, tables=[ConsultationRequestRecord.__table__, HandoffTicket.__table__])
        self._sessions = sessionmaker(self.engine, future=True, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction: committed at the end of the block, rolled back on an exception."""
        with self._sessions.begin() as session:
            yield session

    def close(self) -> None:
        self.engine.dispose()
