"""Improving the assistant: staff label the messages it did not understand (not the answers typed
into the booking form, not what visitors said to staff), English and Spanish apart, and export them
as Rasa NLU training data ready to merge into data/ (Spanish into data/nlu/es/)."""
import re
from functools import lru_cache
from typing import List, Tuple

import yaml
from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from clinic.faq_topics import FAQ_TOPICS
from clinic.settings import PROJECT_DIR
from clinic.storage import utc_now
from console import params
from console.exports import nlu_yaml
from console.models import NluLabel
from console.privacy import mask
from console.services import services
from console.tracker import LANGUAGES, UNKNOWN_LANGUAGE

blueprint = Blueprint("improve", __name__)
INBOX_SIZE = 200
NEW_TOPIC = "new"
TOPIC_NAME = re.compile(r"[a-z][a-z0-9_]{1,47}")
# Not something a visitor's message can be labelled with: the retrieval intent itself (pick a
# topic instead), the crisis detector's own verdict (never trained) and the intents the system sends.
NOT_LABELS = re.compile(r"faq|nlu_fallback|possible_crisis|EXTERNAL_.*")
# What each kind of message means, in words, for the label menu.
INTENT_WORDS = {
    "greet": "A greeting", "goodbye": "Saying goodbye", "thanks": "Thanks", "affirm": "Yes", "deny": "No",
    "bot_challenge": "Asks whether it is talking to a bot", "book_consultation": "Wants to book a consultation",
    "request_human": "Wants to talk to a person", "stop": "Wants to stop or cancel",
    "crisis": "Crisis: at risk of harming themselves", "medical_advice": "Asks for medical advice",
    "out_of_scope": "Something the clinic does not help with", "inform": "Gives booking details",
    "share_feelings": "Tells how they feel, asks nothing",
    "change_booking": "Wants to change their booking request", "switch_language": "Wants the other language",
}
LANGUAGE_CHOICES = tuple(LANGUAGES) + (UNKNOWN_LANGUAGE,)
SECTIONS = [(code, name) for code, name in LANGUAGES.items()] + [("", "Language not yet clear")]


@lru_cache(maxsize=1)
def intents() -> List[str]:
    domain = yaml.safe_load((PROJECT_DIR / "domain.yml").read_text(encoding="utf-8"))
    names = [next(iter(entry)) if isinstance(entry, dict) else str(entry) for entry in domain.get("intents", [])]
    return [name for name in names if not NOT_LABELS.fullmatch(name)]


def intent_choices() -> List[Tuple[str, str]]:
    """(intent, what it means in words) for the label menu."""
    return [(name, INTENT_WORDS.get(name, name.replace("_", " ").capitalize())) for name in intents()]


def faq_topics() -> List[Tuple[str, str]]:
    return [(f"faq/{key}", topic.get("label", key)) for key, topic in FAQ_TOPICS.items()]


def chosen_label() -> str:
    label = params.choice(
        request.form, "label", intents() + [key for key, _ in faq_topics()] + [NEW_TOPIC], required=True
    )
    if label != NEW_TOPIC:
        return label
    name = params.text(request.form, "new_topic", 48, required=True)
    if not TOPIC_NAME.fullmatch(name):
        abort(400, "new_topic: lowercase letters, digits and _, starting with a letter (e.g. parking_info).")
    return f"faq/{name}"


@blueprint.route("/improve")
def index():
    show_all = params.choice(request.args, "show", ("all",)) == "all"
    language = params.choice(request.args, "lang", LANGUAGE_CHOICES)
    inbox = services().tracker.inbox(INBOX_SIZE, language or None)
    with services().db.session() as session:
        labels = {
            label.event_id: label
            for label in session.scalars(select(NluLabel).where(NluLabel.event_id.in_([m.id for m, _ in inbox])))
        }
        counts = dict(session.execute(select(NluLabel.language, func.count()).group_by(NluLabel.language)).all())
    shown = [(message, found) for message, found in inbox if show_all or message.id not in labels]
    sections = [(code, name, [message for message, found in shown if found == code]) for code, name in SECTIONS]
    return render_template(
        "improve.html", sections=[section for section in sections if section[2] or not language], labels=labels,
        show_all=show_all, language=language, languages=LANGUAGES, unknown_language=UNKNOWN_LANGUAGE,
        intents=intent_choices(), topics=faq_topics(), new_topic=NEW_TOPIC,
        labelled_total=sum(counts.values()), labelled={code: counts.get(code, 0) for code in LANGUAGES},
    )


@blueprint.route("/improve/label", methods=["POST"])
def label():
    event_id = params.row_id(request.form, "event_id")
    back = params.choice(request.form, "lang", LANGUAGE_CHOICES)  # the tab to go back to
    message = services().tracker.unrecognised_message(event_id) or abort(404, "There is no such message in the inbox.")
    chosen = chosen_label()
    with services().db.session() as session:
        entry = session.scalar(select(NluLabel).where(NluLabel.event_id == message.id)) or NluLabel(event_id=message.id)
        entry.conversation_id, entry.text, entry.label = message.conversation_id, mask(message.text), chosen
        entry.language = services().tracker.language_at(message) or None
        entry.labelled_by, entry.labelled_at = current_user.username, utc_now()
        session.add(entry)
    flash(f"Saved: {chosen}.", "info")
    return redirect(url_for("improve.index", lang=back or None))


@blueprint.route("/improve/export.yml")
def export():
    """The labelled messages as Rasa NLU YAML; `lang` (en, es) only those of one language (Spanish
    ones belong in data/nlu/es/)."""
    language = params.choice(request.args, "lang", tuple(LANGUAGES))
    examples = {}
    query = select(NluLabel)
    if language:
        query = query.where(NluLabel.language == language)
    with services().db.session() as session:
        for entry in session.scalars(query):
            examples.setdefault(entry.label, []).append(entry.text)
    name = f"nlu_from_console_{language}.yml" if language else "nlu_from_console.yml"
    return Response(
        nlu_yaml(examples), mimetype="application/x-yaml",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
