"""Facebook Messenger, verifying Meta's X-Hub-Signature-256 on every webhook POST."""
import hashlib
import hmac

from fbmessenger import MessengerClient
from rasa.core.channels.channel import OutputChannel
from rasa.core.channels.facebook import FacebookInput, Messenger, MessengerBot
from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse

from channels.delivery import SEND_TIMEOUT_SECONDS, failed_delivery_logged
from channels.webhook_guard import OnNewMessage, WebhookGuard, same_secret


class FailSoftMessengerClient(MessengerClient):
    """fbmessenger's client with a timeout, logging instead of raising when Facebook fails."""

    def send(self, payload, recipient_id, *args, **kwargs):
        with failed_delivery_logged("facebook"):
            return super().send(payload, recipient_id, *args, timeout=SEND_TIMEOUT_SECONDS, **kwargs)

    def send_action(self, sender_action, recipient_id, **kwargs):
        with failed_delivery_logged("facebook"):
            return super().send_action(sender_action, recipient_id, timeout=SEND_TIMEOUT_SECONDS, **kwargs)


class FailSoftMessenger(Messenger):
    def __init__(self, page_access_token: str, on_new_message: OnNewMessage) -> None:
        super().__init__(page_access_token, on_new_message)
        self.client = FailSoftMessengerClient(page_access_token)


class SignedFacebookInput(WebhookGuard, FacebookInput):
    """Rasa's facebook channel, except for the POST handler: the SHA-256 signature is checked
    instead of the SHA-1 one, and messages go through FailSoftMessenger, because Rasa's handler
    sends "mark_seen" before processing and outside its try, so a Graph API failure would
    drop the visitor's message."""

    def is_configured(self) -> bool:
        return bool(self.fb_verify and self.fb_secret and self.fb_access_token)

    def is_authentic(self, request: Request) -> bool:
        digest = hmac.new(self.fb_secret.encode(), request.body, hashlib.sha256).hexdigest()
        return same_secret(f"sha256={digest}", request.headers.get("X-Hub-Signature-256", ""))

    async def on_authentic_post(self, request: Request, on_new_message: OnNewMessage) -> HTTPResponse:
        messenger = FailSoftMessenger(self.fb_access_token, on_new_message)
        await messenger.handle(request.json, self.get_metadata(request))
        return response.text("success")

    def get_output_channel(self) -> OutputChannel:
        return MessengerBot(FailSoftMessengerClient(self.fb_access_token))
