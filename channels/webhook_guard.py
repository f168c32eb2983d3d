"""Webhook authenticity for Rasa's messaging connectors.

A channel whose secrets are empty stays registered (credentials.env.yml lists every channel) but
answers 403 to every webhook request. A configured channel answers 403 to a POST whose signature
does not verify, before Rasa's handler sees it. Its messages go to rasa_server.message_guard
(a ChannelHandler is the `on_new_message` the Rasa connector gets).
"""
import hmac
import logging
from typing import Any, Awaitable, Callable, Dict, Optional

from rasa.core.channels.channel import UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from rasa_server.message_guard import ChannelHandler

logger = logging.getLogger(__name__)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]
PostCheck = Callable[[Request, OnNewMessage], Awaitable[Optional[HTTPResponse]]]


def checked_blueprint(rasa_blueprint: Callable[[OnNewMessage], Blueprint], check_post: PostCheck) -> Blueprint:
    """A Rasa connector's blueprint whose messages go to rasa_server.message_guard (a ChannelHandler
    in place of Rasa's on_new_message), and whose POST requests `check_post` sees first: a response
    it returns replaces Rasa's handler."""
    handler = ChannelHandler()
    blueprint = handler.serving(rasa_blueprint(handler))

    @blueprint.on_request
    async def check(request: Request) -> Optional[HTTPResponse]:
        return await check_post(request, handler) if request.method == "POST" else None

    return blueprint


class WebhookGuard:
    """Mixin, listed before the Rasa InputChannel it guards."""

    # A credential the channel takes besides Rasa's own, kept as the attribute of that name ("" when unset).
    extra_credential: Optional[str] = None

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> Any:
        channel = super().from_credentials(credentials)  # type: ignore[misc]
        if cls.extra_credential:
            setattr(channel, cls.extra_credential, (credentials or {}).get(cls.extra_credential) or "")
        return channel

    def is_configured(self) -> bool:
        raise NotImplementedError

    def is_authentic(self, request: Request) -> bool:
        raise NotImplementedError

    async def on_authentic_post(self, request: Request, on_new_message: OnNewMessage) -> Optional[HTTPResponse]:
        """Runs after the signature check; a response returned here replaces Rasa's handler."""
        return None

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        if not self.is_configured():
            logger.warning(
                "The %s channel is not configured (its secrets are empty): its webhook answers 403.", self.name()
            )
            return _refusing_blueprint(self.name())

        async def check_signature(request: Request, handler: OnNewMessage) -> Optional[HTTPResponse]:
            if not self.is_authentic(request):
                logger.warning("Refused a %s webhook request: missing or invalid signature.", self.name())
                return response.text("Invalid signature.", status=403)
            return await self.on_authentic_post(request, handler)

        return checked_blueprint(super().blueprint, check_signature)


def same_secret(expected: str, given: str) -> bool:
    """Constant-time comparison of any header value (Sanic keeps undecodable bytes as surrogates)."""
    return hmac.compare_digest(expected.encode(), given.encode(errors="surrogateescape"))


def _refusing_blueprint(channel: str) -> Blueprint:
    blueprint = Blueprint(f"{channel}_not_configured")

    @blueprint.route("/webhook", methods=["GET", "POST"])
    async def refuse(_: Request) -> HTTPResponse:
        return response.text(f"The {channel} channel is not configured.", status=403)

    return blueprint
