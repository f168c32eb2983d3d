"""Slack, relying on Rasa's signing-secret check (signature and a timestamp within 5 minutes)."""
from typing import Any, Optional

from rasa.core.channels.channel import OutputChannel
from rasa.core.channels.slack import SlackBot, SlackInput
from sanic.request import Request

from channels.delivery import SEND_TIMEOUT_SECONDS, failed_delivery_logged
from channels.webhook_guard import WebhookGuard


class FailSoftSlackBot(SlackBot):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.client.timeout = SEND_TIMEOUT_SECONDS

    async def _post_message(self, channel: str, **kwargs: Any) -> None:
        with failed_delivery_logged("slack"):
            await super()._post_message(channel, **kwargs)


class SignedSlackInput(WebhookGuard, SlackInput):
    def _validate_credentials(self) -> None:
        """Rasa refuses to start without a signing secret; here the channel refuses requests instead."""

    def is_configured(self) -> bool:
        return bool(self.slack_token and self.slack_signing_secret)

    def is_authentic(self, request: Request) -> bool:
        return self.is_request_from_slack_authentic(request)

    def get_output_channel(self, channel: Optional[str] = None, thread_id: Optional[str] = None) -> OutputChannel:
        return FailSoftSlackBot(self.slack_token, channel or self.slack_channel, thread_id, self.proxy)
