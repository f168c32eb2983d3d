"""Conversation review: search and filters, transcripts, crisis reviews, reveals and their audit log."""
from dataclasses import dataclass
from typing import List, Optional, Tuple

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from clinic.conversation_keys import conversation_for_key
from clinic.storage import utc_now
from console import params
from console.crisis import attention, describe, headline, reviews, unreviewed
from console.exports import csv_download
from console.models import CallListLog, CrisisReview, RevealLog
from console.params import DateRange
from console.plain import plain_messages, plain_transcript
from console.reveal import record_reveal, revealed
from console.security import local_path
from console.services import services
from console.templating import local_time, masked, opaque
from console.tracker import CHANNELS, LANGUAGES, OUTCOME_LABELS, UNKNOWN_LANGUAGE, ConversationSummary, Filters
from console.views.requests import KIND_LABELS, notes_for, requests_for_conversation

blueprint = Blueprint("conversations", __name__)
PAGE_SIZE = 50
AUDIT_ENTRIES = 500
MAX_ID_LENGTH = 255  # Rasa's sender_id column
MAX_KEY_LENGTH = 2000  # the key of the longest id (255 characters of up to 4 bytes each)
REFERENCE_SLOT = "booking_reference"  # the reference code the assistant gave the visitor


def list_filters() -> Tuple[Filters, Optional[DateRange]]:
    args = request.args
    dates = params.date_range(args, required=False)
    start, end = dates.epoch_bounds() if dates else (None, None)
    filters = Filters(
        text=params.text(args, "q"), start=start, end=end,
        channel=params.choice(args, "channel", CHANNELS), outcome=params.choice(args, "outcome", list(OUTCOME_LABELS)),
        language=params.choice(args, "language", tuple(LANGUAGES) + (UNKNOWN_LANGUAGE,)),
    )
    return filters, dates


@dataclass(frozen=True)
class Reference:
    """A request the conversation made: its reference code, and its page when it is on the list."""

    code: str
    label: str
    url: Optional[str] = None


def references(conversation_id: str) -> List[Reference]:
    """The conversation's requests (the clinic database), then any reference code the assistant gave
    that is not on the list yet (a request kept in the spool while the database was down)."""
    requests = requests_for_conversation(conversation_id)
    notes = notes_for(record.reference_code for _, record in requests)

    def label(kind, record) -> str:
        parts = [KIND_LABELS[kind].lower()] + (["urgent"] if getattr(record, "urgent", False) else []) + [record.status]
        count = len(notes.get(record.reference_code, []))
        if count:
            parts.append(f"{count} note{'' if count == 1 else 's'} from the visitor since")
        return ", ".join(parts)

    found = [Reference(record.reference_code, label(kind, record),
                       url_for("requests.detail", reference_code=record.reference_code))
             for kind, record in requests]
    listed = {reference.code for reference in found}
    for value in services().tracker.slot_values(conversation_id, REFERENCE_SLOT):
        if isinstance(value, str) and value and value not in listed:
            listed.add(value)
            found.append(Reference(value, "not on the requests list yet"))
    return found


def summary_or_404(conversation_id: str) -> ConversationSummary:
    found = services().tracker.conversations(Filters(conversation_id=conversation_id))
    return found[0] if found else abort(404, "There is no such conversation.")


def conversation_id_for(value: str) -> str:
    """The conversation an address or form names: by its opaque key (what the console's pages give,
    templating.opaque), or by its id, as typed or in a link made before keys."""
    found = conversation_for_key(value, current_app.secret_key)
    if found is None and len(value) > MAX_ID_LENGTH:
        abort(400, f"conversation_id: at most {MAX_ID_LENGTH} characters.")
    return value if found is None else found


def form_conversation_id() -> str:
    return conversation_id_for(params.text(request.form, "conversation_id", MAX_KEY_LENGTH, required=True))


@blueprint.route("/conversations")
def index():
    filters, dates = list_filters()
    page = params.page_number(request.args)
    summaries = services().tracker.conversations(filters)
    reviewed = reviews(summary.conversation_id for summary in summaries if summary.crisis.episodes)
    needs_review = {summary.conversation_id: attention(summary.crisis, reviewed.get(summary.conversation_id))
                    for summary in summaries}
    # Unreviewed crises first, then unreviewed check-ins; stable: otherwise most recent first.
    summaries.sort(key=lambda summary: {"crisis": 0, "check_in": 1}.get(needs_review[summary.conversation_id], 2))
    shown = summaries[(page - 1) * PAGE_SIZE:page * PAGE_SIZE]
    services().tracker.add_details(shown)
    return render_template(
        "conversations.html", conversations=shown, total=len(summaries), page=page,
        pages=max(1, -(-len(summaries) // PAGE_SIZE)), dates=dates, channels=CHANNELS, outcomes=OUTCOME_LABELS,
        revealed=revealed(summary.conversation_id for summary in shown), languages=LANGUAGES,
        unknown_language=UNKNOWN_LANGUAGE, language=filters.language,
        needs_review=lambda summary: needs_review[summary.conversation_id],
        page_url=lambda number: url_for("conversations.index", **{**request.args.to_dict(), "page": number}),
    )


@blueprint.route("/conversations/<path:conversation_id>")
def detail(conversation_id: str):
    conversation_id = conversation_for_key(conversation_id, current_app.secret_key) or conversation_id
    summary = summary_or_404(conversation_id)
    services().tracker.add_details([summary])
    review = reviews([conversation_id]).get(conversation_id)
    triggers, answers = {}, {}
    for episode in summary.crisis.episodes:
        triggers.setdefault(episode.message_id, []).append(episode)
        answers.setdefault(episode.answer_id, []).append(episode)
    return render_template(
        "conversation.html", summary=summary, entries=plain_transcript(services().tracker.events(conversation_id)),
        review=review, revealed=bool(revealed([conversation_id])), outcomes=OUTCOME_LABELS, languages=LANGUAGES,
        needs_review=attention(summary.crisis, review), describe=describe, headline=headline,
        triggers=triggers, answers=answers, references=references(conversation_id),
        why={message_id: [describe(episode) for episode in episodes] for message_id, episodes in triggers.items()},
    )


@blueprint.route("/conversations/reveal", methods=["POST"])
def reveal():
    conversation_id = form_conversation_id()
    if not services().tracker.exists(conversation_id):
        abort(404, "There is no such conversation.")
    record_reveal(conversation_id)
    flash("Phone numbers and email addresses are shown for this conversation. The reveal is logged.", "info")
    fallback = url_for("conversations.detail", conversation_id=opaque(conversation_id))
    return redirect(local_path(request.form.get("next", ""), fallback))


@blueprint.route("/conversations/crisis-reviewed", methods=["POST"])
def crisis_reviewed():
    """Marks a conversation's crises and check-ins reviewed; one raised after a review needs a new one."""
    conversation_id = form_conversation_id()
    history = summary_or_404(conversation_id).crisis
    if not history.episodes:
        abort(409, "This conversation has no crisis or check-in to review.")
    already = False
    try:
        with services().db.session() as session:
            review = session.scalar(select(CrisisReview).where(CrisisReview.conversation_id == conversation_id))
            if review is None:
                session.add(CrisisReview(conversation_id=conversation_id, reviewed_by=current_user.username,
                                         reviewed_at=utc_now()))
            elif unreviewed(history, review):  # reviewed before its latest crisis or check-in
                review.reviewed_by, review.reviewed_at = current_user.username, utc_now()
            else:
                already = True
    except IntegrityError:  # someone else's review was stored meanwhile
        already = True
    flash("Someone had already marked it as reviewed." if already else "Marked as reviewed.", "info")
    return redirect(url_for("conversations.detail", conversation_id=opaque(conversation_id)))


def export_entries(start: float, end: float):
    """The messages of a time range in plain words (a button click as its title), by conversation."""
    by_sender = {}
    for row in services().tracker.event_rows_between(start, end):
        by_sender.setdefault(row.sender_id, []).append(row)
    for rows in by_sender.values():
        yield from plain_messages(rows)


@blueprint.route("/conversations/export.csv")
def export():
    dates = params.date_range(request.args, required=True)
    entries = list(export_entries(*dates.epoch_bounds()))
    languages = services().tracker.languages(entry.message.conversation_id for entry in entries)
    author = {"visitor": "visitor", "bot": "assistant"}
    return csv_download(
        f"conversations-{dates.start}-{dates.end}.csv",
        ("conversation_id", "time", "channel", "from", "text", "intent", "faq_topic", "confidence", "language",
         "button"),
        (
            (masked(m.conversation_id), local_time(m.time), m.channel or "", author.get(m.kind) or f"staff: {m.staff}",
             masked(entry.text), m.intent or "", m.faq_key or "", "" if m.confidence is None else f"{m.confidence:.2f}",
             LANGUAGES.get(languages.get(m.conversation_id, ""), ""), "yes" if entry.clicked else "")
            for entry in entries for m in (entry.message,)
        ),
    )


@blueprint.route("/audit")
def audit():
    with services().db.session() as session:
        entries = session.scalars(select(RevealLog).order_by(RevealLog.id.desc()).limit(AUDIT_ENTRIES)).all()
        call_lists = session.scalars(select(CallListLog).order_by(CallListLog.id.desc()).limit(AUDIT_ENTRIES)).all()
    return render_template("audit.html", entries=entries, call_lists=call_lists)
