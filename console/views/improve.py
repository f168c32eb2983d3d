"""Improving the assistant: staff label the messages it did not recognise, and export them as
Rasa NLU training data ready to merge into data/."""
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

blueprint = Blueprint("improve", __name__)
INBOX_SIZE = 200
NEW_TOPIC = "new"
TOPIC_NAME = re.compile(r"[a-z][a-z0-9_]{1,47}")
# Not something a visitor's message can be labelled with: the retrieval intent itself (pick a
# topic instead) and the intents the system sends.
NOT_LABELS = re.compile(r"faq|nlu_fallback|EXTERNAL_.*")


@lru_cache(maxsize=1)
def intents() -> List[str]:
    domain = yaml.safe_load((PROJECT_DIR / "domain.yml").read_text(encoding="utf-8"))
    names = [next(iter(entry)) if isinstance(entry, dict) else str(entry) for entry in domain.get("intents", [])]
    return [name for name in names if not NOT_LABELS.fullmatch(name)]


def faq_topics() -> List[Tuple[str, str]]:
    return [(f"faq/{key}", topic.get("label", key)) for key, topic in FAQ_TOPICS.items()]


def chosen_label() -> str:
    label = params.choice(request.form, "label", intents() + [key for key, _ in faq_topics()] + [NEW_TOPIC], required=True)
    if label != NEW_TOPIC:
        return label
    name = params.text(request.form, "new_topic", 48, required=True)
    if not TOPIC_NAME.fullmatch(name):
        abort(400, "new_topic: lowercase letters, digits and _, starting with a letter (e.g. parking_info).")
    return f"faq/{name}"


@blueprint.route("/improve")
def index():
    show_all = params.choice(request.args, "show", ("all",)) == "all"
    messages = services().tracker.unrecognised(INBOX_SIZE)
    with services().db.session() as session:
        labels = {
            label.event_id: label
            for label in session.scalars(select(NluLabel).where(NluLabel.event_id.in_([m.id for m in messages])))
        }
        labelled_total = session.scalar(select(func.count()).select_from(NluLabel))
    return render_template(
        "improve.html", messages=[m for m in messages if show_all or m.id not in labels], labels=labels,
        show_all=show_all, intents=intents(), topics=faq_topics(), new_topic=NEW_TOPIC, labelled_total=labelled_total,
    )


@blueprint.route("/improve/label", methods=["POST"])
def label():
    event_id = params.row_id(request.form, "event_id")
    message = services().tracker.unrecognised_message(event_id) or abort(404, "There is no such message in the inbox.")
    chosen = chosen_label()
    with services().db.session() as session:
        entry = session.scalar(select(NluLabel).where(NluLabel.event_id == message.id)) or NluLabel(event_id=message.id)
        entry.conversation_id, entry.text, entry.label = message.conversation_id, mask(message.text), chosen
        entry.labelled_by, entry.labelled_at = current_user.username, utc_now()
        session.add(entry)
    flash(f"Labelled as {chosen}.", "info")
    return redirect(url_for("improve.index"))


@blueprint.route("/improve/export.yml")
def export():
    examples = {}
    with services().db.session() as session:
        for entry in session.scalars(select(NluLabel)):
            examples.setdefault(entry.label, []).append(entry.text)
    return Response(
        nlu_yaml(examples), mimetype="application/x-yaml",
        headers={"Content-Disposition": 'attachment; filename="nlu_from_console.yml"'},
    )
