"""Consultation requests: stored exactly once, kept in the spool while the database is down, never lost."""
import os
import re
import socket
import subprocess
import sys
import threading
import time
from dataclasses import asdict, replace
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError

from clinic.storage import REFERENCE_ALPHABET, ConsultationRequest, RequestStore

PROJECT_DIR = Path(__file__).resolve().parent.parent
REFERENCE_CODE = re.compile(rf"TC-[{REFERENCE_ALPHABET}]{{6}}")


class RecordingNotifier:
    def __init__(self) -> None:
        self.codes = []

    def notify_new_request(self, reference_code: str) -> None:
        self.codes.append(reference_code)


def make_request(key: str = "conversation-1:booking-1", **changes) -> ConsultationRequest:
    request = ConsultationRequest(
        idempotency_key=key,
        conversation_id="conversation-1",
        channel="socketio",
        full_name="Jane Q. Visitor",
        phone="+15095550100",
        email="jane.visitor@example.com",
        preferred_times="weekday mornings, not Fridays",
        preferred_times_parsed={"weekdays": [0, 1, 2, 3], "from": "09:00", "to": "12:00"},
        help_with="depression",
        consent_to_contact=True,
    )
    return replace(request, **changes)


def free_port() -> int:
    """A port nothing listens on (until a test starts a server there)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def visitor_details(request: ConsultationRequest):
    return [request.full_name, request.phone, request.email, request.help_with, request.preferred_times]


@pytest.fixture
def notifier() -> RecordingNotifier:
    return RecordingNotifier()


@pytest.fixture
def spool_path(tmp_path) -> Path:
    return tmp_path / "spool" / "booking_spool.jsonl"


@pytest.fixture
def database_dir(tmp_path) -> Path:
    """Not created: a SQLite database in it cannot be opened until a test creates it."""
    return tmp_path / "database"


@pytest.fixture
def make_store(database_dir, spool_path, notifier):
    stores = []

    def build(notifier=notifier, **options) -> RequestStore:
        store = RequestStore(f"sqlite:///{database_dir / 'clinic.db'}", spool_path, notifier, **options)
        stores.append(store)
        return store

    yield build
    for store in stores:
        store.close()


@pytest.fixture
def store(make_store, database_dir) -> RequestStore:
    database_dir.mkdir()
    return make_store()


@pytest.fixture
def down_store(make_store) -> RequestStore:
    """A store whose database cannot be opened yet; `database_dir.mkdir()` "restarts" it."""
    return make_store()


def spooled_lines(spool_path: Path):
    return spool_path.read_bytes().splitlines() if spool_path.exists() else []


def test_a_submitted_request_is_stored_once_with_every_field(store, notifier):
    request = make_request()
    result = store.submit(request)

    assert (result.stored, result.duplicate) == (True, False)
    [record] = store.list_requests()
    assert record.reference_code == result.reference_code
    assert {name: getattr(record, name) for name in asdict(request)} == asdict(request)
    assert (record.status, record.staff_notes) == ("new", "")
    assert record.created_at.tzinfo is not None and record.created_at.utcoffset().total_seconds() == 0
    assert record.updated_at == record.created_at
    assert notifier.codes == [result.reference_code]


def test_reference_codes_are_readable_random_and_carry_no_personal_data(store):
    codes = [store.submit(make_request(key=f"booking-{number}")).reference_code for number in range(20)]

    assert all(REFERENCE_CODE.fullmatch(code) for code in codes)
    assert len(set(codes)) == len(codes)  # the same visitor's details give a new code each time
    request = make_request()
    for code in codes:
        assert not any(detail.upper() in code for detail in ("JANE", "VISITOR", "0100", "DEPRESSION"))
        assert request.phone not in code


def test_the_same_confirmation_submitted_twice_is_stored_once(store, notifier):
    first = store.submit(make_request())
    second = store.submit(make_request())

    assert second.reference_code == first.reference_code
    assert (second.stored, second.duplicate) == (True, True)
    assert len(store.list_requests()) == 1
    assert notifier.codes == [first.reference_code]


def test_concurrent_submits_of_one_confirmation_store_one_row(store, notifier):
    threads_count = 8
    start = threading.Barrier(threads_count)
    results = []

    def submit() -> None:
        start.wait()
        results.append(store.submit(make_request()))

    threads = [threading.Thread(target=submit) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(results) == threads_count
    assert len({result.reference_code for result in results}) == 1
    assert sorted(result.duplicate for result in results) == [False] + [True] * (threads_count - 1)
    assert len(store.list_requests()) == 1
    assert notifier.codes == [results[0].reference_code]


@pytest.mark.parametrize(
    "value",
    [
        "<script>alert('hi')</script> &amp; <b>bold</b>",
        "'); DROP TABLE consultation_requests;--",
        'Robert"); DELETE FROM consultation_requests WHERE ("1"="1',
        "Zoë 🙂👩🏽‍⚕️ 中文 \u200b",
        "  leading and trailing spaces, a tab\tand\r\nnew lines\n  ",
        "é" * 5000,
    ],
)
def test_text_is_stored_exactly_as_given(store, value):
    request = make_request(
        full_name=value,
        email=value,
        preferred_times=value,
        help_with=value,
        conversation_id=value,
        channel=value,
        preferred_times_parsed={"note": value},
    )
    reference_code = store.submit(request).reference_code

    record = store.get(reference_code)
    for field in ("full_name", "email", "preferred_times", "help_with", "conversation_id", "channel"):
        assert getattr(record, field).encode("utf-8") == value.encode("utf-8")
    assert record.preferred_times_parsed == {"note": value}
    assert len(store.list_requests()) == 1  # the table is still there


def test_a_request_made_while_the_database_is_down_is_spooled_then_written_once(
    down_store, database_dir, spool_path, notifier, caplog
):
    request = make_request()
    spooled = down_store.submit(request)

    assert (spooled.stored, spooled.duplicate) == (False, False)
    assert REFERENCE_CODE.fullmatch(spooled.reference_code)
    assert len(spooled_lines(spool_path)) == 1
    errors = [record for record in caplog.records if record.levelname == "ERROR"]
    assert errors and spooled.reference_code in caplog.text
    assert not any(detail in caplog.text for detail in visitor_details(request))

    again = down_store.submit(request)  # the visitor confirms again while the database is still down
    assert (again.reference_code, again.stored, again.duplicate) == (spooled.reference_code, False, True)
    spool_before = (spool_path.read_bytes(), spool_path.stat().st_ino)
    assert down_store.replay_spool() == 0
    assert (spool_path.read_bytes(), spool_path.stat().st_ino) == spool_before
    assert len(spooled_lines(spool_path)) == 1
    assert notifier.codes == []

    database_dir.mkdir()  # the database is back
    assert down_store.replay_spool() == 1
    assert spooled_lines(spool_path) == []
    assert down_store.replay_spool() == 0

    [record] = down_store.list_requests()
    assert record.reference_code == spooled.reference_code
    assert record.full_name == request.full_name
    assert notifier.codes == [spooled.reference_code]
    after = down_store.submit(request)
    assert (after.reference_code, after.stored, after.duplicate) == (spooled.reference_code, True, True)


def test_the_next_submit_writes_waiting_requests_first(down_store, database_dir, spool_path, notifier):
    waiting = down_store.submit(make_request(key="booking-1"))
    database_dir.mkdir()

    fresh = down_store.submit(make_request(key="booking-2"))

    assert fresh.stored and spooled_lines(spool_path) == []
    assert {record.reference_code for record in down_store.list_requests()} == {
        waiting.reference_code,
        fresh.reference_code,
    }
    assert notifier.codes == [waiting.reference_code, fresh.reference_code]


def test_the_background_retry_writes_the_spool_once_the_database_is_back(
    make_store, database_dir, spool_path, notifier
):
    store = make_store(retry_seconds=0.05)
    spooled = store.submit(make_request())
    assert not spooled.stored
    database_dir.mkdir()

    deadline = time.monotonic() + 5
    while not notifier.codes and time.monotonic() < deadline:  # staff are told after the spool is emptied
        time.sleep(0.02)

    assert spooled_lines(spool_path) == []
    assert store.get(spooled.reference_code) is not None
    assert notifier.codes == [spooled.reference_code]


def test_a_request_replayed_before_a_crash_is_not_written_twice(down_store, database_dir, spool_path, notifier):
    """A crash between the database write and the spool rewrite leaves the entry in the spool."""
    spooled = down_store.submit(make_request())
    line = spool_path.read_bytes()
    database_dir.mkdir()
    assert down_store.replay_spool() == 1

    spool_path.write_bytes(line)
    assert down_store.replay_spool() == 0

    assert spooled_lines(spool_path) == []
    assert [record.reference_code for record in down_store.list_requests()] == [spooled.reference_code]
    assert notifier.codes == [spooled.reference_code]


def test_a_corrupt_spool_line_is_moved_aside_and_the_good_ones_are_written(
    down_store, database_dir, spool_path, caplog
):
    first = down_store.submit(make_request(key="booking-1"))
    with spool_path.open("ab") as spool:
        spool.write(b'{"reference_code": "TC-BROKEN", "request": {"full_na\n')
        spool.write(b"not json at all\n")
    second = down_store.submit(make_request(key="booking-2"))
    database_dir.mkdir()

    assert down_store.replay_spool() == 2

    assert {record.reference_code for record in down_store.list_requests()} == {
        first.reference_code,
        second.reference_code,
    }
    assert spooled_lines(spool_path) == []
    assert down_store.corrupt_path.read_bytes() == (
        b'{"reference_code": "TC-BROKEN", "request": {"full_na\nnot json at all\n'
    )
    assert str(down_store.corrupt_path) in caplog.text


def test_a_line_cut_short_by_a_crash_does_not_swallow_the_next_request(down_store, database_dir, spool_path):
    first = down_store.submit(make_request(key="booking-1"))
    with spool_path.open("ab") as spool:
        spool.write(b'{"reference_code": "TC-CUT')  # no newline: a writer died mid-line
    second = down_store.submit(make_request(key="booking-2"))
    database_dir.mkdir()

    assert down_store.replay_spool() == 2

    assert down_store.get(first.reference_code) is not None
    assert down_store.get(second.reference_code) is not None
    assert down_store.corrupt_path.read_bytes() == b'{"reference_code": "TC-CUT\n'


def test_an_unreachable_postgresql_server_does_not_stop_the_assistant(spool_path, notifier):
    store = RequestStore(f"postgresql+psycopg2://clinic:secret@127.0.0.1:{free_port()}/clinic", spool_path, notifier)
    try:
        result = store.submit(make_request())
    finally:
        store.close()

    assert (result.stored, result.duplicate) == (False, False)
    assert len(spooled_lines(spool_path)) == 1


def test_staff_update_the_status_and_unknown_statuses_are_refused(store, database_dir):
    reference_code = store.submit(make_request()).reference_code

    updated = store.update_status(reference_code, "contacted", notes="Left a voicemail <b>Tue</b>")
    assert (updated.status, updated.staff_notes) == ("contacted", "Left a voicemail <b>Tue</b>")
    assert updated.updated_at > updated.created_at
    with pytest.raises(ValueError):
        store.update_status(reference_code, "cancelled")
    with pytest.raises(LookupError):
        store.update_status("TC-NOSUCH", "booked")
    assert store.get(reference_code).status == "contacted"
    assert [record.reference_code for record in store.list_requests(status="contacted")] == [reference_code]
    assert store.list_requests(status="new") == []

    engine = create_engine(f"sqlite:///{database_dir / 'clinic.db'}")  # a tool that bypasses the store
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(text("UPDATE consultation_requests SET status = 'lost'"))
    engine.dispose()


def test_the_replay_script_writes_the_spool_for_ops(down_store, database_dir, spool_path):
    spooled = down_store.submit(make_request())
    database_dir.mkdir()
    environment = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{database_dir / 'clinic.db'}",
        "BOOKING_SPOOL_PATH": str(spool_path),
        "NOTIFIER": "log",
    }

    finished = subprocess.run(
        [sys.executable, str(PROJECT_DIR / "scripts" / "replay_spool.py")],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert finished.returncode == 0, finished.stderr
    assert "Wrote 1 spooled consultation request(s)" in finished.stdout
    assert down_store.get(spooled.reference_code) is not None
    assert spooled_lines(spool_path) == []
