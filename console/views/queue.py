"""The live queue: conversations with an unreviewed crisis at the top, then who is waiting: visitors
waiting for a person in the chat (and handoffs in progress) and new call-back requests, urgent ones
(after a crisis) first, then the newest, each with how long it has waited and its language; taking
over, replying, handing back."""
from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.exceptions import Conflict

from clinic.handoff_store import ENDED_INTENT, HandoffTicket
from console import params
from console.crisis import CrisisAlert, ago, crisis_alerts, headline
from console.plain import plain_messages
from console.reveal import revealed
from console.services import services
from console.templating import local_time, masked, opaque
from console.tracker import LANGUAGES
from console.views.requests import RequestRow, callbacks_to_call

blueprint = Blueprint("queue", __name__)
MAX_REPLY_LENGTH = 2000
REASONS = {
    "request_human": "Asked for a person",
    "crisis": "After a crisis response",
    "clarification_failed": "Assistant did not understand",
    "booking_stuck": "Stuck in the booking form",
}
LIVE_KINDS = ("visitor", "bot", "staff")
URGENT_REASONS = ("crisis",)  # a handoff after a crisis response


def waited(moment) -> str:
    """How long something has waited, e.g. "under a minute", "12 min", "3 h 5 min", "2 days"."""
    found = ago(moment)
    return "under a minute" if found == "just now" else found[:-len(" ago")]


def ticket_or_404(ticket_id: int) -> HandoffTicket:
    return services().handoffs.get(ticket_id) or abort(404, "There is no such handoff.")


def ticket_json(ticket: HandoffTicket, language: str = "") -> dict:
    return {
        "id": ticket.id,
        "url": url_for("queue.ticket", ticket_id=ticket.id),
        "take_over_url": url_for("queue.take_over", ticket_id=ticket.id),
        "status": ticket.status,
        "reason": REASONS.get(ticket.reason, ticket.reason),
        "channel": ticket.channel,
        "assigned_staff": ticket.assigned_staff or "",
        "since": local_time(ticket.created_at),
        "at": ticket.created_at.isoformat(timespec="seconds"),
        "waited": waited(ticket.created_at),
        "urgent": ticket.reason in URGENT_REASONS,
        "language": LANGUAGES.get(language, ""),
        "language_code": language,
    }


def callback_json(row: RequestRow) -> dict:
    """A new call-back request: its reference, what about, how long it has waited. No name, number or
    other visitor text: staff read them on the request's page."""
    return {
        "reference_code": row.reference_code,
        "url": row.url,
        "urgent": row.urgent,
        "topic": row.topic,
        "channel": row.channel,
        "since": local_time(row.received),
        "at": row.received.isoformat(timespec="seconds"),
        "waited": waited(row.received),
        "language": LANGUAGES.get(row.language, ""),
        "language_code": row.language,
    }


def open_tickets():
    """Waiting and active handoffs: urgent ones (after a crisis) first, then the newest."""
    tickets = services().handoffs.list_tickets(statuses=("waiting", "active"))  # newest first
    return sorted(tickets, key=lambda ticket: ticket.reason not in URGENT_REASONS)


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
    tickets = open_tickets()
    languages = services().tracker.languages(ticket.conversation_id for ticket in tickets)
    return {"crises": [crisis_json(alert) for alert in crisis_alerts()],
            "tickets": [ticket_json(ticket, languages.get(ticket.conversation_id, "")) for ticket in tickets],
            "callbacks": [callback_json(row) for row in callbacks_to_call()]}


def waiting_rows(state: dict) -> list:
    """Handoffs and call-backs in one list, as the page shows them: urgent first, then the newest."""
    rows = [dict(ticket, kind="handoff") for ticket in state["tickets"]]
    rows += [dict(callback, kind="callback") for callback in state["callbacks"]]
    rows.sort(key=lambda row: row["at"], reverse=True)
    rows.sort(key=lambda row: not row["urgent"])
    return rows


def can_reply(ticket: HandoffTicket) -> bool:
    return ticket.status == "active" and ticket.assigned_staff == current_user.username


@blueprint.route("/queue")
def index():
    state = queue_state()
    return render_template("queue.html", waiting=waiting_rows(state), **state)


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
    # The whole conversation is read (a button click's title is on an earlier bot message), the new part sent.
    entries = [entry for entry in plain_messages(services().tracker.events(ticket.conversation_id))
               if entry.id > after and entry.kind in LIVE_KINDS]
    return jsonify(
        status=ticket.status,
        assigned_staff=ticket.assigned_staff or "",
        can_reply=can_reply(ticket),
        messages=[
            {"id": entry.id, "kind": entry.kind, "author": entry.staff or "", "time": local_time(entry.time),
             "text": masked(entry.text, show_contacts)}
            for entry in entries
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
