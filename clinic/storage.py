"""Visitor requests, consultation requests and call-back requests: stored exactly once, never lost.

Each kind has its own table and statuses (`KINDS`): a consultation request (the booking form,
consultation_requests: new -> contacted -> booked -> closed) and a call-back request (someone
asked to be phoned, callback_requests: new -> called -> closed, urgent after a crisis response).
A call-back is never stored as a consultation. Reference codes come from one generator and are
unique across both kinds, so staff look a code up once.

`RequestStore.submit` writes a request of either kind to the database in one transaction, once per
idempotency key. When the database cannot be used, the request is appended to a spool file (one
JSON line naming its kind, fsynced) with the reference code the visitor is shown, and
`replay_spool` writes it later: before every submit, from a background retry while the spool has
entries, and from `scripts/replay_spool.py`. Staff are told of each new request once it is stored;
an urgent call-back is announced at once, even while it waits in the spool. The same code works
with SQLite and PostgreSQL (DATABASE_URL).
"""
import fcntl
import json
import logging
import os
import re
import secrets
import tempfile
import threading
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, ClassVar, Dict, Iterator, List, Optional, Tuple, Type, Union

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Integer,
    String,
    Text,
    create_engine,
    select,
)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, declarative_base, sessionmaker
from sqlalchemy.types import TypeDecorator

from clinic import settings
from clinic.notifier import Notifier, notifier_from_env
from clinic.schema import ensure_schema

logger = logging.getLogger(__name__)

STATUSES = ("new", "contacted", "booked", "closed")  # consultation requests
CALLBACK_STATUSES = ("new", "called", "closed")
# What a call-back is about: a button choice, never health details. None when the visitor skipped it.
CALLBACK_TOPICS = ("booking", "treatment_question", "billing", "other")
REFERENCE_PREFIX = "TC-"
# No 0/O, 1/I/L: a code read out over the phone is not misheard.
REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
REFERENCE_LENGTH = 6
REFERENCE_ATTEMPTS = 5
SQLITE_BUSY_TIMEOUT_SECONDS = 15
MAX_KEY_LENGTH = 255
E164 = re.compile(r"\+[1-9]\d{1,14}")
# The database cannot be reached (down, locked, file cannot be opened), as opposed to a problem
# with one particular row.
UNAVAILABLE = (OperationalError, InterfaceError)


def new_reference_code() -> str:
    return REFERENCE_PREFIX + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _check_request(request: Any) -> None:
    """The checks every kind of request makes of itself."""
    if not request.idempotency_key or len(request.idempotency_key) > MAX_KEY_LENGTH:
        raise ValueError(f"idempotency_key must have 1 to {MAX_KEY_LENGTH} characters")
    if request.phone is not None and not E164.fullmatch(request.phone):
        raise ValueError("phone must be in E.164 format (+15095550100) or None")


@dataclass(frozen=True)
class ConsultationRequest:
    """What the booking form collected, as the visitor confirmed it."""

    kind: ClassVar[str] = "consultation"

    idempotency_key: str
    conversation_id: str
    channel: str
    full_name: str
    preferred_times: str
    help_with: str
    consent_to_contact: bool
    phone: Optional[str] = None
    email: Optional[str] = None
    preferred_times_parsed: Any = None  # anything JSON can hold

    # Announced once stored, so that staff find it in the console.
    announce_while_spooled: ClassVar[bool] = False

    def __post_init__(self) -> None:
        _check_request(self)

    def announce(self, notifier: Notifier, reference_code: str) -> None:
        notifier.notify_new_request(reference_code)


@dataclass(frozen=True)
class CallbackRequest:
    """A visitor asked to be called back: who, how to reach them, when suits them, what about.

    Urgent: asked for after a crisis response while nobody could join the chat; name and phone only,
    to be called as soon as possible (preferred_times empty)."""

    kind: ClassVar[str] = "callback"

    idempotency_key: str
    conversation_id: str
    channel: str
    language: str  # the conversation's: "en" or "es" ("en" while it was not yet clear)
    full_name: str
    phone: Optional[str] = None
    email: Optional[str] = None
    preferred_times: str = ""  # as typed; "" for "as soon as possible"
    preferred_times_parsed: Any = None
    topic: Optional[str] = None  # one of CALLBACK_TOPICS
    urgent: bool = False

    def __post_init__(self) -> None:
        _check_request(self)
        if not (self.phone or self.email):
            raise ValueError("a call-back needs a phone number or an email address")
        if self.urgent and not self.phone:
            raise ValueError("an urgent call-back needs a phone number")
        if self.topic is not None and self.topic not in CALLBACK_TOPICS:
            raise ValueError(f"topic must be one of {', '.join(CALLBACK_TOPICS)} or None")

    @property
    def announce_while_spooled(self) -> bool:
        """An urgent call-back cannot wait for the database: staff are told at once."""
        return self.urgent

    def announce(self, notifier: Notifier, reference_code: str) -> None:
        link = settings.console_conversation_link(self.conversation_id)
        notifier.notify_callback(reference_code, link, self.urgent)


Request = Union[ConsultationRequest, CallbackRequest]


@dataclass(frozen=True)
class SubmitResult:
    reference_code: str
    stored: bool  # True: in the database now; False: kept in the spool until the database is back
    duplicate: bool  # True: this key was already submitted, nothing was written


class UtcDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no offset; it is put back on read)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Optional[datetime], dialect: Any) -> Optional[datetime]:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: use an aware one")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: Optional[datetime], dialect: Any) -> Optional[datetime]:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


Base = declarative_base()


def status_check(table: str, statuses: Tuple[str, ...]) -> CheckConstraint:
    return CheckConstraint(
        "status IN (" + ", ".join(f"'{status}'" for status in statuses) + ")", name=f"ck_{table}_status"
    )


class RequestColumns:
    """The columns every kind of request has (each kind's table gets its own copy)."""

    id = Column(Integer, primary_key=True)
    reference_code = Column(String(16), nullable=False, unique=True)
    idempotency_key = Column(String(MAX_KEY_LENGTH), nullable=False, unique=True)
    created_at = Column(UtcDateTime, nullable=False, index=True)
    updated_at = Column(UtcDateTime, nullable=False)
    conversation_id = Column(Text, nullable=False)
    channel = Column(Text, nullable=False)
    full_name = Column(Text, nullable=False)
    phone = Column(String(16))
    email = Column(Text)
    preferred_times = Column(Text, nullable=False)
    preferred_times_parsed = Column(JSON(none_as_null=True))
    status = Column(String(16), nullable=False, default="new", index=True)
    staff_notes = Column(Text, nullable=False, default="")

    @classmethod
    def from_request(cls, request: Request, reference_code: str, created_at: datetime) -> Any:
        return cls(
            reference_code=reference_code, created_at=created_at, updated_at=created_at, **asdict(request)
        )


class ConsultationRequestRecord(RequestColumns, Base):
    __tablename__ = "consultation_requests"
    __table_args__ = (status_check(__tablename__, STATUSES),)

    help_with = Column(Text, nullable=False)
    consent_to_contact = Column(Boolean, nullable=False)


class CallbackRequestRecord(RequestColumns, Base):
    """A call-back request: staff phone (or email) the visitor, then mark it called, then closed."""

    __tablename__ = "callback_requests"
    __table_args__ = (status_check(__tablename__, CALLBACK_STATUSES),)

    language = Column(String(8), nullable=False)
    topic = Column(String(32))
    urgent = Column(Boolean, nullable=False, default=False, index=True)


@dataclass(frozen=True)
class RequestKind:
    name: str  # as written in the spool
    label: str  # in logs and errors
    request_type: Type[Any]
    record_type: Type[Any]
    statuses: Tuple[str, ...]


CONSULTATION = RequestKind(
    "consultation", "consultation request", ConsultationRequest, ConsultationRequestRecord, STATUSES
)
CALLBACK = RequestKind("callback", "call-back request", CallbackRequest, CallbackRequestRecord, CALLBACK_STATUSES)
KINDS: Dict[str, RequestKind] = {kind.name: kind for kind in (CONSULTATION, CALLBACK)}


@dataclass(frozen=True)
class SpoolEntry:
    """One spooled request: the line as stored, and what it holds."""

    line: bytes
    reference_code: str
    created_at: datetime
    request: Request
    announced: bool = False  # staff were told already (an urgent call-back): not again on replay

    @classmethod
    def create(cls, request: Request, reference_code: str, created_at: datetime, announced: bool) -> "SpoolEntry":
        data = {
            "kind": request.kind, "reference_code": reference_code, "created_at": created_at.isoformat(),
            "announced": announced, "request": asdict(request),
        }
        # ensure_ascii: the line is plain ASCII, and no character in the data can break it in two.
        return cls(json.dumps(data).encode("ascii") + b"\n", reference_code, created_at, request, announced)

    @classmethod
    def parse(cls, line: bytes) -> "SpoolEntry":
        """Raises ValueError, KeyError or TypeError for a line that does not hold a whole request.
        A line without a kind (written before call-backs existed) is a consultation request."""
        data = json.loads(line)
        created_at = datetime.fromisoformat(data["created_at"])
        if not isinstance(data["reference_code"], str) or created_at.tzinfo is None:
            raise ValueError("malformed spool entry")
        request = KINDS[data.get("kind", CONSULTATION.name)].request_type(**data["request"])
        return cls(_whole_line(line), data["reference_code"], created_at, request, data.get("announced") is True)


class ReferenceCodeTaken(Exception):
    """The generated reference code already belongs to another request (rare: pick another)."""


class RequestStore:
    def __init__(
        self, database_url: str, spool_path: Path, notifier: Notifier, retry_seconds: float = 30
    ) -> None:
        self.spool_path = Path(spool_path)
        self.corrupt_path = self.spool_path.with_name(self.spool_path.name + ".corrupt")
        self._lock_path = self.spool_path.with_name(self.spool_path.name + ".lock")
        self._notifier = notifier
        self._retry_seconds = retry_seconds
        self._engine = create_engine_for(database_url)
        self._sessions = sessionmaker(self._engine, future=True, expire_on_commit=False)
        self._schema_ready = False
        self._schema_lock = threading.Lock()
        self._spool_thread_lock = threading.Lock()
        self._retry_lock = threading.Lock()
        self._retry_thread: Optional[threading.Thread] = None
        self._closed = threading.Event()

    # ---- visitors

    def submit(self, request: Request) -> SubmitResult:
        """Stores the request (of any kind, in its own table) once per idempotency key; spools it
        when the database cannot be used."""
        self.replay_spool()
        try:
            reference_code, duplicate = self._insert(request)
        except (SQLAlchemyError, ReferenceCodeTaken) as error:
            return self._spool(request, error)
        if not duplicate:
            self._notify(request, reference_code)
        return SubmitResult(reference_code, stored=True, duplicate=duplicate)

    # ---- operations

    def replay_spool(self) -> int:
        """Writes the spooled requests to the database; returns how many rows were written."""
        if not self._spool_has_entries():
            return 0
        written: List[SpoolEntry] = []
        with self._spool_locked():
            entries, corrupt = self._read_spool()
            kept: List[bytes] = []
            for index, entry in enumerate(entries):
                try:
                    if self._write_row(entry.request, entry.reference_code, entry.created_at) is None:
                        written.append(entry)
                except UNAVAILABLE as error:
                    if index == 0:
                        logger.warning("Database still unavailable (%s); the spool is kept as it is", _describe(error))
                        return 0
                    kept.extend(remaining.line for remaining in entries[index:])
                    break
                except (SQLAlchemyError, ReferenceCodeTaken) as error:
                    logger.error(
                        "Spooled %s %s cannot be written (%s); it stays in %s for staff to check",
                        KINDS[entry.request.kind].label,
                        entry.reference_code,
                        _describe(error),
                        self.spool_path,
                    )
                    kept.append(entry.line)
            if corrupt:
                _append_durably(self.corrupt_path, b"".join(corrupt))
                logger.error(
                    "Moved %d unreadable line(s) from the booking spool to %s: staff must check them by hand",
                    len(corrupt),
                    self.corrupt_path,
                )
            self._replace_spool(kept)
        for entry in written:
            if not entry.announced:
                self._notify(entry.request, entry.reference_code)
        if written:
            logger.info("Wrote %d spooled request(s) to the database", len(written))
        return len(written)

    def spooled_count(self) -> int:
        with self._spool_locked():
            return len(self._read_spool()[0])

    def close(self) -> None:
        """Stops the background retry and closes database connections."""
        self._closed.set()
        self._engine.dispose()

    # ---- staff

    # Each takes the kind's name: "consultation" (the default, ConsultationRequestRecord) or
    # "callback" (CallbackRequestRecord).

    def get(self, reference_code: str, kind: str = CONSULTATION.name) -> Optional[Any]:
        with self._session() as session:
            return self._find(session, KINDS[kind].record_type, reference_code)

    def list_requests(self, status: Optional[str] = None, limit: int = 100, kind: str = CONSULTATION.name) -> List[Any]:
        """Newest first, optionally only those with `status`."""
        record_type = KINDS[kind].record_type
        query = select(record_type).order_by(record_type.created_at.desc(), record_type.id.desc())
        if status is not None:
            query = query.where(record_type.status == _checked_status(status, KINDS[kind]))
        with self._session() as session:
            return list(session.scalars(query.limit(limit)))

    def update_status(
        self, reference_code: str, status: str, notes: Optional[str] = None, kind: str = CONSULTATION.name
    ) -> Any:
        """Sets the status (and replaces the staff notes when given). Raises LookupError for an unknown code."""
        _checked_status(status, KINDS[kind])
        with self._session() as session:
            record = self._find(session, KINDS[kind].record_type, reference_code)
            if record is None:
                raise LookupError(f"No {KINDS[kind].label} {reference_code}")
            record.status = status
            if notes is not None:
                record.staff_notes = notes
            record.updated_at = utc_now()
            session.commit()
            return record

    # ---- database

    @contextmanager
    def _session(self) -> Iterator[Session]:
        self._ensure_schema()
        with self._sessions() as session:
            yield session

    def _ensure_schema(self) -> None:
        """The database at the newest migration (clinic/schema.py), checked once: a database that cannot
        be reached raises here, the request is spooled, and the next use checks again."""
        if self._schema_ready:
            return
        with self._schema_lock:
            if not self._schema_ready:
                ensure_schema(self._engine)
                self._schema_ready = True

    def _insert(self, request: Request) -> Tuple[str, bool]:
        """Returns (reference code, duplicate)."""
        created_at = utc_now()
        for _ in range(REFERENCE_ATTEMPTS):
            reference_code = new_reference_code()
            try:
                existing = self._write_row(request, reference_code, created_at)
            except ReferenceCodeTaken:
                continue
            return (existing, True) if existing else (reference_code, False)
        raise ReferenceCodeTaken(f"{REFERENCE_ATTEMPTS} generated reference codes in a row were taken")

    def _write_row(self, request: Request, reference_code: str, created_at: datetime) -> Optional[str]:
        """Inserts the request into its kind's table in one transaction and returns None; when its
        idempotency key is stored already (the unique constraint decides, also between concurrent
        submits), writes nothing and returns that row's reference code."""
        record_type = KINDS[request.kind].record_type
        with self._session() as session:
            existing = session.scalar(
                select(record_type.reference_code).where(record_type.idempotency_key == request.idempotency_key)
            )
            if existing:
                return existing
            # One code names one request, whatever its kind (each table's unique constraint covers its own).
            if any(self._find(session, kind.record_type, reference_code) for kind in KINDS.values()):
                raise ReferenceCodeTaken(reference_code)
            session.add(record_type.from_request(request, reference_code, created_at))
            try:
                session.commit()
                return None
            except IntegrityError:
                session.rollback()
                existing = session.scalar(
                    select(record_type.reference_code).where(record_type.idempotency_key == request.idempotency_key)
                )
                if existing:
                    return existing
                if self._find(session, record_type, reference_code) is not None:
                    raise ReferenceCodeTaken(reference_code) from None
                raise

    @staticmethod
    def _find(session: Session, record_type: Type[Any], reference_code: str) -> Optional[Any]:
        return session.scalar(select(record_type).where(record_type.reference_code == reference_code))

    def _notify(self, request: Request, reference_code: str) -> bool:
        """Tells staff; a failure is logged (the request is kept whatever happens) and returns False."""
        try:
            request.announce(self._notifier, reference_code)
            return True
        except Exception:
            logger.exception(
                "Could not notify staff of %s %s; it is kept and listed in the staff console",
                KINDS[request.kind].label,
                reference_code,
            )
            return False

    # ---- spool

    @contextmanager
    def _spool_locked(self) -> Iterator[None]:
        """Serialises spool access between threads, and between processes via a lock file."""
        with self._spool_thread_lock:
            self._lock_path.parent.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX)
                yield
            finally:
                os.close(descriptor)  # releases the flock

    def _spool_has_entries(self) -> bool:
        try:
            return self.spool_path.stat().st_size > 0
        except FileNotFoundError:
            return False

    def _read_spool(self) -> Tuple[List[SpoolEntry], List[bytes]]:
        """Returns (readable entries, unreadable lines)."""
        try:
            content = self.spool_path.read_bytes()
        except FileNotFoundError:
            return [], []
        entries: List[SpoolEntry] = []
        corrupt: List[bytes] = []
        for line in content.splitlines():
            if not line.strip():
                continue
            try:
                entries.append(SpoolEntry.parse(line))
            except (ValueError, KeyError, TypeError):
                corrupt.append(_whole_line(line))
        return entries, corrupt

    def _spool(self, request: Request, error: Exception) -> SubmitResult:
        with self._spool_locked():
            entries, _ = self._read_spool()
            existing = next(
                (
                    entry.reference_code
                    for entry in entries
                    if entry.request.kind == request.kind and entry.request.idempotency_key == request.idempotency_key
                ),
                None,
            )
            if existing:
                return SubmitResult(existing, stored=False, duplicate=True)
            reference_code = new_reference_code()
            # Under the lock: the same request submitted again meanwhile is not announced twice.
            announced = request.announce_while_spooled and self._notify(request, reference_code)
            entry = SpoolEntry.create(request, reference_code, utc_now(), announced)
            _append_durably(self.spool_path, entry.line)
        logger.error(
            "Could not store %s %s in the database (%s); kept in the spool %s for replay",
            KINDS[request.kind].label,
            entry.reference_code,
            _describe(error),
            self.spool_path,
        )
        self._start_retry()
        return SubmitResult(entry.reference_code, stored=False, duplicate=False)

    def _replace_spool(self, lines: List[bytes]) -> None:
        """Atomically replaces the spool's content: a crash leaves either the old or the new file."""
        descriptor, temporary = tempfile.mkstemp(dir=self.spool_path.parent, prefix=self.spool_path.name + ".")
        try:
            with os.fdopen(descriptor, "wb") as file:
                file.writelines(lines)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, self.spool_path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        _fsync_directory(self.spool_path.parent)

    # ---- background retry

    def _start_retry(self) -> None:
        with self._retry_lock:
            if self._retry_thread is None and not self._closed.is_set():
                self._retry_thread = threading.Thread(
                    target=self._retry_until_spool_empty, name="booking-spool-retry", daemon=True
                )
                self._retry_thread.start()

    def _retry_until_spool_empty(self) -> None:
        while not self._closed.wait(self._retry_seconds):
            try:
                self.replay_spool()
            except Exception:
                logger.exception("Booking spool replay failed; retrying in %s s", self._retry_seconds)
            # Checked under the lock that _start_retry takes, so a request spooled meanwhile
            # either is seen here or starts a new thread.
            with self._retry_lock:
                if not self._spool_has_entries():
                    self._retry_thread = None
                    return

    # ---- notes on a request already sent (the visitor's changes and cancellation asks)

    def add_note(self, reference_code: str, kind: str, text: str, conversation_id: str) -> "NoteResult":
        """Adds a note from the visitor to the consultation or call-back request `reference_code`: what to
        change (kind "change") or a request to cancel it (kind "cancel"), with the time it was added. The
        request itself, its status included, is left as it is: staff read the note and decide.

        The same note on the same request is stored once (added=False the second time): a repeated
        message or a retried action adds nothing. Writes any spooled requests first, so that a
        request sent while the database was down can take notes once it is back. Raises LookupError
        when there is no such request (yet), and SQLAlchemy's errors when the database
        cannot be used; nothing is spooled for a note."""
        if kind not in NOTE_KINDS:
            raise ValueError(f"Unknown note kind {kind!r}; expected one of {', '.join(NOTE_KINDS)}")
        if not text or len(text) > MAX_NOTE_LENGTH:
            raise ValueError(f"a note must have 1 to {MAX_NOTE_LENGTH} characters")
        self.replay_spool()
        key = note_key(reference_code, kind, text)
        with self._session() as session:
            if all(self._find(session, kind.record_type, reference_code) is None for kind in KINDS.values()):
                raise LookupError(f"No consultation or call-back request {reference_code}")
            if session.scalar(select(RequestNote.id).where(RequestNote.idempotency_key == key)) is not None:
                return NoteResult(added=False)
            session.add(
                RequestNote(
                    reference_code=reference_code, kind=kind, text=text, conversation_id=conversation_id,
                    created_at=utc_now(), idempotency_key=key,
                )
            )
            try:
                session.commit()
            except IntegrityError:  # the same note, added at the same moment by another worker
                session.rollback()
                if session.scalar(select(RequestNote.id).where(RequestNote.idempotency_key == key)) is None:
                    raise
                return NoteResult(added=False)
        logger.info("Added a %s note to consultation request %s", kind, reference_code)
        return NoteResult(added=True)

    def notes(self, reference_code: str) -> List["RequestNote"]:
        """The visitor's notes on a request, oldest first."""
        query = (
            select(RequestNote)
            .where(RequestNote.reference_code == reference_code)
            .order_by(RequestNote.created_at, RequestNote.id)
        )
        with self._session() as session:
            return list(session.scalars(query))


def create_engine_for(database_url: str) -> Engine:
    """Connects lazily: creating the engine succeeds even when the database is unreachable."""
    connect_args = {}
    if make_url(database_url).get_backend_name() == "sqlite":
        connect_args = {"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False}
    return create_engine(database_url, future=True, pool_pre_ping=True, connect_args=connect_args)


def _checked_status(status: str, kind: RequestKind = CONSULTATION) -> str:
    if status not in kind.statuses:
        raise ValueError(f"Unknown status {status!r}; expected one of {', '.join(kind.statuses)}")
    return status


def _describe(error: Exception) -> str:
    """Names a database error without the statement's parameters, which hold the visitor's data."""
    original = getattr(error, "orig", None) or error
    if isinstance(error, UNAVAILABLE):
        message = str(original).strip().splitlines()
        return f"{type(original).__name__}: {message[0]}" if message else type(original).__name__
    return type(original).__name__


def _whole_line(line: bytes) -> bytes:
    return line.rstrip(b"\r\n") + b"\n"


def _append_durably(path: Path, data: bytes) -> None:
    """Appends whole lines and fsyncs; starts on a fresh line if a crash left a partial one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b", opener=lambda name, flags: os.open(name, flags, 0o600)) as file:
        if file.seek(0, os.SEEK_END) > 0:
            file.seek(-1, os.SEEK_END)
            if file.read(1) != b"\n":
                data = b"\n" + data
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    """Makes a newly created or renamed file's directory entry durable."""
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


_store: Optional[RequestStore] = None
_store_lock = threading.Lock()


def get_store() -> RequestStore:
    """The process-wide store, configured from the typed settings (clinic/settings.py, .env.example)."""
    global _store
    with _store_lock:
        if _store is None:
            typed = settings.current()
            _store = RequestStore(
                typed.DATABASE_URL,
                typed.BOOKING_SPOOL_PATH,
                notifier_from_env(),
                retry_seconds=typed.BOOKING_SPOOL_RETRY_SECONDS,
            )
        return _store


# ---- notes on a request already sent: "can we do Thursday instead", "please cancel it". One row per
# note, in a table of its own (made by the migrations like the others, migrations/).
NOTE_KINDS = ("change", "cancel")
MAX_NOTE_LENGTH = 500


class RequestNote(Base):
    """A note the visitor added in the chat to a request already sent: what to change, or a request
    to cancel it. The request's own row (and status) is not touched: staff read the notes and decide."""

    __tablename__ = "request_notes"
    __table_args__ = (
        CheckConstraint(
            "kind IN (" + ", ".join(f"'{kind}'" for kind in NOTE_KINDS) + ")", name="ck_request_notes_kind"
        ),
    )

    id = Column(Integer, primary_key=True)
    reference_code = Column(String(16), nullable=False, index=True)
    kind = Column(String(16), nullable=False)
    text = Column(Text, nullable=False)
    conversation_id = Column(Text, nullable=False)
    created_at = Column(UtcDateTime, nullable=False)
    # the same note on the same request is stored once (note_key)
    idempotency_key = Column(String(MAX_KEY_LENGTH), nullable=False, unique=True)


@dataclass(frozen=True)
class NoteResult:
    added: bool  # False: this note was on the request already, nothing was written


def note_key(reference_code: str, kind: str, text: str) -> str:
    """One key per request, kind and text (compared without case and extra spaces)."""
    import hashlib

    digest = hashlib.sha256(" ".join(text.lower().split()).encode("utf-8", "surrogatepass")).hexdigest()
    return f"{reference_code}:{kind}:{digest}"
