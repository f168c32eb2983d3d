"""The FAQ topic catalogue: each topic key's button label and canonical question, in English and
Spanish (faq_topics.yml beside this file).

The action server offers topics as clarification buttons (actions/faq.py); the staff console lists
them as labels for messages the assistant did not understand and names them in its charts.
FAQ_FOLLOW_UPS (faq_follow_ups.yml) says what a short follow-up question means after each answer;
follow_up_answer reads it for the action server (actions/follow_up.py) and the NLU evaluation.
"""
from pathlib import Path
from typing import Dict, Optional

import yaml

CATALOGUE_PATH = Path(__file__).with_name("faq_topics.yml")

FAQ_TOPICS: Dict[str, Dict[str, str]] = yaml.safe_load(CATALOGUE_PATH.read_text(encoding="utf-8"))

FOLLOW_UPS_PATH = Path(__file__).with_name("faq_follow_ups.yml")

# follow-up intent -> {"default": answer, "after": {topic in play: answer}} (faq_follow_ups.yml)
FAQ_FOLLOW_UPS: Dict[str, Dict] = yaml.safe_load(FOLLOW_UPS_PATH.read_text(encoding="utf-8"))


def follow_up_answer(follow_up: str, topic: Optional[str]) -> str:
    """The response that answers a follow-up intent after a topic (utter_faq/<key> or utter_...);
    with no topic in play (None), its default."""
    meanings = FAQ_FOLLOW_UPS[follow_up]
    answer = (meanings.get("after") or {}).get(topic) or meanings["default"]
    return answer if answer.startswith("utter_") else f"utter_faq/{answer}"
