"""Twilio SMS: X-Twilio-Signature verified, and buttons as numbered options."""
from typing import Any, Dict, List

from rasa.core.channels.channel import OutputChannel
from rasa.core.channels.twilio import TwilioInput, TwilioOutput
from sanic.request import Request
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator

from channels.delivery import SEND_TIMEOUT_SECONDS, failed_delivery_logged
from channels.numbered_options import numbered_options_text, resolve_numbered_reply
from channels.webhook_guard import OnNewMessage, WebhookGuard


class NumberedOptionsTwilioOutput(TwilioOutput):
    def __init__(self, account_sid: str, auth_token: str, twilio_number: str) -> None:
        super().__init__(account_sid, auth_token, twilio_number)
        self.http_client = TwilioHttpClient(timeout=SEND_TIMEOUT_SECONDS)

    async def _send_message(self, message_data: Dict[str, Any]) -> Any:
        with failed_delivery_logged("twilio"):
            return await super()._send_message(message_data)

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: List[Dict[str, Any]], **kwargs: Any
    ) -> None:
        body = numbered_options_text(text, buttons)
        await self._send_message({"to": recipient_id, "from_": self.twilio_number, "body": body})


class SignedTwilioInput(WebhookGuard, TwilioInput):
    """Credentials as Rasa's twilio channel, plus `webhook_url`: the public URL Twilio calls and
    signs (behind a proxy the URL the server sees differs); empty: the request's own URL."""

    extra_credential = "webhook_url"
    webhook_url = ""

    def is_configured(self) -> bool:
        return bool(self.account_sid and self.auth_token and self.twilio_number)

    def is_authentic(self, request: Request) -> bool:
        signature = request.headers.get("X-Twilio-Signature", "")
        return RequestValidator(self.auth_token).validate(self.webhook_url or request.url, request.form, signature)

    async def on_authentic_post(self, request: Request, on_new_message: OnNewMessage) -> None:
        reply, sender = request.form.get("Body"), request.form.get("From")
        if reply and sender:
            tracker_store = request.app.ctx.agent.tracker_store
            request.form["Body"] = [await resolve_numbered_reply(tracker_store, sender, reply)]

    def get_output_channel(self) -> OutputChannel:
        return NumberedOptionsTwilioOutput(self.account_sid, self.auth_token, self.twilio_number)
