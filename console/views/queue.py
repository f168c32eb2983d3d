"""The live queue: conversations with an unreviewed crisis at the top, then visitors waiting for a
person; taking over, replying, handing back."""
from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.exceptions import Conflict

from clinic.handoff_store import ENDED_INTENT, HandoffTicket
from console import params
from console.crisis import CrisisAlert, ago, crisis_alerts, headline
from console.reveal import revealed
from console.services import services
from console.templating import local_time, masked, opaque
from console.tracker import LANGUAGES

blueprint = Blueprint("queue", __name__)
MAX_REPLY_LENGTH = 2000
REASONS = {
    "request_human": "Asked for a person",
    "crisis": "After a crisis response",
    "clarification_failed": "Assistant did not understand",
    "booking_stuck": "Stuck in the booking form",
}
LIVE_KINDS = ("visitor", "bot", "staff")


def ticket_or_404(ticket_id: int) -> HandoffTicket:
    return services().handoffs.get(ticket_id) or abort(404, "There is no such handoff.")


def ticket_json(ticket: HandoffTicket) -> dict:
    return {
        "id": ticket.id,
        "url": url_for("queue.ticket", ticket_id=ticket.id),
        "take_over_url": url_for("queue.take_over", ticket_id=ticket.id),
        "status": ticket.status,
        "reason": REASONS.get(ticket.reason, ticket.reason),
        "channel": ticket.channel,
        "assigned_staff": ticket.assigned_staff or "",
        "since": local_time(ticket.created_at),
    }


def open_tickets():
    return services().handoffs.list_tickets(statuses=("waiting", "active"))


def crisis_json(alert: CrisisAlert) -> dict:
    """A conversation with an unreviewed crisis: what happened, when, and its transcript (by its
    opaque key). No visitor text: staff read it on the transcript page."""
    moment = alert.episode.time
    return {
        "url": url_for("conversations.detail", conversation_id=opaque(alert.conversation_id)),
        "what": headline(alert.episode),
        "at": moment.isoformat(timespec="seconds"),
        "since": local_time(moment),
        "ago": ago(moment),
        "channel": alert.channel,
        "language": LANGUAGES.get(alert.language, ""),
        "language_code": alert.language,
    }


def queue_state() -> dict:
    return {"crises": [crisis_json(alert) for alert in crisis_alerts()],
            "tickets": [ticket_json(ticket) for ticket in open_tickets()]}


def can_reply(ticket: HandoffTicket) -> bool:
    return ticket.status == "active" and ticket.assigned_staff == current_user.username


@blueprint.route("/queue")
def index():
    return render_template("queue.html", **queue_state())


@blueprint.route("/queue.json")
def tickets_json():
    return jsonify(**queue_state())


@blueprint.route("/tickets/<row_id:ticket_id>")
def ticket(ticket_id: int):
    """The transcript and reply box; the page's script loads and refreshes the messages."""
    ticket = ticket_or_404(ticket_id)
    return render_template(
        "ticket.html", ticket=ticket, reason=REASONS.get(ticket.reason, ticket.reason),
        revealed=bool(revealed([ticket.conversation_id])), can_reply=can_reply(ticket),
    )


@blueprint.route("/tickets/<row_id:ticket_id>/messages.json")
def messages_json(ticket_id: int):
    """The ticket's state and the conversation's messages after event `after` (polled by the page)."""
    ticket = ticket_or_404(ticket_id)
    after = params.row_id(request.args, "after", "0")
    show_contacts = bool(revealed([ticket.conversation_id]))
    messages = services().tracker.transcript(ticket.conversation_id, after)
    return jsonify(
        status=ticket.status,
        assigned_staff=ticket.assigned_staff or "",
        can_reply=can_reply(ticket),
        messages=[
            {"id": m.id, "kind": m.kind, "author": m.staff or "", "time": local_time(m.time),
             "text": masked(m.text, show_contacts)}
            for m in messages if m.kind in LIVE_KINDS
        ],
    )


@blueprint.route("/tickets/<row_id:ticket_id>/take-over", methods=["POST"])
def take_over(ticket_id: int):
    ticket = ticket_or_404(ticket_id)
    if not services().handoffs.take_over(ticket.id, current_user.username):
        flash("This visitor is no longer waiting: someone else took over, or the handoff ended.", "error")
    return redirect(url_for("queue.ticket", ticket_id=ticket.id))


@blueprint.route("/tickets/<row_id:ticket_id>/reply", methods=["POST"])
def reply(ticket_id: int):
    body = params.json_object('Send JSON: {"text": "..."}.')
    text = params.text(body, "text", MAX_REPLY_LENGTH, required=True, message=True)
    ticket = ticket_or_404(ticket_id)
    if not can_reply(ticket):
        raise Conflict("Only the staff member who took over an active handoff can reply.")
    services().rasa.say(ticket.conversation_id, text, current_user.username)
    return jsonify(sent=True)


@blueprint.route("/tickets/<row_id:ticket_id>/hand-back", methods=["POST"])
def hand_back(ticket_id: int):
    return finish(ticket_id, "handed_back", "The assistant is back in the conversation.")


@blueprint.route("/tickets/<row_id:ticket_id>/close", methods=["POST"])
def close(ticket_id: int):
    return finish(ticket_id, "closed_by_staff", "Handoff closed; the assistant is back in the conversation.")


def finish(ticket_id: int, close_reason: str, done: str):
    ticket = ticket_or_404(ticket_id)
    if ticket.status == "closed":
        flash("This handoff had already ended.", "info")
    else:
        # The bot is resumed first: if the assistant cannot be reached the ticket stays open (and the
        # visitor is never left with a paused bot and nobody on the ticket).
        services().rasa.resume_with_intent(ticket.conversation_id, ENDED_INTENT)
        services().handoffs.close(ticket.id, close_reason)
        flash(done, "info")
    return redirect(url_for("queue.index"))
