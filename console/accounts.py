"""Staff accounts: creation, deletion, password checks, sign-in throttling and ending sessions."""
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import List, Optional

from sqlalchemy import delete, func, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from clinic.storage import utc_now
from console.models import ConsoleDb, SignInFailure, StaffUser

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024
MAX_USERNAME_LENGTH = 64
USERNAME = re.compile(r"[A-Za-z0-9._-]{1,%d}" % MAX_USERNAME_LENGTH)
FAILURES_KEPT = timedelta(days=1)  # how long a failed sign-in is remembered at most


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
    """Creates the account; with `reset`, sets a new password for an existing one instead, ends every
    session it has, and forgets its failed sign-ins."""
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
            user = StaffUser(username=username, created_at=utc_now(), session_generation=0)
            session.add(user)
        else:
            user.session_generation += 1
            session.execute(delete(SignInFailure).where(SignInFailure.user_id == user.id))
        user.password_hash, user.failed_attempts, user.locked_until = password_hash, 0, None


@dataclass(frozen=True)
class Throttle:
    """How sign-in failures slow down the address they come from (see authenticate)."""

    address_attempts: int  # failures from one address within `window` that refuse that address everything
    account_attempts: int  # wrong passwords in a row for one account, from one address, before delays start
    window: timedelta  # how far back an address's failures count, and the longest delay

    def account_delay(self, failures: int) -> timedelta:
        """After `failures` wrong passwords in a row: 2**failures seconds (32 s after 5), at most `window`."""
        if failures < self.account_attempts:
            return timedelta(0)
        return min(timedelta(seconds=2 ** min(failures, 32)), self.window)


@dataclass(frozen=True)
class SignIn:
    user: Optional[StaffUser] = None
    address_locked: bool = False  # refused unchecked: too many failures from this address


def authenticate(db: ConsoleDb, username: str, password: str, address: str, throttle: Throttle) -> SignIn:
    """The user when the password is right, unless the address it comes from is refused:

    - an address with `address_attempts` failures (any user name) in the last `window` is refused
      everything, the right password included, until those failures are older than `window`;
    - an address that got one account's password wrong k >= `account_attempts` times in a row waits
      2**k seconds (at most `window`) before it may try that account again.

    Only an address's own failures ever refuse it: the right password from any other address always
    signs in, so nobody can keep staff out by failing on purpose. A failed sign-in never says why.
    """
    now = utc_now()
    with db.session() as session:
        from_address = select(func.count()).where(
            SignInFailure.address == address, SignInFailure.failed_at >= now - throttle.window
        )
        if session.scalar(from_address) >= throttle.address_attempts:
            return SignIn(address_locked=True)
        user = session.scalar(select(StaffUser).where(StaffUser.username == username))
        if user is not None:
            count, last = session.execute(
                select(func.count(), func.max(SignInFailure.failed_at)).where(
                    SignInFailure.address == address, SignInFailure.user_id == user.id,
                    SignInFailure.failed_at >= now - FAILURES_KEPT,
                )
            ).one()
            if count and now < _aware(last) + throttle.account_delay(count):
                check_password_hash(_dummy_hash(), password)  # as long as a check: the answer says nothing
                return SignIn()
        password_ok = check_password_hash(user.password_hash if user else _dummy_hash(), password)
        if user is not None and password_ok:
            session.execute(
                delete(SignInFailure).where(SignInFailure.address == address, SignInFailure.user_id == user.id)
            )
            return SignIn(user=user)
        session.add(SignInFailure(address=address, user_id=user.id if user else None, failed_at=now))
        session.execute(delete(SignInFailure).where(SignInFailure.failed_at < now - FAILURES_KEPT))
        return SignIn()


def _aware(moment: datetime) -> datetime:
    """func.max() bypasses the column type: SQLite gives back text, without the UTC offset."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def end_sessions(db: ConsoleDb, user_id: int) -> None:
    """Every session of the user, in every browser, is signed out from its next request on."""
    with db.session() as session:
        session.execute(
            update(StaffUser).where(StaffUser.id == user_id).values(session_generation=StaffUser.session_generation + 1)
        )


def list_users(db: ConsoleDb) -> List[StaffUser]:
    with db.session() as session:
        return list(session.scalars(select(StaffUser).order_by(StaffUser.username)))


def delete_user(db: ConsoleDb, username: str) -> bool:
    """Deletes the account (its sessions end with it); False when there is no such user. What the
    user did stays on record under their name: reveals in the audit log, crisis reviews, labels."""
    with db.session() as session:
        user = session.scalar(select(StaffUser).where(StaffUser.username == username))
        if user is None:
            return False
        session.execute(delete(SignInFailure).where(SignInFailure.user_id == user.id))
        session.delete(user)
        return True


def load_user(db: ConsoleDb, session_id: str) -> Optional[StaffUser]:
    """The user of a session ("id:generation", StaffUser.get_id), if it has not been ended since."""
    user_id, _, generation = session_id.partition(":")
    if not (user_id.isascii() and user_id.isdigit() and generation.isascii() and generation.isdigit()):
        return None
    with db.session() as session:
        user = session.get(StaffUser, int(user_id))
    return user if user is not None and user.session_generation == int(generation) else None
