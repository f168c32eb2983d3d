"""Scale-out and faults, for real: two Rasa replicas, one action server, PostgreSQL and Redis.

The tests share one stack (scripts/production_stack.py) and run in file order: each fault test puts
back what it broke; the replica-kill test is last. Visitors talk over the REST channel, each from
its own loopback address (127.0.x.y) as real visitors come from their own IPs.
"""
import asyncio
import http.client
import json
import queue
import re
import statistics
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Dict, List

import aiohttp
import pytest
import socketio
import sqlalchemy as sa

from rasa_server.rate_limit import DEFAULT_IP_PER_MINUTE
from rasa_server.refusals import crisis_line
from scripts import production_stack
from scripts.production_stack import wait_for
from tests.test_handoff import ALWAYS_OPEN

REFERENCE_CODE = re.compile(r"TC-[0-9A-Z]{6}")
BOOKING_UP_TO_SUMMARY = [
    "/book_consultation", "Maria Lopez", "509-555-0142", "weekday mornings",
    '/inform{"help_with": "anxiety"}', "/affirm",  # consent to be contacted: the summary follows
]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    profile = tmp_path_factory.mktemp("profile") / "open.yml"
    profile.write_text(ALWAYS_OPEN)
    started = production_stack.start(replicas=2, extra_env={"CLINIC_PROFILE_PATH": str(profile)})
    yield started
    started.shutdown()


@pytest.fixture(scope="module")
def database(stack):
    engine = sa.create_engine(stack.postgres.url(), pool_pre_ping=True)
    yield engine
    engine.dispose()


def say(stack, replica: int, sender: str, text: str, source_ip: str = "127.0.0.1") -> List[Dict[str, Any]]:
    connection = http.client.HTTPConnection(
        "127.0.0.1", stack.rasa_ports[replica], timeout=120, source_address=(source_ip, 0)
    )
    connection.request("POST", "/webhooks/rest/webhook", json.dumps({"sender": sender, "message": text}),
                       {"Content-Type": "application/json"})
    response = connection.getresponse()
    body = response.read()
    connection.close()
    assert response.status == 200, (response.status, body[:300])
    return json.loads(body)


def text_of(replies: List[Dict[str, Any]]) -> str:
    return " ".join(reply.get("text") or "" for reply in replies)


def tracker(stack, replica: int, sender: str) -> Dict[str, Any]:
    connection = http.client.HTTPConnection("127.0.0.1", stack.rasa_ports[replica], timeout=60)
    connection.request("GET", f"/conversations/{sender}/tracker?token={stack.token}")
    response = connection.getresponse()
    assert response.status == 200
    return json.loads(response.read())


def rows_for(database, conversation_prefix: str) -> List[Any]:
    with database.connect() as connection:
        if not sa.inspect(connection).has_table("consultation_requests"):
            return []  # the action server makes its tables at the first request it can store
        return connection.execute(
            sa.text("SELECT reference_code FROM consultation_requests WHERE conversation_id LIKE :prefix"),
            {"prefix": conversation_prefix + "%"},
        ).fetchall()


def test_a_conversation_alternating_between_replicas_keeps_its_state(stack):
    sender = "alternating"
    replies = [say(stack, turn % 2, sender, text) for turn, text in enumerate(BOOKING_UP_TO_SUMMARY[:3])]
    assert "phone" in text_of(replies[1]).lower()  # replica 1 continued the form replica 0 started
    state = tracker(stack, 0, sender)
    assert state["active_loop"]["name"] == "booking_form"
    assert state["slots"]["full_name"] == "Maria Lopez" and state["slots"]["phone"] == "+15095550142"

    handed_off = "alternating-handoff"
    say(stack, 0, handed_off, "hello")
    assert "connect you" in text_of(say(stack, 1, handed_off, "/request_human"))
    assert say(stack, 0, handed_off, "/affirm"), "the handoff start says what happens next"
    assert tracker(stack, 1, handed_off)["paused"] is True
    assert say(stack, 1, handed_off, "hello? is anyone there") == []  # paused on both: staff answer, not the bot


def test_a_staff_message_sent_through_one_replica_reaches_a_web_chat_held_by_the_other(stack):
    origin = stack.env.get("ALLOWED_ORIGINS", "http://127.0.0.1:8080").split(",")[0]
    session_id = uuid.uuid4().hex

    async def chat() -> List[Dict[str, Any]]:
        client = socketio.AsyncClient(reconnection=False)
        received: "asyncio.Queue[Dict[str, Any]]" = asyncio.Queue()
        confirmed = asyncio.Event()
        client.on("bot_uttered", received.put_nowait)
        client.on("session_confirm", lambda _: confirmed.set())
        await client.connect(stack.url(1), headers={"Origin": origin}, transports=["polling"], wait_timeout=10)
        try:
            await client.emit("session_request", {"session_id": session_id})
            await asyncio.wait_for(confirmed.wait(), 10)
            await client.emit("user_uttered", {"message": "hello", "session_id": session_id})
            greeting = await asyncio.wait_for(received.get(), 60)
            staff = {"event": "bot", "text": "Hi, this is Dana from the clinic.", "metadata": {"sender_name": "Dana"}}
            async with aiohttp.ClientSession() as http:
                url = stack.api(
                    0, f"/conversations/{session_id}/tracker/events?execute_side_effects=true&output_channel=latest"
                )
                async with http.post(url, json=[staff]) as response:
                    assert response.status == 200
            later = []
            while not any(message.get("text") == staff["text"] for message in later):
                later.append(await asyncio.wait_for(received.get(), 30))
            return [greeting, *later]
        finally:
            await client.disconnect()

    messages = asyncio.run(chat())
    assert messages[0]["text"].startswith("Hi") and messages[-1]["text"] == "Hi, this is Dana from the clinic."


def test_a_server_with_two_workers_behind_one_port_keeps_every_conversation_and_serves_the_widget(stack):
    """SANIC_WORKERS=2 (README, "Several Rasa processes"): each message on a new connection, so that one
    conversation's messages land on either worker; the widget's first choice of transport, a websocket,
    stays on the worker it opened."""
    replica = stack.add_rasa(workers=2)
    origin = stack.env.get("ALLOWED_ORIGINS", "http://127.0.0.1:8080").split(",")[0]

    async def visit(number: int) -> str:
        sender = f"two-workers-{number}"
        for text in BOOKING_UP_TO_SUMMARY[:3]:
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as http:
                async with http.post(f"{stack.url(replica)}/webhooks/rest/webhook",
                                     json={"sender": sender, "message": text}) as response:
                    assert response.status == 200 and await response.json()
        return sender

    def widget_chat() -> Dict[str, Any]:
        # The synchronous client: its websocket transport is websocket-client's (python-engineio's asyncio
        # one needs a newer aiohttp than Rasa 3.6 allows).
        # websocket-client sends an Origin of its own unless given one as an option, not as a header.
        client = socketio.Client(reconnection=False, websocket_extra_options={"origin": origin})
        received: "queue.Queue[Dict[str, Any]]" = queue.Queue()
        confirmed = threading.Event()
        client.on("bot_uttered", received.put)
        client.on("session_confirm", lambda _: confirmed.set())
        client.connect(stack.url(replica), transports=["websocket"], wait_timeout=10)
        try:
            session_id = uuid.uuid4().hex
            client.emit("session_request", {"session_id": session_id})
            assert confirmed.wait(10)
            client.emit("user_uttered", {"message": "hello", "session_id": session_id})
            return received.get(timeout=60)
        finally:
            client.disconnect()

    async def everyone():
        return await asyncio.gather(asyncio.to_thread(widget_chat), *(visit(number) for number in range(10)))

    try:
        greeting, *senders = asyncio.run(everyone())
        assert greeting["text"].startswith("Hi")
        for sender in senders:
            state = tracker(stack, replica, sender)
            assert state["active_loop"]["name"] == "booking_form", sender
            assert state["slots"]["full_name"] == "Maria Lopez" and state["slots"]["phone"] == "+15095550142", sender
        server = stack.processes[f"rasa{replica}"].pid
        assert len(Path(f"/proc/{server}/task/{server}/children").read_text().split()) == 2  # the two workers
    finally:
        stack.stop(f"rasa{replica}")


def test_concurrent_messages_to_one_conversation_are_handled_one_at_a_time(stack):
    sender = "concurrent"
    questions = [
        "What is ketamine?",
        "Is ketamine safe?",
        "How long does an infusion take?",
        "What are the side effects?",
        "How many infusions do I need?",
        "Does insurance cover it?",
        "How fast does it work?",
        "Can I drive home?",
    ]

    async def send_all() -> List[List[Dict[str, Any]]]:
        async with aiohttp.ClientSession() as http:
            async def send(index: int, text: str):
                url = f"{stack.url(index % 2)}/webhooks/rest/webhook"
                async with http.post(url, json={"sender": sender, "message": text}) as response:
                    assert response.status == 200
                    return await response.json()
            return await asyncio.gather(*(send(i, q) for i, q in enumerate(questions)))

    replies = asyncio.run(send_all())
    assert all(reply for reply in replies), "every message got an answer"
    events = tracker(stack, 0, sender)["events"]
    user_events = [event for event in events if event["event"] == "user"]
    assert sorted(event["text"] for event in user_events) == sorted(questions)
    # Handled one at a time: each message's turn ends (action_listen) before the next message starts.
    turn_open = False
    for event in events:
        if event["event"] == "user":
            assert not turn_open, "a message was taken up while another was still being answered"
            turn_open = True
        elif event["event"] == "action" and event["name"] == "action_listen":
            turn_open = False


def test_twenty_simultaneous_bookings_make_exactly_twenty_rows(stack, database):
    visitors = 20

    async def book(http: aiohttp.ClientSession, number: int) -> str:
        sender = f"booking-{number:02d}"
        replies: List[Dict[str, Any]] = []
        script = BOOKING_UP_TO_SUMMARY[:2] + [f"509-555-01{number:02d}"] + BOOKING_UP_TO_SUMMARY[3:] + ["/affirm"]
        for turn, text in enumerate(script):
            url = f"{stack.url((number + turn) % 2)}/webhooks/rest/webhook"
            async with http.post(url, json={"sender": sender, "message": text}) as response:
                assert response.status == 200
                replies = await response.json()
        codes = REFERENCE_CODE.findall(text_of(replies))
        assert codes, f"{sender} got no reference code: {replies}"
        return codes[0]

    async def book_all() -> List[str]:
        # Each visitor from its own address, so the per-IP limit sees 20 visitors, not one.
        sessions = [aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(f"127.0.1.{n + 1}", 0)))
                    for n in range(visitors)]
        try:
            return await asyncio.gather(*(book(session, n) for n, session in enumerate(sessions)))
        finally:
            await asyncio.gather(*(session.close() for session in sessions))

    codes = asyncio.run(book_all())
    assert len(set(codes)) == visitors
    assert sorted(row[0] for row in rows_for(database, "booking-")) == sorted(codes)


def test_action_server_down_the_visitor_gets_an_apology_and_a_person_then_it_continues(stack):
    sender = "actions-down"
    say(stack, 0, sender, "hello")
    stack.stop("actions")
    try:
        replies = say(stack, 1, sender, "/book_consultation")
        assert "something went wrong" in text_of(replies)
        assert any(button["payload"] == "/request_human" for reply in replies for button in reply.get("buttons") or [])
        crisis = text_of(say(stack, 0, "actions-down-crisis", "I want to end my life"))
        assert "988" in crisis and "911" in crisis  # the crisis response does not depend on the action server
        assert "Action server call(s)" in stack.log("rasa1")
    finally:
        stack.start_actions()
    assert "name" in text_of(say(stack, 0, sender, "/book_consultation")).lower()
    assert tracker(stack, 0, "actions-down-crisis")["slots"]["crisis_flagged"] is True


def test_postgresql_restarted_mid_booking_the_request_is_stored_once(stack, database):
    sender = "postgres-restart"
    for turn, text in enumerate(BOOKING_UP_TO_SUMMARY):
        say(stack, turn % 2, sender, text)
    stack.postgres.stop()
    try:
        assert "technical problem" in text_of(say(stack, 0, f"{sender}-meanwhile", "hello"))
        assert "unreachable" in stack.log("rasa0")
    finally:
        stack.postgres.start()
    confirmed = text_of(say(stack, 1, sender, "/affirm"))
    assert REFERENCE_CODE.search(confirmed)
    assert [row[0] for row in rows_for(database, sender)] == REFERENCE_CODE.findall(confirmed)[:1]


def test_database_unreachable_at_submit_the_request_is_spooled_and_written_once(stack, database):
    sender = "spooled"
    for turn, text in enumerate(BOOKING_UP_TO_SUMMARY):
        say(stack, turn % 2, sender, text)
    spool = stack.root / "data" / "booking_spool.jsonl"
    stack.database_link.cut()  # the action server loses PostgreSQL; the Rasa replicas still reach it
    try:
        confirmed = text_of(say(stack, 0, sender, "/affirm"))
        code = REFERENCE_CODE.search(confirmed)[0]
        assert rows_for(database, sender) == []
        assert code in spool.read_text()
    finally:
        stack.database_link.restore()
    wait_for(lambda: rows_for(database, sender), 30, "the spooled request to be written")
    wait_for(lambda: not spool.exists() or not spool.read_text().strip(), 10, "the spool to be emptied")
    stack.stop("actions")
    stack.start_actions()  # a restart replays nothing twice
    say(stack, 1, "spooled-after", "hello")
    assert [row[0] for row in rows_for(database, sender)] == [code]


def test_redis_down_the_visitor_is_told_and_the_conversation_is_not_touched(stack):
    sender = "redis-down"
    say(stack, 0, sender, "hello")
    events_before = len(tracker(stack, 0, sender)["events"])
    stack.redis.stop()
    try:
        refusal = text_of(say(stack, 1, sender, "What is ketamine?"))
        assert "technical problem" in refusal and crisis_line(None) in refusal
        assert "lock store or tracker store is unreachable" in stack.log("rasa1")
    finally:
        stack.redis.start()
    assert len(tracker(stack, 0, sender)["events"]) == events_before
    assert "ketamine" in text_of(say(stack, 1, sender, "What is ketamine?")).lower()


def test_a_burst_of_ten_thousand_messages_from_one_sender_is_limited_and_others_are_served(stack):
    probe_texts = ["What is ketamine?", "Is it safe?", "How long does an infusion take?"]

    def probe_latencies(label: str, rounds: int) -> List[float]:
        latencies = []
        for n in range(rounds):
            started = time.monotonic()
            assert text_of(say(stack, 0, f"probe-{label}-{n}", probe_texts[n % 3], source_ip="127.0.0.2"))
            latencies.append(time.monotonic() - started)
        return latencies

    baseline = max(probe_latencies("before", 6))
    statuses: Dict[int, int] = {}

    async def burst() -> None:
        connector = aiohttp.TCPConnector(limit=20, local_addr=("127.0.2.1", 0))
        async with aiohttp.ClientSession(connector=connector) as http:
            async def one(n: int) -> None:
                async with http.post(f"{stack.url(0)}/webhooks/rest/webhook",
                                     json={"sender": "flooder", "message": f"hi {n}"}) as response:
                    statuses[response.status] = statuses.get(response.status, 0) + 1
                    await response.read()
            await asyncio.gather(*(one(n) for n in range(10_000)))

    async def burst_with_probe() -> List[float]:
        task = asyncio.create_task(burst())
        during = await asyncio.to_thread(probe_latencies, "during", 6)
        await task
        return during

    during = asyncio.run(burst_with_probe())
    assert sum(statuses.values()) == 10_000 and set(statuses) <= {200, 429}
    assert statuses[429] >= 10_000 - DEFAULT_IP_PER_MINUTE  # RATE_LIMIT_IP_PER_MINUTE's default
    # The set bound, for a visitor from another address during the burst: its typical (median) reply
    # at most 3x its slowest before plus 0.25 s, and no reply slower than 2 s. (On these 2 cores the
    # flooding client itself competes for the CPU, so single replies vary: 0.8 s was seen once.)
    assert statistics.median(during) <= 3 * baseline + 0.25, (baseline, during)
    assert max(during) <= 2.0, (baseline, during)
    flooder_events = [e for e in tracker(stack, 0, "flooder")["events"] if e["event"] == "user"]
    assert len(flooder_events) <= 30  # RATE_LIMIT_SENDER_PER_MINUTE's default


def test_a_replica_killed_mid_conversation_the_other_continues_it(stack):
    sender = "replica-killed"
    say(stack, 1, sender, "/book_consultation")
    say(stack, 1, sender, "Maria Lopez")
    stack.stop("rasa1", kill=True)
    assert "time" in text_of(say(stack, 0, sender, "509-555-0142")).lower()  # next question of the same form
    state = tracker(stack, 0, sender)
    assert state["active_loop"]["name"] == "booking_form" and state["slots"]["phone"] == "+15095550142"
