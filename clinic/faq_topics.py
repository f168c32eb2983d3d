"""The FAQ topic catalogue: each topic key's button label and canonical question, in English and
Spanish (faq_topics.yml beside this file).

The action server offers topics as clarification buttons (actions/faq.py); the staff console lists
them as labels for messages the assistant did not understand and names them in its charts.
"""
from pathlib import Path
from typing import Dict

import yaml

CATALOGUE_PATH = Path(__file__).with_name("faq_topics.yml")

FAQ_TOPICS: Dict[str, Dict[str, str]] = yaml.safe_load(CATALOGUE_PATH.read_text(encoding="utf-8"))
