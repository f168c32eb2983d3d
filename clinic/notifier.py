"""Tells staff that a consultation request or a call-back request arrived, that a visitor is
waiting for a person in the chat, or that a visitor may be in crisis, without sending any of the
visitor's data.

Email is not a secure channel: a notification carries a reference code and/or a link to the staff
console only (never a name, a phone number, an address or anything the visitor wrote), and staff
read the request or the conversation itself in the console. Urgent ones (a call-back asked for
after a crisis response, a handoff after a crisis) say so in the subject and are sent high priority.
"""
import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Mapping, Optional, Protocol, Sequence, Tuple

from clinic import settings

logger = logging.getLogger(__name__)


class Notifier(Protocol):
    def notify_new_request(self, reference_code: str) -> None:
        """Tells staff that the request `reference_code` is waiting. May raise; callers log it."""

    def notify_crisis(self, conversation_link: str, tier: str) -> None:
        """Tells staff at once that a visitor may be in crisis. May raise; callers log it."""

    def notify_callback(self, reference_code: str, conversation_link: str, urgent: bool) -> None:
        """Tells staff that a visitor asked to be called back. May raise; callers log it."""

    def notify_handoff(self, conversation_link: str, reason: str, urgent: bool) -> None:
        """Tells staff that a visitor is waiting for a person in the chat. May raise; callers log it."""


NO_DETAILS = "This alert deliberately contains none of the visitor's words or details."


def callback_alert(reference_code: str, conversation_link: str, urgent: bool) -> Tuple[str, str]:
    """(subject, body) of a call-back alert: the reference code and the conversation's link only."""
    if urgent:
        subject = f"URGENT call-back request {reference_code}: call as soon as possible"
        first = ("URGENT: a visitor asked to be called back as soon as possible, after being shown "
                 "the crisis lines (911, 988) while nobody could join the chat.")
    else:
        subject = f"New call-back request {reference_code}"
        first = "A visitor asked to be called back."
    body = (
        f"{first}\n\nReference: {reference_code}\n\n"
        f"The request is in the staff console; the conversation: {conversation_link}\n\n{NO_DETAILS}\n"
    )
    return subject, body


def handoff_alert(conversation_link: str, reason: str, urgent: bool) -> Tuple[str, str]:
    """(subject, body) of the alert for a visitor waiting for a person: the link and why, nothing said."""
    subject = (
        "URGENT: a chat visitor in crisis is waiting for staff" if urgent else "A chat visitor is waiting for staff"
    )
    body = (
        f"{'URGENT: after a crisis response, a' if urgent else 'A'} visitor is waiting for a person in the chat "
        f"(reason: {reason}). Take over from the live queue in the staff console.\n\n"
        f"Open the conversation: {conversation_link}\n\n{NO_DETAILS}\n"
    )
    return subject, body


def crisis_alert_text(conversation_link: str, tier: str) -> str:
    return (
        "URGENT: a visitor to the chat may be in crisis "
        f"({tier}). They were shown the crisis lines (911, 988).\n\n"
        f"Open the conversation in the staff console: {conversation_link}\n\n"
        f"{NO_DETAILS}\n"
    )


class LogNotifier:
    """The default: a line in the action server's log."""

    def notify_new_request(self, reference_code: str) -> None:
        logger.info("New consultation request %s", reference_code)

    def notify_crisis(self, conversation_link: str, tier: str) -> None:
        logger.warning("STAFF ALERT: possible crisis (%s): %s", tier, conversation_link)

    def notify_callback(self, reference_code: str, conversation_link: str, urgent: bool) -> None:
        self._alert(callback_alert(reference_code, conversation_link, urgent)[0], conversation_link, urgent)

    def notify_handoff(self, conversation_link: str, reason: str, urgent: bool) -> None:
        self._alert(handoff_alert(conversation_link, reason, urgent)[0] + f" ({reason})", conversation_link, urgent)

    @staticmethod
    def _alert(subject: str, conversation_link: str, urgent: bool) -> None:
        logger.log(logging.WARNING if urgent else logging.INFO, "STAFF ALERT: %s: %s", subject, conversation_link)


class SmtpNotifier:
    """Sends one short email per request to the clinic's staff address(es)."""

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        recipients: Sequence[str],
        username: Optional[str] = None,
        password: Optional[str] = None,
        starttls: bool = False,
        timeout: float = 10,
    ) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self.recipients = list(recipients)
        self.username = username
        self.password = password
        self.starttls = starttls
        self.timeout = timeout

    def build_message(self, subject: str, body: str) -> EmailMessage:
        message = EmailMessage()
        message["Subject"] = subject
        message["From"] = self.sender
        message["To"] = ", ".join(self.recipients)
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid()
        message.set_content(body)
        return message

    def send(self, message: EmailMessage) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(message)

    def notify_new_request(self, reference_code: str) -> None:
        self.send(
            self.build_message(
                f"New consultation request {reference_code}",
                "A visitor has asked for a free consultation.\n\n"
                f"Reference: {reference_code}\n\n"
                "Open the staff console to see the request and contact the visitor.\n"
                "This email deliberately contains no personal or health information.\n",
            )
        )

    def send_urgent(self, message: EmailMessage) -> None:
        message["Importance"] = "high"
        message["X-Priority"] = "1"
        self.send(message)

    def notify_crisis(self, conversation_link: str, tier: str) -> None:
        self.send_urgent(
            self.build_message("URGENT: a chat visitor may be in crisis", crisis_alert_text(conversation_link, tier))
        )

    def notify_callback(self, reference_code: str, conversation_link: str, urgent: bool) -> None:
        message = self.build_message(*callback_alert(reference_code, conversation_link, urgent))
        self.send_urgent(message) if urgent else self.send(message)

    def notify_handoff(self, conversation_link: str, reason: str, urgent: bool) -> None:
        message = self.build_message(*handoff_alert(conversation_link, reason, urgent))
        self.send_urgent(message) if urgent else self.send(message)


def notifier_from_env(environ: Optional[Mapping[str, str]] = None) -> Notifier:
    """NOTIFIER=log (default) or smtp, from the typed settings (clinic/settings.py): the process
    environment, or `environ` alone when given. A wrong or incomplete setup raises SettingsError
    naming the variable: the services check the settings at start, so it stops them there."""
    typed = settings.current() if environ is None else settings.load(environ)
    if typed.NOTIFIER is settings.NotifierKind.log:
        return LogNotifier()
    return SmtpNotifier(
        host=typed.SMTP_HOST,
        port=typed.SMTP_PORT,
        sender=typed.SMTP_FROM,
        recipients=typed.smtp_recipients,
        username=typed.SMTP_USERNAME or None,
        password=typed.secret("SMTP_PASSWORD"),
        starttls=typed.SMTP_STARTTLS,
    )
