"""Webhook authenticity for Rasa's messaging connectors.

A channel whose secrets are empty stays registered (credentials.yml lists every channel) but
answers 403 to every webhook request. A configured channel answers 403 to a POST whose signature
does not verify, before Rasa's handler sees it.
"""
import hmac
import logging
from typing import Any, Awaitable, Callable, Optional

from rasa.core.channels.channel import UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

logger = logging.getLogger(__name__)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


class WebhookGuard:
    """Mixin, listed before the Rasa InputChannel it guards."""

    def is_configured(self) -> bool:
        raise NotImplementedError

    def is_authentic(self, request: Request) -> bool:
        raise NotImplementedError

    async def on_authentic_post(self, request: Request, on_new_message: OnNewMessage) -> Optional[HTTPResponse]:
        """Runs after the signature check; a response returned here replaces Rasa's handler."""
        return None

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        if not self.is_configured():
            logger.warning("The %s channel is not configured (its secrets are empty): its webhook answers 403.", self.name())
            return _refusing_blueprint(self.name())
        blueprint = super().blueprint(on_new_message)

        @blueprint.on_request
        async def check_signature(request: Request) -> Optional[HTTPResponse]:
            if request.method != "POST":
                return None
            if not self.is_authentic(request):
                logger.warning("Refused a %s webhook request: missing or invalid signature.", self.name())
                return response.text("Invalid signature.", status=403)
            return await self.on_authentic_post(request, on_new_message)

        return blueprint


def same_secret(expected: str, given: str) -> bool:
    """Constant-time comparison of any header value (Sanic keeps undecodable bytes as surrogates)."""
    return hmac.compare_digest(expected.encode(), given.encode(errors="surrogateescape"))


def _refusing_blueprint(channel: str) -> Blueprint:
    blueprint = Blueprint(f"{channel}_not_configured")

    @blueprint.route("/webhook", methods=["GET", "POST"])
    async def refuse(_: Request) -> HTTPResponse:
        return response.text(f"The {channel} channel is not configured.", status=403)

    return blueprint
