"""The website chat widget's Socket.IO channel, accepting only the origins in ALLOWED_ORIGINS."""
import asyncio
from typing import Any, Dict, Optional, Tuple

from rasa.core.channels.channel import InputChannel
from rasa.core.channels.socketio import SocketIOInput
from sanic import Blueprint
from socketio import AsyncServer

from channels.webhook_guard import OnNewMessage


class OriginCheckedSocketIOInput(SocketIOInput):
    """Credentials as Rasa's socketio channel, plus `allowed_origins` (comma-separated)."""

    allowed_origins: Tuple[str, ...] = ()

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> InputChannel:
        channel = super().from_credentials(credentials)
        origins = (credentials or {}).get("allowed_origins") or ""
        channel.allowed_origins = tuple(origin.strip() for origin in origins.split(",") if origin.strip())
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
        return blueprint
