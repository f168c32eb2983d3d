""""Cancel" inside a form says exactly what it stops: one question for every form, with each form's
own noun ("Stop this call-back request? Nothing has been sent to the clinic yet.").

A form that wants it registers its noun in FORM_NOUNS (English and Spanish, with the demonstrative:
"esta solicitud de llamada" agrees with its noun) and adds two rules in its own rules file:

    - rule: stop during the call-back form asks what it stops
      condition:
      - active_loop: callback_form
      steps:
      - intent: stop
      - action: action_ask_confirm_stop_form

    - rule: stopping the call-back form confirmed
      condition:
      - active_loop: callback_form
      steps:
      - action: action_ask_confirm_stop_form
      - intent: affirm
      - action: <the form's own stop action, which says what was stopped>
      - active_loop: null

(and one for "deny" that goes back to the form). The booking form keeps its own question,
utter_ask_confirm_cancel_booking, which reads the same for a first request and also names the earlier
request while a new one for someone else is filled in; tests/test_after_booking.py checks that both
say the same. A form without a noun gets "this form".
"""
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.language import visitor_language


@dataclass(frozen=True)
class FormNoun:
    en: str  # "this call-back request"
    es: str  # "esta solicitud de llamada"

    def in_language(self, language: Optional[str]) -> str:
        return self.es if language == "es" else self.en


FORM_NOUNS: Dict[str, FormNoun] = {
    "booking_form": FormNoun("this consultation request", "esta solicitud de consulta"),
    "callback_form": FormNoun("this call-back request", "esta solicitud de llamada"),
}
ANY_FORM = FormNoun("this form", "este formulario")


def form_noun(form: Optional[str], language: Optional[str]) -> str:
    return FORM_NOUNS.get(form or "", ANY_FORM).in_language(language)


class ActionAskConfirmStopForm(Action):
    """Asks "Stop this <form's request>? Nothing has been sent to the clinic yet." (Yes / No)."""

    def name(self) -> Text:
        return "action_ask_confirm_stop_form"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        noun = form_noun(tracker.active_loop_name, visitor_language(tracker))
        dispatcher.utter_message(response="utter_ask_confirm_stop_form", form_noun=noun)
        return []
