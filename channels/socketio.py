"""The website chat widget's Socket.IO channel.

Accepts only the origins in ALLOWED_ORIGINS; refuses connections and messages from an IP address
over RATE_LIMIT_IP_PER_MINUTE, telling the visitor so with the crisis line (a connection refused
carries it as its error's message, in English and Spanish; a message refused gets it as a bot
message, in the language the widget's metadata gives: rasa_server.refusals.metadata_language, both
languages when it gives none); ignores (with a
log line) messages that are not of the widget's shape.
With several Rasa replicas, SOCKETIO_MESSAGE_QUEUE_URL (Redis) carries a message sent by any replica
(a staff reply through the HTTP API, say) to the replica that holds the visitor's socket.

The channel builds its own Socket.IO server and handlers (its `blueprint`, the extension point Rasa
gives channels) instead of changing those of Rasa's SocketIOInput after the fact. They are Rasa
3.6's, with these differences:
- the origin check is on (Rasa passes cors_allowed_origins=[], which turns engineio's check off);
- the message queue is the server's client manager, given when the server is made;
- a session's room is joined with `await`: Rasa 3.6 calls enter_room without it, but the installed
  python-socketio (5.18) made it a coroutine, so the room was never joined and the replies, sent to
  that room, reached nobody (RasaHQ/rasa#13027, fix proposed in RasaHQ/rasa#13168);
- connections and messages are checked and limited first, and messages go to
  rasa_server.message_guard (ChannelHandler).
rasa_server/extensions.py pins the source of Rasa's SocketIOInput.blueprint and of python-socketio's
AsyncServer.enter_room, so that an upgrade of either is re-checked against this.
"""
import json
import logging
import re
import uuid
from typing import Any, Dict, Optional, Tuple

import rasa.core.channels.socketio as rasa_socketio
from rasa.core.channels.channel import InputChannel, UserMessage, decode_bearer_token
from rasa.core.channels.socketio import SocketBlueprint, SocketIOInput, SocketIOOutput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncRedisManager, AsyncServer
from socketio.exceptions import ConnectionRefusedError

from channels.rest import message_problem
from channels.webhook_guard import OnNewMessage
from rasa_server.message_guard import ChannelHandler
from rasa_server.rate_limit import client_ip, ip_limiter
from rasa_server.refusals import TOO_MANY_FROM_THIS_ADDRESS, metadata_language, refusal_in

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
        handler = ChannelHandler()  # in place of Rasa's on_new_message: rasa_server.message_guard
        server = AsyncServer(
            async_mode="sanic",
            # None (no origins configured): same-origin only.
            cors_allowed_origins=list(self.allowed_origins) or None,
            client_manager=AsyncRedisManager(self.message_queue_url) if self.message_queue_url else None,
        )
        self.sio = server  # as Rasa's: get_output_channel sends through it
        blueprint = handler.serving(
            SocketBlueprint(server, self.socketio_path, "socketio_webhook", rasa_socketio.__name__)
        )

        @blueprint.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        self._add_handlers(server, handler)
        return blueprint

    def _accepts(self, auth: Optional[Dict]) -> bool:
        """Rasa's check of a connection: with `jwt_key` set, a valid token in the auth data."""
        if not self.jwt_key:
            return True
        token = auth.get("token") if auth else None
        return bool(token and decode_bearer_token(token, self.jwt_key, self.jwt_algorithm))

    def _add_handlers(self, server: AsyncServer, on_new_message: OnNewMessage) -> None:
        namespace = self.namespace
        addresses: Dict[str, str] = {}

        @server.on("connect", namespace=namespace)
        async def connect(sid: str, environ: Dict, auth: Optional[Dict] = None) -> bool:
            address = client_ip(environ["sanic.request"])
            if not ip_limiter().allow(address):
                logger.warning("Refused a chat connection: %s is over its rate limit.", address)
                raise ConnectionRefusedError(refusal_in(TOO_MANY_FROM_THIS_ADDRESS))
            if not self._accepts(auth):
                return False
            addresses[sid] = address
            logger.debug("User %s connected to socketIO endpoint.", sid)
            return True

        @server.on("disconnect", namespace=namespace)
        async def disconnect(sid: str, reason: Any = None) -> None:
            addresses.pop(sid, None)
            logger.debug("User %s disconnected from socketIO endpoint.", sid)

        @server.on("session_request", namespace=namespace)
        async def session_request(sid: str, data: Any) -> None:
            session_id = data.get("session_id") if isinstance(data, dict) else None
            if session_id is not None and not is_session_id(session_id):
                logger.warning("Socket %s asked for a malformed session id: a new session is made instead.", sid)
                session_id = None
            session_id = session_id or uuid.uuid4().hex
            if self.session_persistence:
                await server.enter_room(sid, session_id, namespace=namespace)
            await server.emit("session_confirm", session_id, room=sid, namespace=namespace)
            logger.debug("User %s connected to socketIO endpoint.", sid)

        @server.on(self.user_message_evt, namespace=namespace)
        async def message(sid: str, data: Any) -> None:
            problem = message_event_problem(data)
            if problem:
                logger.warning("Ignored a chat message event from socket %s: %s.", sid, problem)
                return
            metadata = data.get(self.metadata_key, {})
            if isinstance(metadata, str):
                metadata = json.loads(metadata)
            if not ip_limiter().allow(addresses.get(sid, sid)):
                logger.warning("Refused a chat message from socket %s: its address is over its rate limit.", sid)
                language = metadata_language(metadata)
                await server.emit(
                    self.bot_message_evt, {"text": refusal_in(TOO_MANY_FROM_THIS_ADDRESS, language)},
                    room=sid, namespace=namespace,
                )
                return
            await on_new_message(UserMessage(
                data.get("message", ""),
                SocketIOOutput(server, self.bot_message_evt),
                data["session_id"] if self.session_persistence else sid,
                input_channel=self.name(),
                metadata=metadata,
            ))
