"""What staff are told about crises: which conversations still need a staff review, the live queue's
crisis section, and in plain words why the assistant gave the crisis response or asked the check-in
(console/tracker.py reads the episodes from the events)."""
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Dict, Iterable, List, Optional

from sqlalchemy import select

from console.models import CrisisReview
from console.services import services
from console.tracker import CHUNK, CrisisEpisode, CrisisHistory, Detection


def reviews(conversation_ids: Iterable[str]) -> Dict[str, CrisisReview]:
    """Crisis reviews by conversation id."""
    ids = sorted(set(conversation_ids))
    found: Dict[str, CrisisReview] = {}
    with services().db.session() as session:
        for start in range(0, len(ids), CHUNK):
            found.update((review.conversation_id, review) for review in session.scalars(
                select(CrisisReview).where(CrisisReview.conversation_id.in_(ids[start:start + CHUNK]))
            ))
    return found


def unreviewed(
    history: CrisisHistory, review: Optional[CrisisReview], urgent_only: bool = False
) -> List[CrisisEpisode]:
    """The crisis episodes raised since the conversation was last reviewed (all of them if never):
    a crisis after a review needs a review of its own."""
    return history.after(review.reviewed_at if review else None, urgent_only)


def attention(history: CrisisHistory, review: Optional[CrisisReview]) -> str:
    """"crisis" (a crisis response or a check-in answered yes or not sure, not yet reviewed), "check_in" (a
    check-in not yet reviewed), or "" (nothing to review)."""
    pending = unreviewed(history, review)
    if any(episode.urgent for episode in pending):
        return "crisis"
    return "check_in" if pending else ""


def why(episode: CrisisEpisode, technical: bool = True) -> str:
    """Why the assistant acted, in staff language, e.g. "the crisis detector was sure (score 0.93)";
    without the score or the phrase's name when not `technical`."""
    found: Optional[Detection] = episode.detection
    if episode.message_id is None:
        return "the conversation was flagged for a crisis (no message details were recorded)"
    if found is None or (not found.reason and found.score is None):
        what = "a crisis" if episode.kind == "crisis" else "a possible crisis"
        return f"the message was recognised as {what} (no detector details were recorded)"
    score = f" (score {found.score:.2f})" if found.score is not None and technical else ""
    if found.reason.startswith("pattern:"):
        phrase_list = "the message matched the crisis phrase list" + (f" ({found.reason})" if technical else "")
        # a phrase-list match the detector disagrees with gets the check-in (crisis_safety_net.py)
        return phrase_list + (f", but the crisis detector was unsure{score}" if found.tier == "check" else "")
    if found.tier == "sure":
        return f"the crisis detector was sure{score}"
    if found.tier == "check":
        return f"the detector was unsure{score}"
    return f"the crisis detector flagged the message{score}"


def answer(episode: CrisisEpisode) -> str:
    if episode.answer == "yes":
        return "yes (the crisis response was given)"
    if episode.answer == "unsure":
        return "not sure, counted as a yes (the crisis response was given)"
    if episode.answer == "no":
        return "no (the assistant carried on with what the visitor had asked)"
    if episode.answer_id is not None:
        return "did not answer yes or no (wrote something else)"
    return "did not answer"


def describe(episode: CrisisEpisode, technical: bool = True) -> str:
    """One sentence: what the assistant did, which tier and why, and the visitor's answer. Not
    `technical`: without the detector's score or the phrase's name (the transcript's crisis box; the
    message's details fold has them)."""
    reason = why(episode, technical)
    if episode.kind == "crisis":
        if episode.handled:
            return f"Crisis response given: {reason}."
        return (f"Crisis detected, but no crisis response was recorded (the assistant may have been paused "
                f"for a handoff): {reason}.")
    if episode.handled:
        return f"Check-in asked: {reason}. Visitor answered: {answer(episode)}."
    return (f"Possible crisis detected, but no check-in was asked (the assistant may have been paused "
            f"for a handoff): {reason}.")


def headline(episode: CrisisEpisode) -> str:
    """A few words for a badge or a queue row."""
    if episode.kind == "crisis":
        return "Crisis response given" if episode.handled else "Crisis message"
    if not episode.handled:
        return "Possible crisis, no check-in asked"
    return {"yes": "Check-in answered yes", "unsure": "Check-in answered not sure", "no": "Check-in answered no"}.get(
        episode.answer, "Check-in not answered"
    )


def ago(moment: datetime, now: Optional[datetime] = None) -> str:
    """How long ago, e.g. "just now", "12 min ago", "3 h 5 min ago", "2 days ago"."""
    seconds = max(0, int(((now or datetime.now(timezone.utc)) - moment).total_seconds()))
    minutes, hours = seconds // 60, seconds // 3600
    if minutes < 1:
        return "just now"
    if hours < 1:
        return f"{minutes} min ago"
    if hours < 24:
        return f"{hours} h {minutes % 60} min ago"
    days = hours // 24
    return f"{days} day{'' if days == 1 else 's'} ago"


@dataclass(frozen=True)
class CrisisAlert:
    """A conversation with a crisis (or a check-in answered yes) no one has reviewed yet."""

    conversation_id: str
    episode: CrisisEpisode  # the latest unreviewed one
    channel: str
    language: str


def crisis_alerts() -> List[CrisisAlert]:
    """Every conversation with an unreviewed crisis or check-in answered yes, newest first."""
    tracker = services().tracker
    candidates = tracker.crisis_candidates()
    done = reviews(candidates)
    # A conversation reviewed after its last crisis event needs no further reading.
    to_read = [conversation_id for conversation_id, latest in candidates.items()
               if conversation_id not in done or done[conversation_id].reviewed_at.timestamp() < latest]
    histories = tracker.crisis_histories(to_read)
    languages = tracker.languages(histories)
    alerts = []
    for conversation_id, history in histories.items():
        pending = unreviewed(history, done.get(conversation_id), urgent_only=True)
        if pending:
            latest = max(pending, key=lambda episode: episode.time)
            alerts.append(CrisisAlert(conversation_id, latest, history.channel, languages.get(conversation_id, "")))
    alerts.sort(key=lambda alert: alert.episode.time, reverse=True)
    return alerts
