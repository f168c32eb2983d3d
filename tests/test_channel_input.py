"""What each channel lets into a conversation, when it is open at all, and what a refused visitor reads.

Every channel hands its messages to rasa_server.message_guard (a ChannelHandler is the
`on_new_message` of Rasa's connector): invalid Unicode (a lone surrogate such as "\\ud800", which JSON may carry but
UTF-8 cannot store) is replaced there, before anything is stored. These tests run each webhook channel's real
code (its signature check, the platform's update format, Rasa's connector) in a Sanic server in
this process, with an agent that records what it would process and store. REST and the Socket.IO
widget are tested against a running assistant too (test_visitor_input_live.py); here, their
per-IP refusals, which must carry the crisis line.
"""
import asyncio
import hashlib
import hmac
import json
import time
import urllib.parse
import uuid
from contextlib import asynccontextmanager
from types import SimpleNamespace
from typing import Any, AsyncIterator, Dict, List, Optional

import aiohttp
import pytest
import socketio
from rasa.core.channels.channel import InputChannel, UserMessage, register
from rasa.core.lock_store import InMemoryLockStore
from rasa.core.tracker_store import InMemoryTrackerStore
from sanic import Sanic
from twilio.request_validator import RequestValidator

from channels import rest as rest_channel
from channels import socketio as socketio_channel
from channels.facebook import SignedFacebookInput
from channels.rest import CheckedRestInput
from channels.slack import SignedSlackInput
from channels.socketio import OriginCheckedSocketIOInput
from channels.telegram import SecretTokenTelegramInput
from channels.twilio import SignedTwilioInput
from rasa_server import message_guard
from rasa_server.rate_limit import SlidingWindowLimiter
from rasa_server.refusals import TOO_MANY_FROM_THIS_ADDRESS, crisis_line, refusal_in
from scripts.live_stack import free_port

LONE_SURROGATE_TEXT = "hi \ud800 there"
SECRET = "test-secret"
TWILIO_URL = "https://clinic.example/webhooks/twilio/webhook"
TELEGRAM = {"access_token": "123456:" + "a" * 35, "verify": "clinic_bot", "webhook_url": "https://clinic.example/t"}


class RecordingAgent:
    """The Rasa agent as the channels see it, with the project's guard and a processor that records."""

    handle_message = message_guard.handle_message

    def __init__(self, domain) -> None:
        self.domain = domain
        self.lock_store = InMemoryLockStore()
        self.tracker_store = InMemoryTrackerStore(domain)
        self.processed: List[UserMessage] = []
        self.processor = SimpleNamespace(handle_message=self._process)

    def is_ready(self) -> bool:
        return True

    async def _process(self, message: UserMessage) -> List[Dict[str, Any]]:
        self.processed.append(message)
        return []

    async def next_message(self) -> UserMessage:
        """Slack's connector answers first and hands the message on in the background."""
        deadline = time.monotonic() + 10
        while not self.processed and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert self.processed, "the channel handed no message on"
        return self.processed[-1]


@asynccontextmanager
async def webhook_server(channel: InputChannel, agent: Any) -> AsyncIterator[str]:
    """Serves `channel` as the Rasa server does (rasa.core.channels.channel.register); yields its
    webhook's URL."""
    Sanic.test_mode = True  # several apps in one process: Sanic keeps its own code as it was for each
    app = Sanic(f"channel_test_{uuid.uuid4().hex}")
    app.ctx.agent = agent
    register([channel], app, route="/webhooks/")
    port = free_port()
    server = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True, access_log=False)
    await server.startup()
    try:
        yield f"http://127.0.0.1:{port}/webhooks/{channel.name()}/webhook"
    finally:
        server.close()
        await server.wait_closed()


async def post(url: str, body: bytes, headers: Dict[str, str]) -> int:
    async with aiohttp.ClientSession() as http:
        async with http.post(url, data=body, headers=headers) as response:
            await response.read()
            return response.status


def assert_storable(message: UserMessage) -> None:
    """What the tracker store writes of a message: its text, ids and metadata, as UTF-8."""
    assert "hi" in message.text and "there" in message.text
    for value in (
        message.text,
        message.sender_id,
        message.message_id,
        json.dumps(message.metadata, ensure_ascii=False),
    ):
        value.encode("utf-8")  # raises UnicodeEncodeError on a lone surrogate


@pytest.fixture
def platforms_unreachable(monkeypatch):
    """Replies to the platforms fail at once (a closed loopback port as the HTTPS proxy)."""
    unreachable = f"http://127.0.0.1:{free_port()}"
    for name in ("HTTPS_PROXY", "https_proxy"):
        monkeypatch.setenv(name, unreachable)


async def test_facebook_messages_reach_the_conversation_as_valid_unicode(domain, platforms_unreachable):
    channel = SignedFacebookInput.from_credentials({"verify": "v", "secret": SECRET, "page-access-token": "p"})
    agent = RecordingAgent(domain)
    message = {"sender": {"id": "fb-\ud800"}, "recipient": {"id": "page"},
               "message": {"mid": "m-\udfff", "text": LONE_SURROGATE_TEXT}}
    body = json.dumps({"object": "page", "entry": [{"id": "page", "messaging": [message]}]}).encode()
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    async with webhook_server(channel, agent) as url:
        status = await post(url, body, {"Content-Type": "application/json", "X-Hub-Signature-256": signature})
    assert status == 200
    assert_storable(await agent.next_message())


async def test_slack_messages_reach_the_conversation_as_valid_unicode(domain):
    channel = SignedSlackInput.from_credentials({"slack_token": "xoxb-test", "slack_signing_secret": SECRET})
    agent = RecordingAgent(domain)
    event = {"type": "message", "channel_type": "im", "channel": "D\ud800", "user": "U-\udc00",
             "text": LONE_SURROGATE_TEXT, "ts": "1.1"}
    body = json.dumps({"type": "event_callback", "event": event}).encode()
    timestamp = int(time.time())
    digest = hmac.new(SECRET.encode(), f"v0:{timestamp}:".encode() + body, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json", "X-Slack-Request-Timestamp": str(timestamp),
               "X-Slack-Signature": f"v0={digest}"}
    async with webhook_server(channel, agent) as url:
        assert await post(url, body, headers) == 200
        assert_storable(await agent.next_message())


async def test_twilio_messages_reach_the_conversation_as_valid_unicode(domain, platforms_unreachable):
    channel = SignedTwilioInput.from_credentials(
        {
            "account_sid": "AC" + "0" * 32,
            "auth_token": SECRET,
            "twilio_number": "+15095550100",
            "webhook_url": TWILIO_URL,
        }
    )
    agent = RecordingAgent(domain)
    # A lone surrogate as the bytes UTF-16-minded software writes for it (WTF-8), plus a stray byte.
    form = {"From": "+15095550123", "To": "+15095550100", "MessageSid": "SM" + "0" * 32,
            "Body": LONE_SURROGATE_TEXT}
    body = "&".join(f"{key}={urllib.parse.quote(value, errors='surrogatepass')}" for key, value in form.items())
    body += "%FF"
    # Twilio signs the form as the server decodes it.
    signature = RequestValidator(SECRET).compute_signature(
        TWILIO_URL, {key: values[0] for key, values in urllib.parse.parse_qs(body).items()}
    )
    headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature}
    async with webhook_server(channel, agent) as url:
        assert await post(url, body.encode(), headers) == 204
    assert_storable(await agent.next_message())


class TelegramWithoutNetwork(SecretTokenTelegramInput):
    """Rasa's handler asks Telegram who the bot is, and registers the webhook at start: answered here."""

    def get_output_channel(self) -> Any:
        async def get_me() -> SimpleNamespace:
            return SimpleNamespace(username=self.verify)

        return SimpleNamespace(get_me=get_me)


def telegram_update(text: str) -> bytes:
    message = {"message_id": 1, "date": 0, "chat": {"id": 4242, "type": "private"},
               "from": {"id": 4242, "is_bot": False, "first_name": "Visitor"}, "text": text}
    return json.dumps({"update_id": 1, "message": message}).encode()


async def test_telegram_messages_reach_the_conversation_as_valid_unicode(domain):
    channel = TelegramWithoutNetwork.from_credentials({**TELEGRAM, "secret_token": SECRET})
    agent = RecordingAgent(domain)
    headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": SECRET}
    async with webhook_server(channel, agent) as url:
        assert await post(url, telegram_update(LONE_SURROGATE_TEXT), headers) == 200
    assert_storable(await agent.next_message())


@pytest.mark.parametrize("secret_token", [None, ""])
async def test_telegram_is_not_enabled_without_its_secret_token(domain, secret_token):
    """Telegram signs nothing: without TELEGRAM_SECRET_TOKEN anyone could post updates as anyone."""
    credentials: Dict[str, Optional[str]] = {**TELEGRAM, "secret_token": secret_token}
    channel = TelegramWithoutNetwork.from_credentials(credentials)
    assert not channel.is_configured()
    agent = RecordingAgent(domain)
    async with webhook_server(channel, agent) as url:
        assert await post(url, telegram_update("hello"), {"Content-Type": "application/json"}) == 403
        headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": ""}
        assert await post(url, telegram_update("hello"), headers) == 403
    assert agent.processed == []


async def test_telegram_with_its_secret_token_refuses_updates_without_it(domain):
    channel = TelegramWithoutNetwork.from_credentials({**TELEGRAM, "secret_token": SECRET})
    agent = RecordingAgent(domain)
    async with webhook_server(channel, agent) as url:
        for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "guess"}):
            assert await post(url, telegram_update("hello"), {"Content-Type": "application/json", **headers}) == 403
        assert agent.processed == []
        right = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": SECRET}
        assert await post(url, telegram_update("hello"), right) == 200
    assert [message.text for message in agent.processed] == ["hello"]


@pytest.mark.parametrize("value, cleaned", [
    ("hi \ud800 there", "hi \ufffd there"),
    ("\udfffend", "\ufffdend"),
    ("a pair is fine: \U0001F600", "a pair is fine: \U0001F600"),
    ("nul\x00 and bell\x07", "nul  and bell"),
    ("  tabs\tand\nnewlines stay  ", "tabs\tand\nnewlines stay"),
])
def test_message_text_is_made_storable(value, cleaned):
    assert message_guard.clean_text(value) == cleaned


def test_metadata_and_ids_are_made_storable():
    message = UserMessage("hi", sender_id="a\ud800", message_id="m\udc00",
                          metadata={"k\ud800": ["v\udfff", {"x": "\ud801"}], "n": 5})
    message_guard.clean_message(message)
    assert message.sender_id == "a\ufffd" and message.message_id == "m\ufffd"
    assert message.metadata == {"k\ufffd": ["v\ufffd", {"x": "\ufffd"}], "n": 5}


# ---- per-IP refusals on the web chat (REST and the widget's Socket.IO)


def carries_the_crisis_line(text: str) -> bool:
    return crisis_line(None) in text and "911" in text and "988" in text


@pytest.fixture
def two_requests_per_ip(monkeypatch) -> None:
    limiter = SlidingWindowLimiter(2)
    for module in (rest_channel, socketio_channel):
        monkeypatch.setattr(module, "ip_limiter", lambda: limiter)


async def test_a_rest_visitor_over_the_ip_limit_gets_429_with_the_crisis_line(domain, two_requests_per_ip):
    agent = RecordingAgent(domain)
    body = json.dumps({"sender": "waiting-room", "message": "hello"}).encode()
    async with webhook_server(CheckedRestInput(), agent) as url:
        assert [await post(url, body, {"Content-Type": "application/json"}) for _ in range(2)] == [200, 200]
        async with aiohttp.ClientSession() as http:
            async with http.post(url, data=body, headers={"Content-Type": "application/json"}) as response:
                assert response.status == 429
                assert carries_the_crisis_line((await response.json())["error"])
    assert len(agent.processed) == 2


async def test_a_spanish_visitor_over_the_ip_limit_is_refused_in_spanish(domain, two_requests_per_ip):
    agent = RecordingAgent(domain)
    metadata = {"page_language": "es", "chat_language": "es"}
    body = json.dumps({"sender": "sala-de-espera", "message": "hola", "metadata": metadata}).encode()
    async with webhook_server(CheckedRestInput(), agent) as url:
        assert [await post(url, body, {"Content-Type": "application/json"}) for _ in range(2)] == [200, 200]
        async with aiohttp.ClientSession() as http:
            async with http.post(url, data=body, headers={"Content-Type": "application/json"}) as response:
                assert response.status == 429
                assert (await response.json())["error"] == refusal_in(TOO_MANY_FROM_THIS_ADDRESS, "es")
            async with http.post(url, data=b"{not json", headers={"Content-Type": "application/json"}) as response:
                assert response.status == 429, "a body that cannot be read is still refused for the flood"
                assert carries_the_crisis_line((await response.json())["error"])


async def test_a_widget_over_the_ip_limit_is_told_so_with_the_crisis_line(domain, two_requests_per_ip):
    channel = OriginCheckedSocketIOInput.from_credentials({
        "user_message_evt": "user_uttered", "bot_message_evt": "bot_uttered", "session_persistence": True,
        "allowed_origins": "http://localhost:8080",
    })
    agent = RecordingAgent(domain)
    session_id = uuid.uuid4().hex
    async with webhook_server(channel, agent) as url:
        server_url = url.split("/webhooks/")[0]
        # A long poll lasts a second, not 25: closing a connection does not wait for one.
        channel.sio.eio.ping_interval, channel.sio.eio.ping_timeout = 1, 1
        client = socketio.AsyncClient(reconnection=False)
        bot_messages: "asyncio.Queue[Dict]" = asyncio.Queue()
        client.on("bot_uttered", bot_messages.put_nowait)
        await client.connect(
            server_url, headers={"Origin": "http://localhost:8080"}, transports=["polling"], wait_timeout=10
        )
        try:
            await client.emit("user_uttered", {"message": "first", "session_id": session_id})  # the 2nd request
            # The 3rd is refused, in the language the widget gives (a Spanish page), else in both.
            spanish_page = {"page_language": "es", "chat_language": "es"}
            await client.emit("user_uttered", {"message": "otra", "session_id": session_id, "metadata": spanish_page})
            refusal = await asyncio.wait_for(bot_messages.get(), timeout=10)
            assert refusal["text"] == refusal_in(TOO_MANY_FROM_THIS_ADDRESS, "es")
            await client.emit("user_uttered", {"message": "second", "session_id": session_id})
            refusal = await asyncio.wait_for(bot_messages.get(), timeout=10)
            assert refusal["text"] == refusal_in(TOO_MANY_FROM_THIS_ADDRESS, None)
            assert carries_the_crisis_line(refusal["text"])

            refused_connection: "asyncio.Future[Any]" = asyncio.get_running_loop().create_future()
            other = socketio.AsyncClient(reconnection=False)
            other.on("connect_error", lambda data: refused_connection.done() or refused_connection.set_result(data))
            with pytest.raises(socketio.exceptions.ConnectionError):
                await other.connect(server_url, headers={"Origin": "http://localhost:8080"}, transports=["polling"],
                                    wait_timeout=10)
            data = await asyncio.wait_for(refused_connection, timeout=10)
            assert carries_the_crisis_line(data["message"] if isinstance(data, dict) else str(data))
        finally:
            await client.disconnect()
    assert [message.text for message in agent.processed] == ["first"]
