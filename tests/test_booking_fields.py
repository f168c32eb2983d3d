"""Each booking answer: accepted when real, re-asked with a clear reason when not, never a crash."""
import pytest

from actions.booking_fields import check_consent, check_contact, check_help_with, check_name

HOSTILE = [
    "",
    "   ",
    None,
    "x" * 5000,
    "<script>alert('hi')</script>",
    "Robert'); DROP TABLE consultation_requests;--",
    "😀😀😀",
    "\x00\x07\x1b[31m",
    "javascript:alert(1)",
]


@pytest.mark.parametrize(
    "typed, expected",
    [
        ("Maria Lopez", "Maria Lopez"),
        ("my name is José Núñez", "José Núñez"),
        ("it's Anne-Marie O'Neil", "Anne-Marie O'Neil"),
        ("  priya   natarajan ", "priya natarajan"),
        ("李小龍", "李小龍"),
        ("yes, my name is Kim Lee", "Kim Lee"),
        ("me llamo Ana Lopez", "Ana Lopez"),
        ("soy Juan Perez", "Juan Perez"),
        ("mi nombre es Ana López Hernández", "Ana López Hernández"),
        ("Ana López Hernández", "Ana López Hernández"),
        ("mi nombre completo es Francisco Javier Soto", "Francisco Javier Soto"),
        ("hola buenas tardes, me llamo Rosa Isela", "Rosa Isela"),
        ("Sí, soy Guadalupe Ramírez", "Guadalupe Ramírez"),
        ("claro! yo me llamo Chuy Martinez", "Chuy Martinez"),
        ("nombre: Karla Soto", "Karla Soto"),
        ("soy la señora Consuelo Ortiz", "señora Consuelo Ortiz"),
        ("Soyla Ramirez", "Soyla Ramirez"),  # a name that starts like "soy" is kept whole
        ("Dia", "Dia"),
        ("ok, Fernando Ruiz", "Fernando Ruiz"),
        ("Si, Claudia Reyes", "Claudia Reyes"),
        ("Juan Pérez 😊", "Juan Pérez"),
        ("John A Smith", "John A Smith"),
        ("An Do", "An Do"),
        ("María de los Ángeles García", "María de los Ángeles García"),
    ],
)
def test_real_names_are_accepted(typed, expected):
    assert check_name(typed).value == expected


@pytest.mark.parametrize(
    "typed", HOSTILE + ["yes", "kim@example.com", "509-555-0147", "sí", "Claro", "hola", "hola buenas", "Buenos días",
                        "gracias", "me llamo", "soy", "how much is it", "shoot me a text when you have openings",
                        "I don't know yet", "claudia reyes arroba gmail punto com", "que datos necesitan"]
)
def test_non_names_get_a_reason(typed):
    checked = check_name(typed)
    assert checked.value is None and checked.problem


@pytest.mark.parametrize(
    "typed, phone, email",
    [
        ("509-555-0147", "+15095550147", None),
        ("5095550147", "+15095550147", None),
        ("(509) 555-0147", "+15095550147", None),
        ("+1 509 555 0147", "+15095550147", None),
        ("Kim@Example.com", None, "kim@example.com"),
        ("both: 509.555.0166 and kim@example.org", "+15095550166", "kim@example.org"),
        ("mi cel es 509-555-0147", "+15095550147", None),
        ("marqueme al (509) 555 0147 despues de las 5", "+15095550147", None),
        ("509 555 0166 y mi correo es Ana.Lopez@example.com", "+15095550166", "ana.lopez@example.com"),
        ("ana.lopez arroba example.com", None, "ana.lopez@example.com"),
        ("mi correo es ana arroba example punto com", None, "ana@example.com"),
    ],
)
def test_phone_numbers_normalised_to_e164_and_emails_checked(typed, phone, email):
    contact = check_contact(typed)
    assert (contact.phone, contact.email, contact.problem) == (phone, email, None)


@pytest.mark.parametrize(
    "typed, reason_word",
    [
        ("kim@", "email"),
        ("kim@example", "email"),
        ("509-555", "phone"),
        ("555-0147-99999-1", "phone"),
        ("call me maybe", "phone number or an email"),
        ("by phone or email", "phone number or an email"),
        ("by phone", "the number itself"),
        ("email is best", "the address itself"),
    ],
)
def test_bad_contact_details_say_what_was_wrong(typed, reason_word):
    contact = check_contact(typed)
    assert contact.phone is None and contact.email is None
    assert reason_word in contact.problem


@pytest.mark.parametrize(
    "typed, reason",
    [
        ("por telefono", "Claro, por teléfono: solo necesito el número, por ejemplo 509-555-0147."),
        ("por teléfono porfa", "Claro, por teléfono: solo necesito el número, por ejemplo 509-555-0147."),
        ("al cel", "Claro, por teléfono: solo necesito el número, por ejemplo 509-555-0147."),
        ("mejor por correo", "Claro, por correo: solo necesito la dirección, por ejemplo nombre@example.com."),
        ("no tengo", "No encontré un número de teléfono ni un correo electrónico en esa respuesta."),
        ("509-555-01", "Ese número de teléfono no parece correcto: un número de EE. UU. tiene 10 dígitos, "
                       "por ejemplo 509-555-0147."),
    ],
)
def test_spanish_contact_answers_without_the_details_get_a_spanish_reason(typed, reason):
    contact = check_contact(typed)
    assert contact.phone is None and contact.email is None and contact.problem.es == reason


@pytest.mark.parametrize("typed", HOSTILE)
def test_hostile_contact_input_is_refused_cleanly(typed):
    assert check_contact(typed).problem


@pytest.mark.parametrize(
    "typed, choice",
    [
        ("anxiety", "anxiety"),
        ("mostly depression", "depression"),
        ("PTSD", "ptsd"),
        ("something else", "other"),
        ("i'd rather say at the consultation", "prefer_to_say_at_consultation"),
        ("ansiedad", "anxiety"),
        ("ataques de pánico", "anxiety"),
        ("Depresión", "depression"),
        ("estres postraumatico", "ptsd"),
        ("otra cosa", "other"),
        ("otra, luego le explico por telefono", "other"),
        ("prefiero decirlo en la consulta", "prefer_to_say_at_consultation"),
        ("prefiero no decirlo aqui", "prefer_to_say_at_consultation"),
    ],
)
def test_help_with_maps_to_a_category_not_free_text(typed, choice):
    assert check_help_with(typed).value == choice


@pytest.mark.parametrize("typed", HOSTILE)
def test_help_with_rejects_anything_else(typed):
    assert check_help_with(typed).problem


@pytest.mark.parametrize(
    "typed, answer",
    [
        ("yes", True), ("Sure!", True), ("yes, please", True), ("no", False), ("nope", False), ("maybe", None),
        ("si", True), ("Sí.", True), ("claro", True), ("¡Claro que sí!", True), ("sí, por favor", True),
        ("de acuerdo", True), ("está bien", True), ("no gracias", False), ("No, gracias", False), ("nel", False),
        ("mejor no", False), ("tal vez", None), ("no sé", None),
        ("si claro, pueden llamarme", True), ("yes that's fine", True), ("sí pero no me llamen", None),
        ("sure, but only by email", None), ("no, no me contacten", False), ("no... bueno sí", None),
    ],
)
def test_consent_needs_a_clear_yes_or_no(typed, answer):
    assert check_consent(typed) is answer
