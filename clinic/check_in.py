"""How a visitor answered the crisis check-in ("Are you thinking about ending your life or hurting
yourself right now?"): read the same way by the action that answers it (actions/safety.py) and by
the staff console that shows it (console/tracker.py).

- "yes": a yes, or a partly yes ("sometimes", "a veces"), whatever the NLU read;
- "unsure": "maybe", "not sure", "idk", "no sé", "tal vez". Clinicians count an unsure answer to this
  question as a yes (a positive screen), so the assistant gives the crisis response;
- "no": a clear no;
- "other": anything else (a question, a story): neither yes nor no.
"""
from typing import Optional

from clinic.words import plain_words

YES_INTENT = "affirm"
NO_INTENT = "deny"
PARTLY_YES = ("sometimes", "a little", "kind of", "kinda", "sort of", "i guess", "a veces", "un poco",
              "mas o menos")
UNSURE = ("not sure", "i dont know", "i do not know", "dont know", "idk", "dunno", "maybe", "perhaps",
          "possibly", "probably", "no se", "no lo se", "no estoy seguro", "no estoy segura", "tal vez",
          "quizas", "quiza", "a lo mejor", "puede ser", "capaz")
# "idk maybe", "maybe a little", "no se la verdad": a short answer that holds one of the phrases
# counts as it; in a longer message the phrase may be about something else.
MAX_ANSWER_WORDS = 6


def holds(words: str, phrases) -> bool:
    padded = f" {words} "
    return any(f" {phrase} " in padded for phrase in phrases)


def check_in_answer(text: Optional[str], intent: Optional[str]) -> str:
    """"yes", "unsure", "no" or "other" (module docstring)."""
    words = plain_words(text)
    short = 0 < len(words.split()) <= MAX_ANSWER_WORDS
    if intent == YES_INTENT or (short and holds(words, PARTLY_YES)):
        return "yes"
    if short and holds(words, UNSURE):
        return "unsure"
    if intent == NO_INTENT:
        return "no"
    return "other"
