"""The Redis lock store of endpoints.production.yml, safe with several Rasa replicas.

Rasa 3.6's RedisLockStore changes a conversation's ticket lock by reading it, changing it in
Python and writing it back. Two replicas doing that at the same moment both get a ticket as if
alone, so two messages of one conversation are handled at once and one turn's events are lost
(tests/test_production.py saw 4 of 8 concurrent messages vanish). Here each change is one Redis
transaction (WATCH/MULTI, retried when another replica changed the lock first), with Rasa's own
ticket logic unchanged: messages of one conversation are still answered one at a time, in order.
"""
import json
from typing import Callable, Optional, Tuple

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

LockChange = Callable[[Optional[TicketLock]], Tuple[Optional[TicketLock], Optional[int]]]


class AtomicRedisLockStore(RedisLockStore):
    """Configured like Rasa's `redis` lock store: url, port, password, db, key_prefix..."""

    def __init__(self, endpoint_config: EndpointConfig) -> None:
        super().__init__(host=endpoint_config.url, **endpoint_config.kwargs)

    def _change_atomically(self, conversation_id: str, change: LockChange) -> Optional[int]:
        """Applies `change` to the stored lock in one transaction; a None lock deletes it."""
        key = self.key_prefix + conversation_id
        outcome: dict = {}

        def attempt(pipe) -> None:
            stored = pipe.get(key)
            lock, outcome["value"] = change(TicketLock.from_dict(json.loads(stored)) if stored else None)
            pipe.multi()
            if lock is None:
                pipe.delete(key)
            else:
                pipe.set(key, lock.dumps())

        self.red.transaction(attempt, key)
        return outcome.get("value")

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        def take_ticket(lock: Optional[TicketLock]) -> Tuple[TicketLock, int]:
            lock = lock or TicketLock(conversation_id)
            return lock, lock.issue_ticket(lock_lifetime)

        try:
            return self._change_atomically(conversation_id, take_ticket)
        except Exception as error:
            raise LockError(f"Error while acquiring lock. Error:\n{error}") from error

    def update_lock(self, conversation_id: str) -> None:
        def drop_expired(lock: Optional[TicketLock]) -> Tuple[Optional[TicketLock], None]:
            if lock is not None:
                lock.remove_expired_tickets()
            return lock, None

        self._change_atomically(conversation_id, drop_expired)

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        self.cleanup(conversation_id, ticket_number)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        def release(lock: Optional[TicketLock]) -> Tuple[Optional[TicketLock], None]:
            if lock is not None:
                lock.remove_ticket_for(ticket_number)
                if lock.is_someone_waiting():
                    return lock, None
            return None, None

        self._change_atomically(conversation_id, release)
