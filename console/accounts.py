"""Staff accounts: creation, password checks, and lock-out after repeated failures."""
import re
from datetime import timedelta
from functools import lru_cache
from typing import Optional

from sqlalchemy import select, update
from werkzeug.security import check_password_hash, generate_password_hash

from actions.storage import utc_now
from console.models import ConsoleDb, StaffUser

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024
MAX_USERNAME_LENGTH = 64
USERNAME = re.compile(r"[A-Za-z0-9._-]{1,%d}" % MAX_USERNAME_LENGTH)


class AccountError(ValueError):
    pass


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """Checked against when the user does not exist, so that the answer takes as long."""
    return generate_password_hash("no such user, no such password")


def check_new_password(password: str) -> None:
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise AccountError(f"The password must have {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters.")


def save_user(db: ConsoleDb, username: str, password: str, reset: bool = False) -> None:
    """Creates the account; with `reset`, sets a new password (and unlocks) an existing one instead."""
    if not USERNAME.fullmatch(username):
        raise AccountError("User names have 1 to 64 characters: letters, digits, '.', '_' or '-'.")
    check_new_password(password)
    password_hash = generate_password_hash(password)
    with db.session() as session:
        user = session.scalar(select(StaffUser).where(StaffUser.username == username))
        if user is None and reset:
            raise AccountError(f"There is no user {username}.")
        if user is not None and not reset:
            raise AccountError(f"The user {username} exists already (use --reset to set a new password).")
        if user is None:
            user = StaffUser(username=username, created_at=utc_now())
            session.add(user)
        user.password_hash, user.failed_attempts, user.locked_until = password_hash, 0, None


def authenticate(db: ConsoleDb, username: str, password: str, max_attempts: int, lock_minutes: float) -> Optional[StaffUser]:
    """The user when the password is right and the account not locked; None otherwise, whatever the reason.

    `max_attempts` wrong passwords in a row lock the account for `lock_minutes`.
    """
    now = utc_now()
    with db.session() as session:
        user = session.scalar(select(StaffUser).where(StaffUser.username == username))
        password_ok = check_password_hash(user.password_hash if user else _dummy_hash(), password)
        if user is None:
            return None
        if user.locked_until is not None and user.locked_until > now:
            return None
        if password_ok:
            user.failed_attempts, user.locked_until = 0, None
            return user
        session.execute(
            update(StaffUser).where(StaffUser.id == user.id).values(failed_attempts=StaffUser.failed_attempts + 1)
        )
        session.execute(
            update(StaffUser)
            .where(StaffUser.id == user.id, StaffUser.failed_attempts >= max_attempts)
            .values(failed_attempts=0, locked_until=now + timedelta(minutes=lock_minutes))
        )
        return None


def load_user(db: ConsoleDb, user_id: str) -> Optional[StaffUser]:
    if not user_id.isdigit():
        return None
    with db.session() as session:
        return session.get(StaffUser, int(user_id))
