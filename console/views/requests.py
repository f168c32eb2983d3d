"""Consultation requests: status and notes, and the CSV export."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from clinic.storage import STATUSES, ConsultationRequestRecord
from console import params
from console.exports import csv_download
from console.reveal import revealed
from console.services import services
from console.templating import local_time, masked

blueprint = Blueprint("requests", __name__)
LIST_LIMIT = 500
MAX_NOTES_LENGTH = 4000


@blueprint.route("/requests")
def index():
    status = params.choice(request.args, "status", STATUSES)
    records = services().requests.list_requests(status or None, limit=LIST_LIMIT)
    return render_template(
        "requests.html", records=records, statuses=STATUSES, status=status,
        revealed=revealed(record.conversation_id for record in records),
    )


@blueprint.route("/requests/<reference_code>/status", methods=["POST"])
def update_status(reference_code: str):
    status = params.choice(request.form, "status", STATUSES, required=True)
    notes = params.text(request.form, "notes", MAX_NOTES_LENGTH, message=True)
    try:
        services().requests.update_status(reference_code, status, notes)
    except LookupError:
        abort(404, "There is no such consultation request.")
    flash(f"{reference_code}: saved ({status}).", "info")
    return redirect(url_for("requests.index"))


@blueprint.route("/requests/export.csv")
def export():
    dates = params.date_range(request.args, required=True)
    start, end = dates.bounds()
    query = (
        select(ConsultationRequestRecord)
        .where(ConsultationRequestRecord.created_at >= start, ConsultationRequestRecord.created_at < end)
        .order_by(ConsultationRequestRecord.created_at)
    )
    with services().db.session() as session:
        records = session.scalars(query).all()
    return csv_download(
        f"consultation-requests-{dates.start}-{dates.end}.csv",
        ("reference_code", "created", "status", "channel", "full_name", "phone", "email", "preferred_times",
         "help_with", "consent_to_contact", "staff_notes", "conversation_id"),
        (
            (r.reference_code, local_time(r.created_at), r.status, r.channel, r.full_name, masked(r.phone or ""),
             masked(r.email or ""), r.preferred_times, r.help_with, "yes" if r.consent_to_contact else "no",
             r.staff_notes, masked(r.conversation_id))
            for r in records
        ),
    )
