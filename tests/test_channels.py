"""The messaging channels (channels/): webhook signatures, the chat widget's socket, numbered options.

End-to-end tests post to real Rasa servers on loopback. Replies to the platforms cannot be
delivered (HTTPS_PROXY points the platforms' clients at a closed loopback port); that must not
lose the visitor's message.
"""
import asyncio
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from types import SimpleNamespace
from typing import Dict, List

import pytest
import socketio
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.events import BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from twilio.request_validator import RequestValidator

from channels.numbered_options import numbered_options_text, payload_for_reply, resolve_numbered_reply
from channels.telegram import SecretTokenTelegramInput, SecretTokenTelegramOutput
from scripts.live_stack import LiveAssistant, free_port, start

FACEBOOK_APP_SECRET = "test-facebook-app-secret"
SLACK_SIGNING_SECRET = "test-slack-signing-secret"
TWILIO_AUTH_TOKEN = "test-twilio-auth-token"
TWILIO_WEBHOOK_URL = "https://clinic.example/webhooks/twilio/webhook"
ALLOWED_ORIGIN = "http://localhost:8080"  # the demo page, allowed by default

BUTTONS = [
    {"title": "How does ketamine work?", "payload": "How does ketamine work on the brain?"},
    {"title": "Side effects", "payload": "What are the side effects?"},
    {"title": "Book a free consultation", "payload": "/book_consultation"},
]


@pytest.fixture(scope="module")
def signed_assistant(tmp_path_factory):
    """A second assistant, with secrets for Facebook, Slack and Twilio."""
    unreachable = f"http://127.0.0.1:{free_port()}"
    assistant = start(
        tmp_path_factory.mktemp("channels"),
        extra_env={
            "FACEBOOK_VERIFY_TOKEN": "test-verify-token",
            "FACEBOOK_APP_SECRET": FACEBOOK_APP_SECRET,
            "FACEBOOK_PAGE_ACCESS_TOKEN": "test-page-access-token",
            "SLACK_BOT_TOKEN": "xoxb-test",
            "SLACK_SIGNING_SECRET": SLACK_SIGNING_SECRET,
            "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
            "TWILIO_AUTH_TOKEN": TWILIO_AUTH_TOKEN,
            "TWILIO_NUMBER": "+15095550100",
            "TWILIO_WEBHOOK_URL": TWILIO_WEBHOOK_URL,
            "HTTPS_PROXY": unreachable,
            "https_proxy": unreachable,
        },
    )
    yield assistant
    assistant.stop()


def post(url: str, body: bytes, headers: Dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


def tracker_events(assistant: LiveAssistant, sender_id: str) -> List[Dict]:
    # Sanic routes the raw path: %2B would not match "+15095550123"; the ids here are URL-safe.
    with urllib.request.urlopen(assistant.api(f"/conversations/{sender_id}/tracker"), timeout=30) as answer:
        return json.load(answer)["events"]


def user_texts(assistant: LiveAssistant, sender_id: str) -> List[str]:
    return [event["text"] for event in tracker_events(assistant, sender_id) if event["event"] == "user"]


def wait_for_user_text(assistant: LiveAssistant, sender_id: str, text: str) -> List[str]:
    """Slack's connector answers first and processes in the background."""
    deadline = time.monotonic() + 60
    while text not in user_texts(assistant, sender_id) and time.monotonic() < deadline:
        time.sleep(0.2)
    return user_texts(assistant, sender_id)


# ---- Facebook: X-Hub-Signature-256


def facebook_body(sender_id: str, text: str) -> bytes:
    message = {"sender": {"id": sender_id}, "recipient": {"id": "page"}, "message": {"mid": "m1", "text": text}}
    return json.dumps({"object": "page", "entry": [{"id": "page", "messaging": [message]}]}).encode()


def hub_signature(secret: str, body: bytes, algorithm=hashlib.sha256) -> str:
    return f"{algorithm().name}={hmac.new(secret.encode(), body, algorithm).hexdigest()}"


def test_facebook_takes_only_posts_signed_with_sha256(signed_assistant):
    url, sender = f"{signed_assistant.url}/webhooks/facebook/webhook", "fb-visitor"
    json_type = {"Content-Type": "application/json"}
    unsigned = facebook_body(sender, "unsigned")
    wrong_secret = facebook_body(sender, "wrong secret")
    sha1_only = facebook_body(sender, "sha1 only")
    signed = facebook_body(sender, "hello")

    assert post(url, unsigned, json_type) == 403
    assert post(url, wrong_secret, {**json_type, "X-Hub-Signature-256": hub_signature("guess", wrong_secret)}) == 403
    sha1 = hub_signature(FACEBOOK_APP_SECRET, sha1_only, hashlib.sha1)
    assert post(url, sha1_only, {**json_type, "X-Hub-Signature": sha1}) == 403
    assert post(url, signed, {**json_type, "X-Hub-Signature-256": hub_signature(FACEBOOK_APP_SECRET, signed)}) == 200

    assert user_texts(signed_assistant, sender) == ["hello"]


# ---- Slack: X-Slack-Signature over the timestamp and body (Rasa's check)


def slack_body(user: str, text: str) -> bytes:
    event = {"type": "message", "channel_type": "im", "channel": "D1", "user": user, "text": text, "ts": "1.1"}
    return json.dumps({"type": "event_callback", "event": event}).encode()


def slack_headers(secret: str, body: bytes, timestamp: int) -> Dict[str, str]:
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:".encode() + body, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": str(timestamp),
        "X-Slack-Signature": f"v0={digest}",
    }


def test_slack_takes_only_fresh_signed_requests(signed_assistant):
    url, user, now = f"{signed_assistant.url}/webhooks/slack/webhook", "U-VISITOR", int(time.time())
    unsigned = slack_body(user, "unsigned")
    wrong_secret = slack_body(user, "wrong secret")
    stale = slack_body(user, "ten minutes old")
    signed = slack_body(user, "hello")

    assert post(url, unsigned, {"Content-Type": "application/json"}) == 403
    assert post(url, wrong_secret, slack_headers("guess", wrong_secret, now)) == 403
    assert post(url, stale, slack_headers(SLACK_SIGNING_SECRET, stale, now - 600)) == 403
    assert post(url, signed, slack_headers(SLACK_SIGNING_SECRET, signed, now)) == 200

    assert wait_for_user_text(signed_assistant, user, "hello") == ["hello"]


# ---- Twilio: X-Twilio-Signature over the public webhook URL and the form


def post_sms(assistant: LiveAssistant, form: Dict[str, str], signature: str = None) -> int:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if signature is not None:
        headers["X-Twilio-Signature"] = signature
    return post(f"{assistant.url}/webhooks/twilio/webhook", urllib.parse.urlencode(form).encode(), headers)


def sms(sender: str, text: str) -> Dict[str, str]:
    return {"From": sender, "To": "+15095550100", "Body": text, "MessageSid": "SM" + "0" * 32}


def test_twilio_takes_only_signed_sms_and_numbered_replies_choose_buttons(signed_assistant):
    sender = "+15095550123"
    validator = RequestValidator(TWILIO_AUTH_TOKEN)
    own_url = f"{signed_assistant.url}/webhooks/twilio/webhook"  # not the URL Twilio signs
    wrong_url = sms(sender, "signed for another URL")
    wrong_token = sms(sender, "wrong token")
    hello, choice = sms(sender, "hello"), sms(sender, " 2 ")

    assert post_sms(signed_assistant, sms(sender, "unsigned")) == 403
    assert post_sms(signed_assistant, wrong_url, validator.compute_signature(own_url, wrong_url)) == 403
    guess = RequestValidator("guess").compute_signature(TWILIO_WEBHOOK_URL, wrong_token)
    assert post_sms(signed_assistant, wrong_token, guess) == 403
    assert post_sms(signed_assistant, hello, validator.compute_signature(TWILIO_WEBHOOK_URL, hello)) == 204
    assert user_texts(signed_assistant, sender) == ["hello"]

    bot_buttons = [event["data"]["buttons"] for event in tracker_events(signed_assistant, sender)
                   if event["event"] == "bot" and event["data"].get("buttons")]
    assert bot_buttons, "the greeting offers buttons"
    assert post_sms(signed_assistant, choice, validator.compute_signature(TWILIO_WEBHOOK_URL, choice)) == 204
    assert user_texts(signed_assistant, sender)[-1] == bot_buttons[-1][1]["payload"]


# ---- channels without secrets


@pytest.mark.parametrize("channel", ["facebook", "slack", "twilio", "telegram"])
def test_a_channel_without_secrets_refuses_every_request(live_assistant, channel):
    assert post(f"{live_assistant.url}/webhooks/{channel}/webhook", b"{}", {"Content-Type": "application/json"}) == 403
    assert f"The {channel} channel is not configured" in (live_assistant.data_dir / "rasa.log").read_text()


# ---- the website chat widget (Socket.IO)


async def connect(assistant: LiveAssistant, origin: str) -> socketio.AsyncClient:
    client = socketio.AsyncClient(reconnection=False)
    # Polling: engineio 4.15's websocket client needs aiohttp >= 3.10, Rasa 3.6 pins 3.9.
    await client.connect(assistant.url, headers={"Origin": origin}, transports=["polling"], wait_timeout=10)
    return client


async def join_session(client: socketio.AsyncClient, session_id: str) -> "asyncio.Queue[Dict]":
    """Asks for the session and returns the queue of the bot's messages to this client."""
    confirmed, bot_messages = asyncio.Event(), asyncio.Queue()
    client.on("session_confirm", lambda _: confirmed.set())
    client.on("bot_uttered", bot_messages.put_nowait)
    await client.emit("session_request", {"session_id": session_id})
    await asyncio.wait_for(confirmed.wait(), timeout=10)
    return bot_messages


async def test_widget_replies_reach_every_connection_of_the_session(live_assistant):
    first = await connect(live_assistant, ALLOWED_ORIGIN)
    second = await connect(live_assistant, ALLOWED_ORIGIN)
    session_id = uuid.uuid4().hex  # as the widget makes them
    try:
        first_inbox = await join_session(first, session_id)
        second_inbox = await join_session(second, session_id)
        await first.emit("user_uttered", {"message": "hi", "session_id": session_id})

        assert (await asyncio.wait_for(first_inbox.get(), timeout=60))["text"]
        assert (await asyncio.wait_for(second_inbox.get(), timeout=60))["text"]
    finally:
        # Together: one after the other, the second waits out the server's 25 s long-poll.
        await asyncio.gather(first.disconnect(), second.disconnect())


async def test_widget_cannot_enter_another_channels_conversation(live_assistant):
    """An SMS conversation's id is the sender's phone number: a web visitor must not be able to use it."""
    client = await connect(live_assistant, ALLOWED_ORIGIN)
    try:
        confirmed: "asyncio.Future[str]" = asyncio.get_running_loop().create_future()
        client.on("session_confirm", confirmed.set_result)
        await client.emit("session_request", {"session_id": "+15095550142"})
        given = await asyncio.wait_for(confirmed, timeout=10)
        assert given != "+15095550142" and len(given) == 32  # a fresh session instead
        await client.emit("user_uttered", {"message": "hi", "session_id": "+15095550142"})
        await asyncio.sleep(2)
        with urllib.request.urlopen(live_assistant.api("/conversations/%2B15095550142/tracker")) as response:
            assert not [e for e in json.loads(response.read())["events"] if e["event"] == "user"]
    finally:
        await client.disconnect()


async def test_widget_socket_refuses_other_origins(live_assistant):
    with pytest.raises(socketio.exceptions.ConnectionError):
        await connect(live_assistant, "https://attacker.example")


# ---- numbered options (SMS)


def test_buttons_become_numbered_options_in_one_message():
    assert numbered_options_text("How can I help?", BUTTONS) == (
        "How can I help?\n\n"
        "1. How does ketamine work?\n2. Side effects\n3. Book a free consultation\n"
        "Reply with a number."
    )


@pytest.mark.parametrize(
    "reply, payload",
    [("2", "What are the side effects?"), (" 3 \n", "/book_consultation"),
     ("0", None), ("4", None), ("-1", None), ("2.", None), ("two", None), ("²", None), ("", None)],
)
def test_a_reply_is_the_payload_of_the_button_with_its_number(reply, payload):
    assert payload_for_reply(reply, BUTTONS) == payload


async def test_numbers_refer_to_the_buttons_offered_in_the_bot_s_last_turn(domain):
    store = InMemoryTrackerStore(domain)
    greeting = [BotUttered("How can I help?", data={"buttons": BUTTONS}), BotUttered("A disclaimer.")]
    await store.save(DialogueStateTracker.from_events("greeted", greeting))
    answered = greeting + [UserUttered("hm"), BotUttered("Anything else?")]
    await store.save(DialogueStateTracker.from_events("answered", answered))

    assert await resolve_numbered_reply(store, "greeted", "2") == "What are the side effects?"
    assert await resolve_numbered_reply(store, "greeted", "7") == "7"
    assert await resolve_numbered_reply(store, "greeted", "side effects") == "side effects"
    assert await resolve_numbered_reply(store, "answered", "2") == "2"
    assert await resolve_numbered_reply(store, "new-visitor", "2") == "2"


# ---- Telegram: X-Telegram-Bot-Api-Secret-Token


def test_telegram_requires_the_secret_token():
    """The webhook end to end, and a channel without the secret: test_channel_input.py."""
    channel = SecretTokenTelegramInput.from_credentials(
        {"access_token": "123:abc", "verify": "clinic_bot", "webhook_url": "https://x", "secret_token": "s3cret"}
    )
    with_header = SimpleNamespace(headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret"})
    assert channel.is_configured() and channel.is_authentic(with_header)
    assert not channel.is_authentic(SimpleNamespace(headers={"X-Telegram-Bot-Api-Secret-Token": "guess"}))
    assert not channel.is_authentic(SimpleNamespace(headers={}))
    channel.secret_token = ""
    assert not channel.is_configured()
    assert not channel.is_authentic(SimpleNamespace(headers={}))
    assert not channel.is_authentic(SimpleNamespace(headers={"X-Telegram-Bot-Api-Secret-Token": ""}))


async def test_telegram_webhook_is_registered_with_the_secret_token():
    output = SecretTokenTelegramOutput("123456:" + "a" * 35, "s3cret")
    calls = []

    async def record(method, data):
        calls.append((method, data))
        return True

    output.request = record
    await output.set_webhook(url="https://clinic.example/webhooks/telegram/webhook")
    assert calls == [
        ("setWebhook", {"url": "https://clinic.example/webhooks/telegram/webhook", "secret_token": "s3cret"})
    ]
