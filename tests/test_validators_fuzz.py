"""Property tests (hypothesis) over the booking form's validators and the parsing behind them.

Whatever a visitor types (or a payload smuggles in as a slot value: numbers, lists, None, markup,
control characters, 100,000 characters), each validator must answer without raising, and either
accept a clean value (no control characters, bounded, a phone in E.164, a plausible email) or
refuse with a sentence the visitor can act on. An accepted value, validated again, is accepted
unchanged: a visitor who is asked to confirm never sees their answer change under them.
"""
import asyncio
import datetime as dt
import json
import logging
import re
import unicodedata

import phonenumbers
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from rasa_sdk.executor import CollectingDispatcher

from actions.availability import DAYS, MAX_LENGTH, PARTS, Availability, describe, parse_availability
from actions.booking import FORM_SLOTS, MAX_FAILED_ATTEMPTS, ValidateBookingForm
from actions.booking_fields import (
    HELP_WITH_CHOICES,
    MAX_ANSWER_LENGTH,
    MAX_NAME_LENGTH,
    check_consent,
    check_contact,
    check_help_with,
    check_name,
    plain_text,
)

# The hypothesis settings: small enough for the whole file to run in well under a minute on a busy
# machine, large enough to reach every branch of the validators (the examples are biased towards
# answers that are nearly valid, see `answers`).
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                       HealthCheck.too_slow])
THOROUGH = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                            HealthCheck.too_slow])

TODAY = dt.date(2026, 11, 21)
CONTROL_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn"}
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
EMAIL_LABEL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")

# ---------------------------------------------------------------- strategies

CONTROLS = [chr(c) for c in range(0x20)] + ["\x7f", "\x85", "\u200b", "\u200c", "\u200d", "\u200e", "\u200f",
                                            "\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067",
                                            "\u2068", "\u2069", "\ufeff", "\u2028", "\u2029", "\U000F0001"]
EMOJI = ["😀", "🙏🏽", "👨‍👩‍👧", "🗓️", "🇺🇸", "❤️"]
MARKUP = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<b>",
    "</i>",
    "&amp;",
    "&#x3C;",
    "javascript:alert(1)",
    "{{7*7}}",
    "${jndi:ldap://x}",
    "%s%n",
    "'; DROP TABLE consultation_requests; --",
    "1 OR 1=1",
    '" OR ""="',
    "UNION SELECT password FROM staff_users",
    "/*",
    "*/",
    "--",
    "\\",
    "%00",
    "`rm -rf /`",
]
# Pieces of real answers, so that the accepting paths are exercised as well as the refusals.
FRAGMENTS = [
    "my name is", "I'm", "im", "it's", "hi,", "Maria", "Lopez", "José", "Núñez", "Anne-Marie", "O'Neil", "李小龍",
    "Zoë", "al-Rashid", "509-555-0147", "(509) 555-0166", "+1 509 555 0147", "+44 20 7946 0958", "5095550147",
    "555-0147", "kim@example.com", "Kim.Lee+clinic@Example.org", "a@b.co", "kim@", "@example.com", "call me",
    "or", "and", "email", "monday", "Tuesdays", "weekday mornings", "next friday", "after 3pm", "before noon",
    "12/3", "Dec 3rd", "Feb 29", "tomorrow", "tonight", "between 2 and 4", "any day but friday", "9:75", "13pm",
    "anxiety", "depression", "PTSD", "something else", "rather not say", "yes", "no", "Sure!", "nope", "ok",
]
SEPARATORS = [" ", "  ", ", ", "\n", "\t", "", " - ", "."]

unicode_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200)
noisy_text = st.lists(st.sampled_from(CONTROLS + EMOJI + list("aZé李 .,'-@+()0123456789<>&;/")), max_size=120).map(
    "".join
)
mixed = st.lists(
    st.one_of(st.sampled_from(FRAGMENTS), st.sampled_from(SEPARATORS), st.sampled_from(CONTROLS),
              st.sampled_from(EMOJI), st.sampled_from(MARKUP), unicode_text.map(lambda s: s[:12])),
    min_size=1, max_size=12,
).map("".join)
long_text = st.builds(
    lambda unit, count, tail: (unit * count)[:100_000] + tail,
    st.sampled_from(["x", "monday ", "\x00", "😀", "5", " ", "<b>", "Maria ", "a@", "\u202e"]),
    st.integers(min_value=MAX_ANSWER_LENGTH - 5, max_value=100_000),
    st.sampled_from(["", "monday", "509-555-0147", "Maria Lopez", "yes"]),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | unicode_text.map(lambda s: s[:20]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
wrong_types = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2 ** 70), max_value=2 ** 70), st.floats(), json_values,
    st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=3),
    st.dictionaries(st.sampled_from(["value", "text", "entity"]), st.sampled_from(FRAGMENTS), min_size=1),
)
texts = st.one_of(mixed, mixed, unicode_text, noisy_text, st.sampled_from(MARKUP + FRAGMENTS), long_text)
answers = st.one_of(texts, wrong_types)


# ---------------------------------------------------------------- helpers


def clean(text: str) -> bool:
    """No control, format, private-use or unassigned characters, and no surrounding whitespace."""
    return not any(unicodedata.category(ch) in CONTROL_CATEGORIES for ch in text) and text == text.strip()


def plausible_email(address: str) -> bool:
    if not address.isascii() or address != address.lower() or len(address) > 254 or address.count("@") != 1:
        return False
    local, domain = address.split("@")
    labels = domain.split(".")
    return (
        0 < len(local) <= 64 and not re.search(r"[\s<>()\[\],;:\"\\]", local)
        and len(labels) >= 2 and all(EMAIL_LABEL.match(label) for label in labels)
        and re.fullmatch(r"[a-z]{2,}", labels[-1]) is not None
    )


def e164(phone: str) -> bool:
    return bool(E164.match(phone)) and phonenumbers.is_valid_number(phonenumbers.parse(phone))


def validate(make_tracker, domain, slot, value, failures=None):
    """The form's validation of one answer, as the action server runs it after Rasa's slot extraction.

    Returns (slot values set, messages to the visitor)."""
    dispatcher = CollectingDispatcher()
    slots = {"requested_slot": slot}
    if failures is not None:
        slots["booking_failed_attempts"] = failures
    tracker = make_tracker(
        text=value if isinstance(value, str) else json.dumps(value, default=str),
        slots=slots, active_loop="booking_form", extracted={slot: value},
    )
    events = asyncio.run(ValidateBookingForm().run(dispatcher, tracker, domain.as_dict()))
    values = {event["name"]: event["value"] for event in events if event.get("event") == "slot"}
    return values, dispatcher.messages


def assert_clear_refusal(messages, domain):
    """At least one message, each a non-empty sentence or one of the domain's responses."""
    assert messages, "a refused answer must tell the visitor why"
    for message in messages:
        text, response = message.get("text"), message.get("response")
        assert (isinstance(text, str) and 10 <= len(text) <= 300) or response in domain.responses, message


def assert_accepted_value_is_clean(slot, values):
    value = values[slot]
    if slot == "full_name":
        assert isinstance(value, str) and 2 <= len(value) <= MAX_NAME_LENGTH and clean(value)
        assert not set(value) & set("<>&@;\"`{}$%\\/") and not value[0].isdigit()
    elif slot == "contact":
        phone, email = values["phone"], values["email"]
        assert phone or email
        assert phone is None or e164(phone), phone
        assert email is None or plausible_email(email), email
        assert value == " and ".join(part for part in (phone, email) if part)
    elif slot == "preferred_times":
        assert isinstance(value, str) and 1 <= len(value) <= MAX_LENGTH and clean(value)
        assert " " * 2 not in value
        windows = values["preferred_times_parsed"]
        assert isinstance(windows, list) and json.loads(json.dumps(windows)) == windows
    elif slot == "help_with":
        assert value in HELP_WITH_CHOICES
    elif slot == "consent_to_contact":
        assert value is True


DERIVED = {"contact": ("phone", "email"), "preferred_times": ("preferred_times_parsed",)}


# ---------------------------------------------------------------- the form's validators


def contact_taken_instead(slot, values, messages) -> bool:
    """A phone number or email given at another question: taken (said so), the question asked again, no failed try."""
    if slot == "contact" or not values.get("contact"):
        return False
    assert values[slot] is None and (values.get("phone") or values.get("email")) in messages[0]["text"]
    assert "booking_failed_attempts" not in values and len(messages) == 1
    return True



@pytest.mark.parametrize("slot", FORM_SLOTS)
@FAST
@given(value=answers)
@example(value="\x00")
@example(value="")
@example(value=None)
@example(value=["Maria Lopez"])
@example(value={"text": "509-555-0147"})
@example(value=2 ** 64)
@example(value="<script>alert('monday')</script>")
@example(value="x" * 100_000)
def test_a_validator_accepts_a_clean_value_or_refuses_with_a_reason(make_tracker, domain, slot, value):
    values, messages = validate(make_tracker, domain, slot, value)
    assert slot in values
    if value is None:  # emptied by an action (a request starting afresh), not answered: nothing to refuse
        assert values[slot] is None and messages == [] and not values.get("booking_failed_attempts")
        return
    if contact_taken_instead(slot, values, messages):
        return
    if values[slot] is None:
        assert_clear_refusal(messages, domain)
        assert all(values.get(name) is None for name in DERIVED.get(slot, ()))
        assert values["booking_failed_attempts"] == {slot: 1}
        return
    assert messages == [], "an accepted answer is not followed by a complaint"
    assert_accepted_value_is_clean(slot, values)
    assert values["booking_failed_attempts"] == {}

    again, messages = validate(make_tracker, domain, slot, values[slot])
    assert again[slot] == values[slot] and messages == [], "validated again, an accepted answer stays as it is"
    assert all(again[name] == values[name] for name in DERIVED.get(slot, ()))


@pytest.mark.parametrize("slot", FORM_SLOTS)
@FAST
@given(
    value=st.one_of(st.sampled_from(FRAGMENTS + MARKUP), mixed),
    failures=st.one_of(
        st.dictionaries(st.sampled_from(FORM_SLOTS), st.integers(min_value=0, max_value=MAX_FAILED_ATTEMPTS + 2),
                        max_size=5),
        st.none(),
    ),
)
def test_repeated_refusals_offer_a_person_instead_of_looping(make_tracker, domain, slot, value, failures):
    values, messages = validate(make_tracker, domain, slot, value, failures)
    if contact_taken_instead(slot, values, messages):
        return
    if values[slot] is not None:
        assert_accepted_value_is_clean(slot, values)
        assert slot not in values["booking_failed_attempts"]
        return
    tries = (failures or {}).get(slot, 0) + 1
    if tries >= MAX_FAILED_ATTEMPTS:
        assert values["booking_stuck"] is True and values["booking_failed_attempts"] == {}
        assert values.get("requested_slot") is None, "the form ends; the summary offers a person"
    else:
        assert_clear_refusal(messages, domain)
        assert values["booking_failed_attempts"][slot] == tries


# ---------------------------------------------------------------- the pure checks behind them


@THOROUGH
@given(value=answers)
@example(value="a\x00b\u202ec\u200bd\n\te\x7f")
def test_plain_text_removes_control_characters_and_folds_whitespace(value):
    text = plain_text(value)
    assert isinstance(text, str) and clean(text) and "  " not in text
    assert plain_text(text) == text
    if not isinstance(value, str):
        assert text == ""


@THOROUGH
@given(value=answers)
@example(value="my name is im Bob")
@example(value="hi, I'm . it's Zoë")
def test_check_name_gives_a_name_or_a_reason(value):
    checked = check_name(value)
    assert (checked.value is None) != (checked.problem is None)
    if checked.problem:
        assert isinstance(checked.problem, str) and checked.problem.strip()
    else:
        assert 2 <= len(checked.value) <= MAX_NAME_LENGTH and clean(checked.value)
        assert check_name(checked.value).value == checked.value


@THOROUGH
@given(value=answers)
@example(value="x" * (MAX_ANSWER_LENGTH - 10) + "@example.com")
@example(value="a" * 70 + "@example.com")
@example(value="kim@-example-.com")
@example(value="kim@example.c0m")
def test_check_contact_gives_e164_and_plausible_emails_or_a_reason(value):
    contact = check_contact(value)
    if contact.problem:
        assert contact.phone is None and contact.email is None and contact.problem.strip()
        return
    assert contact.phone or contact.email
    assert contact.phone is None or e164(contact.phone), contact.phone
    assert contact.email is None or plausible_email(contact.email), contact.email
    shown = " and ".join(part for part in (contact.phone, contact.email) if part)
    again = check_contact(shown)
    assert (again.phone, again.email, again.problem) == (contact.phone, contact.email, None)


@THOROUGH
@given(value=answers)
def test_check_help_with_maps_to_a_category_or_asks_to_pick(value):
    checked = check_help_with(value)
    assert (checked.value in HELP_WITH_CHOICES and checked.problem is None) or (
        checked.value is None and checked.problem.strip())
    if checked.value:
        assert check_help_with(checked.value).value == checked.value


@THOROUGH
@given(value=answers)
def test_check_consent_is_yes_no_or_neither(value):
    assert check_consent(value) in (True, False, None)
    if not isinstance(value, str):
        assert check_consent(value) is None


def valid_window(window, today) -> bool:
    keys = set(window)
    if not keys <= {"date", "days", "part_of_day", "after", "before"} or ("date" in keys) == ("days" in keys):
        return False
    if "date" in window:
        date = dt.date.fromisoformat(window["date"])
        if not today <= date <= today + dt.timedelta(days=366):
            return False
    else:
        days = window["days"]
        if not days or not set(days) <= set(DAYS) or len(set(days)) != len(days):
            return False
    if "part_of_day" in window and window["part_of_day"] not in PARTS:
        return False
    clocks = [window[key] for key in ("after", "before") if key in window]
    if not all(re.fullmatch(r"(?:[01][0-9]|2[0-3]):[0-5][0-9]", clock) for clock in clocks):
        return False
    return window.get("after", "") < window.get("before", "99")


@THOROUGH
@given(
    text=st.one_of(texts, wrong_types),
    today=st.one_of(st.just(TODAY), st.dates(min_value=dt.date(2001, 1, 1), max_value=dt.date(2098, 12, 31))),
)
@example(text="feb 29", today=dt.date(2028, 2, 29))
@example(text="dec 31 after 11pm", today=dt.date(2026, 12, 31))
@example(text="1/1/2027 or 12/31", today=dt.date(2026, 12, 31))
def test_parse_availability_reads_or_explains_and_never_falls_over(text, today, caplog):
    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="actions.availability"):
        result = parse_availability(text, today)
    assert isinstance(result, Availability)
    assert not caplog.records, "read by the rules, not by the last-resort fallback"
    if result.problem is not None:
        assert result.windows == [] and isinstance(result.problem, str) and 10 <= len(result.problem) <= 200
    else:
        assert json.loads(json.dumps(result.windows)) == result.windows
        assert all(valid_window(window, today) for window in result.windows), result.windows
        assert isinstance(describe(result.windows), str) and describe(result.windows)


@THOROUGH
@given(windows=st.one_of(json_values, st.lists(st.dictionaries(
    st.sampled_from(["date", "days", "part_of_day", "after", "before"]),
    st.one_of(json_values, st.sampled_from(["2026-12-03", "2026-02-30", "15:00", "99:99", "morning"]),
              st.lists(st.sampled_from(list(DAYS) + ["xyz"]), max_size=8)),
), max_size=4)))
def test_describe_never_raises_on_any_stored_windows(windows):
    summary = describe(windows)
    assert isinstance(summary, str) and summary
