"""The crisis response and the deterministic crisis net under the classifier."""
import pytest
import yaml
from rasa.shared.nlu.training_data.message import Message
from rasa_sdk.events import ActiveLoop, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.safety import (
    MEDICAL_EMERGENCY_PATTERNS,
    ActionCheckInAnswer,
    ActionCrisisCheckIn,
    ActionCrisisResponse,
)
from nlu_components.crisis_classifier import CRISIS_SCORE_KEY, clauses, combined_score, crisis_tier
from nlu_components.crisis_safety_net import DEFAULT_PATTERNS_FILE, CrisisMatcher, CrisisSafetyNet, normalise
from rasa_server.nlg import FirstMatchResponseGenerator


async def test_crisis_response_is_sent_and_flagged(dispatcher, make_tracker, domain):
    events = await ActionCrisisResponse().run(dispatcher, make_tracker("i want to die"), domain.as_dict())
    assert [m["response"] for m in dispatcher.messages] == ["utter_crisis"]
    assert SlotSet("crisis_flagged", True) in events
    assert ActiveLoop(None) not in events  # nothing to stop


async def test_crisis_response_stops_an_active_form(dispatcher, make_tracker, domain):
    tracker = make_tracker("i took all my pills", active_loop="booking_form")
    events = await ActionCrisisResponse().run(dispatcher, tracker, domain.as_dict())
    assert ActiveLoop(None) in events
    assert SlotSet("requested_slot", None) in events


ENGLISH_CRISIS_ELEMENTS = ("911", "988", "988lifeline.org", "HOME to 741741", "not monitored", "staff")
SPANISH_CRISIS_ELEMENTS = ("911", "marque 2", "AYUDA por texto al 988", "AYUDA al 741741", "442-AYUDAME", "personal")


def variant_shown(domain, response, language, waiting_for_staff=False):
    """The variation of `response` a conversation in `language` (None: not yet known) gets, chosen as the
    Rasa server chooses it; `waiting_for_staff`: while a person is being brought in (the bot paused)."""
    slots = {"language": language, "handoff_active": waiting_for_staff}
    return FirstMatchResponseGenerator(domain=domain)._random_response_for(response, "rest", slots)



@pytest.mark.parametrize(
    "language, required",
    [
        ("en", ENGLISH_CRISIS_ELEMENTS),
        ("es", SPANISH_CRISIS_ELEMENTS),
        (None, ENGLISH_CRISIS_ELEMENTS + SPANISH_CRISIS_ELEMENTS),
    ],
)
@pytest.mark.parametrize("response", ["utter_crisis", "utter_crisis_medical"])
def test_crisis_text_follows_the_contract_in_each_language(domain, language, required, response):
    variant = variant_shown(domain, response, language)
    for element in required:
        assert element in variant["text"]
    assert variant["buttons"][0]["payload"] == "/request_human"


LINES_EN = ("911", "988", "988lifeline.org", "HOME to 741741")
LINES_ES = ("911", "marque 2", "AYUDA por texto al 988", "AYUDA al 741741", "442-AYUDAME")


@pytest.mark.parametrize(
    "language, required",
    [
        ("en", LINES_EN + ("staff know", "will join")),
        ("es", LINES_ES + ("avisé a nuestro personal", "se unirá")),
        (None, LINES_EN + ("staff know",) + LINES_ES + ("avisé a nuestro personal",)),
    ],
)
@pytest.mark.parametrize("response", ["utter_crisis", "utter_crisis_medical"])
def test_while_waiting_for_staff_the_crisis_response_says_they_know_and_offers_no_dead_button(
    domain, language, required, response
):
    variant = variant_shown(domain, response, language, waiting_for_staff=True)
    for element in required:
        assert element in variant["text"]
    assert not variant.get("buttons")  # "Connect me with staff" would go unanswered during the pause


@pytest.mark.parametrize("language", [None, "en", "es"])
@pytest.mark.parametrize("waiting_for_staff", [False, True])
def test_a_medical_emergency_is_told_to_call_911_before_anything_else(domain, language, waiting_for_staff):
    text = variant_shown(domain, "utter_crisis_medical", language, waiting_for_staff)["text"]
    first_sentences = text.split("\n")[0]
    assert "911" in first_sentences and "988" not in first_sentences


@pytest.mark.parametrize("text, response", [
    # no medical pattern matched, the classifier alone: the bodily signs choose the response
    ("my mom had her infusion this morning and now shes really confused and her chest hurts and shes breathing weird",
     "utter_crisis_medical"),
    ("my husband got his infusion today and hes throwing up nonstop and his heart is racing like crazy",
     "utter_crisis_medical"),
    ("a mi papá le late el corazón bien raro y está sudando frío desde la infusión", "utter_crisis_medical"),
    ("mi hija se desmayó en el baño", "utter_crisis_medical"),
    # danger without a bodily sign, or feelings in bodily words: the crisis lines alone
    ("i feel like everyone would be better off without me", "utter_crisis"),
    ("me rompieron el corazón y ya no quiero vivir", "utter_crisis"),
])
async def test_a_crisis_that_names_a_bodily_sign_gets_the_medical_response(make_tracker, domain, text, response):
    parse_data = {"intent": {"name": "crisis", "confidence": 0.97}, "crisis": {"tier": "sure", "reason": "classifier"}}
    dispatcher = CollectingDispatcher()
    await ActionCrisisResponse().run(dispatcher, make_tracker(text, parse_data=parse_data), domain.as_dict())
    assert dispatcher.messages[0]["response"] == response


@pytest.mark.parametrize("reason, response", [
    ("pattern: chest_pain_now", "utter_crisis_medical"),
    ("pattern: collapse_or_unresponsive", "utter_crisis_medical"),
    ("pattern: es_overdose_now", "utter_crisis_medical"),
    ("pattern: want_to_die", "utter_crisis"),
    ("classifier", "utter_crisis"),
])
@pytest.mark.parametrize("answered_yes", [False, True])
async def test_the_crisis_response_for_a_medical_emergency_opens_with_911(
    make_tracker, domain, reason, response, answered_yes
):
    from rasa.shared.core.events import UserUttered

    tier = "check" if answered_yes else "sure"
    intent = {"name": "possible_crisis" if answered_yes else "crisis", "confidence": 1.0}
    flagged = UserUttered("...", intent, parse_data={"intent": intent, "crisis": {"tier": tier, "reason": reason}})
    dispatcher = CollectingDispatcher()
    if answered_yes:
        tracker = make_tracker("yes", parse_data={"intent": {"name": "affirm", "confidence": 1.0}}, events=[flagged])
        await ActionCheckInAnswer().run(dispatcher, tracker, domain.as_dict())
    else:
        await ActionCrisisResponse().run(dispatcher, make_tracker(events=[flagged]), domain.as_dict())
    assert [m["response"] for m in dispatcher.messages] == [response]


def test_the_medical_emergency_patterns_are_the_crisis_nets_own():
    """A pattern renamed in crisis_patterns.yml would silently fall back to the general response."""
    sections = yaml.safe_load(DEFAULT_PATTERNS_FILE.read_text(encoding="utf-8")).values()
    names = {name for section in sections if isinstance(section, dict) for name in section}
    assert MEDICAL_EMERGENCY_PATTERNS <= names


@pytest.mark.parametrize("language", [None, "en", "es"])
def test_the_check_in_asks_directly_and_gives_the_lines_in_each_language(domain, language):
    variant = variant_shown(domain, "utter_crisis_check_in", language)
    assert "911" in variant["text"] and "988" in variant["text"]
    assert "?" in variant["text"]
    assert [b["payload"] for b in variant["buttons"]] == ["/affirm", "/deny"]


@pytest.mark.parametrize("language", [None, "en", "es"])
def test_while_waiting_for_staff_the_check_in_gives_the_lines_and_asks_nothing_unread(domain, language):
    variant = variant_shown(domain, "utter_crisis_check_in", language, waiting_for_staff=True)
    assert "911" in variant["text"] and "988" in variant["text"]
    assert "?" not in variant["text"] and not variant.get("buttons")


async def test_a_possible_crisis_while_waiting_for_staff_alerts_them(dispatcher, make_tracker, domain, monkeypatch):
    alerts = []
    monkeypatch.setattr("actions.safety.alert_staff", lambda tracker, tier: alerts.append(tier))
    tracker = make_tracker("nobody is coming, i cant do this anymore", slots={"handoff_active": True})
    await ActionCrisisCheckIn().run(dispatcher, tracker, domain.as_dict())
    assert [m["response"] for m in dispatcher.messages] == ["utter_crisis_check_in"]
    assert alerts == ["possible crisis while waiting for staff"]


async def test_a_possible_crisis_outside_a_handoff_waits_for_the_answer_before_alerting(
    dispatcher, make_tracker, domain, monkeypatch
):
    alerts = []
    monkeypatch.setattr("actions.safety.alert_staff", lambda tracker, tier: alerts.append(tier))
    await ActionCrisisCheckIn().run(dispatcher, make_tracker("i cant do this anymore"), domain.as_dict())
    assert alerts == []


@pytest.fixture(scope="module")
def matcher() -> CrisisMatcher:
    return CrisisMatcher.from_file()


def test_normalise_drops_apostrophes_and_punctuation():
    assert normalise("I DON’T want… to be here!!") == "i dont want to be here"


@pytest.mark.parametrize(
    "text",
    ["i want to kill myself", "I'm going to end it tonight", "my brother OD'd and won't wake up", "i'm suicidal",
     # jumping, as the English patterns have it, in Mexican Spanish too
     "me voy a aventar por la ventana", "voy a tirarme del puente", "ya estoy por lanzarme de la azotea"],
)
def test_net_catches_crisis_whatever_the_casing_or_punctuation(matcher, text):
    assert matcher.match(text)


@pytest.mark.parametrize("text", ["tomé muchas pastillas y me siento muy mal", "me tomé todas mis pastillas"])
def test_an_overdose_told_in_spanish_with_or_without_me_is_a_medical_emergency(matcher, text):
    assert matcher.match(text) == "es_overdose_now"
    assert "es_overdose_now" in MEDICAL_EMERGENCY_PATTERNS


def test_a_spanish_question_about_taking_the_infusion_is_no_overdose(matcher):
    assert matcher.match("¿cuando tome la ketamina me va a doler?") is None


@pytest.mark.parametrize(
    "text",
    [
        "can ketamine help with suicidal depression",
        "is an overdose possible in the clinic",
        "what are the side effects",
        "me avente de la bici ayer jaja, ya estoy bien",
        "",
        None,
        "🙂" * 500,
        "<script>alert(1)</script>",
    ],
)
def test_general_questions_and_junk_do_not_trigger(matcher, text):
    assert matcher.match(text) is None


def test_a_personal_mention_triggers_even_inside_a_question(matcher):
    assert matcher.match("can ketamine help my suicidal thoughts") == "suicide_words"
    assert matcher.names_topic_only("suicide_words") and not matcher.names_topic_only("self_directed_harm")


def net_result(matcher, text, detector_score=None, pattern_floor=0.0):
    """What the crisis patterns make of a message the detector scored (None: no detector ran)."""
    message = Message(data={"text": text, "intent": {"name": "faq", "confidence": 0.9}})
    if detector_score is not None:
        message.set(CRISIS_SCORE_KEY, detector_score)
    CrisisSafetyNet(matcher, classifier_agreement=0.5, pattern_floor=pattern_floor, topic_floor=0.02).process([message])
    return message.get("intent")["name"], message.get("crisis")


def test_a_word_that_only_names_the_subject_needs_a_little_agreement_from_the_detector(matcher):
    """"My past suicidal ideation" in a question about qualifying: the detector, which reads the whole
    message, decides; from the floor up the word still brings the check-in, and without a detector
    in the pipeline the word alone does."""
    text = "my chart says past suicidal ideation, do i need a referral first"
    assert net_result(matcher, text, detector_score=0.01)[0] == "faq"
    assert net_result(matcher, text, detector_score=0.05)[0] == "possible_crisis"
    assert net_result(matcher, text)[0] == "crisis"
    # a statement of danger needs no agreement at all
    assert net_result(matcher, "i want to kill myself", detector_score=0.01)[0] == "possible_crisis"


def test_a_pattern_the_detector_all_but_rules_out_is_left_to_the_other_intents(matcher):
    """A calm emergency question can match a pattern while the detector, reading the whole message,
    gives it next to nothing: under the pattern floor the visitor gets their answer, not the check-in;
    from the floor up the match still brings it, and without a detector the pattern alone decides."""
    text = "i want to kill myself"
    assert net_result(matcher, text, detector_score=0.001, pattern_floor=0.005)[0] == "faq"
    assert net_result(matcher, text, detector_score=0.005, pattern_floor=0.005)[0] == "possible_crisis"
    assert net_result(matcher, text, pattern_floor=0.005)[0] == "crisis"


@pytest.mark.parametrize("text", ["help", "Help!!", "please help me", "i need help now", "SOCORRO", "Ayúdenme",
                                  "necesito ayuda por favor", "auxilio"])
def test_a_bare_call_for_help_gets_at_least_the_check_in_whatever_the_detector_says(matcher, text):
    intent, crisis = net_result(matcher, text, detector_score=0.001, pattern_floor=0.002)
    assert intent == "possible_crisis" and crisis["reason"] == "pattern: cry_for_help"
    assert net_result(matcher, text, detector_score=0.7, pattern_floor=0.002)[0] == "crisis"


@pytest.mark.parametrize("text", ["help me book a consultation", "can you help me with insurance?",
                                  "ayuda con el seguro", "thanks for the help", "how can ketamine help anxiety"])
def test_a_request_for_help_with_something_is_no_cry_for_help(matcher, text):
    assert not matcher.is_cry_for_help(matcher.match(text))


def test_a_phrase_list_match_the_detector_agrees_with_gets_the_crisis_response(matcher):
    intent, crisis = net_result(matcher, "i want to kill myself", detector_score=0.62)
    assert intent == "crisis" and crisis["tier"] == "sure" and crisis["reason"].startswith("pattern:")


def test_a_phrase_list_match_the_detector_doubts_still_gets_the_check_in(matcher):
    """A therapist's referral question or an idiom can match a phrase; the visitor is asked, never ignored."""
    intent, crisis = net_result(matcher, "i want to kill myself", detector_score=0.08)
    assert intent == "possible_crisis"
    assert crisis == {"tier": "check", "score": 0.08, "reason": "pattern: self_directed_harm"}
    # without a detector in the pipeline the phrase list alone decides, as before
    assert net_result(matcher, "i want to kill myself")[0] == "crisis"
    assert net_result(matcher, "what are the side effects", detector_score=0.9)[0] == "faq"


# ---- the check-in and the staff alert
def possible_crisis_history(text, intent_ranking):
    from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered

    parse = {
        "intent": {"name": "possible_crisis", "confidence": 0.3},
        "intent_ranking": [{"name": "possible_crisis", "confidence": 0.3}] + intent_ranking,
        "crisis": {"tier": "check", "score": 0.3, "reason": "classifier"},
    }
    return [
        ActionExecuted("action_listen"),
        UserUttered(text, parse["intent"], parse_data=parse),
        ActionExecuted("action_crisis_check_in"),
        BotUttered("Are you thinking about ending your life or hurting yourself right now?"),
        ActionExecuted("action_listen"),
    ]


async def test_yes_to_the_check_in_gives_the_crisis_response_and_alerts_staff(
    dispatcher, make_tracker, domain, monkeypatch
):
    alerts = []
    monkeypatch.setattr("actions.safety.notifier_from_env", lambda: RecordingNotifier(alerts))
    history = possible_crisis_history("not sure i can keep doing this", [{"name": "faq", "confidence": 0.2}])
    tracker = make_tracker("yes", parse_data={"intent": {"name": "affirm", "confidence": 0.99}}, events=history)
    events = await ActionCheckInAnswer().run(dispatcher, tracker, domain.as_dict())
    assert [m["response"] for m in dispatcher.messages] == ["utter_crisis"]
    assert SlotSet("crisis_flagged", True) in events
    assert len(alerts) == 1 and alerts[0][1] == "check-in answered yes"


async def test_no_to_the_check_in_answers_what_was_asked(dispatcher, make_tracker, domain):
    history = possible_crisis_history("this wait is killing me, how long is the consultation", [
        {"name": "faq", "confidence": 0.8}, {"name": "book_consultation", "confidence": 0.1}])
    tracker = make_tracker(
        "no", parse_data={"intent": {"name": "deny", "confidence": 0.99}}, events=history, slots={"language": "en"}
    )
    events = await ActionCheckInAnswer().run(dispatcher, tracker, domain.as_dict())
    assert [m["response"] for m in dispatcher.messages] == ["utter_crisis_check_in_no"]
    # the check-in and the "no" are taken back, and the question is asked again with its own intent
    assert [e["event"] for e in events[:4]] == ["rewind", "rewind", "action", "user"]
    replayed = events[3]
    assert replayed["text"] == "this wait is killing me, how long is the consultation"
    assert replayed["parse_data"]["intent"]["name"] == "faq"
    assert SlotSet("language", "en") in events


@pytest.mark.parametrize("ranking", [
    [{"name": "faq", "confidence": 0.07}, {"name": "stop", "confidence": 0.01}],  # "nothing makes sense anymore"
    [],
])
async def test_no_to_the_check_in_after_a_message_that_asked_nothing_guesses_no_topic(
    dispatcher, make_tracker, domain, ranking
):
    history = possible_crisis_history("ya no le encuentro sentido a nada", ranking)
    tracker = make_tracker("no", parse_data={"intent": {"name": "deny", "confidence": 0.99}}, events=history)
    events = await ActionCheckInAnswer().run(dispatcher, tracker, domain.as_dict())
    said = [m["response"] for m in dispatcher.messages]
    assert said == ["utter_crisis_check_in_no", "utter_crisis_check_in_no_question"]
    assert events == []  # nothing replayed: no FAQ answer, no "did you mean"


@pytest.mark.parametrize("text, intent, said, alerted", [
    ("yes", "affirm", "utter_crisis", "check-in answered yes"),
    ("sometimes", "deny", "utter_crisis", "check-in answered yes"),  # partly yes, whatever the NLU read
    ("a veces", "nlu_fallback", "utter_crisis", "check-in answered yes"),
    # not sure counts as a yes, as clinicians count it: the crisis response, not a softer reply
    ("not sure", "deny", "utter_crisis", "check-in answered not sure"),
    ("No sé.", "deny", "utter_crisis", "check-in answered not sure"),
    ("idk maybe", "deny", "utter_crisis", "check-in answered not sure"),
    ("idk", "out_of_scope", "utter_crisis", "check-in answered not sure"),
    ("tal vez", "nlu_fallback", "utter_crisis", "check-in answered not sure"),
    ("no se la verdad", "deny", "utter_crisis", "check-in answered not sure"),
    # neither yes, no nor unsure: the lines again
    ("why are you asking me that?", "nlu_fallback", "utter_crisis_still_here", "check-in answered neither yes nor no"),
    # a long message that happens to hold "maybe" is not an answer of "maybe"
    ("no, I was asking whether maybe the clinic has parking for my car", "deny", "utter_crisis_check_in_no", None),
])
async def test_only_a_clear_no_to_the_check_in_is_taken_as_no(
    dispatcher, make_tracker, domain, monkeypatch, text, intent, said, alerted
):
    alerts = []
    monkeypatch.setattr("actions.safety.alert_staff", lambda tracker, tier: alerts.append(tier))
    history = possible_crisis_history("i dont see the point anymore", [{"name": "faq", "confidence": 0.1}])
    tracker = make_tracker(text, parse_data={"intent": {"name": intent, "confidence": 0.9}}, events=history)
    events = await ActionCheckInAnswer().run(dispatcher, tracker, domain.as_dict())
    assert [m["response"] for m in dispatcher.messages][:1] == [said]
    if alerted is None:
        assert alerts == [] and SlotSet("crisis_flagged", True) not in events
    else:
        assert alerts == [alerted] and SlotSet("crisis_flagged", True) in events


class RecordingNotifier:
    def __init__(self, alerts):
        self.alerts = alerts

    def notify_crisis(self, conversation_link, tier):
        self.alerts.append((conversation_link, tier))


async def test_the_crisis_alert_links_the_conversation_and_carries_none_of_its_words(
    dispatcher, make_tracker, domain, monkeypatch
):
    alerts = []
    monkeypatch.setattr("actions.safety.notifier_from_env", lambda: RecordingNotifier(alerts))
    tracker = make_tracker("i took all my pills, call me at 509-555-0147", sender_id="+15095550147")
    await ActionCrisisResponse().run(dispatcher, tracker, domain.as_dict())
    [(link, tier)] = alerts
    assert tier == "crisis" and "/conversations/c" in link
    assert "509" not in link and "pills" not in link  # an opaque key, not the phone number


def test_the_email_alert_has_no_visitor_words():
    from clinic.notifier import SmtpNotifier, crisis_alert_text

    notifier = SmtpNotifier("smtp.example.com", 587, "bot@example.com", ["staff@example.com"])
    message = notifier.build_message(
        "URGENT: a chat visitor may be in crisis", crisis_alert_text("https://c/x", "crisis")
    )
    body = message.get_content()
    assert "https://c/x" in body and "911" in body and "none of the visitor's words" in body


async def test_a_failing_alert_never_stops_the_crisis_response(dispatcher, make_tracker, domain, monkeypatch):
    def broken():
        raise OSError("mail server down")

    monkeypatch.setattr("actions.safety.notifier_from_env", broken)
    await ActionCrisisResponse().run(dispatcher, make_tracker("i want to die"), domain.as_dict())
    assert [m["response"] for m in dispatcher.messages] == ["utter_crisis"]


def test_a_crisis_clause_inside_an_ordinary_question_gets_the_crisis_response():
    """'how much is it? i won't be around anyway': the second clause alone is a sure crisis."""
    assert clauses("how much is it? i won't be around anyway") == ["how much is it", "i won't be around anyway"]
    score = combined_score(0.30, [0.01, 0.97], sure_threshold=0.95)
    assert crisis_tier(score, sure_threshold=0.95, check_threshold=0.23) == "sure"


@pytest.mark.parametrize(
    "message, crisis_clause",
    [
        ("¿aceptan seguro? a veces pienso en quitarme la vida", "a veces pienso en quitarme la vida"),
        ("cuanto cuesta, la verdad ya me quiero morir", "la verdad ya me quiero morir"),
        ("price? i took all my pills", "i took all my pills"),
    ],
)
def test_a_crisis_after_a_short_question_is_scored_as_the_clause_it_is(message, crisis_clause):
    """A question of one or two words before the crisis used to leave no clause to score alone, and
    the whole message, half insurance question, scored too low to be caught (a blind QA finding)."""
    assert clauses(message) == [crisis_clause]


def test_a_message_of_one_clause_is_not_scored_twice():
    assert clauses("a veces pienso en quitarme la vida") == []
    assert clauses("ok, thanks") == []


def test_a_clause_that_only_looks_a_little_like_a_crisis_does_not_raise_its_message():
    """Only a sure clause counts: a half-likely clause would turn ordinary questions into check-ins."""
    score = combined_score(0.05, [0.40, 0.10], sure_threshold=0.95)
    assert crisis_tier(score, sure_threshold=0.95, check_threshold=0.23) is None
    assert crisis_tier(combined_score(0.40, [0.10], sure_threshold=0.95), 0.95, 0.23) == "check"
