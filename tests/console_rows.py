"""Stand-ins for the console tests: rows of Rasa's events table, and a Rasa API that records calls."""
import json


def event(sender, kind, timestamp, **data):
    """One row of Rasa's `events` table, its data serialised as Rasa does (json.dumps, ASCII escapes)."""
    intent = (data.get("parse_data") or {}).get("intent", {}).get("name")
    return dict(sender_id=sender, type_name=kind, timestamp=timestamp, intent_name=intent,
                action_name=data.get("name"), data=json.dumps({"event": kind, "timestamp": timestamp, **data}))


def user(sender, text, intent, timestamp, channel="rest"):
    return event(sender, "user", timestamp, text=text, input_channel=channel,
                 parse_data={"intent": {"name": intent, "confidence": 0.31}})


class RecordingRasa:
    """Stands in for clinic.rasa_api.RasaApi: records what would have been sent to the assistant."""

    def __init__(self):
        self.calls = []

    def say(self, conversation_id, text, sender_name):
        self.calls.append(("say", conversation_id, text, sender_name))

    def resume_with_intent(self, conversation_id, intent):
        self.calls.append(("resume", conversation_id, intent))
