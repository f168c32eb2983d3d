"""A small client for the Rasa server's HTTP API, used to speak into a conversation from outside it
(the handoff watchdog; staff replies from the console). The API token never leaves the server side.
"""
import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Dict, List

from clinic import settings

logger = logging.getLogger(__name__)
TIMEOUT_SECONDS = 10


class RasaApiError(Exception):
    pass


class RasaApi:
    def __init__(self, base_url: str, token: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token

    def _post(self, path: str, body: Any, **query: str) -> Any:
        url = f"{self.base_url}{path}?" + urllib.parse.urlencode({**query, "token": self.token})
        request = urllib.request.Request(
            url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
                return json.loads(response.read() or b"null")
        except (urllib.error.URLError, OSError, ValueError) as error:
            raise RasaApiError(f"{path}: {error}") from error

    @staticmethod
    def _conversation(conversation_id: str) -> str:
        return "/conversations/" + urllib.parse.quote(conversation_id, safe="")

    def append_events(self, conversation_id: str, events: List[Dict[str, Any]], deliver: bool = True) -> None:
        """Adds events; with `deliver`, bot messages among them reach the visitor's channel."""
        query = {"execute_side_effects": "true", "output_channel": "latest"} if deliver else {}
        self._post(self._conversation(conversation_id) + "/tracker/events", events, **query)

    def say(self, conversation_id: str, text: str, sender_name: str) -> None:
        """A staff message, delivered live and stored with who sent it."""
        event = {"event": "bot", "text": text, "metadata": {"staff": sender_name}}
        self.append_events(conversation_id, [event])

    def resume_with_intent(self, conversation_id: str, intent: str) -> None:
        """Un-pauses the bot and lets it react to an external intent (e.g. EXTERNAL_handoff_ended).

        The pause stopped the bot before it recorded `action_listen`; without it the next turn
        would not match any rule, so it is added with the resume.
        """
        resume = [{"event": "resume"}, {"event": "action", "name": "action_listen"}]
        self.append_events(conversation_id, resume, deliver=False)
        self._post(self._conversation(conversation_id) + "/trigger_intent", {"name": intent}, output_channel="latest")


def rasa_api_from_settings() -> RasaApi:
    return RasaApi(settings.get("RASA_URL"), settings.rasa_auth_token())
