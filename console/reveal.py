"""Revealing a conversation's phone numbers and emails: logged, and valid for REVEAL_MINUTES for the
staff member who asked."""
from datetime import timedelta
from typing import Iterable, Set

from flask import current_app
from flask_login import current_user
from sqlalchemy import select

from clinic.storage import utc_now
from console.models import RevealLog
from console.services import services


def record_reveal(conversation_id: str) -> None:
    with services().db.session() as session:
        session.add(
            RevealLog(staff_username=current_user.username, conversation_id=conversation_id, revealed_at=utc_now())
        )


def revealed(conversation_ids: Iterable[str]) -> Set[str]:
    """Those of the conversations the signed-in staff member revealed recently."""
    ids = set(conversation_ids)
    if not ids:
        return set()
    since = utc_now() - timedelta(minutes=current_app.config["REVEAL_MINUTES"])
    query = select(RevealLog.conversation_id).where(
        RevealLog.staff_username == current_user.username, RevealLog.revealed_at >= since
    )
    with services().db.session() as session:
        return ids & set(session.scalars(query))
