"""Responses in the visitor's language: the first response variation whose conditions all hold.

Rasa 3.6 picks at random among every conditional variation whose conditions hold. The domain's
bilingual responses are ordered instead: a Spanish variation for "price not set" ([language es,
clinic_price_info null]) comes before the general Spanish one ([language es]) and before the
English "price not set" one ([clinic_price_info null]); all three hold for a Spanish visitor while
the clinic has not set a price, and only the first is right. This generator takes the first.

It is Rasa's own extension point for response generation (endpoints.yml, `nlg: type:`), and
overrides the one method that chooses a variation; tests/test_rasa_server.py pins that method's
upstream source so that an upgrade of Rasa that changes it fails loudly.
"""
from typing import Any, Dict, Optional, Text

import numpy as np
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.core.nlg.generator import ResponseVariationFilter
from rasa.shared.constants import RESPONSE_CONDITION
from rasa.shared.core.domain import Domain
from rasa.utils.endpoints import EndpointConfig


class FirstMatchResponseGenerator(TemplatedNaturalLanguageGenerator):
    def __init__(self, endpoint_config: Optional[EndpointConfig] = None, domain: Optional[Domain] = None) -> None:
        super().__init__((domain or Domain.empty()).responses)

    def _random_response_for(
        self, utter_action: Text, output_channel: Text, filled_slots: Dict[Text, Any]
    ) -> Optional[Dict[Text, Any]]:
        if utter_action not in self.responses:
            return None
        suitable = ResponseVariationFilter(self.responses).responses_for_utter_action(
            utter_action, output_channel, filled_slots
        )
        conditional = [variation for variation in suitable if variation.get(RESPONSE_CONDITION)]
        if conditional:
            return conditional[0]
        return np.random.choice(suitable) if suitable else None
