"""Code that runs inside the Rasa server process, where Rasa 3.6 offers no extension point.

Installed when the server loads its channels (channels/__init__.py), before any message:
- log_redaction: visitor text kept out of every log record (first, so that it sees them all);
- action_calls: a faster check of action-server replies; failed calls noted;
- button_payloads: only the assistant's own button payloads count as intents from visitors, and
  those are parsed without running the NLU models;
- nlu_thread: the NLU models run in a worker thread, beside the event loop;
- message_guard: message clean-up (invalid Unicode, control characters), per-conversation rate
  limit, a reply instead of silence when the action server, the lock store or the tracker store
  fails; every refusal with the crisis line (refusals);
- http_api_checks: the token checked first, then a 400 instead of Rasa's 500 for malformed bodies
  sent to the HTTP API;
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
    from rasa_server import (
        action_calls, button_payloads, http_api_checks, log_redaction, message_guard, nlu_thread, tracker_store,
    )

    log_redaction.install()
    action_calls.install()
    button_payloads.install()
    nlu_thread.install()
    http_api_checks.install()
    message_guard.install()
    tracker_store.install()
    _installed = True
