"""Code that runs inside the Rasa server process, where Rasa 3.6 offers no extension point.

Installed when the server loads its channels (channels/__init__.py), before any message:
- action_calls: a faster check of action-server replies; failed calls noted;
- message_guard: message clean-up, per-conversation rate limit, a reply instead of silence when
  the action server, the lock store or the tracker store fails;
- rate_limit: the sliding-window limits (also used per IP by the REST and Socket.IO channels);
- lock_store: the Redis lock store of endpoints.production.yml, atomic across replicas;
- tracker_store: database errors raised, not hidden behind an in-memory fallback; and the SQL
  tracker store of endpoints.production.yml, with connections that survive a database restart.
"""
_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    from rasa_server import action_calls, message_guard, tracker_store

    action_calls.install()
    message_guard.install()
    tracker_store.install()
    _installed = True
