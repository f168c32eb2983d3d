"""The FAQ topic catalogue: each topic key's button label and canonical question, in English and
Spanish (faq_topics.yml beside this file).

The action server offers topics as clarification buttons (actions/faq.py); the staff console lists
them as labels for messages the assistant did not understand and names them in its charts.
FAQ_FOLLOW_UPS (faq_follow_ups.yml) says what a short follow-up question means after each answer
(actions/follow_up.py).
"""
from pathlib import Path
from typing import Dict

import yaml

CATALOGUE_PATH = Path(__file__).with_name("faq_topics.yml")

FAQ_TOPICS: Dict[str, Dict[str, str]] = yaml.safe_load(CATALOGUE_PATH.read_text(encoding="utf-8"))

FOLLOW_UPS_PATH = Path(__file__).with_name("faq_follow_ups.yml")

# follow-up intent -> {"default": answer, "after": {topic in play: answer}} (faq_follow_ups.yml)
FAQ_FOLLOW_UPS: Dict[str, Dict] = yaml.safe_load(FOLLOW_UPS_PATH.read_text(encoding="utf-8"))
