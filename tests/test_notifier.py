"""Staff notifications: a new request is announced by its reference code only, and never costs the request."""
import logging
from email import message_from_bytes
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller

from clinic.notifier import LogNotifier, SmtpNotifier, notifier_from_env
from clinic.settings import SettingsError
from clinic.storage import RequestStore
from tests.test_storage import free_port, make_request, visitor_details

SMTP_ENV = {
    "NOTIFIER": "smtp",
    "SMTP_HOST": "mail.clinic.example",
    "SMTP_FROM": "assistant@clinic.example",
    "SMTP_TO": "front-desk@clinic.example, nurse@clinic.example",
}


class Mailbox:
    """aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted"


@pytest.fixture(name="mail_server")
def mail_server_fixture():
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, mailbox
    controller.stop()


@pytest.fixture
def make_store(tmp_path):
    stores = []

    def build(notifier) -> RequestStore:
        store = RequestStore(f"sqlite:///{tmp_path / 'clinic.db'}", tmp_path / "booking_spool.jsonl", notifier)
        stores.append(store)
        return store

    yield build
    for store in stores:
        store.close()


class BrokenNotifier:
    def __init__(self) -> None:
        self.calls = 0

    def notify_new_request(self, reference_code: str) -> None:
        self.calls += 1
        raise RuntimeError("notification service down")


def test_staff_get_an_email_with_the_reference_code_and_none_of_the_visitors_details(mail_server, make_store):
    controller, mailbox = mail_server
    notifier = SmtpNotifier(
        controller.hostname, controller.port, "assistant@clinic.example", ["front-desk@clinic.example"]
    )
    request = make_request()

    reference_code = make_store(notifier).submit(request).reference_code

    [envelope] = mailbox.envelopes
    assert envelope.rcpt_tos == ["front-desk@clinic.example"]
    message = message_from_bytes(envelope.content, policy=default_policy)
    body = message.get_content()
    assert reference_code in message["Subject"] and reference_code in body
    assert "staff console" in body
    raw = envelope.content.decode("utf-8", errors="replace")
    for detail in visitor_details(request):
        assert detail not in raw


def test_the_log_notifier_names_the_new_request(caplog):
    with caplog.at_level(logging.INFO, logger="clinic.notifier"):
        LogNotifier().notify_new_request("TC-ABC234")

    assert "New consultation request TC-ABC234" in caplog.text


@pytest.mark.parametrize("environ", [{}, {"NOTIFIER": "log"}, {"NOTIFIER": "  LOG "}])
def test_new_requests_are_logged_by_default(environ):
    assert isinstance(notifier_from_env(environ), LogNotifier)


def test_smtp_is_configured_from_the_environment():
    notifier = notifier_from_env({**SMTP_ENV, "SMTP_PORT": "2525", "SMTP_USERNAME": "bot", "SMTP_PASSWORD": "pw"})

    assert isinstance(notifier, SmtpNotifier)
    assert (notifier.host, notifier.port, notifier.sender) == ("mail.clinic.example", 2525, "assistant@clinic.example")
    assert notifier.recipients == ["front-desk@clinic.example", "nurse@clinic.example"]
    assert (notifier.username, notifier.password, notifier.starttls) == ("bot", "pw", True)
    defaults = notifier_from_env({**SMTP_ENV, "SMTP_STARTTLS": "false"})
    assert (defaults.port, defaults.starttls, defaults.username) == (587, False, None)


@pytest.mark.parametrize(
    "change, named",
    [
        ({"SMTP_HOST": ""}, "SMTP_HOST"),
        ({"SMTP_TO": ""}, "SMTP_TO"),
        ({"SMTP_TO": " , "}, "SMTP_TO"),
        ({"SMTP_FROM": ""}, "SMTP_FROM"),
        ({"SMTP_PORT": "five-eight-seven"}, "SMTP_PORT"),
        ({"SMTP_STARTTLS": "maybe"}, "SMTP_STARTTLS"),
        ({"NOTIFIER": "pager"}, "NOTIFIER"),
    ],
)
def test_a_misconfigured_notifier_is_refused_with_the_variables_name(change, named):
    """A wrong notifier setting is a wrong setting like any other: the services check them all at start
    (clinic/settings.py) and stop there, naming it, rather than run without telling staff."""
    environ = {**SMTP_ENV, "SMTP_PASSWORD": "do-not-log-me", **change}

    with pytest.raises(SettingsError) as raised:
        notifier_from_env(environ)

    assert named in str(raised.value)
    assert "do-not-log-me" not in str(raised.value)


def test_an_unreachable_mail_server_does_not_lose_or_duplicate_the_request(make_store, caplog):
    notifier = SmtpNotifier("127.0.0.1", free_port(), "assistant@clinic.example", ["front-desk@clinic.example"])
    store = make_store(notifier)

    first = store.submit(make_request())
    second = store.submit(make_request())

    assert (first.stored, first.duplicate) == (True, False)
    assert second.reference_code == first.reference_code and second.duplicate
    assert [record.reference_code for record in store.list_requests()] == [first.reference_code]
    assert f"Could not notify staff of consultation request {first.reference_code}" in caplog.text


def test_a_failing_notifier_during_replay_keeps_the_row_and_empties_the_spool(tmp_path):
    notifier = BrokenNotifier()
    database_dir = tmp_path / "database"
    spool_path = tmp_path / "booking_spool.jsonl"
    store = RequestStore(f"sqlite:///{database_dir / 'clinic.db'}", spool_path, notifier)
    try:
        spooled = store.submit(make_request())
        database_dir.mkdir()

        assert store.replay_spool() == 1
        assert store.replay_spool() == 0

        assert [record.reference_code for record in store.list_requests()] == [spooled.reference_code]
        assert spool_path.read_bytes() == b""
        assert notifier.calls == 1
    finally:
        store.close()
