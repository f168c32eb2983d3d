"""The website chat widget's Socket.IO channel.

Accepts only the origins in ALLOWED_ORIGINS; refuses connections and messages from an IP address
over RATE_LIMIT_IP_PER_MINUTE, telling the visitor so with the crisis line (a connection refused
carries it as its error's message, a message refused gets it as a bot message); ignores (with a
log line) messages that are not of the widget's shape.
With several Rasa replicas, SOCKETIO_MESSAGE_QUEUE_URL (Redis) carries a message sent by any replica
(a staff reply through the HTTP API, say) to the replica that holds the visitor's socket.
"""
import asyncio
import logging
import re
from typing import Any, Dict, Optional, Tuple

from rasa.core.channels.channel import InputChannel
from rasa.core.channels.socketio import SocketIOInput
from sanic import Blueprint
from socketio import AsyncRedisManager, AsyncServer
from socketio.exceptions import ConnectionRefusedError

from channels.rest import TOO_MANY_FROM_THIS_ADDRESS, message_problem
from channels.webhook_guard import OnNewMessage
from rasa_server.rate_limit import client_ip, ip_limiter
from rasa_server.refusals import refusal

logger = logging.getLogger(__name__)

# A web chat session is the random 32-hex-digit id the widget (or Rasa) makes. Any other id is
# refused: it could name another channel's conversation, such as an SMS sender's phone number.
SESSION_ID = re.compile(r"[0-9a-f]{32}")


def is_session_id(value: Any) -> bool:
    return isinstance(value, str) and SESSION_ID.fullmatch(value) is not None


def message_event_problem(data: Any) -> Optional[str]:
    """What is wrong with a widget message event, or None when it is well formed."""
    return message_problem(data, "session_id", is_session_id, "the widget's 32 hex digits")


class OriginCheckedSocketIOInput(SocketIOInput):
    """Credentials as Rasa's socketio channel, plus `allowed_origins` (comma-separated)."""

    allowed_origins: Tuple[str, ...] = ()
    message_queue_url: str = ""

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> InputChannel:
        channel = super().from_credentials(credentials)
        origins = (credentials or {}).get("allowed_origins") or ""
        channel.allowed_origins = tuple(origin.strip() for origin in origins.split(",") if origin.strip())
        channel.message_queue_url = ((credentials or {}).get("message_queue_url") or "").strip()
        return channel

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        blueprint = super().blueprint(on_new_message)
        server = self.sio
        # Rasa creates the server with cors_allowed_origins=[], which turns engineio's origin check
        # off; None (no origins configured) means same-origin only.
        server.eio.cors_allowed_origins = list(self.allowed_origins) or None

        def enter_room(sid: str, room: str, namespace: Optional[str] = None) -> asyncio.Task:
            # Rasa 3.6 calls enter_room without await, but the installed python-socketio (5.18)
            # made it a coroutine: un-awaited, the session's room is never joined and the replies,
            # sent to that room, reach nobody.
            return asyncio.ensure_future(AsyncServer.enter_room(server, sid, room, namespace))

        server.enter_room = enter_room
        if self.message_queue_url:
            # Before the first connection, when python-socketio initialises its client manager.
            manager = AsyncRedisManager(self.message_queue_url)
            manager.set_server(server)
            server.manager = manager
        self._guard_handlers(server)
        return blueprint

    def _guard_handlers(self, server: AsyncServer) -> None:
        handlers = server.handlers[self.namespace or "/"]
        rasa_connect, rasa_disconnect = handlers["connect"], handlers["disconnect"]
        rasa_session_request, rasa_message = handlers["session_request"], handlers[self.user_message_evt]
        addresses: Dict[str, str] = {}

        async def connect(sid: str, environ: Dict, auth: Optional[Dict] = None) -> bool:
            address = client_ip(environ["sanic.request"])
            if not ip_limiter().allow(address):
                logger.warning("Refused a chat connection: %s is over its rate limit.", address)
                raise ConnectionRefusedError(refusal(TOO_MANY_FROM_THIS_ADDRESS))
            addresses[sid] = address
            return await rasa_connect(sid, environ, auth)

        async def disconnect(sid: str) -> None:
            addresses.pop(sid, None)
            await rasa_disconnect(sid)

        async def session_request(sid: str, data: Any) -> None:
            session_id = data.get("session_id") if isinstance(data, dict) else None
            if session_id is not None and not is_session_id(session_id):
                logger.warning("Socket %s asked for a malformed session id: a new session is made instead.", sid)
                data = {}
            await rasa_session_request(sid, data if isinstance(data, dict) else {})

        async def message(sid: str, data: Any) -> None:
            problem = message_event_problem(data)
            if problem:
                logger.warning("Ignored a chat message event from socket %s: %s.", sid, problem)
                return
            if not ip_limiter().allow(addresses.get(sid, sid)):
                logger.warning("Refused a chat message from socket %s: its address is over its rate limit.", sid)
                await server.emit(
                    self.bot_message_evt, {"text": refusal(TOO_MANY_FROM_THIS_ADDRESS)}, room=sid, namespace=self.namespace
                )
                return
            await rasa_message(sid, data)

        handlers.update({
            "connect": connect, "disconnect": disconnect, "session_request": session_request, self.user_message_evt: message,
        })
