"""The clinic profile: what a visitor is told about the clinic, and what is never shown."""
from pathlib import Path

import pytest
from rasa_sdk.events import SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.session import ActionGreet, ActionSessionStart
from clinic.profile import clean_value, load_profile, profile_slot_values

PROJECT_DIR = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    "value",
    [
        "",
        "   ",
        None,
        "PLACEHOLDER: phone",
        "TODO",
        "<street address>",
        "Each infusion is $___",
        ["a"],
        {"a": 1},
        "x" * 501,
    ],
)
def test_unset_or_placeholder_values_are_never_shown(value):
    assert clean_value(value) is None


def test_real_values_are_kept_with_whitespace_tidied():
    assert clean_value("  (509) 555-0100 \n") == "(509) 555-0100"


def test_shipped_profile_has_no_clinic_details_yet():
    """The shipped file carries placeholders only: no invented phone, address or price reaches a visitor."""
    values = profile_slot_values(load_profile(PROJECT_DIR / "clinic_profile.yml"))
    assert set(values) >= {"clinic_price_info", "clinic_contact_details", "clinic_office_hours"}
    assert all(value is None for value in values.values())


def test_contact_details_join_only_what_is_set(tmp_path):
    profile = tmp_path / "profile.yml"
    profile.write_text('street_address: "1 Test Way, Kennewick, WA"\nphone: "(509) 555-0100"\noffice_hours: ""\n')
    values = profile_slot_values(load_profile(profile))
    assert values["clinic_contact_details"] == "1 Test Way, Kennewick, WA; Phone: (509) 555-0100"
    assert values["clinic_office_hours"] is None


@pytest.mark.parametrize("content", ["{not: [valid yaml", "- just\n- a list\n", ""])
def test_broken_or_missing_profile_means_no_details_not_a_crash(tmp_path, content):
    profile = tmp_path / "profile.yml"
    profile.write_text(content)
    assert profile_slot_values(load_profile(profile))["clinic_price_info"] is None
    assert load_profile(tmp_path / "missing.yml") == {}


async def test_session_start_fills_clinic_slots_and_keeps_carried_slots(
    tmp_path, monkeypatch, dispatcher, make_tracker, domain
):
    profile = tmp_path / "profile.yml"
    profile.write_text('price_info: "Infusions are $400 each."\n')
    monkeypatch.setenv("CLINIC_PROFILE_PATH", str(profile))
    tracker = make_tracker(slots={"crisis_flagged": True, "disclaimer_shown": True})

    events = await ActionSessionStart().run(dispatcher, tracker, domain.as_dict())

    assert events[0] == SessionStarted()
    assert SlotSet("clinic_price_info", "Infusions are $400 each.") in events
    assert SlotSet("clinic_contact_details", None) in events
    assert SlotSet("crisis_flagged", True) in events
    # a new session shows the disclaimer again
    assert events.index(SlotSet("disclaimer_shown", False)) > events.index(SlotSet("disclaimer_shown", True))


async def test_first_greeting_shows_the_disclaimer_once(dispatcher, make_tracker, domain):
    events = await ActionGreet().run(dispatcher, make_tracker(), domain.as_dict())
    assert [m["response"] for m in dispatcher.messages] == ["utter_greet", "utter_disclaimer"]
    assert events == [SlotSet("disclaimer_shown", True)]

    again = CollectingDispatcher()
    await ActionGreet().run(again, make_tracker(slots={"disclaimer_shown": True}), domain.as_dict())
    assert [m["response"] for m in again.messages] == ["utter_greet_again"]

