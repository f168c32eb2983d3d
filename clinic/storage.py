"""Consultation requests: stored exactly once, never lost.

`RequestStore.submit` writes a request to the database in one transaction, once per idempotency
key. When the database cannot be used, the request is appended to a spool file (one JSON line,
fsynced) with the reference code the visitor is shown, and `replay_spool` writes it later: before
every submit, from a background retry while the spool has entries, and from
`scripts/replay_spool.py`. The same code works with SQLite and PostgreSQL (DATABASE_URL).
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
from typing import Any, Iterator, List, Optional, Tuple

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

logger = logging.getLogger(__name__)

STATUSES = ("new", "contacted", "booked", "closed")
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


@dataclass(frozen=True)
class ConsultationRequest:
    """What the booking form collected, as the visitor confirmed it."""

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

    def __post_init__(self) -> None:
        if not self.idempotency_key or len(self.idempotency_key) > MAX_KEY_LENGTH:
            raise ValueError(f"idempotency_key must have 1 to {MAX_KEY_LENGTH} characters")
        if self.phone is not None and not E164.fullmatch(self.phone):
            raise ValueError("phone must be in E.164 format (+15095550100) or None")


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


class ConsultationRequestRecord(Base):
    __tablename__ = "consultation_requests"
    __table_args__ = (
        CheckConstraint(
            "status IN (" + ", ".join(f"'{status}'" for status in STATUSES) + ")",
            name="ck_consultation_requests_status",
        ),
    )

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
    help_with = Column(Text, nullable=False)
    consent_to_contact = Column(Boolean, nullable=False)
    status = Column(String(16), nullable=False, default="new", index=True)
    staff_notes = Column(Text, nullable=False, default="")

    @classmethod
    def from_request(
        cls, request: ConsultationRequest, reference_code: str, created_at: datetime
    ) -> "ConsultationRequestRecord":
        return cls(
            reference_code=reference_code, created_at=created_at, updated_at=created_at, **asdict(request)
        )


@dataclass(frozen=True)
class SpoolEntry:
    """One spooled request: the line as stored, and what it holds."""

    line: bytes
    reference_code: str
    created_at: datetime
    request: ConsultationRequest

    @classmethod
    def create(cls, request: ConsultationRequest, reference_code: str, created_at: datetime) -> "SpoolEntry":
        data = {"reference_code": reference_code, "created_at": created_at.isoformat(), "request": asdict(request)}
        # ensure_ascii: the line is plain ASCII, and no character in the data can break it in two.
        return cls(json.dumps(data).encode("ascii") + b"\n", reference_code, created_at, request)

    @classmethod
    def parse(cls, line: bytes) -> "SpoolEntry":
        """Raises ValueError, KeyError or TypeError for a line that does not hold a whole request."""
        data = json.loads(line)
        created_at = datetime.fromisoformat(data["created_at"])
        if not isinstance(data["reference_code"], str) or created_at.tzinfo is None:
            raise ValueError("malformed spool entry")
        return cls(_whole_line(line), data["reference_code"], created_at, ConsultationRequest(**data["request"]))


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

    def submit(self, request: ConsultationRequest) -> SubmitResult:
        """Stores the request once per idempotency key; spools it when the database cannot be used."""
        self.replay_spool()
        try:
            reference_code, duplicate = self._insert(request)
        except (SQLAlchemyError, ReferenceCodeTaken) as error:
            return self._spool(request, error)
        if not duplicate:
            self._notify(reference_code)
        return SubmitResult(reference_code, stored=True, duplicate=duplicate)

    # ---- operations

    def replay_spool(self) -> int:
        """Writes the spooled requests to the database; returns how many rows were written."""
        if not self._spool_has_entries():
            return 0
        written: List[str] = []
        with self._spool_locked():
            entries, corrupt = self._read_spool()
            kept: List[bytes] = []
            for index, entry in enumerate(entries):
                try:
                    if self._write_row(entry.request, entry.reference_code, entry.created_at) is None:
                        written.append(entry.reference_code)
                except UNAVAILABLE as error:
                    if index == 0:
                        logger.warning("Database still unavailable (%s); the spool is kept as it is", _describe(error))
                        return 0
                    kept.extend(remaining.line for remaining in entries[index:])
                    break
                except (SQLAlchemyError, ReferenceCodeTaken) as error:
                    logger.error(
                        "Spooled consultation request %s cannot be written (%s); it stays in %s for staff to check",
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
        for reference_code in written:
            self._notify(reference_code)
        if written:
            logger.info("Wrote %d spooled consultation request(s) to the database", len(written))
        return len(written)

    def spooled_count(self) -> int:
        with self._spool_locked():
            return len(self._read_spool()[0])

    def close(self) -> None:
        """Stops the background retry and closes database connections."""
        self._closed.set()
        self._engine.dispose()

    # ---- staff

    def get(self, reference_code: str) -> Optional[ConsultationRequestRecord]:
        with self._session() as session:
            return self._find(session, reference_code)

    def list_requests(self, status: Optional[str] = None, limit: int = 100) -> List[ConsultationRequestRecord]:
        """Newest first, optionally only those with `status`."""
        query = select(ConsultationRequestRecord).order_by(
            ConsultationRequestRecord.created_at.desc(), ConsultationRequestRecord.id.desc()
        )
        if status is not None:
            query = query.where(ConsultationRequestRecord.status == _checked_status(status))
        with self._session() as session:
            return list(session.scalars(query.limit(limit)))

    def update_status(
        self, reference_code: str, status: str, notes: Optional[str] = None
    ) -> ConsultationRequestRecord:
        """Sets the status (and replaces the staff notes when given). Raises LookupError for an unknown code."""
        _checked_status(status)
        with self._session() as session:
            record = self._find(session, reference_code)
            if record is None:
                raise LookupError(f"No consultation request {reference_code}")
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
        if self._schema_ready:
            return
        with self._schema_lock:
            if not self._schema_ready:
                Base.metadata.create_all(self._engine)
                self._schema_ready = True

    def _insert(self, request: ConsultationRequest) -> Tuple[str, bool]:
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

    def _write_row(self, request: ConsultationRequest, reference_code: str, created_at: datetime) -> Optional[str]:
        """Inserts the request in one transaction and returns None; when its idempotency key is
        stored already (the unique constraint decides, also between concurrent submits), writes
        nothing and returns that row's reference code."""
        record = ConsultationRequestRecord.from_request(request, reference_code, created_at)
        with self._session() as session:
            session.add(record)
            try:
                session.commit()
                return None
            except IntegrityError:
                session.rollback()
                existing = session.scalar(
                    select(ConsultationRequestRecord.reference_code).where(
                        ConsultationRequestRecord.idempotency_key == request.idempotency_key
                    )
                )
                if existing:
                    return existing
                if self._find(session, reference_code) is not None:
                    raise ReferenceCodeTaken(reference_code) from None
                raise

    @staticmethod
    def _find(session: Session, reference_code: str) -> Optional[ConsultationRequestRecord]:
        return session.scalar(
            select(ConsultationRequestRecord).where(ConsultationRequestRecord.reference_code == reference_code)
        )

    def _notify(self, reference_code: str) -> None:
        try:
            self._notifier.notify_new_request(reference_code)
        except Exception:
            logger.exception(
                "Could not notify staff of consultation request %s; it is stored and listed in the staff console",
                reference_code,
            )

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

    def _spool(self, request: ConsultationRequest, error: Exception) -> SubmitResult:
        with self._spool_locked():
            entries, _ = self._read_spool()
            existing = next(
                (entry.reference_code for entry in entries if entry.request.idempotency_key == request.idempotency_key),
                None,
            )
            if existing:
                return SubmitResult(existing, stored=False, duplicate=True)
            entry = SpoolEntry.create(request, new_reference_code(), utc_now())
            _append_durably(self.spool_path, entry.line)
        logger.error(
            "Could not store consultation request %s in the database (%s); kept in the spool %s for replay",
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


def create_engine_for(database_url: str) -> Engine:
    """Connects lazily: creating the engine succeeds even when the database is unreachable."""
    connect_args = {}
    if make_url(database_url).get_backend_name() == "sqlite":
        connect_args = {"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False}
    return create_engine(database_url, future=True, pool_pre_ping=True, connect_args=connect_args)


def _checked_status(status: str) -> str:
    if status not in STATUSES:
        raise ValueError(f"Unknown status {status!r}; expected one of {', '.join(STATUSES)}")
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
    """The process-wide store, configured from the environment (see .env.example)."""
    global _store
    with _store_lock:
        if _store is None:
            _store = RequestStore(
                settings.get("DATABASE_URL"),
                Path(settings.get("BOOKING_SPOOL_PATH")),
                notifier_from_env(),
                retry_seconds=float(settings.get("BOOKING_SPOOL_RETRY_SECONDS")),
            )
        return _store
