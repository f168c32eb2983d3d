"""Checks for each booking form answer: pure functions, each returning a value or a re-ask reason.

Every function accepts any text (empty, huge, emoji, markup, control characters) and never raises.
A re-ask reason is a `Reason`: the English text, which it is as a string, with its Spanish twin
(`in_language` picks the visitor's).
"""
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple

import phonenumbers

from clinic.contact import EMAIL_CANDIDATE, valid_email

MAX_NAME_LENGTH = 100
MAX_ANSWER_LENGTH = 300
# A lead-in before the name, in English or Spanish ("hola, me llamo ...", "sí, soy ..."), removed.
NAME_PREFIX = re.compile(
    r"^(?:(?:hi|hello|hey|hola|buen[oa]s(?:\s+(?:d[ií]as|tardes|noches))?|buen d[ií]a)[,! ]+)*"
    r"(?:(?:yes|yeah|sure|ok|okay|s[ií]|claro)\s*[,!]\s*)?"
    r"(?:my (?:full )?name is|my names|name is|name's|i am|i'm|im|it's|its|this is|call me|it is|name:"
    r"|(?:yo )?me llamo|mi nombre (?:completo )?es|mi nombre:|nombre:|(?:yo )?soy(?: (?:la|el)(?= se[ñn]or))?)\s+",
    re.IGNORECASE,
)
# Letters of any script, with the marks, spaces and punctuation real names use.
NAME_CHARACTERS = re.compile(r"^[^\W\d_][\w\s.'’\-]*$", re.UNICODE)
# A yes or an ok before the name, alone ("ok, Fernando Ruiz", "Sí, Claudia Reyes").
NAME_YES = re.compile(r"^(?:yes|yeah|sure|ok|okay|s[ií]|claro|bueno)\s*[,!.]\s*", re.IGNORECASE)
# Words no name is made of: a question, a request or an address typed where the name was asked
# ("how much is it", "shoot me a text when you have openings", "claudia reyes arroba gmail punto com").
NOT_IN_NAMES = {
    "how", "what", "when", "where", "why", "who", "much", "is", "it", "are", "you", "your", "have", "does",
    "don't", "dont", "know", "yet", "me", "text", "call", "could", "would", "want", "need", "the", "for",
    "about", "my", "her", "his", "not", "at", "gmail", "com", "email", "phone",
    "que", "qué", "cuanto", "cuánto", "como", "cómo", "cuando", "cuándo", "donde", "dónde", "quiero", "puedo",
    "tengo", "es", "está", "arroba", "punto", "para", "mi", "correo", "telefono", "teléfono",
}  # not "an", "can", "do", "su", "a": given names, surnames and initials (An, Can, Do, Su, "John A Smith")
NOT_A_NAME = {"yes", "no", "ok", "okay", "sure", "thanks", "thank you", "hi", "hello", "hey", "bye", "none", "idk",
              "n/a", "na",
              "si", "sí", "claro", "okey", "gracias", "hola", "buenas", "bueno", "adios", "adiós", "nada", "ninguno",
              "no se", "no sé", "nel", "sale", "me llamo", "soy", "mi nombre es", "my name is"}
# A "name" made only of these words is a greeting or a courtesy ("hola buenas", "buenos días").
COURTESY_WORDS = {"hi", "hello", "hey", "good", "morning", "afternoon", "evening", "thanks", "thank", "you", "please",
                  "hola", "buenas", "buenos", "buen", "dia", "dias", "tardes", "noches", "gracias", "por", "favor"}
GREETINGS = {"hi", "hello", "hey", "good", "thanks", "thank", "hola", "buenas", "buenos", "buen", "gracias"}

HELP_WITH_CHOICES = {
    "anxiety": ("anxiety", "anxious", "panic", "worry", "social anxiety", "gad",
                "ansiedad", "ansioso", "ansiosa", "panico", "nervios", "angustia"),
    "depression": ("depression", "depressed", "depressive", "low mood", "depresion", "deprimido", "deprimida"),
    "ptsd": ("ptsd", "trauma", "post traumatic", "post-traumatic", "postraumatico", "tept", "traumas"),
    "prefer_to_say_at_consultation": ("prefer", "rather not", "at the consultation", "in person", "later", "private",
                                      "prefiero", "en la consulta", "en persona", "privado", "no decirlo"),
    "other": ("other", "something else", "else", "not sure", "unsure", "don't know", "dont know",
              "otra", "otro", "otra cosa", "algo mas", "no se", "no estoy segura", "no estoy seguro"),
}
HELP_WITH_LABELS = {
    "anxiety": "Anxiety",
    "depression": "Depression",
    "ptsd": "PTSD",
    "other": "Something else",
    "prefer_to_say_at_consultation": "I'd prefer to say at the consultation",
}
# The same labels as the Spanish buttons of utter_ask_help_with (domain.yml).
HELP_WITH_LABELS_ES = {
    "anxiety": "Ansiedad",
    "depression": "Depresión",
    "ptsd": "Estrés postraumático (PTSD)",
    "other": "Otra cosa",
    "prefer_to_say_at_consultation": "Prefiero decirlo en la consulta",
}
# Compared without accents and punctuation: "Sí, claro" is "si claro", "no, gracias" "no gracias".
YES_WORDS = {"yes", "y", "yeah", "yep", "yup", "sure", "ok", "okay", "i agree", "agree", "i consent", "consent",
             "of course", "fine", "please do", "yes please",
             "si", "sii", "sip", "simon", "claro", "claro que si", "si claro", "claro si", "por supuesto",
             "si por supuesto",
             "de acuerdo", "esta bien", "ta bien", "si esta bien", "okey", "oki", "si por favor", "acepto", "si acepto",
             "dale", "andale", "va", "sale", "adelante", "si adelante", "con gusto", "si gracias", "si puede",
             "si pueden"}
NO_WORDS = {"no", "n", "nope", "nah", "i don't", "i do not", "don't", "dont", "no thanks", "i dont",
            "no gracias", "nel", "para nada", "no acepto", "mejor no", "no por favor", "no quiero", "prefiero que no",
            "nop"}
LEADING_YES = {"yes", "yeah", "yep", "yup", "sure", "ok", "okay", "si", "sii", "sip", "simon", "claro", "okey", "dale",
               "va", "sale"}
LEADING_NO = {"no", "nope", "nah", "nel", "nop"}
BUT_WORDS = {"no", "not", "don't", "dont", "never", "but", "nunca", "pero", "sino", "tampoco", "ni"}


class Reason(str):
    """A message for the visitor: the English text (the string itself) with its Spanish twin.

    As a string it reads, compares and logs as the English text. `format` fills both languages;
    an argument that is itself a Reason (a month name, say) is filled in each language's own words.
    """

    es: str

    def __new__(cls, en: str, es: str) -> "Reason":
        reason = super().__new__(cls, en)
        reason.es = es
        return reason

    def __getnewargs__(self):  # copy and pickle keep the Spanish twin
        return (str(self), self.es)

    def format(self, *args: Any) -> "Reason":
        return Reason(str.format(self, *args), self.es.format(*(getattr(arg, "es", arg) for arg in args)))

    def in_language(self, language: Optional[str]) -> str:
        return self.es if language == "es" else str(self)


def in_language(text: Optional[str], language: Optional[str]) -> Optional[str]:
    """The text in the visitor's language: a Reason's Spanish twin for "es", any other text as it is."""
    return text.in_language(language) if isinstance(text, Reason) else text


NO_NAME = Reason("I didn't catch a name there.", "No encontré un nombre en su respuesta.")
NAME_TOO_LONG = Reason(
    f"That's longer than a name usually is (up to {MAX_NAME_LENGTH} characters, please).",
    f"Eso es más largo de lo que suele ser un nombre (máximo {MAX_NAME_LENGTH} caracteres, por favor).",
)
NOT_A_NAME_REASON = Reason(
    "That doesn't look like a name: please use letters only (hyphens and apostrophes are fine).",
    "Eso no parece un nombre: por favor use solo letras (puede usar guiones y apóstrofos).",
)
NO_CONTACT = Reason(
    "I didn't get a phone number or email there.",
    "No encontré un número de teléfono ni un correo electrónico en su respuesta.",
)
CONTACT_TOO_LONG = Reason(
    "That answer is too long for me to read a phone number or email from.",
    "Esa respuesta es demasiado larga para que yo encuentre en ella un teléfono o un correo electrónico.",
)
# A phone number or email given while another question was asked ("actually, my email is ..."): taken.
CONTACT_TAKEN = Reason("Thanks, we'll use {} to reach you.", "Gracias, usaremos {} para contactarle.")
INCOMPLETE_EMAIL = Reason(
    "That email address doesn't look complete: it should look like name@example.com.",
    "Ese correo electrónico no parece estar completo: debe verse así: nombre@example.com.",
)
BAD_PHONE = Reason(
    "That phone number doesn't look right: a US number has 10 digits, like 509-555-0147.",
    "Ese número de teléfono no parece correcto: un número de EE. UU. tiene 10 dígitos, por ejemplo 509-555-0147.",
)
WANTS_PHONE = Reason(
    "Sure, by phone: I just need the number itself, like 509-555-0147.",
    "Claro, por teléfono: solo necesito el número, por ejemplo 509-555-0147.",
)
WANTS_EMAIL = Reason(
    "Sure, by email: I just need the address itself, like name@example.com.",
    "Claro, por correo: solo necesito la dirección, por ejemplo nombre@example.com.",
)
CONTACT_NOT_FOUND = Reason(
    "I couldn't find a phone number or an email address in that.",
    "No encontré un número de teléfono ni un correo electrónico en esa respuesta.",
)
PICK_AN_OPTION = Reason(
    "Please pick one of the options, so that we don't need health details in the chat.",
    "Por favor elija una de las opciones, para no tener que dar detalles de salud en el chat.",
)


@dataclass
class Checked:
    value: Optional[str] = None
    problem: Optional[str] = None


def plain_text(text: Optional[str]) -> str:
    """Text with control characters removed and whitespace folded; never None."""
    if not isinstance(text, str):
        return ""
    visible = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C" or ch in "\t\n")
    return " ".join(visible.split())


def folded(text: Optional[str]) -> str:
    """Visible text in lower case without accents ("Sí" is "si", "teléfono" "telefono"), for matching words."""
    decomposed = unicodedata.normalize("NFD", plain_text(text).lower())
    return unicodedata.normalize("NFC", "".join(ch for ch in decomposed if not unicodedata.combining(ch)))


# Saying how to be reached without the number or address itself ("por teléfono", "by email").
PHONE_WORDS = re.compile(r"\b(?:phone|telephone|cell|mobile|telefono|tel|cel|celular|whatsapp|texto|mensaje)\b")
EMAIL_WORDS = re.compile(r"\b(?:e-?mail|mail|correo)\b")


def check_name(text: Optional[str]) -> Checked:
    # Emoji and other symbols are no part of a name ("Juan Pérez 😊").
    symbols_out = "".join(char for char in plain_text(text) if not unicodedata.category(char).startswith("S"))
    name = " ".join(symbols_out.split())
    # Every lead-in ("hi, my name is I'm ...", "ok, ..."): what is kept, checked again, is kept unchanged.
    while (shorter := NAME_YES.sub("", NAME_PREFIX.sub("", name)).strip(" .,!")) != name:
        name = shorter
    if len(name) < 2:
        return Checked(problem=NO_NAME)
    if len(name) > MAX_NAME_LENGTH:
        return Checked(problem=NAME_TOO_LONG)
    words = set(folded(name).replace(",", " ").split())
    courtesy = words <= COURTESY_WORDS and bool(words & GREETINGS)
    if (name.lower() in NOT_A_NAME or courtesy or "@" in name or not NAME_CHARACTERS.match(name)
            or set(name.lower().split()) & NOT_IN_NAMES):
        return Checked(problem=NOT_A_NAME_REASON)
    return Checked(value=name)


@dataclass
class Contact:
    phone: Optional[str] = None  # E.164
    email: Optional[str] = None
    problem: Optional[str] = None

    def shown(self, joiner: str = " and ") -> str:
        """The phone number and/or email as the visitor is shown them ("+15095550147 and kim@example.com")."""
        return joiner.join(part for part in (self.phone, self.email) if part)


def check_contact(text: Optional[str]) -> Contact:
    """A phone number (normalised to E.164, US by default) and/or an email address from one answer."""
    answer = plain_text(text)
    if not answer:
        return Contact(problem=NO_CONTACT)
    if len(answer) > MAX_ANSWER_LENGTH:
        return Contact(problem=CONTACT_TOO_LONG)
    # "ana.lopez arroba gmail punto com", as Spanish speakers may write an address
    answer = re.sub(r"\s+arroba\s+", "@", answer, flags=re.IGNORECASE)
    answer = re.sub(r"(@\S+?)\s+punto\s+(com|net|org|edu|mx|us)\b", r"\1.\2", answer, flags=re.IGNORECASE)

    email_candidates = [c.strip(".,;:()<>") for c in EMAIL_CANDIDATE.findall(answer)]
    emails = [email for email in map(valid_email, email_candidates) if email]
    if email_candidates and not emails:
        return Contact(problem=INCOMPLETE_EMAIL)

    without_emails = EMAIL_CANDIDATE.sub(" ", answer)
    phones = [
        phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
        for match in phonenumbers.PhoneNumberMatcher(without_emails, "US")
        if phonenumbers.is_valid_number(match.number)
    ]
    digits = re.sub(r"\D", "", without_emails)
    if not phones and len(digits) >= 7:
        return Contact(problem=BAD_PHONE)
    if not phones and not emails:
        wants_phone, wants_email = PHONE_WORDS.search(folded(answer)), EMAIL_WORDS.search(folded(answer))
        if bool(wants_phone) != bool(wants_email):
            return Contact(problem=WANTS_PHONE if wants_phone else WANTS_EMAIL)
        return Contact(problem=CONTACT_NOT_FOUND)
    return Contact(phone=phones[0] if phones else None, email=emails[0] if emails else None)


def check_choice(text: Optional[str], choices: Dict[str, Tuple[str, ...]]) -> Checked:
    """One of `choices` (a button's value, or a typed answer with one of its words), else PICK_AN_OPTION."""
    answer = folded(text)
    if len(answer) > MAX_ANSWER_LENGTH:
        answer = ""
    for choice, words in choices.items():
        if answer == choice or any(re.search(rf"\b{re.escape(word)}\b", answer) for word in words):
            return Checked(value=choice)
    return Checked(problem=PICK_AN_OPTION)


def check_help_with(text: Optional[str]) -> Checked:
    return check_choice(text, HELP_WITH_CHOICES)


def check_consent(text: Optional[str]) -> Optional[bool]:
    """True for yes, False for no, None when the answer is neither."""
    answer = " ".join(re.sub(r"[^\w\s'/]", " ", folded(text)).split())
    if answer in YES_WORDS:
        return True
    if answer in NO_WORDS:
        return False
    # "sí claro, pueden llamarme", "yes that's fine": a yes first and nothing that takes it back
    words = answer.split()
    if answer.startswith(("no se", "no lo se", "no estoy segur")):  # "I don't know"
        return None
    if words and words[0] in LEADING_YES and not any(word in BUT_WORDS for word in words):
        return True
    if words and words[0] in LEADING_NO and not any(word in LEADING_YES for word in words[1:]):
        return False
    return None


# ---- a change to a request already sent (booking_note_form): kept as typed, as a note for staff
MAX_NOTE_LENGTH = 500
NO_NOTE = Reason(
    "I didn't get what to change. Please tell me in a sentence, for example \"Thursday afternoon instead\" "
    "or \"my new number is 509-555-0147\".",
    "No entendí qué quiere cambiar. Por favor dígamelo en una frase, por ejemplo \"mejor el jueves en la tarde\" "
    "o \"mi número nuevo es 509-555-0147\".",
)
NOTE_TOO_LONG = Reason(
    f"That's longer than I can add as a note (up to {MAX_NOTE_LENGTH} characters). "
    "Please put the change in a sentence or two.",
    f"Eso es más largo de lo que puedo agregar como nota (máximo {MAX_NOTE_LENGTH} caracteres). "
    "Por favor escriba el cambio en una o dos frases.",
)
NOTE_UNREADABLE = Reason(
    "Some characters in that message couldn't be read. Could you type the change again?",
    "No pude leer algunos caracteres de ese mensaje. ¿Podría escribir el cambio de nuevo?",
)
# A note made of these words only ("ok", "ok thanks", "sí gracias") says nothing to change: asked again
# rather than stored (after "What would you like to change?", "ok thanks" was stored as the change).
NOT_A_NOTE_WORDS = COURTESY_WORDS | LEADING_YES | LEADING_NO | {
    "k", "thx", "ty", "so", "much", "great", "perfect", "cool", "alright", "all", "right", "got", "it", "idk",
    "nothing", "n/a", "oh", "ah", "muchas", "nada", "se", "bueno", "vale", "perfecto", "listo", "entendido"}


def check_note(text: Optional[str]) -> Checked:
    """What to change on a sent request: any sentence with letters or digits, up to MAX_NOTE_LENGTH.
    Text with characters that could not be decoded (lone surrogates, U+FFFD) is asked again rather
    than stored with pieces missing."""
    if not isinstance(text, str):
        return Checked(problem=NO_NOTE)
    if "\ufffd" in text or any("\ud800" <= ch <= "\udfff" for ch in text):
        return Checked(problem=NOTE_UNREADABLE)
    note = plain_text(text)
    if len(note) > MAX_NOTE_LENGTH:
        return Checked(problem=NOTE_TOO_LONG)
    if not any(ch.isalnum() for ch in note) or set(re.sub(r"[^\w\s/]", " ", folded(note)).split()) <= NOT_A_NOTE_WORDS:
        return Checked(problem=NO_NOTE)
    return Checked(value=note)
