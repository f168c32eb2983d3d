"""Issue 12, item 4, "Staff know at once": the console's two crisis tiers.

A sure crisis (the crisis response) and a check-in answered yes sit at the top of the live queue,
above waiting handoffs, until someone marks them reviewed; the transcript highlights the message that
raised the crisis response or the check-in and says which tier and why; a check-in answered no is
shown as such and not as a crisis.

No assistant is needed: the events are written as Rasa's SQL tracker store writes them, in the order
Rasa logs them (the action, then the events it returned), with the helper of
tests/test_console_hardening.py.
"""
import re
import time
from datetime import datetime, timezone

import pytest
from markupsafe import escape
from sqlalchemy import create_engine, insert, select

from console import create_app
from console.accounts import save_user
from console.crisis import why
from console.templating import opaque
from console.tracker import EVENTS, CrisisEpisode, Detection
from tests.console_rows import RecordingRasa, event
from tests.test_console_hardening import page, signed_in

PASSWORD = "correct horse battery staple"
PHONE = "509-555-0147"
XSS = "<b>bold</b>"
CHECK_IN_QUESTION = "Are you thinking about ending your life or hurting yourself right now?"
STARTED = time.time() - 3600  # an hour ago: every conversation below is from the last hour


def visitor(sender, text, intent, at, crisis=None, confidence=0.9, **parse):
    """A visitor message; `crisis` is what the crisis detector put on the parse result."""
    parse_data = {"intent": {"name": intent, "confidence": confidence}, "text": text, **parse}
    if crisis:
        parse_data["crisis"] = crisis
    return event(sender, "user", at, text=text, input_channel="rest", parse_data=parse_data)


def action(sender, name, at):
    return event(sender, "action", at, name=name)


def bot(sender, text, at, buttons=()):
    return event(sender, "bot", at, text=text, data={"buttons": [{"title": b, "payload": f"/{b}"} for b in buttons]})


def slot(sender, name, value, at):
    return event(sender, "slot", at, name=name, value=value)


def crisis_response(sender, at):
    return [action(sender, "action_crisis_response", at), bot(sender, "If you are in danger, call 988 or 911.", at),
            slot(sender, "crisis_flagged", True, at), action(sender, "action_listen", at)]


def check_in(sender, at):
    return [action(sender, "action_crisis_check_in", at), bot(sender, CHECK_IN_QUESTION, at, ("Yes", "No")),
            action(sender, "action_listen", at)]


def sure_crisis(sender, text, at, reason="classifier", score=0.93, language="en", answered_after=1):
    return [visitor(sender, text, "crisis", at, {"tier": "sure", "score": score, "reason": reason}),
            slot(sender, "language", language, at), *crisis_response(sender, at + answered_after)]


def check_in_answered(sender, at, answer="Yes", intent="affirm"):
    return [
        visitor(sender, "what are the side effects", "faq", at),
        slot(sender, "language", "en", at),
        visitor(sender, "everything feels pointless lately", "possible_crisis", at + 10,
                {"tier": "check", "score": 0.31, "reason": "classifier"}),
        *check_in(sender, at + 11),
        visitor(sender, answer, intent, at + 20),
        action(sender, "action_check_in_answer", at + 21),
        bot(sender, "If you are in danger, call 988 or 911.", at + 21),
        slot(sender, "crisis_flagged", True, at + 21),
        action(sender, "action_listen", at + 21),
    ]


ORIGINAL = "so tired of all this, how long does an infusion take?"


def check_in_answered_no(sender, at):
    """"No": the check-in and the answer taken back (two rewinds), the message given again with its
    ordinary intent (actions/safety.py, answer_as_if_no_check_in)."""
    detected = {"tier": "check", "score": 0.35, "reason": "classifier"}
    ranking = [{"name": "faq", "confidence": 0.6}]
    return [
        visitor(sender, ORIGINAL, "possible_crisis", at, detected, intent_ranking=ranking),
        slot(sender, "language", "en", at),
        *check_in(sender, at + 1),
        visitor(sender, "No", "deny", at + 10),
        action(sender, "action_check_in_answer", at + 11),
        bot(sender, "Thank you for telling me. Back to your question.", at + 11),
        event(sender, "rewind", at + 11),
        event(sender, "rewind", at + 11),
        action(sender, "action_listen", at + 11),
        visitor(sender, ORIGINAL, "faq", at + 11, detected, intent_ranking=ranking, crisis_check_in="no"),
        slot(sender, "language", "en", at + 11),
        action(sender, "utter_faq", at + 12),
        bot(sender, "An infusion takes about 40 minutes.", at + 12),
        action(sender, "action_listen", at + 12),
    ]


def check_in_unanswered(sender, at):
    return [visitor(sender, "i dont know how much longer i can do this", "possible_crisis", at,
                    {"tier": "check", "score": 0.44, "reason": "classifier"}), *check_in(sender, at + 1)]


def ordinary(sender, at, text="can I talk to a person", intent="request_human"):
    return [visitor(sender, text, intent, at), slot(sender, "language", "en", at),
            action(sender, "action_start_handoff", at + 1), action(sender, "action_listen", at + 1)]


def session_start(sender, at):
    """As every conversation starts: the slots set, crisis_flagged among them (false)."""
    return [action(sender, "action_session_start", at), event(sender, "session_started", at),
            slot(sender, "crisis_flagged", False, at), action(sender, "action_listen", at)]


CONVERSATIONS = {  # name -> (sender, events)
    "sure": ("crisis-sure", sure_crisis("crisis-sure", f"{XSS} I'd be better off gone, call {PHONE}", STARTED + 100)),
    "pattern": ("crisis-pattern", sure_crisis("crisis-pattern", "quiero morir", STARTED + 200,
                                              reason="pattern: es_want_to_die", score=1.0, language="es")),
    # "idk maybe", which the NLU may read as a no: the assistant counts it as a yes (clinic/check_in.py)
    "maybe": ("check-in-maybe", check_in_answered("check-in-maybe", STARTED + 250, "idk maybe", "deny")),
    "yes": ("check-in-yes", check_in_answered("check-in-yes", STARTED + 300)),
    "no": ("check-in-no", check_in_answered_no("check-in-no", STARTED + 400)),
    "unanswered": ("check-in-unanswered", check_in_unanswered("check-in-unanswered", STARTED + 500)),
    "to_review": ("crisis-to-review", sure_crisis("crisis-to-review", "i want to end it all", STARTED + 600)),
    "faq": ("ordinary-faq", ordinary("ordinary-faq", STARTED + 700, "what are the side effects", "faq")[:2]),
    # waiting for a person, and newer than every crisis: the crises still come first
    "waiting": ("waiting-for-a-person", ordinary("waiting-for-a-person", STARTED + 800)),
}


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    folder = tmp_path_factory.mktemp("console-crisis")
    tracker_url, clinic_url = f"sqlite:///{folder / 'tracker.db'}", f"sqlite:///{folder / 'clinic.db'}"
    engine = create_engine(tracker_url)
    EVENTS.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(insert(EVENTS), [row for sender_id, events in CONVERSATIONS.values()
                                            for row in session_start(sender_id, events[0]["timestamp"] - 1) + events])
    engine.dispose()
    app = create_app({"DATA_DIR": str(folder), "DATABASE_URL": clinic_url, "TRACKER_STORE_URL": tracker_url,
                      "SECRET_KEY": "test-only-" + "k" * 40, "RASA_API": RecordingRasa()})
    services = app.extensions["console"]
    save_user(services.db, "kim", PASSWORD)
    app.waiting_ticket = services.handoffs.open_ticket(CONVERSATIONS["waiting"][0], "rest", "request_human").id
    app.tracker_url = tracker_url
    yield app
    services.close()


@pytest.fixture(scope="module")
def kim(app):
    return signed_in(app, "kim")


def sender(name):
    return CONVERSATIONS[name][0]


def key(app, name) -> str:
    with app.test_request_context():
        return opaque(sender(name))


def transcript(app, client, name) -> str:
    return page(client, f"/conversations/{key(app, name)}")


def crisis_section(client) -> str:
    body = page(client, "/queue")
    return body[body.index('id="crisis-heading"'):body.index('id="handoff-heading"')]


def in_crisis_section(app, client) -> list:
    """The conversations the queue's crisis section links to, in its order."""
    keys = {key(app, name): name for name in CONVERSATIONS}
    return [keys.get(found, found) for found in re.findall(r'href="/conversations/([^"]+)"', crisis_section(client))]


def user_event_ids(app, name, text) -> list:
    engine = create_engine(app.tracker_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(select(EVENTS.c.id, EVENTS.c.data).where(
                EVENTS.c.sender_id == sender(name), EVENTS.c.type_name == "user").order_by(EVENTS.c.id)).all()
    finally:
        engine.dispose()
    return [row_id for row_id, data in rows if f'"text": "{text}"' in data]


def message_item(body, event_id) -> str:
    """The transcript's list item of one event: its classes, then its content."""
    found = re.search(r'<li id="msg-%d" class="([^"]*)">(.*?)</li>' % event_id, body, re.S)
    assert found, f"no transcript item for event {event_id}"
    return f"classes: {found[1]}\n{found[2]}"


def highlighted(body) -> list:
    return [int(found) for found in re.findall(r'<li id="msg-(\d+)" class="[^"]*\bmsg-flagged\b', body)]


# ---------------------------------------------------------------- the live queue


def test_a_sure_crisis_and_a_check_in_answered_yes_top_the_queue_above_a_waiting_handoff(app, kim):
    body = page(kim, "/queue")
    crisis_at, handoff_at = body.index('id="crisis-heading"'), body.index(f"/tickets/{app.waiting_ticket}/take-over")
    assert crisis_at < handoff_at, "the crisis section comes before the waiting handoff"
    shown = in_crisis_section(app, kim)
    # newest first; the waiting visitor, the "no", the unanswered check-in and the FAQ are not crises
    assert shown == ["to_review", "yes", "maybe", "pattern", "sure"]
    section = crisis_section(kim)
    assert section.count('<strong class="badge badge-crisis">Possible crisis</strong>') == 5, "marked in words"
    assert "Check-in answered yes" in section and "Crisis response given" in section
    assert "Check-in answered not sure" in section
    # The conversations are dated when this module is imported, maybe many minutes before this test runs.
    assert re.search(r"<time datetime=\"[^\"]+\"[^>]*>(\d+ h )?\d+ min ago</time>", section), "how long ago"
    assert '<span lang="es">Español</span>' in section
    assert sender("sure") not in body and PHONE not in body, "opaque keys in links; no visitor text in the queue"
    live = kim.get("/queue.json").json
    assert [crisis["url"] for crisis in live["crises"]] == [f"/conversations/{key(app, name)}" for name in shown]
    assert [crisis["what"] for crisis in live["crises"]][:2] == ["Crisis response given", "Check-in answered yes"]
    assert [ticket["id"] for ticket in live["tickets"]] == [app.waiting_ticket]


def test_marking_reviewed_removes_it_from_the_queue_crisis_section(app, kim):
    assert "to_review" in in_crisis_section(app, kim)
    transcript_page = transcript(app, kim, "to_review")
    assert "Crisis: this conversation needs a staff review." in transcript_page
    form_key = re.search(r'action="/conversations/crisis-reviewed">\s*<input[^>]+>\s*'
                         r'<input type="hidden" name="conversation_id" value="([^"]+)"', transcript_page)[1]
    assert form_key == key(app, "to_review")
    response = kim.post("/conversations/crisis-reviewed", data={"csrf_token": kim.token, "conversation_id": form_key})
    assert response.status_code == 302
    assert "Crisis reviewed by kim on" in page(kim, response.location)
    assert in_crisis_section(app, kim) == ["yes", "maybe", "pattern", "sure"], "reviewed: out of the crisis section"
    assert f"/conversations/{form_key}" not in [crisis["url"] for crisis in kim.get("/queue.json").json["crises"]]
    # a new crisis in the same conversation after the review brings it back, for a review of its own
    engine = create_engine(app.tracker_url)
    with engine.begin() as connection:
        connection.execute(
            insert(EVENTS), sure_crisis(sender("to_review"), "i really cannot go on", time.time(), answered_after=0)
        )
    engine.dispose()
    assert in_crisis_section(app, kim)[0] == "to_review"
    assert "needs a staff review" in transcript(app, kim, "to_review")
    kim.post("/conversations/crisis-reviewed", data={"csrf_token": kim.token, "conversation_id": form_key})
    assert "to_review" not in in_crisis_section(app, kim)


# ---------------------------------------------------------------- the transcript


def test_the_transcript_highlights_the_message_and_names_tier_and_reason(app, kim):
    body = transcript(app, kim, "sure")
    trigger = user_event_ids(app, "sure", f"{XSS} I'd be better off gone, call {PHONE}")
    assert highlighted(body) == trigger
    item = message_item(body, trigger[0])
    assert "msg-crisis" in item and "Crisis trigger: Crisis response given" in item
    assert "Crisis response given: the crisis detector was sure (score 0.93)." in item
    assert "***-***-0147" in item and PHONE not in body, "visitor text masked"
    assert str(escape(XSS)) in item and XSS not in body, "visitor text escaped"
    assert "<dt>Language</dt><dd><span lang=\"en\">English</span></dd>" in body

    body = transcript(app, kim, "pattern")
    assert highlighted(body) == user_event_ids(app, "pattern", "quiero morir")
    assert "Crisis response given: the message matched the crisis phrase list (pattern: es_want_to_die)." in body
    assert '<span lang="es">Español</span>' in body

    body = transcript(app, kim, "yes")
    trigger = user_event_ids(app, "yes", "everything feels pointless lately")
    assert highlighted(body) == trigger, "the message that raised the check-in, not the FAQ question or the yes"
    item = message_item(body, trigger[0])
    assert "Check-in trigger: Check-in answered yes" in item
    assert "Check-in asked: the detector was unsure (score 0.31). Visitor answered: yes" in item
    assert "Answer to the crisis check-in: yes" in message_item(body, user_event_ids(app, "yes", "Yes")[0])
    assert "Crisis: this conversation needs a staff review." in body

    body = transcript(app, kim, "maybe")
    item = message_item(body, user_event_ids(app, "maybe", "everything feels pointless lately")[0])
    assert "Check-in trigger: Check-in answered not sure" in item and "msg-crisis" in item
    assert "Visitor answered: not sure, counted as a yes (the crisis response was given)" in item
    answer = message_item(body, user_event_ids(app, "maybe", "idk maybe")[0])
    assert "Answer to the crisis check-in: not sure (counted as yes)" in answer


def test_a_check_in_answered_no_is_shown_as_such_and_not_as_a_crisis(app, kim):
    body = transcript(app, kim, "no")
    original, replayed = user_event_ids(app, "no", ORIGINAL)
    assert highlighted(body) == [original]
    item = message_item(body, original)
    assert "Check-in trigger: Check-in answered no" in item and "msg-check-in" in item
    assert "badge-check-in" in item and "msg-crisis" not in item and "badge-crisis" not in item, "not as a crisis"
    assert "Check-in asked: the detector was unsure (score 0.35). Visitor answered: no" in item
    assert "Answer to the crisis check-in: no" in message_item(body, user_event_ids(app, "no", "No")[0])
    assert "repeated by the assistant" in message_item(body, replayed), "the replay is not the visitor typing again"
    assert "Crisis response given" not in body and "Crisis trigger" not in body
    outcomes = re.search(r"<dt>Outcome</dt><dd>(.*?)</dd>", body)[1]
    assert (
        '<span class="badge">Crisis check-in</span>' in outcomes and '<span class="badge">Crisis</span>' not in outcomes
    )
    assert "Crisis check-in: this conversation needs a staff review." in body, "a check-in alone is worth a look"
    # not a crisis anywhere: not in the queue's crisis section, not under the crisis outcome
    assert "no" not in in_crisis_section(app, kim)
    crisis_list = page(kim, "/conversations?outcome=crisis")
    check_in_list = page(kim, "/conversations?outcome=crisis_check_in")
    assert key(app, "no") not in crisis_list and key(app, "no") in check_in_list
    assert key(app, "yes") in crisis_list and key(app, "yes") in check_in_list, "a yes is both"
    assert key(app, "sure") in crisis_list and key(app, "sure") not in check_in_list


def test_a_check_in_without_an_answer_says_so(app, kim):
    body = transcript(app, kim, "unanswered")
    assert "Check-in asked: the detector was unsure (score 0.44). Visitor answered: did not answer." in body
    assert "unanswered" not in in_crisis_section(app, kim)


def test_the_conversation_list_shows_language_and_crisis_check_ins(app, kim):
    body = page(kim, "/conversations")
    rows = {
        name: re.search(
            r"<tr[^>]*>\s*<td><a href=\"/conversations/%s\".*?</tr>" % re.escape(key(app, name)), body, re.S
        )[0]
        for name in ("sure", "pattern", "no", "faq")
    }
    assert "Crisis: needs review" in rows["sure"] and '<span lang="en">English</span>' in rows["sure"]
    assert '<span lang="es">Español</span>' in rows["pattern"]
    assert "Crisis check-in: needs review" in rows["no"] and "Crisis: needs review" not in rows["no"]
    assert "needs review" not in rows["faq"]
    order = [body.index(rows[name]) for name in ("sure", "no", "faq")]
    assert order == sorted(order), "crises first, then check-ins, then the rest"


def test_only_conversations_with_a_crisis_or_a_check_in_are_read_further(app):
    """Every session sets crisis_flagged (false): that alone makes no conversation a crisis candidate,
    so the queue, polled every few seconds, reads only the few conversations that need it."""
    with app.app_context():
        candidates = app.extensions["console"].tracker.crisis_candidates()
    names = ("sure", "pattern", "yes", "maybe", "no", "unanswered", "to_review")
    assert set(candidates) == {sender(name) for name in names}


def test_the_overview_counts_crisis_responses_and_check_ins(app, kim):
    body = page(kim, "/")  # the last 30 days
    engine = create_engine(app.tracker_url)
    with engine.connect() as connection:
        given = len(
            connection.execute(select(EVENTS.c.id).where(EVENTS.c.action_name == "action_crisis_response")).all()
        )
    engine.dispose()
    assert re.search(r"<td>Crisis responses</td><td>%d</td>" % (given + 2), body), "and the ones after yes and maybe"
    assert re.search(r"<td>Crisis check-ins</td><td>4</td>", body), "yes, maybe, no and unanswered"


def test_a_phrase_list_match_the_detector_doubted_says_so():
    """The phrase list alone gives the check-in when the detector disagrees (crisis_safety_net.py):
    staff see both, so they know why the visitor was asked rather than given the crisis response."""
    doubted = Detection(tier="check", score=0.08, reason="pattern: suicide_words")
    episode = CrisisEpisode("check_in", datetime(2026, 12, 1, tzinfo=timezone.utc), 7, doubted)
    assert why(episode) == (
        "the message matched the crisis phrase list (pattern: suicide_words), but the crisis detector was unsure "
        "(score 0.08)"
    )
    assert why(episode, technical=False) == (
        "the message matched the crisis phrase list, but the crisis detector was unsure"
    )
