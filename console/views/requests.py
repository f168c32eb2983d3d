"""Requests from visitors, of both kinds (clinic/storage.py): consultation requests (the booking
form) and call-back requests (urgent ones after a crisis response). A compact list (one line a
request, urgent call-backs first), each request's own page (details, status and notes, contact details
behind a logged reveal), the masked CSV export, and the call list: the requests to call with their
phone numbers and email addresses, for a staff member who asks for it, logged on the audit page."""
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Dict, Iterable, List, Optional, Tuple

import phonenumbers
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from clinic.storage import CALLBACK, CONSULTATION, KINDS, RequestNote, utc_now
from console import params
from console.exports import csv_download
from console.models import CallListLog
from console.privacy import short_name
from console.reveal import revealed
from console.services import services
from console.templating import local_time, masked
from console.tracker import LANGUAGES, UNKNOWN_LANGUAGE

blueprint = Blueprint("requests", __name__)
LIST_LIMIT = 500
MAX_NOTES_LENGTH = 4000
REFERENCE_CODE = re.compile(r"[A-Z0-9-]{1,16}")
LANGUAGE_CHOICES = tuple(LANGUAGES) + (UNKNOWN_LANGUAGE,)
KIND_LABELS = {CONSULTATION.name: "Consultation request", CALLBACK.name: "Call-back"}
# Every status of either kind, in the order a request moves through them.
ALL_STATUSES = ("new", "contacted", "called", "booked", "closed")
HELP_WITH = {"anxiety": "Anxiety", "depression": "Depression", "ptsd": "PTSD", "other": "Something else",
             "prefer_to_say_at_consultation": "Prefers to say at the consultation"}
TOPICS = {"booking": "Booking a consultation", "treatment_question": "A question about treatment",
          "billing": "Billing and costs", "other": "Something else"}
CALL_LIST_STATUSES = ("new", "contacted", "called")
# The visitor's notes on a request already sent (RequestStore.add_note), in words.
NOTE_LABELS = {"change": "Change asked", "cancel": "Cancellation asked"}


@dataclass
class RequestRow:
    """One line of the requests list (and, for new call-backs, of the live queue)."""

    kind: str  # "consultation" or "callback"
    reference_code: str
    received: datetime
    name: str  # short and masked (privacy.short_name)
    status: str
    language: str  # "en", "es", or "" when not clear
    url: str
    urgent: bool = False
    conversation_id: str = ""
    channel: str = ""
    topic: str = ""  # what a call-back is about, in words
    notes: Tuple[str, ...] = ()  # the kinds of the visitor's notes since it was sent ("change", "cancel")

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)

    @property
    def note_summary(self) -> str:
        """E.g. "cancellation asked", "2 changes asked": what the visitor added since."""
        if "cancel" in self.notes:
            return "cancellation asked"
        changes = self.notes.count("change")
        return "" if not changes else ("change asked" if changes == 1 else f"{changes} changes asked")


def notes_for(reference_codes: Iterable[str]) -> Dict[str, List[RequestNote]]:
    """The visitor's notes on these requests, oldest first, by reference code."""
    codes = sorted(set(reference_codes))
    found: Dict[str, List[RequestNote]] = {}
    if not codes:
        return found
    with services().db.session() as session:
        for start in range(0, len(codes), 500):
            query = (select(RequestNote).where(RequestNote.reference_code.in_(codes[start:start + 500]))
                     .order_by(RequestNote.created_at, RequestNote.id))
            for note in session.scalars(query):
                found.setdefault(note.reference_code, []).append(note)
    return found


def notes_text(notes: List[RequestNote]) -> str:
    """The notes in one CSV cell, oldest first: "change: Thursday instead please | cancel: ..."."""
    return " | ".join(f"{note.kind}: {note.text}" for note in notes)


def languages_of(conversation_ids: Iterable[str]) -> Dict[str, str]:
    """Each conversation's language, from its tracker (the language slot)."""
    return services().tracker.languages(conversation_ids)


def language_of(kind: str, record: Any, languages: Dict[str, str]) -> str:
    """A request's language: the conversation's (its tracker); a call-back's own when the
    conversation has none (stored with the request)."""
    found = languages.get(record.conversation_id, "")
    if not found and kind == CALLBACK.name and record.language in LANGUAGES:
        found = record.language
    return found


def to_rows(kind: str, records: List[Any], languages: Dict[str, str]) -> List[RequestRow]:
    return [
        RequestRow(kind=kind, reference_code=record.reference_code, received=record.created_at,
                   name=short_name(record.full_name), status=record.status,
                   language=language_of(kind, record, languages),
                   url=url_for("requests.detail", reference_code=record.reference_code),
                   urgent=bool(getattr(record, "urgent", False)), conversation_id=record.conversation_id,
                   channel=record.channel, topic=TOPICS.get(getattr(record, "topic", None) or "", ""))
        for record in records
    ]


def request_rows(status: str = "", kinds: Iterable[str] = KINDS, limit: int = LIST_LIMIT) -> List[RequestRow]:
    """The requests of these kinds (with this status, when given), urgent first, then newest first."""
    found: List[Tuple[str, List[Any]]] = []
    for kind in kinds:
        if status and status not in KINDS[kind].statuses:
            continue
        found.append((kind, services().requests.list_requests(status or None, limit=limit, kind=kind)))
    languages = languages_of(record.conversation_id for _, records in found for record in records)
    rows = [row for kind, records in found for row in to_rows(kind, records, languages)]
    notes = notes_for(row.reference_code for row in rows)
    for row in rows:
        row.notes = tuple(note.kind for note in notes.get(row.reference_code, []))
    rows.sort(key=lambda row: row.received, reverse=True)
    rows.sort(key=lambda row: not row.urgent)  # stable: urgent first, each newest first
    return rows[:limit]


def callbacks_to_call() -> List[RequestRow]:
    """New call-back requests, for the live queue: urgent first, then newest first."""
    return request_rows("new", kinds=[CALLBACK.name])


def requests_for_conversation(conversation_id: str) -> List[Tuple[str, Any]]:
    """(kind, record) of every request a conversation made, oldest first."""
    found = []
    with services().db.session() as session:
        for kind in KINDS.values():
            record_type = kind.record_type
            found += [(kind.name, record) for record in session.scalars(
                select(record_type).where(record_type.conversation_id == conversation_id))]
    return sorted(found, key=lambda pair: pair[1].created_at)


def find_request(reference_code: str) -> Tuple[str, Any]:
    """(kind, record) of the request with this reference code (unique across kinds), or a 404."""
    if REFERENCE_CODE.fullmatch(reference_code):
        for kind in KINDS:
            record = services().requests.get(reference_code, kind=kind)
            if record is not None:
                return kind, record
    abort(404, "There is no such request.")


@blueprint.route("/requests")
def index():
    status = params.choice(request.args, "status", ALL_STATUSES)
    kind = params.choice(request.args, "kind", tuple(KINDS))
    language = params.choice(request.args, "language", LANGUAGE_CHOICES)
    rows = request_rows(status, [kind] if kind else KINDS)
    if language:
        rows = [row for row in rows if row.language == ("" if language == UNKNOWN_LANGUAGE else language)]
    return render_template("requests.html", rows=rows, statuses=ALL_STATUSES, status=status, kind=kind,
                           kinds=KIND_LABELS, language=language, languages=LANGUAGES,
                           unknown_language=UNKNOWN_LANGUAGE, call_list_statuses=CALL_LIST_STATUSES)


@blueprint.route("/requests/<reference_code>")
def detail(reference_code: str):
    kind, record = find_request(reference_code)
    languages = languages_of([record.conversation_id])
    return render_template(
        "request.html", record=record, kind=kind, kind_label=KIND_LABELS[kind], statuses=KINDS[kind].statuses,
        notes=notes_for([record.reference_code]).get(record.reference_code, []), note_labels=NOTE_LABELS,
        languages=LANGUAGES, language=language_of(kind, record, languages),
        revealed=bool(revealed([record.conversation_id])),
        help_with=HELP_WITH.get(getattr(record, "help_with", "") or "", getattr(record, "help_with", "")),
        topic=TOPICS.get(getattr(record, "topic", None) or "", ""),
    )


@blueprint.route("/requests/<reference_code>/status", methods=["POST"])
def update_status(reference_code: str):
    status = params.choice(request.form, "status", ALL_STATUSES, required=True)
    notes = params.text(request.form, "notes", MAX_NOTES_LENGTH, message=True)
    kind, _ = find_request(reference_code)
    if status not in KINDS[kind].statuses:
        abort(400, f"status: a {KIND_LABELS[kind].lower()} is one of {', '.join(KINDS[kind].statuses)}.")
    try:
        services().requests.update_status(reference_code, status, notes, kind=kind)
    except LookupError:
        abort(404, "There is no such request.")
    flash(f"{reference_code}: saved ({status}).", "info")
    return redirect(url_for("requests.detail", reference_code=reference_code))


def records_between(kind: str, dates: params.DateRange, status: str = "") -> List[Any]:
    record_type = KINDS[kind].record_type
    start, end = dates.bounds()
    query = (
        select(record_type)
        .where(record_type.created_at >= start, record_type.created_at < end)
        .order_by(record_type.created_at)
    )
    if status:
        query = query.where(record_type.status == status)
    with services().db.session() as session:
        return list(session.scalars(query))


def language_name(code: str) -> str:
    return LANGUAGES.get(code, "")


@blueprint.route("/requests/export.csv")
def export():
    """Every request of the chosen dates, both kinds, contact details masked: for counting, not for calling."""
    dates = params.date_range(request.args, required=True)
    found = [(kind, record) for kind in KINDS for record in records_between(kind, dates)]
    found.sort(key=lambda pair: pair[1].created_at)
    languages = languages_of(record.conversation_id for _, record in found)
    notes = notes_for(record.reference_code for _, record in found)
    return csv_download(
        f"requests-{dates.start}-{dates.end}.csv",
        ("reference_code", "created", "status", "channel", "full_name", "phone", "email", "preferred_times",
         "help_with", "consent_to_contact", "staff_notes", "conversation_id", "language", "kind", "urgent", "topic",
         "visitor_notes"),
        (
            (r.reference_code, local_time(r.created_at), r.status, r.channel, r.full_name, masked(r.phone or ""),
             masked(r.email or ""), r.preferred_times, getattr(r, "help_with", ""),
             "yes" if kind == CALLBACK.name or r.consent_to_contact else "no", r.staff_notes, masked(r.conversation_id),
             language_name(language_of(kind, r, languages)), KIND_LABELS[kind],
             "yes" if getattr(r, "urgent", False) else "", getattr(r, "topic", None) or "",
             masked(notes_text(notes.get(r.reference_code, []))))
            for kind, r in found
        ),
    )


def readable_phone(phone: Optional[str]) -> str:
    """(509) 555-0147 for a US number, +44 20 7946 0958 for others: as staff dial it."""
    if not phone:
        return ""
    try:
        number = phonenumbers.parse(phone, "US")
    except phonenumbers.NumberParseException:
        return phone
    style = (phonenumbers.PhoneNumberFormat.NATIONAL if number.country_code == 1
             else phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return phonenumbers.format_number(number, style)


@blueprint.route("/requests/call-list.csv", methods=["POST"])
def call_list():
    """The requests to call back, with their phone numbers and email addresses: only for a signed-in
    staff member who asked for it on the requests page (a form with the CSRF token and a box ticked),
    only visitors who asked to be called or agreed to be contacted, urgent ones first, and logged like
    a reveal (the audit page)."""
    if request.form.get("confirm") != "yes":
        abort(400, "confirm: tick the box to say you need the contact details to call these visitors back.")
    dates = params.date_range(request.form, required=True)
    status = params.choice(request.form, "status", CALL_LIST_STATUSES) or "new"
    found = [(kind, record) for kind in KINDS if status in KINDS[kind].statuses
             for record in records_between(kind, dates, status)
             if kind == CALLBACK.name or record.consent_to_contact]
    found.sort(key=lambda pair: pair[1].created_at, reverse=True)
    found.sort(key=lambda pair: not getattr(pair[1], "urgent", False))
    languages = languages_of(record.conversation_id for _, record in found)
    notes = notes_for(record.reference_code for _, record in found)
    with services().db.session() as session:
        session.add(CallListLog(
            staff_username=current_user.username, downloaded_at=utc_now(),
            description=f"{status} requests, {dates.start} to {dates.end}", request_count=len(found),
            reference_codes=" ".join(record.reference_code for _, record in found),
        ))
    return csv_download(
        f"call-list-{status}-{dates.start}-{dates.end}.csv",
        ("reference_code", "kind", "urgent", "received", "status", "language", "full_name", "phone", "email",
         "preferred_times", "about", "staff_notes", "visitor_notes"),
        (
            (r.reference_code, KIND_LABELS[kind], "URGENT" if getattr(r, "urgent", False) else "",
             local_time(r.created_at), r.status, language_name(language_of(kind, r, languages)), r.full_name,
             readable_phone(r.phone), r.email or "", r.preferred_times or "as soon as possible",
             HELP_WITH.get(r.help_with, r.help_with) if kind == CONSULTATION.name else TOPICS.get(r.topic or "", ""),
             r.staff_notes, notes_text(notes.get(r.reference_code, [])))
            for kind, r in found
        ),
    )
