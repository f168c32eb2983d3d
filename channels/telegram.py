"""Telegram, requiring X-Telegram-Bot-Api-Secret-Token on every update.

Telegram signs nothing; the secret token it sends back (registered with the webhook) is the only
proof that an update comes from Telegram. So the channel is enabled only with TELEGRAM_SECRET_TOKEN
set, like the other channels with their secrets: without it, every request is refused (403).
"""
import asyncio
from typing import Any

from aiogram.utils.exceptions import TelegramAPIError
from rasa.core.channels.telegram import TelegramInput, TelegramOutput
from rasa.shared.exceptions import RasaException
from sanic.request import Request

from channels.webhook_guard import WebhookGuard, same_secret


class SecretTokenTelegramOutput(TelegramOutput):
    def __init__(self, access_token: str, secret_token: str) -> None:
        super().__init__(access_token)
        self.secret_token = secret_token

    async def set_webhook(self, url: str, **kwargs: Any) -> bool:
        """Registers the secret that Telegram then sends with every update; aiogram 2.15 predates
        the parameter (Bot API 6.1), hence the raw API call."""
        return await self.request("setWebhook", {"url": url, "secret_token": self.secret_token, **kwargs})


class SecretTokenTelegramInput(WebhookGuard, TelegramInput):
    """Credentials as Rasa's telegram channel, plus `secret_token` (required)."""

    extra_credential = "secret_token"
    secret_token = ""

    def is_configured(self) -> bool:
        return bool(self.access_token and self.verify and self.webhook_url and self.secret_token)

    def is_authentic(self, request: Request) -> bool:
        if not self.secret_token:
            return False
        return same_secret(self.secret_token, request.headers.get("X-Telegram-Bot-Api-Secret-Token", ""))

    def get_output_channel(self) -> TelegramOutput:
        """As Rasa's, which registers the webhook at startup, but registering the secret too:
        without it Telegram would stop sending the header and every update would be refused."""
        channel = SecretTokenTelegramOutput(self.access_token, self.secret_token)
        try:
            asyncio.run(channel.set_webhook(url=self.webhook_url))
        except TelegramAPIError as error:
            raise RasaException(f"Failed to set channel webhook: {error}") from error
        return channel
