"""Reading a visitor's preferred consultation days and times, typed in their own words."""
import datetime as dt
import json
import logging
import random

import pytest

from actions.availability import Availability, describe, parse_availability

TODAY = dt.date(2026, 11, 21)  # a Saturday
ALL = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS = ALL[:5]


def read(text):
    return parse_availability(text, TODAY)


@pytest.mark.parametrize("text, windows", [
    ("weekday mornings", [{"days": WEEKDAYS, "part_of_day": "morning"}]),
    ("next Tuesday after 3", [{"date": "2026-11-24", "after": "15:00"}]),
    ("tuesdays or thursdays in the evening", [{"days": ["tue", "thu"], "part_of_day": "evening"}]),
    ("tomorrow afternoon", [{"date": "2026-11-22", "part_of_day": "afternoon"}]),
    ("today", [{"date": "2026-11-21"}]),
    ("this friday", [{"date": "2026-11-27"}]),
    ("monday", [{"days": ["mon"]}]),
    ("Mondays", [{"days": ["mon"]}]),
    ("weekends", [{"days": ["sat", "sun"]}]),
    ("any day but friday", [{"days": ["mon", "tue", "wed", "thu", "sat", "sun"]}]),
    ("mon-wed", [{"days": ["mon", "tue", "wed"]}]),
    ("from Monday to Wednesday", [{"days": ["mon", "tue", "wed"]}]),
    ("12/3", [{"date": "2026-12-03"}]),
    ("Dec 3rd", [{"date": "2026-12-03"}]),
    ("3rd of December", [{"date": "2026-12-03"}]),
    ("December 3, 2026", [{"date": "2026-12-03"}]),
    ("after 5pm", [{"days": ALL, "after": "17:00"}]),
    ("before noon", [{"days": ALL, "before": "12:00"}]),
    ("mornings", [{"days": ALL, "part_of_day": "morning"}]),
    ("tonight", [{"date": "2026-11-21", "part_of_day": "evening"}]),
    ("day after tomorrow", [{"date": "2026-11-23"}]),
    ("between 2 and 4", [{"days": ALL, "after": "14:00", "before": "16:00"}]),
    ("weekdays 9 to 5", [{"days": WEEKDAYS, "after": "09:00", "before": "17:00"}]),
    ("2-4pm on fridays", [{"days": ["fri"], "after": "14:00", "before": "16:00"}]),
    ("weekdays except wednesday", [{"days": ["mon", "tue", "thu", "fri"]}]),
    ("anytime except mornings", [{"days": ALL, "part_of_day": "afternoon"}, {"days": ALL, "part_of_day": "evening"}]),
    ("mornings, weekdays", [{"days": WEEKDAYS, "part_of_day": "morning"}]),
    ("weekday mornings and saturday afternoons",
     [{"days": WEEKDAYS, "part_of_day": "morning"}, {"days": ["sat"], "part_of_day": "afternoon"}]),
    ("monday, mornings or afternoons",
     [{"days": ["mon"], "part_of_day": "morning"}, {"days": ["mon"], "part_of_day": "afternoon"}]),
    ("available 24/7", [{"days": ALL}]),
    ("after 3 may be best", [{"days": ALL, "after": "15:00"}]),
])
def test_preferences_become_days_dates_and_times(text, windows):
    assert read(text) == Availability(windows, None)


# Spanish as people in eastern Washington type it: accents or not, b/v slips, "mañana" (tomorrow)
# beside "la mañana" (the morning). Read with the conversation's language, "es".
@pytest.mark.parametrize("text, windows", [
    ("entre semana por la mañana", [{"days": WEEKDAYS, "part_of_day": "morning"}]),
    ("entre semana por la manana", [{"days": WEEKDAYS, "part_of_day": "morning"}]),
    ("el martes despues de las 3", [{"days": ["tue"], "after": "15:00"}]),
    ("el próximo martes después de las 3", [{"date": "2026-11-24", "after": "15:00"}]),
    ("el martes que viene", [{"date": "2026-11-24"}]),
    ("este viernes", [{"date": "2026-11-27"}]),
    ("cualquier dia menos el viernes", [{"days": ["mon", "tue", "wed", "thu", "sat", "sun"]}]),
    ("cualquier día excepto el viernes", [{"days": ["mon", "tue", "wed", "thu", "sat", "sun"]}]),
    ("todos los dias que no sea viernes", [{"days": ["mon", "tue", "wed", "thu", "sat", "sun"]}]),
    ("domingo no, los demas dias si", [{"days": ["mon", "tue", "wed", "thu", "fri", "sat"]}]),
    ("no puedo los lunes ni los martes", [{"days": ["wed", "thu", "fri", "sat", "sun"]}]),
    ("entre semana pero no los miercoles", [{"days": ["mon", "tue", "thu", "fri"]}]),
    ("los lunes o miercoles en la tarde", [{"days": ["mon", "wed"], "part_of_day": "afternoon"}]),
    ("lunes o miércoles por la tarde", [{"days": ["mon", "wed"], "part_of_day": "afternoon"}]),
    ("fines de semana", [{"days": ["sat", "sun"]}]),
    ("el fin de semana", [{"days": ["sat", "sun"]}]),
    ("sabado o domingo en la mañana", [{"days": ["sat", "sun"], "part_of_day": "morning"}]),
    ("savado", [{"days": ["sat"]}]),
    ("biernes en la noche", [{"days": ["fri"], "part_of_day": "evening"}]),
    ("mañana en la mañana", [{"date": "2026-11-22", "part_of_day": "morning"}]),
    ("manana por la tarde", [{"date": "2026-11-22", "part_of_day": "afternoon"}]),
    ("mañana a las 10", [{"date": "2026-11-22", "after": "10:00", "before": "11:00"}]),
    ("en las mañanas antes de las 11", [{"days": ALL, "part_of_day": "morning", "before": "11:00"}]),
    ("el 3 de diciembre", [{"date": "2026-12-03"}]),
    ("3 de dic", [{"date": "2026-12-03"}]),
    ("el primero de diciembre", [{"date": "2026-12-01"}]),
    ("el 15 de enero de 2027", [{"date": "2027-01-15"}]),
    ("antes de las 10", [{"days": ALL, "before": "10:00"}]),
    ("a mediodia", [{"days": ALL, "after": "12:00", "before": "13:00"}]),
    ("antes del mediodía", [{"days": ALL, "before": "12:00"}]),
    ("en la noche", [{"days": ALL, "part_of_day": "evening"}]),
    ("a las 3 de la tarde", [{"days": ALL, "after": "15:00", "before": "16:00"}]),
    ("a las 10 de la mañana", [{"days": ALL, "after": "10:00", "before": "11:00"}]),
    ("como a las 4 y media", [{"days": ALL, "after": "16:30", "before": "17:30"}]),
    ("a las 15 hrs", [{"days": ALL, "after": "15:00", "before": "16:00"}]),
    ("no antes de las 10", [{"days": ALL, "after": "10:00"}]),
    ("a mas tardar a las 5", [{"days": ALL, "before": "17:00"}]),
    ("de 9 a 5", [{"days": ALL, "after": "09:00", "before": "17:00"}]),
    ("entre las 2 y las 4 de la tarde", [{"days": ALL, "after": "14:00", "before": "16:00"}]),
    ("de lunes a viernes despues de las 5 de la tarde", [{"days": WEEKDAYS, "after": "17:00"}]),
    ("entre el lunes y el miercoles", [{"days": ["mon", "tue", "wed"]}]),
    ("a cualquier hora menos en la mañana",
     [{"days": ALL, "part_of_day": "afternoon"}, {"days": ALL, "part_of_day": "evening"}]),
    ("ahorita", [{"date": "2026-11-21"}]),
    ("hoy en la tarde", [{"date": "2026-11-21", "part_of_day": "afternoon"}]),
    ("esta noche", [{"date": "2026-11-21", "part_of_day": "evening"}]),
    ("pasado mañana", [{"date": "2026-11-23"}]),
    ("mañana no puedo, pasado mañana si", [{"date": "2026-11-23"}]),
    ("hoy no, mejor el jueves", [{"days": ["thu"]}]),
    ("Los Jueves Despues De Las 4", [{"days": ["thu"], "after": "16:00"}]),
    ("25/12", [{"date": "2026-12-25"}]),  # day/month: the only reading
    ("12/25", [{"date": "2026-12-25"}]),  # month/day: the only reading
    ("7/7", [{"date": "2027-07-07"}]),
])
def test_spanish_preferences_become_days_dates_and_times(text, windows):
    assert parse_availability(text, TODAY, "es") == Availability(windows, None)


@pytest.mark.parametrize("text", [
    "despues del trabajo", "cuando sea", "a cualquier hora", "lo mas pronto posible", "la proxima semana",
    # day/month (Mexican usage) or month/day (US usage): both readable, so no window is guessed
    "3/12", "el 5/6 en la tarde", "los lunes o el 3/12",
])
def test_spanish_answers_without_a_sure_reading_keep_only_the_verbatim_text(text):
    assert parse_availability(text, TODAY, "es") == Availability([], None)


def test_numeric_dates_are_month_day_outside_a_spanish_conversation():
    assert read("3/12").windows == [{"date": "2027-03-12"}]
    assert parse_availability("3/12", TODAY, "en").windows == [{"date": "2027-03-12"}]


@pytest.mark.parametrize("text, problem", [
    ("el 30 de febrero", "Febrero no tiene 30 días. ¿Me podría dar otra fecha?"),
    ("el martes pasado", "Esa fecha ya pasó. ¿Me podría dar un día de hoy en adelante?"),
    ("ayer", "Esa fecha ya pasó. ¿Me podría dar un día de hoy en adelante?"),
    ("13/45", 'No pude leer "13/45" como fecha. ¿Podría escribirla así: "3 de diciembre"?'),
    ("despues de las 5 pero antes de las 3",
     "Esos horarios no dejan ningún espacio. ¿Podría revisar la hora más temprana y la más tarde que le quedan bien?"),
])
def test_unusable_spanish_answers_get_the_reason_in_spanish(text, problem):
    result = parse_availability(text, TODAY, "es")
    assert result.windows == [] and result.problem.es == problem


@pytest.mark.parametrize("text, summary", [
    ("entre semana por la mañana", "entre semana, en las mañanas"),
    ("el proximo martes despues de las 3", "mar 24 de nov, después de las 3 p.m."),
    ("cualquier dia menos el viernes", "cualquier día menos el viernes"),
    ("los lunes o miercoles en la tarde", "lun o mié, en las tardes"),
    ("mañana en la mañana", "dom 22 de nov, en la mañana"),
    ("despues del trabajo", "sin días ni horarios en particular"),
])
def test_describe_reads_back_what_a_spanish_visitor_said(text, summary):
    assert describe(parse_availability(text, TODAY, "es").windows, "es") == summary


def test_random_spanish_fragments_never_raise(caplog):
    words = ["lunes", "martes", "miercoles", "sábado", "mañana", "la", "las", "en", "por", "de", "a", "y", "o",
             "menos", "no", "despues", "antes", "del", "mediodia", "3", "12/3", "diciembre", "primero", "que",
             "viene", "pasado", "entre", "semana", "fin", "noche", "tarde", "hoy", "ahorita", "hrs", "media", "ni"]
    rng = random.Random(20261203)
    with caplog.at_level(logging.ERROR):
        for _ in range(500):
            result = parse_availability(" ".join(rng.choice(words) for _ in range(rng.randint(1, 12))), TODAY, "es")
            assert isinstance(result, Availability)
            json.dumps(result.windows)
    assert not caplog.records


@pytest.mark.parametrize("text", ["anytime", "whenever works", "whenever", "not sure yet", "flexible", "Any time!"])
def test_answers_without_time_words_are_accepted_without_windows(text):
    assert read(text) == Availability([], None)


@pytest.mark.parametrize("text, after, before", [
    ("after 3", "15:00", None),
    ("after 6", "18:00", None),
    ("after 7", "07:00", None),
    ("after 11", "11:00", None),
    ("after 7pm", "19:00", None),
    ("after 12", "12:00", None),
    ("after 3:30", "15:30", None),
    ("after 10 a.m.", "10:00", None),
    ("before 4", None, "16:00"),
    ("before 10", None, "10:00"),
    ("not before 10", "10:00", None),
    ("no later than 2", None, "14:00"),
    ("at 3", "15:00", "16:00"),
    ("at 9", "09:00", "10:00"),
    ("around noon", "12:00", "13:00"),
])
def test_bare_hours_mean_the_likely_half_of_the_day(text, after, before):
    (window,) = read(text).windows
    assert (window.get("after"), window.get("before")) == (after, before)


@pytest.mark.parametrize("text, date", [
    ("this saturday", "2026-11-21"),  # today is Saturday: "this" includes today
    ("next saturday", "2026-11-28"),  # "next" is the first one after today
    ("this sunday", "2026-11-22"),
    ("next sunday", "2026-11-22"),
    ("this coming thursday", "2026-11-26"),
    ("11/20", "2027-11-20"),  # yesterday's day and month: next year's
    ("Jan 5", "2027-01-05"),
    ("25/12", "2026-12-25"),  # can only be day/month
    ("12/3/26", "2026-12-03"),
])
def test_dates_fall_on_the_next_matching_day(text, date):
    assert read(text).windows == [{"date": date}]


@pytest.mark.parametrize("text, problem", [
    ("February 30th", "February doesn't have 30 days. Could you give another date?"),
    ("Nov 31", "November doesn't have 31 days. Could you give another date?"),
    ("2/30", "February doesn't have 30 days. Could you give another date?"),
    ("Feb 29", "February 2027 doesn't have 29 days. Could you give another date?"),
    ("yesterday", "That date has already passed. Could you give a day from today onwards?"),
    ("last friday", "That date has already passed. Could you give a day from today onwards?"),
    ("11/20/2026", "That date has already passed. Could you give a day from today onwards?"),
    ("Dec 3 2025", "That date has already passed. Could you give a day from today onwards?"),
    ("13/45", 'I couldn\'t read "13/45" as a date. Could you write it like "Dec 3"?'),
    ("Dec 3 2027", "That's more than a year away. Could you suggest something sooner?"),
    ("3 January 2030", "That's more than a year away. Could you suggest something sooner?"),
    ("after 25", 'I couldn\'t read "25" as a time. Could you write it like "after 3pm"?'),
    ("13pm", 'I couldn\'t read "13pm" as a time. Could you write it like "after 3pm"?'),
    ("after 5 but before 3",
     "Those times don't leave any gap. Could you check the earliest and latest times that suit you?"),
    ("", "Please tell me which days or times usually suit you."),
    ("   \n\t ", "Please tell me which days or times usually suit you."),
    (None, "Please tell me which days or times usually suit you."),
    ("monday " * 50,
     "That's a bit long for me. Could you tell me the days and times that suit you in a shorter answer?"),
])
def test_unusable_answers_get_a_kind_explanation_and_no_windows(text, problem):
    assert read(text) == Availability([], problem)


@pytest.mark.parametrize("filler, problem", [(292, None), (293, "That's a bit long for me.")])
def test_answers_up_to_300_characters_are_read(filler, problem):
    result = read("mondays " + "x" * filler)
    assert (result.problem or "").startswith(problem or "") and bool(result.problem) == bool(problem)
    assert result.windows == ([] if problem else [{"days": ["mon"]}])


HOSTILE = [
    "<script>alert('monday')</script>",
    "<b>Tuesday</b> &amp; <i>Thursday</i>",
    "'; DROP TABLE bookings; --",
    "1 OR 1=1; SELECT * FROM users WHERE day='fri'",
    "😀🗓️ monday 🙏🏽",
    "mon\x00day\x07 fri\x1b[31mday",
    "\u202etuesday\u200b",
    "ＭＯＮＤＡＹ",
    "{{7*7}} ${jndi:ldap://x} %s%n",
    "after after after before at at @@@ 99:99 :: // --",
    "1/" * 150,
    "ﷺ" * 300,
    "\U000F0001\U000F0000 monday",
    "x" * 5000,
    "monday " * 1000,
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_input_gets_an_answer_not_a_crash(text, caplog):
    with caplog.at_level(logging.ERROR):
        result = read(text)
    assert isinstance(result, Availability)
    assert result.problem is None or isinstance(result.problem, str)
    json.dumps(result.windows)
    assert not caplog.records  # read by the rules, not by the last-resort fallback


@pytest.mark.parametrize("text, windows", [
    ("<b>Tuesday</b> &amp; <i>Thursday</i>", [{"days": ["tue", "thu"]}]),
    ("😀🗓️ monday 🙏🏽", [{"days": ["mon"]}]),
    ("\u202etuesday\u200b", [{"days": ["tue"]}]),
    ("ＭＯＮＤＡＹ", [{"days": ["mon"]}]),
    ("\U000F0001\U000F0000 monday", [{"days": ["mon"]}]),
])
def test_wrapping_noise_does_not_hide_the_days(text, windows):
    assert read(text).windows == windows


@pytest.mark.parametrize("text", ["x" * 5000, "monday " * 1000])
def test_very_long_input_asks_for_a_shorter_answer(text):
    assert read(text).problem.startswith("That's a bit long for me.")


def test_random_fragments_never_raise():
    words = ["mon", "fridays", "next", "this", "after", "before", "at", "3", "12/3", "dec", "31st", "of", "-",
             "to", "or", "and", ",", "not", "but", "any day", "mornings", "tonight", "9:75", "pm", "between",
             "0/0", "feb 29 2028", "<i>", "😀", "\x00", "may", "/", "@"]
    rng = random.Random(20261121)
    for _ in range(500):
        result = read(" ".join(rng.choice(words) for _ in range(rng.randint(1, 12))))
        assert isinstance(result, Availability)
        assert result.problem is None or (result.windows == [] and result.problem)
        json.dumps(result.windows)


def test_a_datetime_for_today_is_treated_as_its_date():
    result = parse_availability("today", dt.datetime(2026, 11, 21, 18, 30))
    assert result == Availability([{"date": "2026-11-21"}], None)


@pytest.mark.parametrize("windows, summary", [
    ([{"days": WEEKDAYS, "part_of_day": "morning"}], "weekdays, mornings"),
    ([{"date": "2026-11-24", "after": "15:00"}], "Tue 24 Nov, after 3pm"),
    ([{"days": ["tue", "thu"], "part_of_day": "evening"}], "Tue or Thu, evenings"),
    ([{"date": "2026-11-22", "part_of_day": "afternoon"}], "Sun 22 Nov, afternoon"),
    ([{"days": ["sat", "sun"]}], "weekends"),
    ([{"days": ALL, "before": "12:00"}], "any day, before noon"),
    ([{"days": ["mon", "tue", "wed"]}], "Mon–Wed"),
    ([{"days": ["mon", "wed", "fri"]}], "Mon, Wed or Fri"),
    ([{"days": ["mon", "tue", "wed", "thu", "sat", "sun"]}], "any day but Friday"),
    ([{"days": ALL, "after": "14:30", "before": "16:00"}], "any day, 2:30pm–4pm"),
    ([{"days": ["mon"], "part_of_day": "morning"}, {"days": ["mon"], "part_of_day": "afternoon"}],
     "Mon, mornings or afternoons"),
    ([{"days": WEEKDAYS, "part_of_day": "morning"}, {"date": "2026-12-03"}], "weekdays, mornings; Thu 3 Dec"),
    ([], "no particular days or times"),
])
def test_describe_summarises_windows_for_the_booking(windows, summary):
    assert describe(windows) == summary


@pytest.mark.parametrize("text, summary", [
    ("weekday mornings", "weekdays, mornings"),
    ("next Tuesday after 3", "Tue 24 Nov, after 3pm"),
    ("tuesdays or thursdays in the evening", "Tue or Thu, evenings"),
    ("any day but friday", "any day but Friday"),
    ("whenever works", "no particular days or times"),
])
def test_describe_reads_back_what_the_visitor_said(text, summary):
    assert describe(read(text).windows) == summary


@pytest.mark.parametrize("windows", [
    None, "weekdays", 42, [None, 5, "x"], [{"date": "2026-02-30"}], [{"days": "mon"}], [{"days": ["xyz"]}],
    [{"date": "2026-12-03", "after": "soon", "part_of_day": "dawn"}],
])
def test_describe_skips_what_it_cannot_read(windows):
    assert describe(windows) in ("no particular days or times", "Thu 3 Dec")
