"""The console's own tables, in the clinic database (DATABASE_URL). Their schema is made and upgraded by
the migrations (migrations/, clinic/schema.py): a new column or table here needs a new revision."""
from contextlib import contextmanager
from typing import Iterator

from flask_login import UserMixin
from sqlalchemy import Column, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Session, declarative_base, sessionmaker

from clinic.schema import ensure_schema
from clinic.storage import UtcDateTime, create_engine_for

ConsoleBase = declarative_base()


class StaffUser(UserMixin, ConsoleBase):
    __tablename__ = "staff_users"

    id = Column(Integer, primary_key=True)
    username = Column(String(64), nullable=False, unique=True)
    password_hash = Column(Text, nullable=False)  # werkzeug scrypt
    # No longer used (sign-in failures are in sign_in_failures); kept so that older databases load.
    failed_attempts = Column(Integer, nullable=False, default=0)
    locked_until = Column(UtcDateTime)
    created_at = Column(UtcDateTime, nullable=False)
    # Part of every session cookie's user id: signing out, a password reset or deleting the account
    # changes it, and every session signed in before is refused from the next request on.
    session_generation = Column(Integer, nullable=False, default=0, server_default="0")

    def get_id(self) -> str:
        return f"{self.id}:{self.session_generation}"


class SignInFailure(ConsoleBase):
    """A wrong password (or an unknown user name): from which address, and for which account if it
    exists. Kept a day at most; a successful sign-in clears that account's failures from that address."""

    __tablename__ = "sign_in_failures"

    id = Column(Integer, primary_key=True)
    address = Column(String(64), nullable=False)
    user_id = Column(Integer)  # None when no such user: the typed name is never stored
    failed_at = Column(UtcDateTime, nullable=False, index=True)
    __table_args__ = (Index("ix_sign_in_failures_address", "address", "failed_at"),)


class RevealLog(ConsoleBase):
    """Who saw a conversation's phone numbers and email addresses, and when."""

    __tablename__ = "reveal_log"

    id = Column(Integer, primary_key=True)
    staff_username = Column(String(64), nullable=False)
    conversation_id = Column(Text, nullable=False, index=True)
    revealed_at = Column(UtcDateTime, nullable=False, index=True)


class CallListLog(ConsoleBase):
    """Who downloaded a call list (the consultation requests with their phone numbers and email
    addresses), when, and which requests it held: the audit page lists these beside the reveals."""

    __tablename__ = "call_list_log"

    id = Column(Integer, primary_key=True)
    staff_username = Column(String(64), nullable=False)
    downloaded_at = Column(UtcDateTime, nullable=False, index=True)
    description = Column(Text, nullable=False)  # the choice, e.g. "new requests, 2026-01-01 to 2026-01-30"
    request_count = Column(Integer, nullable=False)
    reference_codes = Column(Text, nullable=False)  # space-separated


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
    language = Column(String(8))  # "en", "es", or None when not clear (the export can keep them apart)
    labelled_by = Column(String(64), nullable=False)
    labelled_at = Column(UtcDateTime, nullable=False)


class ConsoleDb:
    def __init__(self, database_url: str) -> None:
        self.engine = create_engine_for(database_url)
        # The schema (the console's tables and the clinic's it queries directly) is the migrations'
        # (migrations/, clinic/schema.py): brought to the newest revision here, at the console's start.
        ensure_schema(self.engine)
        self._sessions = sessionmaker(self.engine, future=True, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction: committed at the end of the block, rolled back on an exception."""
        with self._sessions.begin() as session:
            yield session

    def close(self) -> None:
        self.engine.dispose()
